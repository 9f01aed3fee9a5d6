//! What every handler shares: the store, the search engine, the arXiv fetcher and the
//! service's settings.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use paperfeed_core::{Paper, TrendingParams, VersionedId};
use paperfeed_ingest::arxiv_api::ArxivApi;
use paperfeed_search::engine::SearchEngine;
use paperfeed_store::Store;

use crate::error::WebError;

/// Fetches one paper's metadata from arXiv, for papers submitted before they were ingested.
///
/// A trait so the service holds the real arXiv API client in production and tests can point
/// that same client at a local server (or use another source entirely).
#[async_trait]
pub trait PaperFetcher: Send + Sync + std::fmt::Debug + 'static {
    /// The paper, or `None` when arXiv does not know the id.
    async fn fetch(&self, id: &VersionedId) -> Result<Option<Paper>, WebError>;
}

/// [`PaperFetcher`] over the arXiv API client (blocking, polite: one request at a time
/// process-wide, at least three seconds apart, so it runs on a blocking thread).
#[derive(Debug, Clone)]
pub struct ArxivApiFetcher {
    api: ArxivApi,
}

impl ArxivApiFetcher {
    /// Fetches through `api`.
    pub fn new(api: ArxivApi) -> Self {
        ArxivApiFetcher { api }
    }
}

#[async_trait]
impl PaperFetcher for ArxivApiFetcher {
    async fn fetch(&self, id: &VersionedId) -> Result<Option<Paper>, WebError> {
        let api = self.api.clone();
        let ask = id.clone();
        let papers = tokio::task::spawn_blocking(move || api.fetch_ids(&[ask]))
            .await?
            .map_err(|e| {
                tracing::warn!(error = %e, "arXiv API fetch failed");
                WebError::Upstream(format!("arXiv could not be asked about {id}: {e}"))
            })?;
        Ok(papers.into_iter().find(|p| p.id == id.id))
    }
}

/// Settings of the service.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Name shown in page titles and feeds.
    pub site_name: String,
    /// How long a login lasts.
    pub session_lifetime: Duration,
    /// Mark cookies `Secure` (when served over HTTPS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// Days of submissions trending considers, counted back from the latest feed day.
    pub trending_days: u32,
    /// The trending formula's tuning.
    pub trending: TrendingParams,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            site_name: "paperfeed".to_string(),
            session_lifetime: Duration::from_secs(30 * 24 * 3600),
            secure_cookies: false,
            trending_days: 7,
            trending: TrendingParams::default(),
        }
    }
}

/// The state of the service; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) engine: Arc<SearchEngine>,
    pub(crate) fetcher: Arc<dyn PaperFetcher>,
    pub(crate) config: Arc<AppConfig>,
    /// Engine calls running at once (see [`AppState::on_engine`]).
    pub(crate) engine_slots: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// The state handlers work with.
    pub fn new(
        store: Arc<dyn Store>,
        engine: Arc<SearchEngine>,
        fetcher: Arc<dyn PaperFetcher>,
        config: AppConfig,
    ) -> Self {
        AppState {
            store,
            engine,
            fetcher,
            config: Arc::new(config),
            engine_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, usize::from),
            )),
        }
    }

    /// Runs a CPU-bound engine call after waiting for a turn: a `light` one (see
    /// [`SearchEngine::is_light`]: about a millisecond) on this async worker, any other on
    /// the blocking pool. Searches are pure CPU: more of them at once than cores only
    /// interleave and thrash the caches, so they queue here instead, at no cost to the
    /// async workers.
    ///
    /// Why light calls stay here: handing a search to a pool thread and its result back
    /// cost two thread wake-ups and a move between cores. Under the load test's wrk script
    /// the search API served 1,113-1,525 requests a second run here against 742-1,191 on
    /// the pool (ten alternated pairs). A light call holds this worker for about a
    /// millisecond; heavy ones (deep pages, pasted abstracts, transformer query
    /// embeddings) still go to the pool.
    pub(crate) async fn on_engine<T: Send + 'static>(
        &self,
        light: bool,
        call: impl FnOnce(&SearchEngine) -> T + Send + 'static,
    ) -> Result<T, WebError> {
        let permit = self
            .engine_slots
            .clone()
            .acquire_owned()
            .await
            .expect("the engine semaphore is never closed");
        if light {
            let _permit = permit;
            // As the pool would, a panic fails this request, not the worker's other tasks.
            let engine = &self.engine;
            return std::panic::catch_unwind(AssertUnwindSafe(|| call(engine)))
                .map_err(|_| WebError::Internal("search engine call panicked".into()));
        }
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            call(&engine)
        })
        .await
        .map_err(WebError::from)
    }
}
