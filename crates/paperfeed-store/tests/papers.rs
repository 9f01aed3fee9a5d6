//! Paper upserts on real listing data: idempotent re-imports, the version rule, deletions,
//! reads, durability, and clean errors for files that cannot be opened.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::{id, paper, sample_papers, temp_store};
use paperfeed_core::Paper;
use paperfeed_store::{SqliteStore, Store, StoreError, UpsertStats};
use proptest::prelude::*;

#[tokio::test]
async fn importing_the_sample_twice_changes_nothing() {
    let (_dir, store) = temp_store().await;
    let papers = sample_papers();
    assert_eq!(papers.len(), 2000);

    let mut first = UpsertStats::default();
    for batch in papers.chunks(700) {
        first.add(store.upsert_papers(batch.to_vec()).await.unwrap());
    }
    assert_eq!(
        first,
        UpsertStats {
            inserted: 2000,
            ..UpsertStats::default()
        }
    );
    let seq_after_first = store.last_seq().await.unwrap();
    assert_eq!(
        seq_after_first, 2000,
        "one sequence number per inserted paper"
    );

    // Different batch boundaries the second time: batching must not matter.
    let mut second = UpsertStats::default();
    for batch in papers.chunks(333) {
        second.add(store.upsert_papers(batch.to_vec()).await.unwrap());
    }
    assert_eq!(
        second,
        UpsertStats {
            unchanged: 2000,
            ..UpsertStats::default()
        }
    );
    assert_eq!(store.last_seq().await.unwrap(), seq_after_first);
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.papers, 2000);
    assert_eq!(stats.last_seq, seq_after_first);

    // Every paper reads back exactly as imported.
    let ids: Vec<_> = papers.iter().map(|p| p.id.clone()).collect();
    let back = store.get_papers(&ids).await.unwrap();
    assert_eq!(back, papers);
}

#[tokio::test]
async fn duplicates_within_a_batch_are_merged_first() {
    let (_dir, store) = temp_store().await;
    let mut v1 = paper("2501.00001", 1, "First title");
    v1.comment = Some("5 pages".into());
    let v2 = paper("2501.00001", 2, "Second title");
    let stats = store
        .upsert_papers(vec![
            v2.clone(),
            v1.clone(),
            paper("2501.00002", 1, "Other"),
        ])
        .await
        .unwrap();
    assert_eq!(stats.inserted, 2);
    assert_eq!(
        store.last_seq().await.unwrap(),
        2,
        "one change per paper, not per record"
    );
    let stored = store.get_paper(&id("2501.00001")).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.title, "Second title");
    // The older record still filled the field the newer one lacked.
    assert_eq!(stored.comment.as_deref(), Some("5 pages"));
    assert_eq!(stored, v1.merge(v2));
}

#[tokio::test]
async fn older_version_never_replaces_newer() {
    let (_dir, store) = temp_store().await;
    store
        .upsert_papers(vec![paper("2501.00001", 3, "v3 title")])
        .await
        .unwrap();
    let seq = store.last_seq().await.unwrap();
    let stats = store
        .upsert_papers(vec![paper("2501.00001", 2, "v2 title")])
        .await
        .unwrap();
    assert_eq!(stats.unchanged, 1);
    assert_eq!(store.last_seq().await.unwrap(), seq);
    let stored = store.get_paper(&id("2501.00001")).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.title.as_str()), (3, "v3 title"));

    let stats = store
        .upsert_papers(vec![paper("2501.00001", 4, "v4 title")])
        .await
        .unwrap();
    assert_eq!(stats.updated, 1);
    assert_eq!(store.last_seq().await.unwrap(), seq + 1);
    let stored = store.get_paper(&id("2501.00001")).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.title.as_str()), (4, "v4 title"));
}

#[test]
fn final_version_is_the_maximum_whatever_the_arrival_order() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (_dir, store) = rt.block_on(temp_store());
    // Each case works on a paper of its own, so one store serves all cases.
    let next_id = AtomicU32::new(0);
    let config = ProptestConfig::with_cases(64);
    proptest!(config, |(arrivals in proptest::collection::vec((1u32..=6, any::<bool>()), 1..10))| {
        let n = next_id.fetch_add(1, Ordering::Relaxed);
        let pid = format!("2502.{n:05}");
        // `true` starts a new upsert call, so versions arrive both across calls and within
        // one batch.
        let mut calls: Vec<Vec<Paper>> = Vec::new();
        for (version, new_call) in &arrivals {
            let p = paper(&pid, *version, &format!("title v{version}"));
            match calls.last_mut() {
                Some(call) if !new_call => call.push(p),
                _ => calls.push(vec![p]),
            }
        }
        let max = arrivals.iter().map(|(v, _)| *v).max().unwrap();
        rt.block_on(async {
            for call in calls {
                store.upsert_papers(call).await.unwrap();
            }
            let stored = store.get_paper(&id(&pid)).await.unwrap().unwrap();
            prop_assert_eq!(stored.version, max);
            prop_assert_eq!(stored.title, format!("title v{max}"));
            // Replaying any arrival afterwards is a no-op.
            let seq = store.last_seq().await.unwrap();
            for (version, _) in &arrivals {
                let stats = store
                    .upsert_papers(vec![paper(&pid, *version, &format!("title v{version}"))])
                    .await
                    .unwrap();
                prop_assert_eq!(stats.unchanged, 1);
            }
            prop_assert_eq!(store.last_seq().await.unwrap(), seq);
            Ok(())
        })?;
    });
}

#[tokio::test]
async fn deletion_hides_a_paper_and_only_a_newer_version_brings_it_back() {
    let (_dir, store) = temp_store().await;
    let papers: Vec<Paper> = sample_papers().into_iter().take(10).collect();
    store.upsert_papers(papers.clone()).await.unwrap();
    let gone = papers[3].id.clone();

    let stats = store
        .delete_papers(vec![gone.clone(), gone.clone(), id("2501.99999")])
        .await
        .unwrap();
    assert_eq!(stats.deleted, 1);
    assert_eq!(stats.unchanged, 1, "the unknown id changes nothing");
    assert_eq!(store.get_paper(&gone).await.unwrap(), None);
    let stats_after = store.stats().await.unwrap();
    assert_eq!((stats_after.papers, stats_after.deleted), (9, 1));
    let seq = store.last_seq().await.unwrap();

    // Deleting again, or re-importing the old record, changes nothing.
    assert_eq!(
        store
            .delete_papers(vec![gone.clone()])
            .await
            .unwrap()
            .unchanged,
        1
    );
    assert_eq!(
        store
            .upsert_papers(vec![papers[3].clone()])
            .await
            .unwrap()
            .unchanged,
        1
    );
    assert_eq!(store.last_seq().await.unwrap(), seq);
    let all = store.papers_after(None, 100).await.unwrap();
    assert!(all.iter().all(|p| p.id != gone));

    // A newer version is news.
    let mut newer = papers[3].clone();
    newer.version = 2;
    assert_eq!(store.upsert_papers(vec![newer]).await.unwrap().updated, 1);
    assert_eq!(store.get_paper(&gone).await.unwrap().unwrap().version, 2);
}

#[tokio::test]
async fn reads_follow_the_order_asked_and_page_in_id_order() {
    let (_dir, store) = temp_store().await;
    let papers = sample_papers();
    store.upsert_papers(papers.clone()).await.unwrap();

    let asked = vec![
        papers[5].id.clone(),
        id("2501.99999"),
        papers[1].id.clone(),
        papers[5].id.clone(),
    ];
    let got: Vec<_> = store
        .get_papers(&asked)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(
        got,
        [
            papers[5].id.clone(),
            papers[1].id.clone(),
            papers[5].id.clone()
        ]
    );

    let mut exported = Vec::new();
    let mut after = None;
    loop {
        let page = store.papers_after(after.as_ref(), 333).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        exported.extend(page);
    }
    let mut expected = papers.clone();
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(exported, expected);
}

#[tokio::test]
async fn reopening_the_file_keeps_everything() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("nested/dirs/paperfeed.db");
    let papers: Vec<Paper> = sample_papers().into_iter().take(300).collect();
    let (stats, seq) = {
        let store = SqliteStore::open(&path).await.unwrap();
        store.upsert_papers(papers.clone()).await.unwrap();
        store
            .delete_papers(vec![papers[0].id.clone()])
            .await
            .unwrap();
        let stats = store.stats().await.unwrap();
        let seq = store.last_seq().await.unwrap();
        store.close().await;
        (stats, seq)
    };
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.stats().await.unwrap(), stats);
    assert_eq!(store.last_seq().await.unwrap(), seq);
    assert_eq!(
        store.get_paper(&papers[7].id).await.unwrap().as_ref(),
        Some(&papers[7])
    );
    assert_eq!(store.get_paper(&papers[0].id).await.unwrap(), None);
    // Migrations already applied are not applied again, and the data stays writable.
    assert_eq!(
        store
            .upsert_papers(papers[1..].to_vec())
            .await
            .unwrap()
            .unchanged,
        299
    );
}

#[tokio::test]
async fn dropping_without_close_loses_no_committed_write() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("paperfeed.db");
    let papers: Vec<Paper> = sample_papers().into_iter().take(50).collect();
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store.upsert_papers(papers.clone()).await.unwrap();
    }
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.stats().await.unwrap().papers, 50);
}

fn assert_open_error(result: Result<SqliteStore, StoreError>, what: &str) {
    match result {
        Err(StoreError::Open { message, .. }) => {
            assert!(
                !message.is_empty() && !message.contains('\n'),
                "{what}: {message:?}"
            );
        }
        other => panic!("{what}: expected StoreError::Open, got {other:?}"),
    }
}

#[tokio::test]
async fn garbage_file_is_an_open_error() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("not-a-db.sqlite");
    let junk: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &junk).unwrap();
    assert_open_error(SqliteStore::open(&path).await, "garbage file");
    // The file is left as it was.
    assert_eq!(std::fs::read(&path).unwrap(), junk);

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "these are my notes, not a database\n".repeat(40)).unwrap();
    assert_open_error(SqliteStore::open(&text).await, "text file");
}

#[tokio::test]
async fn unusable_paths_are_open_errors() {
    let dir = tempfile::TempDir::new().unwrap();
    // A directory cannot be created under a regular file.
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert_open_error(
        SqliteStore::open(&file.join("sub/paperfeed.db")).await,
        "parent is a file",
    );
    // A directory is not a database file.
    assert_open_error(SqliteStore::open(dir.path()).await, "path is a directory");
}
