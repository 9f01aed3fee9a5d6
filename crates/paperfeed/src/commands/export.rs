//! `paperfeed export jsonl`: every paper (with its feed submission, if any) as paperfeed JSON
//! lines, which `ingest jsonl` reads back losslessly.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use paperfeed_ingest::jsonl::write_line;

use crate::cli::ExportFormat;
use crate::settings::Settings;

/// Papers per store read.
const PAGE: u32 = 1000;

pub async fn run(settings: &Settings, format: ExportFormat) -> Result<ExitCode> {
    let ExportFormat::Jsonl { file } = format;
    let store = settings.open_store().await?;
    let mut out: Box<dyn Write> = match file.as_deref() {
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
        Some(p) if p.as_os_str() == "-" => Box::new(BufWriter::new(std::io::stdout().lock())),
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
    };
    let mut after = None;
    let mut n = 0u64;
    loop {
        let page = store.papers_after(after.as_ref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        for paper in &page {
            let submission = store.submission(&paper.id).await?;
            write_line(&mut out, paper, submission.as_ref()).context("cannot write export")?;
            n += 1;
        }
    }
    out.flush().context("cannot write export")?;
    if !settings.quiet {
        eprintln!("exported {n} papers");
    }
    Ok(ExitCode::SUCCESS)
}
