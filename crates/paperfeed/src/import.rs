//! Moving parsed records into the store: a parser thread feeds batches through a bounded
//! channel to the async writer, so parsing and SQLite writes overlap and memory stays flat
//! however large the input is.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use paperfeed_core::{ArxivId, Paper, Submission};
use paperfeed_ingest::{BadRecord, IngestError, Position, Record};
use paperfeed_store::{Store, UpsertStats};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::progress::Progress;

/// Records per store transaction: large enough to amortise the commit, small enough that a
/// killed import loses little and memory stays small.
pub const BATCH: usize = 2000;

/// Bad records listed one by one in a report; beyond this they are only counted, so a file
/// that is garbage throughout cannot flood the terminal or memory.
pub const MAX_LISTED_BAD: usize = 10_000;

/// One parsed item: a record or a skipped one, with its position; or the input broke.
pub type Item = Result<(Position, Result<Record, BadRecord>), IngestError>;

/// What an import did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ImportReport {
    /// Records read (good and bad).
    pub records: u64,
    /// What the store did with the papers.
    pub store: UpsertStats,
    /// Papers newly put in a day's feed.
    pub submissions: u64,
    /// Records skipped as malformed.
    pub bad: u64,
    /// The first [`MAX_LISTED_BAD`] of them, as `source: line N: reason`.
    #[serde(skip)]
    pub bad_records: Vec<String>,
    /// Wall time.
    #[serde(skip)]
    pub elapsed: Duration,
}

impl ImportReport {
    /// Adds another input's figures.
    pub fn add(&mut self, other: &ImportReport) {
        self.records += other.records;
        self.store.add(other.store);
        self.submissions += other.submissions;
        self.bad += other.bad;
        let room = MAX_LISTED_BAD.saturating_sub(self.bad_records.len());
        self.bad_records
            .extend(other.bad_records.iter().take(room).cloned());
        self.elapsed += other.elapsed;
    }
}

#[derive(Default)]
struct Batch {
    papers: Vec<Paper>,
    submissions: Vec<Submission>,
    deleted: Vec<ArxivId>,
    bad: Vec<BadRecord>,
    records: u64,
}

impl Batch {
    fn len(&self) -> usize {
        self.papers.len() + self.deleted.len() + self.bad.len()
    }
}

enum Message {
    Batch(Batch),
    Broken(IngestError),
}

/// Imports every item into `store`. Bad records are skipped, counted and listed in the
/// report (`source: line N: reason`); with `strict`, the first one stops the import with an
/// error (batches already written stay written).
pub async fn import<I>(
    store: Arc<dyn Store>,
    source: &str,
    items: I,
    strict: bool,
    progress: &Progress,
) -> Result<ImportReport>
where
    I: Iterator<Item = Item> + Send + 'static,
{
    let started = Instant::now();
    let (tx, mut rx) = mpsc::channel::<Message>(4);
    let producer = tokio::task::spawn_blocking(move || {
        let mut batch = Batch::default();
        for item in items {
            match item {
                Err(e) => {
                    let _ = tx.blocking_send(Message::Batch(std::mem::take(&mut batch)));
                    let _ = tx.blocking_send(Message::Broken(e));
                    return;
                }
                Ok((_, Ok(record))) => {
                    batch.records += 1;
                    match record {
                        Record::Paper(p) => batch.papers.push(*p),
                        Record::Featured { paper, submission } => {
                            batch.papers.push(*paper);
                            batch.submissions.push(submission);
                        }
                        Record::Deleted { id, .. } => batch.deleted.push(id),
                    }
                }
                Ok((_, Err(bad))) => {
                    batch.records += 1;
                    batch.bad.push(bad);
                    if strict {
                        break;
                    }
                }
            }
            if batch.len() >= BATCH
                && tx
                    .blocking_send(Message::Batch(std::mem::take(&mut batch)))
                    .is_err()
            {
                return;
            }
        }
        let _ = tx.blocking_send(Message::Batch(batch));
    });

    let mut report = ImportReport::default();
    let mut broken = None;
    while let Some(msg) = rx.recv().await {
        let batch = match msg {
            Message::Batch(b) => b,
            Message::Broken(e) => {
                broken = Some(e);
                continue;
            }
        };
        report.records += batch.records;
        for bad in &batch.bad {
            if report.bad_records.len() < MAX_LISTED_BAD {
                report.bad_records.push(format!("{source}: {bad}"));
            }
        }
        report.bad += batch.bad.len() as u64;
        if !batch.papers.is_empty() {
            report.store.add(store.upsert_papers(batch.papers).await?);
        }
        if !batch.deleted.is_empty() {
            report.store.add(store.delete_papers(batch.deleted).await?);
        }
        if !batch.submissions.is_empty() {
            report.submissions += store.add_submissions(batch.submissions).await?;
        }
        progress.set_records(report.records);
        if strict && report.bad > 0 {
            break;
        }
    }
    drop(rx);
    producer.await?;
    report.elapsed = started.elapsed();
    if let Some(e) = broken {
        return Err(e.into());
    }
    if strict && report.bad > 0 {
        let first = report.bad_records.first().cloned().unwrap_or_default();
        bail!("{first} (stopped at the first bad record: --strict)");
    }
    Ok(report)
}
