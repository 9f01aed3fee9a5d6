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
use paperfeed_search::engine::SearchEngine;
use paperfeed_store::{Change, Store};
use tokio_util::sync::CancellationToken;

use crate::jobs::supervisor::{Schedule, repeat};

use crate::progress::Progress;

/// Changes read and written at once: a batch of papers stays a few MB (each paper is held
/// as a row, a `Paper` and a document at once; 5,000 cost 25-35 MB more peak RSS).
pub const BATCH: u32 = 1_000;
/// Changes written between two commits: commits (and the segments each makes) stay few
/// during a large catch-up; a killed job redoes at most this many.
pub const COMMIT_EVERY: u64 = 50_000;
/// A catch-up that indexed at least this many papers (a reindex, a first import) ends by
/// merging the index into one segment per indexing thread: a bulk build leaves several,
/// and every query pays for each.
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

/// Keeps an engine's BM25 index in step with a store.
#[derive(Debug, Clone)]
pub struct IndexJob {
    store: Arc<dyn Store>,
    engine: Arc<SearchEngine>,
    batch: u32,
}

impl IndexJob {
    /// A job feeding `engine` from `store`.
    pub fn new(store: Arc<dyn Store>, engine: Arc<SearchEngine>) -> Self {
        IndexJob {
            store,
            engine,
            batch: BATCH,
        }
    }

    /// Changes per batch (tests use small batches).
    #[cfg(test)]
    pub fn with_batch(mut self, batch: u32) -> Self {
        self.batch = batch.max(1);
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
        let mut staged = 0u64;
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
            let commit = (staged + changes.len() as u64 >= COMMIT_EVERY).then_some(last);
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
            staged = if commit.is_some() {
                0
            } else {
                staged + upserted + deleted
            };
            if commit.is_some() {
                report.seq = last;
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
        if report.upserted >= MERGE_AFTER && !cancel.is_cancelled() {
            let engine = self.engine.clone();
            tokio::task::spawn_blocking(move || engine.merge_segments())
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

    #[tokio::test]
    async fn follows_inserts_updates_and_deletes_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&dir.path().join("db.sqlite"))
                .await
                .unwrap(),
        );
        let papers = sample_papers(120);
        store.upsert_papers(papers.clone()).await.unwrap();
        let embedder = paperfeed_search::embed::load::load_embedder(None).unwrap();
        let open = || {
            SearchEngine::open(
                &dir.path().join("index"),
                &dir.path().join("vectors"),
                embedder.clone(),
                EngineOptions::default(),
            )
            .map(Arc::new)
        };
        let engine = open().unwrap();
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
        let engine = open().unwrap();
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
