//! The change sequence as followers (search indexer, embedding job) use it: every change
//! seen exactly once, in order, each paper once per page with its latest state.

mod common;

use std::collections::{BTreeMap, HashSet};

use chrono::{TimeZone, Utc};
use common::{id, sample_papers, temp_store};
use paperfeed_core::{ArxivId, Paper, Submission, UserName};
use paperfeed_store::{Change, SqliteStore, Store};

/// What a follower knows about one paper.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Live(Box<Paper>, u32),
    Deleted,
}

/// A follower that pages through `changes_since` and applies what it reads.
struct Follower {
    seq: i64,
    state: BTreeMap<ArxivId, Seen>,
    seqs: Vec<i64>,
}

impl Follower {
    fn new() -> Self {
        Follower {
            seq: 0,
            state: BTreeMap::new(),
            seqs: Vec::new(),
        }
    }

    /// Reads one page; returns how many changes it held.
    async fn step(&mut self, store: &SqliteStore, limit: u32) -> usize {
        let page = store.changes_since(self.seq, limit).await.unwrap();
        let mut ids_in_page = HashSet::new();
        for change in &page {
            assert!(
                change.seq() > self.seq,
                "sequence goes backwards: {change:?}"
            );
            self.seq = change.seq();
            self.seqs.push(change.seq());
            let (pid, seen) = match change {
                Change::Upsert { paper, upvotes, .. } => {
                    (paper.id.clone(), Seen::Live(paper.clone(), *upvotes))
                }
                Change::Delete { id, .. } => (id.clone(), Seen::Deleted),
            };
            assert!(ids_in_page.insert(pid.clone()), "{pid} twice in one page");
            self.state.insert(pid, seen);
        }
        page.len()
    }

    async fn catch_up(&mut self, store: &SqliteStore, limit: u32) {
        while self.step(store, limit).await > 0 {}
    }
}

/// Asserts the follower's view equals the store's, naming the papers that differ (the
/// whole maps are too large to print usefully).
fn assert_same_view(follower: &BTreeMap<ArxivId, Seen>, truth: &BTreeMap<ArxivId, Seen>) {
    let differing: Vec<&ArxivId> = truth
        .iter()
        .filter(|(k, v)| follower.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .chain(follower.keys().filter(|k| !truth.contains_key(*k)))
        .collect();
    assert!(
        differing.is_empty(),
        "{} papers differ, first ones: {:?}",
        differing.len(),
        &differing[..differing.len().min(5)]
    );
}

/// The store's current state, read directly, in the follower's terms.
async fn truth(store: &SqliteStore, all_ids: &[ArxivId]) -> BTreeMap<ArxivId, Seen> {
    let papers = store.get_papers(all_ids).await.unwrap();
    let upvotes = store
        .upvotes(&papers.iter().map(|p| p.id.clone()).collect::<Vec<_>>())
        .await
        .unwrap();
    let mut out: BTreeMap<ArxivId, Seen> =
        all_ids.iter().map(|i| (i.clone(), Seen::Deleted)).collect();
    for (p, u) in papers.into_iter().zip(upvotes) {
        out.insert(p.id.clone(), Seen::Live(Box::new(p), u));
    }
    out
}

#[tokio::test]
async fn paging_sees_every_change_exactly_once_including_deletions() {
    let (_dir, store) = temp_store().await;
    let papers = sample_papers();
    for batch in papers.chunks(500) {
        store.upsert_papers(batch.to_vec()).await.unwrap();
    }
    store
        .delete_papers(vec![papers[10].id.clone(), papers[20].id.clone()])
        .await
        .unwrap();
    let user = UserName::parse("alice").unwrap();
    store.set_vote(&user, &papers[30].id, true).await.unwrap();
    let mut newer = papers[40].clone();
    newer.version = 2;
    newer.title = "A revised title".into();
    store.upsert_papers(vec![newer.clone()]).await.unwrap();
    // Unchanged re-import: no new changes.
    store.upsert_papers(papers[..100].to_vec()).await.unwrap();

    let last = store.last_seq().await.unwrap();
    assert_eq!(last, 2000 + 2 + 1 + 1);

    let mut follower = Follower::new();
    follower.catch_up(&store, 7).await;
    assert_eq!(follower.seq, last);
    // Each paper's row carries only its latest change, so some numbers were superseded.
    assert_eq!(follower.seqs.len(), 2000);
    let all_ids: Vec<ArxivId> = papers.iter().map(|p| p.id.clone()).collect();
    assert_same_view(&follower.state, &truth(&store, &all_ids).await);
    assert_eq!(follower.state[&papers[10].id], Seen::Deleted);
    match &follower.state[&papers[30].id] {
        Seen::Live(_, upvotes) => assert_eq!(*upvotes, 1),
        other => panic!("{other:?}"),
    }
    match &follower.state[&papers[40].id] {
        Seen::Live(p, _) => assert_eq!(p.title, "A revised title"),
        other => panic!("{other:?}"),
    }

    // Nothing new: an empty page, and the store's sequence did not move.
    assert_eq!(follower.step(&store, 100).await, 0);
}

#[tokio::test]
async fn a_follower_interleaved_with_writes_misses_nothing() {
    let (_dir, store) = temp_store().await;
    let papers = sample_papers();
    let all_ids: Vec<ArxivId> = papers.iter().map(|p| p.id.clone()).collect();
    let users: Vec<UserName> = ["ann", "bob", "cyd"]
        .iter()
        .map(|u| UserName::parse(u).unwrap())
        .collect();
    let mut follower = Follower::new();

    // Writes of every kind between follower pages, some touching papers the follower has
    // already passed and some it has not reached yet.
    for (round, batch) in papers.chunks(250).enumerate() {
        store.upsert_papers(batch.to_vec()).await.unwrap();
        follower.step(&store, 97).await;
        let target = &papers[round * 37 % 2000];
        store
            .set_vote(&users[round % 3], &target.id, true)
            .await
            .unwrap();
        let mut revised = papers[round * 11].clone();
        revised.version = 2 + round as u32;
        store.upsert_papers(vec![revised]).await.unwrap();
        follower.step(&store, 97).await;
        store
            .add_submissions(vec![Submission {
                paper: papers[round * 5].id.clone(),
                day: common::date("2025-03-20"),
                submitted_by: None,
                at: Utc.with_ymd_and_hms(2025, 3, 20, 8, 0, 0).unwrap(),
                external_upvotes: round as u32,
            }])
            .await
            .unwrap();
        store
            .delete_papers(vec![papers[round * 13 + 1].id.clone()])
            .await
            .unwrap();
        follower.step(&store, 97).await;
    }
    follower.catch_up(&store, 97).await;
    assert_eq!(follower.seq, store.last_seq().await.unwrap());
    assert_same_view(&follower.state, &truth(&store, &all_ids).await);
}

#[tokio::test]
async fn readers_see_committed_state_while_a_write_runs() {
    let (_dir, store) = temp_store().await;
    let papers = sample_papers();
    store.upsert_papers(papers[..1000].to_vec()).await.unwrap();
    let before = store.last_seq().await.unwrap();

    let writer = {
        let store = store.clone();
        let rest = papers[1000..].to_vec();
        tokio::spawn(async move { store.upsert_papers(rest).await })
    };
    // Reads during the write see either the state before it or after it, never a part.
    let mut seen = HashSet::new();
    for _ in 0..20 {
        let s = store.stats().await.unwrap();
        assert!(
            (s.papers, s.last_seq) == (1000, before)
                || (s.papers, s.last_seq) == (2000, before + 1000),
            "{s:?}"
        );
        seen.insert(s.papers);
        tokio::task::yield_now().await;
    }
    writer.await.unwrap().unwrap();
    assert_eq!(store.stats().await.unwrap().papers, 2000);
    assert!(
        store
            .get_paper(&id(papers[1999].id.as_str()))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn two_stores_on_one_file_share_one_sequence() {
    // A server and a CLI import open the same file: their write transactions must queue on
    // the file lock, and their changes must get distinct, gap-free numbers.
    let (dir, first) = temp_store().await;
    let second = SqliteStore::open(&dir.path().join("paperfeed.db"))
        .await
        .unwrap();
    let papers = sample_papers();
    let (a, b) = papers.split_at(1000);
    let run = |store: SqliteStore, part: Vec<Paper>| {
        tokio::spawn(async move {
            for batch in part.chunks(50) {
                store.upsert_papers(batch.to_vec()).await.unwrap();
            }
        })
    };
    let (ra, rb) = tokio::join!(
        run(first.clone(), a.to_vec()),
        run(second.clone(), b.to_vec())
    );
    ra.unwrap();
    rb.unwrap();

    assert_eq!(first.last_seq().await.unwrap(), 2000);
    assert_eq!(second.last_seq().await.unwrap(), 2000);
    let mut follower = Follower::new();
    follower.catch_up(&second, 500).await;
    assert_eq!(follower.seqs, (1..=2000).collect::<Vec<i64>>());
}
