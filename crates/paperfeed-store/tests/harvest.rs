//! Harvest pages and their checkpoints are written atomically: a page that fails to store
//! leaves the previous checkpoint, so a killed or failed harvest resumes exactly.
//!
//! Failures are injected with a real SQLite trigger installed through a second connection
//! to the same file, so the store's own write path is what fails.

mod common;

use chrono::{TimeZone, Utc};
use common::{date, sample_papers, temp_store};
use paperfeed_core::Paper;
use paperfeed_store::{HarvestCheckpoint, SqliteStore, Store};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

const KEY: &str = "oai:https://oaipmh.arxiv.org/oai|cs|arXivRaw";

fn checkpoint(token: Option<&str>, last: &str, minute: u32) -> HarvestCheckpoint {
    HarvestCheckpoint {
        key: KEY.to_string(),
        resumption_token: token.map(str::to_string),
        list_from: Some(date("2025-03-01")),
        last_datestamp: Some(date(last)),
        updated_at: Utc.with_ymd_and_hms(2025, 3, 25, 6, minute, 0).unwrap(),
    }
}

async fn side_connection(store: &SqliteStore) -> SqliteConnection {
    let options = SqliteConnectOptions::new().filename(store.path());
    SqliteConnection::connect_with(&options).await.unwrap()
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) {
    sqlx::query(sql).execute(&mut *conn).await.unwrap();
}

#[tokio::test]
async fn checkpoints_round_trip_and_are_kept_per_key() {
    let (_dir, store) = temp_store().await;
    assert_eq!(store.harvest_checkpoint(KEY).await.unwrap(), None);
    let cp = checkpoint(Some("726959|1001"), "2025-03-20", 1);
    store
        .save_harvest_page(Vec::new(), Vec::new(), cp.clone())
        .await
        .unwrap();
    assert_eq!(
        store.harvest_checkpoint(KEY).await.unwrap(),
        Some(cp.clone())
    );

    let mut other = checkpoint(None, "2025-03-21", 2);
    other.key = "oai:https://oaipmh.arxiv.org/oai|math|arXiv".into();
    other.list_from = None;
    store
        .save_harvest_page(Vec::new(), Vec::new(), other.clone())
        .await
        .unwrap();
    assert_eq!(store.harvest_checkpoint(KEY).await.unwrap(), Some(cp));
    assert_eq!(
        store.harvest_checkpoint(&other.key).await.unwrap(),
        Some(other)
    );
}

#[tokio::test]
async fn a_failing_page_leaves_the_old_checkpoint_and_no_partial_page() {
    let (_dir, store) = temp_store().await;
    let papers: Vec<Paper> = sample_papers().into_iter().take(300).collect();
    let (page1, page2) = papers.split_at(150);

    let cp1 = checkpoint(Some("token-1"), "2025-03-20", 1);
    let stats = store
        .save_harvest_page(page1.to_vec(), Vec::new(), cp1.clone())
        .await
        .unwrap();
    assert_eq!(stats.inserted, 150);
    let seq1 = store.last_seq().await.unwrap();

    // Page 2 carries new papers and deletions of page-1 papers; one of its papers cannot be
    // written.
    let poisoned = page2[120].id.as_str().to_string();
    let mut side = side_connection(&store).await;
    let trigger = format!(
        "CREATE TRIGGER fail_page BEFORE INSERT ON papers WHEN NEW.id = '{poisoned}' \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    );
    sqlx::query(sqlx::AssertSqlSafe(trigger))
        .execute(&mut side)
        .await
        .unwrap();

    let deletions = vec![page1[0].id.clone(), page1[1].id.clone()];
    let cp2 = checkpoint(Some("token-2"), "2025-03-21", 2);
    let err = store
        .save_harvest_page(page2.to_vec(), deletions.clone(), cp2.clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");

    assert_eq!(store.harvest_checkpoint(KEY).await.unwrap(), Some(cp1));
    assert_eq!(store.last_seq().await.unwrap(), seq1);
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.papers, stats.deleted), (150, 0));
    assert_eq!(store.get_paper(&page2[0].id).await.unwrap(), None);

    // The harvest resumes from the old checkpoint and the page goes through.
    exec(&mut side, "DROP TRIGGER fail_page").await;
    let stats = store
        .save_harvest_page(page2.to_vec(), deletions, cp2.clone())
        .await
        .unwrap();
    assert_eq!((stats.inserted, stats.deleted), (150, 2));
    assert_eq!(store.harvest_checkpoint(KEY).await.unwrap(), Some(cp2));
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.papers, stats.deleted), (298, 2));
    side.close().await.unwrap();
}

#[tokio::test]
async fn a_failing_checkpoint_write_stores_none_of_the_page() {
    let (_dir, store) = temp_store().await;
    let papers: Vec<Paper> = sample_papers().into_iter().take(100).collect();
    let cp1 = checkpoint(Some("token-1"), "2025-03-20", 1);
    store
        .save_harvest_page(papers[..50].to_vec(), Vec::new(), cp1.clone())
        .await
        .unwrap();
    let seq1 = store.last_seq().await.unwrap();

    let mut side = side_connection(&store).await;
    exec(
        &mut side,
        "CREATE TRIGGER fail_checkpoint BEFORE UPDATE ON harvest_checkpoints \
         BEGIN SELECT RAISE(ABORT, 'injected checkpoint failure'); END",
    )
    .await;
    let err = store
        .save_harvest_page(
            papers[50..].to_vec(),
            vec![papers[0].id.clone()],
            checkpoint(Some("token-2"), "2025-03-21", 2),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("injected checkpoint failure"),
        "{err}"
    );
    assert_eq!(store.harvest_checkpoint(KEY).await.unwrap(), Some(cp1));
    assert_eq!(store.last_seq().await.unwrap(), seq1);
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.papers, stats.deleted), (50, 0));
    side.close().await.unwrap();
}
