//! Measures the store's upsert throughput on the real 75k-paper listings file.
//!
//! ```text
//! cargo run --release -p paperfeed-store --example upsert_bench -- \
//!     [/path/to/listings-75k.jsonl.zst] [batch size, default 2000]
//! ```
//!
//! Parsing is timed apart from the store, which then sees: a first import into an empty
//! file, a re-import of the same records (must change nothing), an import where every
//! paper has a newer version (every row rewritten), and a follower reading every change.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use paperfeed_core::{ArxivId, Author, Category, Paper};
use paperfeed_store::{SqliteStore, Store, UpsertStats};
use serde::Deserialize;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const DEFAULT_INPUT: &str = "/work/shared/data/arxiv/listings-75k.jsonl.zst";

#[derive(Deserialize)]
struct Listing {
    id: String,
    title: String,
    authors: Vec<String>,
    categories: Vec<String>,
    #[serde(rename = "abstract")]
    abstract_text: String,
    comment: Option<String>,
    listing_date: NaiveDate,
}

fn to_paper(l: Listing) -> Result<Paper, BoxError> {
    let mut p = Paper::new(ArxivId::parse(&l.id)?, &l.title);
    p.authors = l.authors.iter().map(|a| Author::new(a)).collect();
    // The source also puts ACM and MSC classes (`I.2.7`, `68T50`) among the categories;
    // they are not arXiv categories and are dropped.
    for c in l.categories.iter().filter_map(|c| Category::parse(c).ok()) {
        if !p.categories.contains(&c) {
            p.categories.push(c);
        }
    }
    p.abstract_text = l.abstract_text;
    p.comment = l.comment;
    p.listing_date = Some(l.listing_date);
    Ok(p.finish()?)
}

fn load(path: &Path) -> Result<Vec<Paper>, BoxError> {
    let reader = std::io::BufReader::new(zstd::Decoder::new(std::fs::File::open(path)?)?);
    let mut out = Vec::new();
    for line in reader.lines() {
        out.push(to_paper(serde_json::from_str(&line?)?)?);
    }
    Ok(out)
}

/// Wall-clock and CPU seconds (all threads: the sqlx worker does the SQLite work). On a
/// machine shared with other jobs, CPU time is the steadier of the two.
#[derive(Debug, Clone, Copy)]
struct Timer {
    wall: Instant,
    cpu: Option<f64>,
}

impl Timer {
    fn start() -> Self {
        Timer {
            wall: Instant::now(),
            cpu: cpu_seconds(),
        }
    }

    /// (wall, cpu) seconds since start.
    fn elapsed(&self) -> (f64, f64) {
        let cpu = match (self.cpu, cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => f64::NAN,
        };
        (self.wall.elapsed().as_secs_f64(), cpu)
    }
}

/// User plus system time of this process from `/proc/self/stat` (Linux; `None` elsewhere).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks; 100 per second on every Linux this runs on.
    Some((utime + stime) / 100.0)
}

async fn import(
    store: &SqliteStore,
    papers: &[Paper],
    batch: usize,
) -> Result<(UpsertStats, (f64, f64)), BoxError> {
    // Callers hand over owned batches; cloning them is not the store's time.
    let batches: Vec<Vec<Paper>> = papers.chunks(batch).map(<[Paper]>::to_vec).collect();
    let timer = Timer::start();
    let mut stats = UpsertStats::default();
    for chunk in batches {
        stats.add(store.upsert_papers(chunk).await?);
    }
    Ok((stats, timer.elapsed()))
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn report(what: &str, n: usize, (wall, cpu): (f64, f64), stats: Option<UpsertStats>) {
    println!(
        "{what:<24} {n:>6} in {wall:>5.2} s wall = {:>7.0}/s; {cpu:>5.2} s CPU = {:>7.0}/s  {}",
        n as f64 / wall,
        n as f64 / cpu,
        stats.map(|s| format!("{s:?}")).unwrap_or_default()
    );
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let input = PathBuf::from(args.next().unwrap_or_else(|| DEFAULT_INPUT.to_string()));
    let batch: usize = match args.next() {
        Some(s) => s.parse()?,
        None => 2000,
    };

    let timer = Timer::start();
    let papers = load(&input)?;
    report("parse (not the store)", papers.len(), timer.elapsed(), None);

    let dir = tempfile::TempDir::new()?;
    let db = dir.path().join("paperfeed.db");
    let store = SqliteStore::open(&db).await?;
    println!("batch size {batch}");

    let (stats, secs) = import(&store, &papers, batch).await?;
    report("first import", papers.len(), secs, Some(stats));

    let (stats, secs) = import(&store, &papers, batch).await?;
    report("re-import (unchanged)", papers.len(), secs, Some(stats));

    let newer: Vec<Paper> = papers
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.version = 2;
            p
        })
        .collect();
    let (stats, secs) = import(&store, &newer, batch).await?;
    report("import of v2 (updates)", papers.len(), secs, Some(stats));

    let timer = Timer::start();
    let mut seq = 0;
    let mut changes = 0;
    loop {
        let page = store.changes_since(seq, 5000).await?;
        let Some(last) = page.last() else { break };
        seq = last.seq();
        changes += page.len();
    }
    report("changes_since (5000/page)", changes, timer.elapsed(), None);

    store.close().await;
    let wal = db.with_extension("db-wal");
    println!(
        "database file {:.1} MiB (+ WAL {:.1} MiB)",
        file_size(&db) as f64 / 1048576.0,
        file_size(&wal) as f64 / 1048576.0
    );
    Ok(())
}
