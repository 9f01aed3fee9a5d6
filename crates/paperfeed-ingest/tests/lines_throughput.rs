//! Single-threaded reader throughput on the 74,728-line listing dump: end to end (zstd
//! decompression, line splitting, JSON, finished papers) and parsing alone (from memory).
//! Ignored by default: it needs the shared data directory and an optimised build. Run with
//! `cargo test --release -p paperfeed-ingest --test lines_throughput -- --ignored --nocapture`
//! (`PAPERFEED_LISTINGS` overrides the file).

use std::io::{Cursor, Read};
use std::path::PathBuf;
use std::time::Instant;

use paperfeed_ingest::input::open_input;
use paperfeed_ingest::jsonl;

const LINES: u64 = 74_728;

fn listings() -> PathBuf {
    std::env::var_os("PAPERFEED_LISTINGS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/data/arxiv/listings-75k.jsonl.zst"))
}

/// Reads every record, failing on any bad one; returns how many there were.
fn count<R: std::io::BufRead>(reader: R) -> u64 {
    let mut n = 0;
    for item in jsonl::read(reader, "listings") {
        let (pos, record) = item.unwrap();
        record.unwrap_or_else(|bad| panic!("{pos}: {bad}"));
        n += 1;
    }
    n
}

/// Seconds this thread has spent on a CPU (Linux), which unlike wall time does not count
/// waiting for a core on a busy machine.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Best (wall, CPU) seconds of three runs of `f`; CPU is NaN where unavailable.
fn best_of_three(mut f: impl FnMut() -> u64) -> (f64, f64) {
    (0..3)
        .map(|_| {
            let (start, cpu) = (Instant::now(), cpu_seconds());
            assert_eq!(f(), LINES);
            let cpu = match (cpu, cpu_seconds()) {
                (Some(a), Some(b)) => b - a,
                _ => f64::NAN,
            };
            (start.elapsed().as_secs_f64(), cpu)
        })
        .fold((f64::INFINITY, f64::INFINITY), |(w, c), (w2, c2)| {
            (w.min(w2), c.min(c2))
        })
}

#[test]
#[ignore = "needs /work/shared/data and a release build"]
fn listings_75k_throughput() {
    let path = listings();
    let compressed = std::fs::metadata(&path).unwrap().len();
    let end_to_end = best_of_three(|| {
        let input = open_input(&path).unwrap();
        let progress = input.progress();
        let n = count(input);
        assert_eq!(
            progress.bytes_read(),
            compressed,
            "the whole file was consumed"
        );
        n
    });

    let mut text = Vec::new();
    open_input(&path).unwrap().read_to_end(&mut text).unwrap();
    let decompress = best_of_three(|| {
        let mut input = open_input(&path).unwrap();
        let mut sink = Vec::with_capacity(text.len());
        input.read_to_end(&mut sink).unwrap();
        sink.iter().filter(|&&b| b == b'\n').count() as u64
    });
    let parse_only = best_of_three(|| count(Cursor::new(&text)));

    let mb = text.len() as f64 / 1e6;
    let rate = |(wall, cpu): (f64, f64)| {
        format!(
            "{wall:.3} s wall, {cpu:.3} s CPU: {:.0} lines/s, {:.0} MB/s per CPU second",
            LINES as f64 / cpu,
            mb / cpu
        )
    };
    println!(
        "{LINES} lines, {:.1} MB zstd, {mb:.1} MB text\n\
         end to end:  {}\n\
         zstd alone:  {}\n\
         parse alone: {}",
        compressed as f64 / 1e6,
        rate(end_to_end),
        rate(decompress),
        rate(parse_only),
    );
}

/// The Kaggle reader on the real 200-line sample repeated 500 times in memory (100,000
/// lines), so it runs without the shared data directory.
#[test]
#[ignore = "a measurement; needs a release build to mean anything"]
fn kaggle_sample_throughput() {
    let sample = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/kaggle/arxiv-metadata-oai-snapshot.json"
    ))
    .unwrap();
    let text = sample.repeat(500);
    let lines = text.iter().filter(|&&b| b == b'\n').count() as u64;
    let mut best = (f64::INFINITY, f64::INFINITY);
    for _ in 0..3 {
        let (start, cpu) = (Instant::now(), cpu_seconds());
        let mut n = 0;
        for item in paperfeed_ingest::kaggle::read(Cursor::new(&text), "kaggle") {
            let (pos, record) = item.unwrap();
            record.unwrap_or_else(|bad| panic!("{pos}: {bad}"));
            n += 1;
        }
        assert_eq!(n, lines);
        let cpu = match (cpu, cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => f64::NAN,
        };
        best = (best.0.min(start.elapsed().as_secs_f64()), best.1.min(cpu));
    }
    println!(
        "kaggle: {lines} lines, {:.1} MB: {:.3} s wall, {:.3} s CPU: {:.0} lines/s per CPU second",
        text.len() as f64 / 1e6,
        best.0,
        best.1,
        lines as f64 / best.1
    );
}
