//! `paperfeed ingest ...`: files of every format, OAI-PMH harvests and arXiv API fetches.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use paperfeed_ingest::input::open_input;
use paperfeed_ingest::{hfdaily, jsonl, kaggle};
use paperfeed_store::Store;

use crate::cli::{IngestArgs, IngestSource};
use crate::import::{ImportReport, Item, import};
use crate::progress::Progress;
use crate::settings::Settings;

pub mod remote;

/// File formats `ingest` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Kaggle snapshot.
    Kaggle,
    /// JSON lines.
    Jsonl,
    /// rss.arxiv.org feeds.
    Rss,
    /// Hugging Face daily papers.
    HfDaily,
}

pub async fn run(settings: &Settings, args: IngestArgs) -> Result<ExitCode> {
    let strict = args.strict;
    let (format, files) = match args.source {
        IngestSource::Kaggle { files } => (FileFormat::Kaggle, files),
        IngestSource::Jsonl { files } => (FileFormat::Jsonl, files),
        IngestSource::Rss { files } => (FileFormat::Rss, files),
        IngestSource::HfDaily { files } => (FileFormat::HfDaily, files),
        IngestSource::Oai(oai) => return remote::harvest(settings, oai, strict).await,
        IngestSource::Arxiv(a) => return remote::fetch(settings, a, strict).await,
    };
    // Open every input first: a typo in the third file name should fail before the first
    // file is half imported.
    for f in &files {
        if f.as_os_str() != "-" && !f.exists() {
            anyhow::bail!("cannot read {}: no such file", f.display());
        }
    }
    let store = settings.open_store().await?;
    let mut total = ImportReport::default();
    for file in &files {
        let report = import_file(store.clone(), format, file, strict, settings.quiet).await?;
        total.add(&report);
    }
    print_report(&total, settings.quiet);
    Ok(ExitCode::SUCCESS)
}

/// Imports one file of `format` into `store`.
pub async fn import_file(
    store: Arc<dyn Store>,
    format: FileFormat,
    path: &Path,
    strict: bool,
    quiet: bool,
) -> Result<ImportReport> {
    let input = open_input(path)?;
    let name = input.name().to_string();
    let progress = input.progress();
    let bar = Progress::bytes(&name, progress.counter(), progress.total_bytes(), quiet);
    let items: Box<dyn Iterator<Item = Item> + Send> = match format {
        FileFormat::Kaggle => Box::new(kaggle::read(input, name.clone())),
        FileFormat::Jsonl => Box::new(jsonl::read(input, name.clone())),
        FileFormat::HfDaily => Box::new(hfdaily::read(input, name.clone())),
        FileFormat::Rss => Box::new(remote::read_rss(input, &name)?),
    };
    let result = import(store, &name, items, strict, &bar).await;
    bar.finish();
    let report = result?;
    if !quiet {
        let rate = report.records as f64 / report.elapsed.as_secs_f64().max(1e-9);
        eprintln!(
            "{name}: {} records in {:.1} s ({rate:.0}/s)",
            report.records,
            report.elapsed.as_secs_f64()
        );
    }
    Ok(report)
}

/// The end-of-run summary: counts, then every bad record.
pub fn print_report(report: &ImportReport, quiet: bool) {
    let s = &report.store;
    if !quiet {
        eprintln!(
            "imported {} records: {} new, {} updated, {} unchanged, {} deleted, {} added to feeds, {} bad",
            report.records,
            s.inserted,
            s.updated,
            s.unchanged,
            s.deleted,
            report.submissions,
            report.bad
        );
    }
    if report.bad > 0 {
        eprintln!("skipped {} bad records:", report.bad);
        for line in &report.bad_records {
            eprintln!("  {line}");
        }
        let unlisted = report.bad.saturating_sub(report.bad_records.len() as u64);
        if unlisted > 0 {
            eprintln!("  ... and {unlisted} more");
        }
    }
}
