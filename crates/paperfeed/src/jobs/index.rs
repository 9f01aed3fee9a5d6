//! The indexing job: follows the store's change sequence into the search engine.
//!
//! It reads `Store::changes_since(indexed_seq)` in batches, applies each batch's papers and
//! deletions to the BM25 index (and drops deleted papers' vectors) and commits it with the
//! batch's last sequence number, so a killed job resumes after the last committed batch and
//! never skips or repeats a change.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use paperfeed_core::{ArxivId, Paper};
use paperfeed_search::bm25::Segments;
use paperfeed_search::engine::SearchEngine;
use paperfeed_store::{Change, Store};
use tokio_util::sync::CancellationToken;

use crate::jobs::supervisor::{Schedule, repeat};

use crate::progress::Progress;

/// Changes read and written at once: a batch of papers stays a few MB (each paper is held
/// as a row, a `Paper` and a document at once; 5,000 cost 25-35 MB more peak RSS).
pub const BATCH: u32 = 1_000;
/// Time between two commits of a long catch-up: a killed job redoes at most this much
/// work, and commits stay few. Why time and not a count: each commit stalls the feed while
/// every indexing thread flushes its segment, and leaves partial segments for the final
/// merge. In a build of the 74,728 papers, the commit after 50,000 left both cores half
/// idle for about 0.3 s; one commit at the end has no such gap.
pub const COMMIT_INTERVAL: Duration = Duration::from_secs(30);
/// A catch-up that indexed at least this many papers (a reindex, a first import, a large
/// harvest) ends by merging the segments it wrote into one per indexing thread: a bulk
/// build leaves several, and every query pays for each.
pub const MERGE_AFTER: u64 = 10_000;

/// What a catch-up did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct IndexReport {
    /// Papers added or updated.
    pub upserted: u64,
    /// Papers removed.
    pub deleted: u64,
    /// The sequence number the index now reflects.
    pub seq: i64,
    /// Wall time.
    pub elapsed: Duration,
}

/// A bulk catch-up (a backlog of [`MERGE_AFTER`] changes or more): it ends by merging the
/// segments it wrote, so tantivy's background merges are paused meanwhile, or they would
/// merge the segments of its first commits and the final merge would merge those documents
/// a second time. Dropped, the merge policy runs again.
struct BulkBuild {
    engine: Arc<SearchEngine>,
    /// The segments from before it, left as they are.
    before: Segments,
}

impl BulkBuild {
    fn start(engine: Arc<SearchEngine>) -> Result<Self> {
        let before = engine
            .bm25()
            .segments()
            .context("cannot list index segments")?;
        engine
            .bm25()
            .pause_merges(true)
            .context("cannot pause index merges")?;
        Ok(BulkBuild { engine, before })
    }

    /// Merges the segments written since the start into one per indexing thread.
    fn merge(self) -> Result<()> {
        self.engine
            .merge_segments(&self.before)
            .context("cannot merge index segments")
    }
}

impl Drop for BulkBuild {
    fn drop(&mut self) {
        if let Err(e) = self.engine.bm25().pause_merges(false) {
            tracing::warn!(error = %e, "cannot resume index merges");
        }
    }
}

/// Keeps an engine's BM25 index in step with a store.
#[derive(Debug, Clone)]
pub struct IndexJob {
    store: Arc<dyn Store>,
    engine: Arc<SearchEngine>,
    batch: u32,
    merge_after: u64,
}

impl IndexJob {
    /// A job feeding `engine` from `store`.
    pub fn new(store: Arc<dyn Store>, engine: Arc<SearchEngine>) -> Self {
        IndexJob {
            store,
            engine,
            batch: BATCH,
            merge_after: MERGE_AFTER,
        }
    }

    /// Changes per batch (tests use small batches).
    #[cfg(test)]
    pub fn with_batch(mut self, batch: u32) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// The backlog that makes a catch-up a bulk build (tests use small ones).
    #[cfg(test)]
    pub fn with_merge_after(mut self, papers: u64) -> Self {
        self.merge_after = papers;
        self
    }

    /// Applies every change the index has not seen, batch by batch, until there are none or
    /// `cancel` fires (the batch in hand is then not applied).
    pub async fn catch_up(
        &self,
        cancel: &CancellationToken,
        progress: Option<&Progress>,
    ) -> Result<IndexReport> {
        let started = Instant::now();
        let mut report = IndexReport {
            seq: self.engine.bm25().indexed_seq(),
            ..IndexReport::default()
        };
        let backlog = self
            .store
            .last_seq()
            .await
            .context("cannot read the store's last change")?
            - report.seq;
        // Held until the end, the final merge included.
        let bulk = if backlog >= i64::try_from(self.merge_after).unwrap_or(i64::MAX) {
            Some(BulkBuild::start(self.engine.clone())?)
        } else {
            None
        };
        let mut last_commit = Instant::now();
        // The sequence number of the last staged change; committed before returning.
        let mut staged_seq = report.seq;
        loop {
            if cancel.is_cancelled() {
                break;
            }
            let changes = self
                .store
                .changes_since(staged_seq, self.batch)
                .await
                .context("cannot read store changes")?;
            let Some(last) = changes.last().map(Change::seq) else {
                break;
            };
            let engine = self.engine.clone();
            let commit = (last_commit.elapsed() >= COMMIT_INTERVAL).then_some(last);
            let apply = tokio::task::spawn_blocking(move || -> Result<(u64, u64)> {
                let mut upserts: Vec<(&Paper, u32)> = Vec::with_capacity(changes.len());
                let mut deletes: Vec<ArxivId> = Vec::new();
                for change in &changes {
                    match change {
                        Change::Upsert { paper, upvotes, .. } => {
                            upserts.push((paper.as_ref(), *upvotes))
                        }
                        Change::Delete { id, .. } => deletes.push(id.clone()),
                    }
                }
                engine.stage_changes(&upserts, &deletes)?;
                if let Some(seq) = commit {
                    engine.commit(seq)?;
                }
                Ok((upserts.len() as u64, deletes.len() as u64))
            });
            let (upserted, deleted) = tokio::select! {
                // Cancelled mid-batch: what the blocking thread writes is committed later or
                // never, and the next run starts from the index's own committed sequence.
                () = cancel.cancelled() => break,
                done = apply => done.context("indexing thread failed")??,
            };
            report.upserted += upserted;
            report.deleted += deleted;
            staged_seq = last;
            if commit.is_some() {
                report.seq = last;
                last_commit = Instant::now();
            }
            if let Some(p) = progress {
                p.set_records(report.upserted + report.deleted);
            }
        }
        if staged_seq != report.seq {
            let engine = self.engine.clone();
            tokio::task::spawn_blocking(move || engine.commit(staged_seq))
                .await
                .context("indexing thread failed")??;
            report.seq = staged_seq;
        }
        if let Some(bulk) = bulk
            && report.upserted >= self.merge_after
            && !cancel.is_cancelled()
        {
            tokio::task::spawn_blocking(move || bulk.merge())
                .await
                .context("indexing thread failed")??;
        }
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Catches up every `every` until `cancel` fires, retrying failures with backoff.
    pub async fn run(self, cancel: CancellationToken, every: Duration) {
        let (job, token) = (&self, &cancel);
        repeat("index", &cancel, Schedule::every(every), || async move {
            let r = job.catch_up(token, None).await?;
            if r.upserted + r.deleted > 0 {
                tracing::info!(
                    upserted = r.upserted,
                    deleted = r.deleted,
                    seq = r.seq,
                    "search index updated"
                );
            }
            Ok(())
        })
        .await;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use paperfeed_search::engine::{EngineOptions, EngineRequest, SearchMode};
    use paperfeed_store::SqliteStore;

    pub(crate) fn sample_papers(n: usize) -> Vec<Paper> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/search/papers-300.jsonl"
        );
        let text = std::fs::read_to_string(path).unwrap();
        text.lines()
            .take(n)
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let id = ArxivId::parse(v["id"].as_str().unwrap()).unwrap();
                let mut p = Paper::new(id, v["title"].as_str().unwrap());
                p.abstract_text = v["abstract"].as_str().unwrap().to_string();
                p.categories = v["categories"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|c| paperfeed_core::Category::parse(c.as_str()?).ok())
                    .collect();
                p.listing_date = v["listing_date"].as_str().and_then(|d| d.parse().ok());
                p
            })
            .collect()
    }

    /// The SQLite store of `dir`.
    async fn open_store(dir: &std::path::Path) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(&dir.join("db.sqlite")).await.unwrap())
    }

    /// The engine of `dir`, with the bundled model.
    fn open_engine(dir: &std::path::Path) -> Arc<SearchEngine> {
        let embedder = paperfeed_search::embed::load::load_embedder(None).unwrap();
        let engine = SearchEngine::open(
            &dir.join("index"),
            &dir.join("vectors"),
            embedder,
            EngineOptions::default(),
        );
        Arc::new(engine.unwrap())
    }

    /// A bulk catch-up pauses background merges, merges the segments it wrote into one per
    /// indexing thread, leaves the older ones alone, and lets tantivy's merge policy run
    /// again.
    #[tokio::test]
    async fn a_bulk_catch_up_merges_what_it_wrote_and_resumes_background_merges() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        let papers = sample_papers(180);
        store.upsert_papers(papers[..60].to_vec()).await.unwrap();
        let engine = open_engine(dir.path());
        let job = IndexJob::new(store.clone(), engine.clone())
            .with_batch(10)
            .with_merge_after(100);
        job.catch_up(&CancellationToken::new(), None).await.unwrap();
        let before = engine.bm25().segments().unwrap();
        assert!(!before.is_empty());

        store.upsert_papers(papers[60..].to_vec()).await.unwrap();
        let r = job.catch_up(&CancellationToken::new(), None).await.unwrap();
        assert_eq!(r.upserted, 120);
        assert_eq!(engine.bm25().doc_count(), 180);
        assert!(!engine.bm25().merges_paused());
        let after = engine.bm25().segments().unwrap();
        assert!(before.is_subset(&after), "{before:?} then {after:?}");
        let written = after.len() - before.len();
        assert!((1..=2).contains(&written), "{written} new segments");
    }

    #[tokio::test]
    async fn follows_inserts_updates_and_deletes_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        let papers = sample_papers(120);
        store.upsert_papers(papers.clone()).await.unwrap();
        let engine = open_engine(dir.path());
        let job = IndexJob::new(store.clone(), engine.clone()).with_batch(50);
        let r = job.catch_up(&CancellationToken::new(), None).await.unwrap();
        assert_eq!(r.upserted, 120);
        assert_eq!(engine.bm25().doc_count(), 120);
        assert_eq!(r.seq, store.last_seq().await.unwrap());

        // A changed title and a deletion arrive as changes.
        let mut changed = papers[0].clone();
        changed.title = "Zebra finches sing hierarchical songs".into();
        store.upsert_papers(vec![changed.clone()]).await.unwrap();
        store
            .delete_papers(vec![papers[1].id.clone()])
            .await
            .unwrap();
        drop(job);
        drop(engine);
        // Reopened: it resumes from its committed sequence.
        let engine = open_engine(dir.path());
        let job = IndexJob::new(store.clone(), engine.clone());
        let r = job.catch_up(&CancellationToken::new(), None).await.unwrap();
        assert_eq!((r.upserted, r.deleted), (1, 1));
        assert_eq!(engine.bm25().doc_count(), 119);
        let hits = engine
            .search(&EngineRequest::new(SearchMode::Bm25, "zebra finches"))
            .unwrap()
            .hits;
        assert_eq!(hits[0].id, changed.id);
        // Nothing new: nothing done.
        let r = job.catch_up(&CancellationToken::new(), None).await.unwrap();
        assert_eq!((r.upserted, r.deleted), (0, 0));
    }
}
