//! The embedding job: gives every paper a vector of the engine's model.
//!
//! It loops `Store::papers_needing_embedding(model)` → embed `title + "\n" + abstract` →
//! the engine (which journals the vectors on disk first) → `Store::put_embeddings`, one batch
//! at a time. The store decides what still needs a vector, so a killed run resumes where it
//! stopped and never embeds a paper twice; a paper whose text changed is embedded again.
//! Vectors of each model are kept under their own key: switching models re-embeds everything
//! under the new key, and the old model's vectors are dropped only once the new one covers
//! every paper.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use paperfeed_core::{ArxivId, Paper};
use paperfeed_search::engine::SearchEngine;
use paperfeed_store::{ModelKey, Store};
use tokio_util::sync::CancellationToken;

use crate::jobs::supervisor::{Schedule, repeat};

use crate::progress::Progress;

/// Papers embedded per batch: a few seconds of work for a BERT model on two cores, a few
/// milliseconds for the bundled one.
pub const BATCH: u32 = 256;
/// Vectors between two snapshots of the vectors folder (the journal holds the rest).
const PERSIST_EVERY: u64 = 20_000;

/// A batch's vectors and the seconds the model spent on them.
type EmbeddedBatch = (Vec<(ArxivId, Vec<f32>)>, f64);

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EmbedReport {
    /// Papers embedded in this run.
    pub embedded: u64,
    /// Papers still without a current vector.
    pub remaining: u64,
    /// Vectors of other models dropped (the switch to this model finished).
    pub dropped_other: u64,
    /// Seconds spent in the model itself.
    pub model_seconds: f64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Embeds a store's papers into an engine.
#[derive(Debug, Clone)]
pub struct EmbedJob {
    store: Arc<dyn Store>,
    engine: Arc<SearchEngine>,
    vectors_root: PathBuf,
    batch: u32,
    max_papers: Option<u64>,
}

impl EmbedJob {
    /// A job embedding `store`'s papers with `engine`'s model; `vectors_root` is the data
    /// dir's `vectors/` (other models' folders there go when this model is complete).
    pub fn new(store: Arc<dyn Store>, engine: Arc<SearchEngine>, vectors_root: PathBuf) -> Self {
        EmbedJob {
            store,
            engine,
            vectors_root,
            batch: BATCH,
            max_papers: None,
        }
    }

    /// Papers per batch.
    #[cfg(test)]
    pub fn with_batch(mut self, batch: u32) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Stops a run after about this many papers (benchmarks of slow models).
    pub fn with_max_papers(mut self, max: Option<u64>) -> Self {
        self.max_papers = max;
        self
    }

    /// The model's key in the store.
    pub fn model_key(&self) -> ModelKey {
        ModelKey(self.engine.identity().key())
    }

    /// Embeds every paper that needs it, until none is left or `cancel` fires (a batch in
    /// flight is then abandoned whole: nothing of it is written).
    pub async fn run_once(
        &self,
        cancel: &CancellationToken,
        progress: Option<&Progress>,
    ) -> Result<EmbedReport> {
        let started = Instant::now();
        let key = self.model_key();
        let identity = serde_json::to_value(self.engine.identity())?;
        self.store.register_model(&key, &identity).await?;
        let total = self.store.count_needing_embedding(&key).await?;
        self.engine.set_pending_embeddings(Some(total));
        let mut report = EmbedReport::default();
        let mut since_persist = 0u64;
        // Papers are read in id order; each batch reads on after the last one.
        let mut after: Option<ArxivId> = None;
        loop {
            if cancel.is_cancelled() || self.max_papers.is_some_and(|m| report.embedded >= m) {
                break;
            }
            let papers = self
                .store
                .papers_needing_embedding(&key, after.as_ref(), self.batch)
                .await
                .context("cannot read papers to embed")?;
            let Some(last) = papers.last() else {
                break;
            };
            after = Some(last.id.clone());
            // Only the model goes to the thread: an abandoned batch must not keep the engine
            // (and its index writer) alive.
            let embedder = self.engine.embedder().clone();
            let work = tokio::task::spawn_blocking(move || -> Result<EmbeddedBatch> {
                let texts: Vec<String> = papers.iter().map(document_text).collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                let t = Instant::now();
                let vectors = embedder.embed_documents(&refs)?;
                let secs = t.elapsed().as_secs_f64();
                anyhow::ensure!(
                    vectors.len() == papers.len(),
                    "the model returned {} vectors for {} papers",
                    vectors.len(),
                    papers.len()
                );
                let pairs: Vec<(ArxivId, Vec<f32>)> =
                    papers.into_iter().map(|p| p.id).zip(vectors).collect();
                Ok((pairs, secs))
            });
            let (pairs, secs) = tokio::select! {
                // Abandoned: the vectors computed so far are dropped, nothing is written.
                () = cancel.cancelled() => break,
                done = work => done.context("embedding thread failed")??,
            };
            // Into the engine (journaled on disk) before the store: the vectors folder must
            // never lag behind the store's table.
            let engine = self.engine.clone();
            let pairs =
                tokio::task::spawn_blocking(move || engine.upsert_vectors(&pairs).map(|()| pairs))
                    .await
                    .context("embedding thread failed")??;
            let n = pairs.len() as u64;
            self.store
                .put_embeddings(&key, pairs)
                .await
                .context("cannot store vectors")?;
            report.embedded += n;
            report.model_seconds += secs;
            since_persist += n;
            self.engine
                .set_pending_embeddings(Some(total.saturating_sub(report.embedded)));
            if let Some(p) = progress {
                p.set_records(report.embedded);
            }
            if since_persist >= PERSIST_EVERY {
                // A snapshot bounds the journal; the graph waits for the end of the run (a
                // build costs seconds per ten thousand vectors).
                since_persist = 0;
                self.persist(false).await?;
            }
        }
        report.remaining = self.store.count_needing_embedding(&key).await?;
        self.engine.set_pending_embeddings(Some(report.remaining));
        if report.remaining == 0 {
            report.dropped_other = self.store.drop_other_embeddings(&key).await?;
            let engine = self.engine.clone();
            let root = self.vectors_root.clone();
            tokio::task::spawn_blocking(move || engine.remove_other_models(&root))
                .await
                .context("cleanup thread failed")??;
        }
        if report.embedded > 0 || report.dropped_other > 0 {
            self.persist(true).await?;
        } else if !cancel.is_cancelled() {
            self.repair_graph().await?;
        }
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Writes the vectors folder, after rebuilding the graph if due and `maintain`.
    async fn persist(&self, maintain: bool) -> Result<()> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            if maintain {
                engine.maintain()?;
            }
            engine.persist_vectors()?;
            Ok(())
        })
        .await
        .context("vector saving thread failed")?
    }

    /// Builds and saves the graph when it is due though nothing was embedded: its file was
    /// lost or unreadable (the engine then scans every vector, a hundred times slower at
    /// 75k papers), or the engine's graph settings changed.
    async fn repair_graph(&self) -> Result<()> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            if engine.maintain()?.graph_built {
                engine.persist_vectors()?;
            }
            Ok(())
        })
        .await
        .context("graph building thread failed")?
    }

    /// Runs every `every` until `cancel` fires, retrying failures with backoff.
    pub async fn run(self, cancel: CancellationToken, every: Duration) {
        let (job, token) = (&self, &cancel);
        repeat("embed", &cancel, Schedule::every(every), || async move {
            let r = job.run_once(token, None).await?;
            if r.embedded > 0 {
                tracing::info!(
                    embedded = r.embedded,
                    remaining = r.remaining,
                    "papers embedded"
                );
            }
            Ok(())
        })
        .await;
    }
}

/// What a paper's vector is computed from.
pub fn document_text(paper: &Paper) -> String {
    format!("{}\n{}", paper.title, paper.abstract_text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::index::IndexJob;
    use paperfeed_search::SearchError;
    use paperfeed_search::embed::{Embedder, ModelIdentity};
    use paperfeed_search::engine::{EngineOptions, EngineRequest, SearchMode};
    use paperfeed_store::SqliteStore;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// The bundled model, counting the documents it embeds and firing a cancellation after
    /// a number of them (to interrupt a run between batches).
    #[derive(Debug)]
    struct Counting {
        inner: Arc<dyn Embedder>,
        embedded: AtomicU64,
        cancel_after: u64,
        cancel: CancellationToken,
    }

    impl Embedder for Counting {
        fn identity(&self) -> &ModelIdentity {
            self.inner.identity()
        }
        fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, SearchError> {
            let n = self
                .embedded
                .fetch_add(texts.len() as u64, Ordering::SeqCst)
                + texts.len() as u64;
            if n >= self.cancel_after {
                self.cancel.cancel();
            }
            self.inner.embed_documents(texts)
        }
        fn embed_query(&self, text: &str) -> Result<Vec<f32>, SearchError> {
            self.inner.embed_query(text)
        }
    }

    /// A store in a fresh temporary dir holding the first `n` sample papers.
    async fn store_with(n: usize) -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&dir.path().join("db.sqlite"))
                .await
                .unwrap(),
        );
        store
            .upsert_papers(crate::jobs::index::tests::sample_papers(n))
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn interrupted_embedding_resumes_and_embeds_each_paper_once() {
        let (dir, store) = store_with(300).await;
        let bundled = paperfeed_search::embed::load::load_embedder(None).unwrap();
        let cancel = CancellationToken::new();
        let counting = Arc::new(Counting {
            inner: bundled,
            embedded: AtomicU64::new(0),
            cancel_after: 100,
            cancel: cancel.clone(),
        });
        let open = |embedder: Arc<dyn Embedder>| {
            Arc::new(
                SearchEngine::open(
                    &dir.path().join("index"),
                    &dir.path().join("vectors"),
                    embedder,
                    EngineOptions::default(),
                )
                .unwrap(),
            )
        };
        let engine = open(counting.clone());
        IndexJob::new(store.clone(), engine.clone())
            .catch_up(&CancellationToken::new(), None)
            .await
            .unwrap();
        let job =
            EmbedJob::new(store.clone(), engine.clone(), dir.path().join("vectors")).with_batch(40);
        let first = job.run_once(&cancel, None).await.unwrap();
        // Cancelled during the batch that crossed 100 documents: that batch is either written
        // whole or abandoned whole.
        assert!(first.embedded == 80 || first.embedded == 120, "{first:?}");
        assert_eq!(first.remaining, 300 - first.embedded);
        assert!(!engine.coverage().complete);
        let partial = engine
            .search(&EngineRequest::new(
                SearchMode::Hybrid,
                "knowledge distillation",
            ))
            .unwrap();
        assert!(!partial.semantic_complete);
        drop(job);
        drop(engine);

        // A new process: the engine reloads its vectors from the data dir, the job resumes.
        let engine = open(counting.clone());
        assert_eq!(engine.vector_count() as u64, first.embedded);
        let job = EmbedJob::new(store.clone(), engine.clone(), dir.path().join("vectors"));
        let second = job.run_once(&CancellationToken::new(), None).await.unwrap();
        assert_eq!(first.embedded + second.embedded, 300);
        assert_eq!(second.remaining, 0);
        let model_calls = counting.embedded.load(Ordering::SeqCst);
        // Every paper embedded once, plus at most the one abandoned batch.
        assert!(model_calls == 300 || model_calls == 340, "{model_calls}");
        let stats = store.stats().await.unwrap();
        assert_eq!(stats.embeddings, vec![(job.model_key().0, 300)]);
        assert_eq!(engine.vector_count(), 300);
        assert!(engine.coverage().complete);
        // Nothing left: a rerun embeds nothing.
        let third = job.run_once(&CancellationToken::new(), None).await.unwrap();
        assert_eq!(third.embedded, 0);
    }

    /// Regression: with its graph file gone, a data dir above the graph threshold was
    /// searched by exact scan until new papers came to embed.
    #[tokio::test]
    async fn a_lost_graph_is_rebuilt_though_nothing_is_left_to_embed() {
        let (dir, store) = store_with(300).await;
        let open = || {
            let options = EngineOptions {
                ann_threshold: 100,
                ..EngineOptions::default()
            };
            let bundled = paperfeed_search::embed::load::load_embedder(None).unwrap();
            Arc::new(
                SearchEngine::open(
                    &dir.path().join("index"),
                    &dir.path().join("vectors"),
                    bundled,
                    options,
                )
                .unwrap(),
            )
        };
        let engine = open();
        let job = EmbedJob::new(store.clone(), engine.clone(), dir.path().join("vectors"));
        assert_eq!(
            job.run_once(&CancellationToken::new(), None)
                .await
                .unwrap()
                .embedded,
            300
        );
        assert_eq!(engine.vector_index_kind(), "hnsw");
        drop(job);
        drop(engine);
        let graphs: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path().join("vectors"))
            .unwrap()
            .map(|e| e.unwrap().path().join("graph"))
            .filter(|g| g.is_dir())
            .collect();
        assert_eq!(graphs.len(), 1);
        std::fs::remove_dir_all(&graphs[0]).unwrap();

        let engine = open();
        assert_eq!(engine.vector_count(), 300);
        assert_eq!(engine.vector_index_kind(), "exact");
        let job = EmbedJob::new(store.clone(), engine.clone(), dir.path().join("vectors"));
        assert_eq!(
            job.run_once(&CancellationToken::new(), None)
                .await
                .unwrap()
                .embedded,
            0
        );
        assert_eq!(engine.vector_index_kind(), "hnsw");
        assert!(graphs[0].is_dir(), "the rebuilt graph is saved");
    }

    #[tokio::test]
    async fn switching_models_never_mixes_vectors_and_drops_the_old_ones_when_done() {
        let (dir, store) = store_with(60).await;
        let vectors = dir.path().join("vectors");
        let open = |embedder: Arc<dyn Embedder>| {
            Arc::new(
                SearchEngine::open(
                    &dir.path().join("index"),
                    &vectors,
                    embedder,
                    EngineOptions::default(),
                )
                .unwrap(),
            )
        };
        let bundled = paperfeed_search::embed::load::load_embedder(None).unwrap();
        let first = open(bundled.clone());
        IndexJob::new(store.clone(), first.clone())
            .catch_up(&CancellationToken::new(), None)
            .await
            .unwrap();
        EmbedJob::new(store.clone(), first.clone(), vectors.clone())
            .run_once(&CancellationToken::new(), None)
            .await
            .unwrap();
        drop(first);

        // "Another model": the bundled table loaded from its folder, a different identity.
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../paperfeed-search/models/static-minilm-arxiv-v1");
        let other = paperfeed_search::embed::load::load_embedder(folder.to_str()).unwrap();
        assert_ne!(other.identity().key(), bundled.identity().key());
        let second = open(other.clone());
        assert_eq!(
            second.vector_count(),
            0,
            "the other model's vectors are not loaded"
        );
        let job = EmbedJob::new(store.clone(), second.clone(), vectors.clone()).with_batch(25);
        let cancel = CancellationToken::new();
        let partial = job
            .with_max_papers(Some(25))
            .run_once(&cancel, None)
            .await
            .unwrap();
        assert_eq!(
            partial.dropped_other, 0,
            "old vectors stay until the new model is complete"
        );
        assert_eq!(store.stats().await.unwrap().embeddings.len(), 2);
        let done = EmbedJob::new(store.clone(), second.clone(), vectors.clone())
            .run_once(&cancel, None)
            .await
            .unwrap();
        assert_eq!(done.remaining, 0);
        assert_eq!(done.dropped_other, 60);
        let stats = store.stats().await.unwrap();
        assert_eq!(stats.embeddings, vec![(other.identity().key(), 60)]);
        let dirs = std::fs::read_dir(&vectors).unwrap().count();
        assert_eq!(dirs, 1, "the old model's folder is removed");
    }
}
