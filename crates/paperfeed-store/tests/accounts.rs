//! Accounts, sessions, per-user vote state and the feed-day navigation queries the web
//! service needs.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::{sample_papers, temp_store};
use paperfeed_core::{Submission, User, UserName};
use paperfeed_store::{Session, Store, StoreError};

fn user(name: &str) -> User {
    User {
        name: UserName::parse(name).unwrap(),
        display_name: format!("{name} Display"),
        created: Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap(),
    }
}

#[tokio::test]
async fn names_are_unique_case_insensitively_and_hashes_come_back() {
    let (_dir, store) = temp_store().await;
    store
        .create_user(&user("Ada"), "$argon2id$x")
        .await
        .unwrap();
    let err = store.create_user(&user("ADA"), "$argon2id$y").await;
    assert!(
        matches!(err, Err(StoreError::NameTaken(ref n)) if n == "ada"),
        "{err:?}"
    );
    let (u, hash) = store
        .user_credentials(&UserName::parse("ada").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u, user("Ada"));
    assert_eq!(hash, "$argon2id$x");
    assert!(
        store
            .user_credentials(&UserName::parse("bob").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    store.create_user(&user("bob"), "h").await.unwrap();
    let mut found = store
        .users(&[
            UserName::parse("bob").unwrap(),
            UserName::parse("nobody").unwrap(),
            UserName::parse("ada").unwrap(),
            UserName::parse("bob").unwrap(),
        ])
        .await
        .unwrap();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(found, vec![user("Ada"), user("bob")]);
}

#[tokio::test]
async fn sessions_expire_and_end_on_logout() {
    let (_dir, store) = temp_store().await;
    store.create_user(&user("ada"), "h").await.unwrap();
    let now = Utc::now();
    let session = |hash: &str, expires| Session {
        token_hash: hash.to_string(),
        user: UserName::parse("ada").unwrap(),
        created: now,
        expires,
    };
    store
        .create_session(&session("live", now + Duration::days(30)))
        .await
        .unwrap();
    store
        .create_session(&session("stale", now - Duration::seconds(1)))
        .await
        .unwrap();
    assert_eq!(
        store.session_user("live", now).await.unwrap(),
        Some(user("ada"))
    );
    assert_eq!(store.session_user("stale", now).await.unwrap(), None);
    assert_eq!(store.session_user("unknown", now).await.unwrap(), None);
    store.delete_session("live").await.unwrap();
    assert_eq!(store.session_user("live", now).await.unwrap(), None);
    let ghost = Session {
        user: UserName::parse("ghost").unwrap(),
        ..session("g", now + Duration::days(1))
    };
    assert!(matches!(
        store.create_session(&ghost).await,
        Err(StoreError::UnknownUser(_))
    ));
}

#[tokio::test]
async fn vote_state_and_feed_day_navigation() {
    let (_dir, store) = temp_store().await;
    let papers: Vec<_> = sample_papers().into_iter().take(6).collect();
    store.upsert_papers(papers.clone()).await.unwrap();
    assert_eq!(store.latest_feed_day().await.unwrap(), None);
    let latest_listing = papers.iter().filter_map(|p| p.listing_date).max();
    assert_eq!(store.latest_listing_date().await.unwrap(), latest_listing);

    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2025, 3, d).unwrap();
    let subs = [(0, 3), (1, 3), (2, 7), (3, 12)]
        .iter()
        .map(|&(i, d)| Submission {
            paper: papers[i].id.clone(),
            day: day(d),
            submitted_by: None,
            at: Utc::now(),
            external_upvotes: 0,
        })
        .collect();
    store.add_submissions(subs).await.unwrap();
    assert_eq!(store.latest_feed_day().await.unwrap(), Some(day(12)));
    let asked = [papers[4].id.clone(), papers[2].id.clone()];
    let subs = store.submissions(&asked).await.unwrap();
    assert_eq!(subs[0], None);
    assert_eq!(subs[1].as_ref().map(|s| s.day), Some(day(7)));
    assert_eq!(
        store.adjacent_feed_days(day(7)).await.unwrap(),
        (Some(day(3)), Some(day(12)))
    );
    // Empty days are skipped both ways; the ends have no neighbour.
    assert_eq!(
        store.adjacent_feed_days(day(5)).await.unwrap(),
        (Some(day(3)), Some(day(7)))
    );
    assert_eq!(
        store.adjacent_feed_days(day(3)).await.unwrap(),
        (None, Some(day(7)))
    );
    // A deleted paper's day no longer counts.
    store
        .delete_papers(vec![papers[3].id.clone()])
        .await
        .unwrap();
    assert_eq!(store.latest_feed_day().await.unwrap(), Some(day(7)));

    let ada = UserName::parse("ada").unwrap();
    store.set_vote(&ada, &papers[1].id, true).await.unwrap();
    let ids: Vec<_> = papers.iter().take(3).map(|p| p.id.clone()).collect();
    assert_eq!(
        store.voted(&ada, &ids).await.unwrap(),
        vec![false, true, false]
    );
}
