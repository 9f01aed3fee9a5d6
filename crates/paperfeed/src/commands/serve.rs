//! `paperfeed serve`: the web service with its background jobs.
//!
//! The store, search engine and model are opened once and shared by the HTTP handlers and
//! the jobs (indexing, embedding, automatic admission, and an OAI harvest when
//! `[harvest] every_hours` is set), which run beside the server and never inside a request.
//! The address actually bound is printed as `listening on http://ADDR`, so `--addr
//! 127.0.0.1:0` tells callers the port it got.
//!
//! SIGTERM or Ctrl-C (or, with `PAPERFEED_STOP_ON_STDIN_EOF=1`, the end of standard input,
//! for a parent process that wants its server gone when it goes) stops it gracefully: the
//! server stops accepting, finishes the requests in flight, the jobs finish or abandon their
//! current batch (each batch is one transaction), vectors are saved and the store is closed.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use paperfeed_ingest::arxiv_api::ArxivApi;
use paperfeed_ingest::harvest::HarvestParams;
use paperfeed_ingest::oai::MetadataFormat;
use paperfeed_search::engine::SearchEngine;
use paperfeed_store::{SqliteStore, Store};
use paperfeed_web::{AppConfig, AppState, ArxivApiFetcher};
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::commands::ingest::remote::polite_client;
use crate::jobs::admit::{AdmitJob, AdmitWindow};
use crate::jobs::embed::EmbedJob;
use crate::jobs::harvest::HarvestJob;
use crate::jobs::index::IndexJob;
use crate::jobs::supervisor::Supervisor;
use crate::jobs::{load_model, model_spec, open_engine, vectors_root};
use crate::settings::{DEFAULT_ADDR, DEFAULT_API_ENDPOINT, DEFAULT_OAI_ENDPOINT, Settings};

/// How often the index follows the store: votes and submissions show in search within this.
const INDEX_EVERY: Duration = Duration::from_secs(2);
/// How often the embedding job looks for papers without a vector.
const EMBED_EVERY: Duration = Duration::from_secs(5);
/// How often automatic admission looks for new listings.
const ADMIT_EVERY: Duration = Duration::from_secs(30);
/// Listing days automatic admission looks back on a live instance.
const ADMIT_RECENT_DAYS: u32 = 3;

/// What `serve` serves: the store (concrete, to close it at the end) and the engine.
#[derive(Debug)]
pub struct Opened {
    sqlite: SqliteStore,
    /// The store as the jobs and handlers see it.
    pub store: Arc<dyn Store>,
    /// The search engine.
    pub engine: Arc<SearchEngine>,
}

/// Opens the data dir's store, model and engine.
pub async fn open(settings: &Settings, model: Option<&str>) -> Result<Opened> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create data dir {}", settings.data_dir.display()))?;
    let sqlite = SqliteStore::open(&settings.db_path()).await?;
    let store: Arc<dyn Store> = Arc::new(sqlite.clone());
    let embedder = load_model(model_spec(model, settings)).await?;
    let engine = open_engine(settings, &store, embedder).await?;
    Ok(Opened {
        sqlite,
        store,
        engine,
    })
}

/// How `serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to bind.
    pub addr: String,
    /// Categories automatic admission takes, and which listing days it looks at.
    pub admit: Option<(Vec<String>, AdmitWindow)>,
}

/// `paperfeed serve`.
pub async fn run(settings: &Settings, args: ServeArgs) -> Result<ExitCode> {
    let opened = open(settings, args.model.as_deref()).await?;
    let admit = auto_admit_categories(settings).map(|c| {
        (
            c,
            AdmitWindow::Recent {
                days: ADMIT_RECENT_DAYS,
            },
        )
    });
    let options = ServeOptions {
        addr: listen_addr(args.addr, settings),
        admit,
    };
    serve(settings, opened, options).await
}

/// The address: the flag or `PAPERFEED_ADDR`, else `[server] addr`, else the default.
pub fn listen_addr(flag: Option<String>, settings: &Settings) -> String {
    flag.or_else(|| settings.file.server.addr.clone())
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ADDR.to_string())
}

/// Categories for automatic admission: `PAPERFEED_AUTO_ADMIT` (comma-separated), else
/// `[feed] auto_admit_categories`; none means admission is off.
fn auto_admit_categories(settings: &Settings) -> Option<Vec<String>> {
    let from_env = std::env::var("PAPERFEED_AUTO_ADMIT").ok().map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    });
    from_env
        .or_else(|| settings.file.feed.auto_admit_categories.clone())
        .filter(|c| !c.is_empty())
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

fn arxiv_fetcher(settings: &Settings) -> Result<ArxivApiFetcher> {
    let endpoint = std::env::var("PAPERFEED_ARXIV_API_ENDPOINT")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .or_else(|| settings.file.arxiv_api.endpoint.clone())
        .unwrap_or_else(|| DEFAULT_API_ENDPOINT.to_string());
    let interval = std::env::var("PAPERFEED_HARVEST_INTERVAL")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .or(settings.file.harvest.interval_secs);
    let client = polite_client(settings, &endpoint, interval)?;
    Ok(ArxivApiFetcher::new(
        ArxivApi::new(client).with_endpoint(&endpoint),
    ))
}

fn harvest_job(settings: &Settings, store: Arc<dyn Store>) -> Result<Option<HarvestJob>> {
    let file = &settings.file.harvest;
    let Some(hours) = file.every_hours.filter(|h| h.is_finite() && *h > 0.0) else {
        return Ok(None);
    };
    let endpoint = file
        .endpoint
        .clone()
        .unwrap_or_else(|| DEFAULT_OAI_ENDPOINT.to_string());
    let format = match &file.metadata_prefix {
        Some(p) => p
            .parse()
            .map_err(|e| anyhow::anyhow!("harvest.metadata_prefix: {e}"))?,
        None => MetadataFormat::ArxivRaw,
    };
    let params = HarvestParams {
        endpoint: endpoint.clone(),
        set: file.set.clone(),
        format,
        from: None,
        until: None,
    };
    let client = polite_client(settings, &endpoint, file.interval_secs)?;
    Ok(Some(HarvestJob::new(
        store,
        client,
        params,
        Duration::from_secs_f64(hours * 3600.0),
    )))
}

/// Serves until a shutdown signal, then stops everything cleanly.
pub async fn serve(settings: &Settings, opened: Opened, options: ServeOptions) -> Result<ExitCode> {
    let Opened {
        sqlite,
        store,
        engine,
    } = opened;
    let config = AppConfig {
        secure_cookies: env_flag("PAPERFEED_SECURE_COOKIES"),
        ..AppConfig::default()
    };
    let state = AppState::new(
        store.clone(),
        engine.clone(),
        Arc::new(arxiv_fetcher(settings)?),
        config,
    );
    let listener = tokio::net::TcpListener::bind(&options.addr)
        .await
        .with_context(|| format!("cannot listen on {}", options.addr))?;
    let local = listener.local_addr()?;

    let cancel = CancellationToken::new();
    let mut jobs = Supervisor::new(cancel.clone());
    jobs.spawn(
        "index",
        IndexJob::new(store.clone(), engine.clone()).run(jobs.token(), INDEX_EVERY),
    );
    jobs.spawn(
        "embed",
        EmbedJob::new(store.clone(), engine.clone(), vectors_root(settings))
            .run(jobs.token(), EMBED_EVERY),
    );
    if let Some((categories, window)) = options.admit.clone() {
        tracing::info!(categories = %categories.join(","), "automatic admission is on");
        jobs.spawn(
            "admit",
            AdmitJob::new(store.clone(), categories, window).run(jobs.token(), ADMIT_EVERY),
        );
    }
    if let Some(job) = harvest_job(settings, store.clone())? {
        jobs.spawn("harvest", job.run(jobs.token()));
    }

    tracing::info!(jobs = %jobs.jobs().join(", "), "background jobs started");
    println!("listening on http://{local}");
    // Callers read this line from a pipe: it must not wait in a buffer.
    std::io::stdout().flush().ok();

    let shutdown = {
        let cancel = cancel.clone();
        async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            // The jobs stop while the server drains its requests.
            cancel.cancel();
        }
    };
    let served = axum::serve(listener, paperfeed_web::router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    cancel.cancel();
    jobs.stop().await;
    let e = engine.clone();
    if let Err(err) = tokio::task::spawn_blocking(move || e.persist_vectors()).await? {
        tracing::warn!(error = %err, "cannot save the vectors on shutdown (the journal keeps them)");
    }
    drop(engine);
    sqlite.close().await;
    served.context("the server failed")?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGTERM, Ctrl-C, or (with `PAPERFEED_STOP_ON_STDIN_EOF=1`) the end of stdin.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    let stdin_closed = async {
        if !env_flag("PAPERFEED_STOP_ON_STDIN_EOF") {
            return std::future::pending::<()>().await;
        }
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        // A plain thread, not the runtime's blocking pool: a read of stdin cannot be
        // cancelled, and the runtime would wait for it at exit.
        let spawned = std::thread::Builder::new()
            .name("stdin-watch".into())
            .spawn(move || {
                let mut sink = Vec::new();
                let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
                let _ = tx.send(());
            });
        if spawned.is_err() {
            return std::future::pending::<()>().await;
        }
        let _ = rx.await;
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
        () = stdin_closed => {}
    }
}
