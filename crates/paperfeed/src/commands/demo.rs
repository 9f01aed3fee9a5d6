//! `paperfeed demo`: the service over the bundled sample corpus (2,000 real arXiv listings
//! and the Hugging Face Daily Papers days of the 89 of them that were featured), with
//! automatic admission on for the sample's categories.
//!
//! The sample is embedded in the binary, so the demo works offline from any directory. An
//! empty data dir gets it imported, indexed and embedded (with the bundled model, a few
//! seconds) and its feeds filled before the server starts; a data dir with papers is served
//! as it is.

use std::io::Cursor;
use std::process::ExitCode;

use anyhow::{Context, Result};
use paperfeed_ingest::input::Input;
use paperfeed_ingest::{hfdaily, jsonl};
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::commands::serve::{self, ServeOptions, listen_addr};
use crate::import::import;
use crate::jobs::admit::{AdmitJob, AdmitWindow};
use crate::jobs::embed::EmbedJob;
use crate::jobs::index::IndexJob;
use crate::jobs::vectors_root;
use crate::progress::Progress;
use crate::settings::Settings;

/// The listings (zstd-compressed JSON lines).
const LISTINGS: &[u8] = include_bytes!("../../../../data/sample/listings-sample-2000.jsonl.zst");
/// The Hugging Face featuring days of sample papers.
const FEATURED: &[u8] = include_bytes!("../../../../data/sample/hf-daily-featured-sample.jsonl");

/// The archives the sample's papers belong to: automatic admission takes all of them.
pub const SAMPLE_CATEGORIES: &[&str] = &[
    "cs", "eess", "math", "physics", "stat", "q-bio", "cond-mat", "q-fin", "econ", "astro-ph",
    "quant-ph", "nlin", "hep-th",
];

/// `paperfeed demo`.
pub async fn run(settings: &Settings, args: ServeArgs) -> Result<ExitCode> {
    let opened = serve::open(settings, args.model.as_deref()).await?;
    let store = opened.store.clone();
    if store.stats().await?.papers == 0 {
        let quiet = Progress::items("sample", None, true);
        for (name, bytes, featured) in [
            ("listings-sample-2000.jsonl.zst", LISTINGS, false),
            ("hf-daily-featured-sample.jsonl", FEATURED, true),
        ] {
            let input = Input::from_reader(name, Cursor::new(bytes), Some(bytes.len() as u64))?;
            let items: Box<dyn Iterator<Item = crate::import::Item> + Send> = if featured {
                Box::new(hfdaily::read(input, name.to_string()))
            } else {
                Box::new(jsonl::read(input, name.to_string()))
            };
            let report = import(store.clone(), name, items, false, &quiet)
                .await
                .with_context(|| format!("cannot import the bundled {name}"))?;
            if !settings.quiet {
                eprintln!(
                    "demo: imported {} records of {name} ({} added to feeds)",
                    report.records, report.submissions
                );
            }
        }
    }
    let categories: Vec<String> = SAMPLE_CATEGORIES.iter().map(|c| c.to_string()).collect();
    let never = CancellationToken::new();
    let admitted = AdmitJob::new(store.clone(), categories.clone(), AdmitWindow::All)
        .run_once(&never)
        .await?;
    let indexed = IndexJob::new(store.clone(), opened.engine.clone())
        .catch_up(&never, None)
        .await?;
    let embedded = EmbedJob::new(store.clone(), opened.engine.clone(), vectors_root(settings))
        .run_once(&never, None)
        .await?;
    if !settings.quiet && (admitted + indexed.upserted + embedded.embedded) > 0 {
        eprintln!(
            "demo: {admitted} papers admitted to their listing day's feed, {} indexed, {} embedded",
            indexed.upserted, embedded.embedded
        );
    }
    let options = ServeOptions {
        addr: listen_addr(args.addr, settings),
        admit: Some((categories, AdmitWindow::All)),
    };
    serve::serve(settings, opened, options).await
}
