//! `paperfeed bench ...`: programs that print figures (they are not tests and assert nothing).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use paperfeed_store::{SqliteStore, Store};
use serde_json::json;

use crate::cli::{BenchCommand, BenchFormat};
use crate::commands::ingest::{FileFormat, import_file};
use crate::commands::peak_rss_mb;
use crate::settings::Settings;

pub async fn run(settings: &Settings, what: BenchCommand) -> Result<ExitCode> {
    match what {
        BenchCommand::Ingest { file, format, json } => {
            let format = match format {
                BenchFormat::Jsonl => FileFormat::Jsonl,
                BenchFormat::Kaggle => FileFormat::Kaggle,
            };
            // A fresh store every run, so the figure is a first import, not an update.
            let dir = tempfile::tempdir().context("cannot create a temporary data dir")?;
            let db = dir.path().join("paperfeed.sqlite");
            let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).await?);
            let first = import_file(store.clone(), format, &file, false, true).await?;
            let again = import_file(store.clone(), format, &file, false, true).await?;
            let papers = store.stats().await?.papers;
            let db_mb = std::fs::metadata(&db).map(|m| m.len() as f64 / 1048576.0).unwrap_or(0.0);
            let rate = |r: &crate::import::ImportReport| {
                r.records as f64 / r.elapsed.as_secs_f64().max(1e-9)
            };
            let out = json!({
                "file": file.display().to_string(),
                "records": first.records,
                "papers": papers,
                "bad": first.bad,
                "import_seconds": first.elapsed.as_secs_f64(),
                "papers_per_s": rate(&first),
                "reimport_seconds": again.elapsed.as_secs_f64(),
                "reimport_papers_per_s": rate(&again),
                "reimport_unchanged": again.store.unchanged,
                "db_mb": db_mb,
                "peak_rss_mb": peak_rss_mb(),
            });
            if json || settings.quiet {
                println!("{out}");
            } else {
                println!("file                {}", file.display());
                println!("papers stored       {papers} ({} records, {} bad)", first.records, first.bad);
                println!("first import        {:.2} s, {:.0} papers/s", first.elapsed.as_secs_f64(), rate(&first));
                println!("re-import           {:.2} s, {:.0} papers/s ({} unchanged)", again.elapsed.as_secs_f64(), rate(&again), again.store.unchanged);
                println!("database            {db_mb:.1} MB");
                if let Some(rss) = peak_rss_mb() {
                    println!("peak RSS            {rss:.0} MB");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
