//! `paperfeed embed`: the embedding job in the foreground, with a progress bar. Ctrl-C stops
//! it between batches; the next run continues where it stopped.

use std::process::ExitCode;

use anyhow::Result;
use paperfeed_store::ModelKey;
use tokio_util::sync::CancellationToken;

use crate::commands::search::open_caught_up;
use crate::jobs::embed::EmbedJob;
use crate::jobs::vectors_root;
use crate::progress::Progress;
use crate::settings::Settings;

pub async fn run(settings: &Settings, model: Option<String>) -> Result<ExitCode> {
    let (store, engine) = open_caught_up(settings, model.as_deref()).await?;
    let key = ModelKey(engine.identity().key());
    let todo = store.count_needing_embedding(&key).await?;
    if !settings.quiet {
        eprintln!(
            "model {} ({} dimensions): {todo} papers to embed",
            key.0,
            engine.identity().dimensions
        );
    }
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopping after the current batch…");
            on_signal.cancel();
        }
    });
    let progress = Progress::items("embedding", Some(todo), settings.quiet);
    let job = EmbedJob::new(store, engine.clone(), vectors_root(settings));
    let report = job.run_once(&cancel, Some(&progress)).await;
    progress.finish();
    let report = report?;
    if !settings.quiet {
        let secs = report.elapsed.as_secs_f64();
        eprintln!(
            "embedded {} papers in {secs:.1} s ({:.0} papers/s; model alone {:.0}/s), {} left{}",
            report.embedded,
            report.embedded as f64 / secs.max(1e-9),
            report.embedded as f64 / report.model_seconds.max(1e-9),
            report.remaining,
            if report.dropped_other > 0 {
                format!("; dropped {} vectors of other models", report.dropped_other)
            } else {
                String::new()
            }
        );
    }
    Ok(if cancel.is_cancelled() {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}
