//! Index build time, query latency and peak memory of the BM25 index on a paper corpus.
//!
//!     cargo run --release -p paperfeed-search --example bm25_bench -- \
//!         /work/shared/data/arxiv/listings-75k.jsonl.zst [--memory] [--queries 200]
//!
//! Reads paperfeed-style JSON lines (id, title, authors, categories, abstract, listing_date),
//! zstd-compressed or not, and feeds them in batches of 5,000 to an on-disk index in a
//! temporary directory (in RAM with `--memory`), committing once; parsing is timed apart, then times top-10 relevance queries single-threaded: the
//! titles of papers drawn with a fixed seed, as the anchor `bm25s_speed.py` does. Prints one
//! JSON object.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::time::Instant;

use chrono::NaiveDate;
use paperfeed_core::{ArxivId, Author, Category, Paper};
use paperfeed_search::bm25::{Bm25Index, Filters, SearchRequest};
use serde::Deserialize;

#[derive(Deserialize)]
struct Line {
    id: String,
    title: String,
    #[serde(default)]
    authors: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default, rename = "abstract")]
    abstract_text: String,
    #[serde(default)]
    listing_date: Option<NaiveDate>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut in_memory = false;
    let mut n_queries = 200usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--memory" => in_memory = true,
            "--queries" => n_queries = args.next().ok_or("--queries N")?.parse()?,
            _ => path = Some(a),
        }
    }
    let path = path.ok_or("usage: bm25_bench PAPERS.jsonl[.zst] [--memory] [--queries N]")?;

    // Papers are read and fed in batches, as the store feeds the index, so memory holds one
    // batch, not the corpus; parse time is kept out of the index time.
    let dir = tempfile::tempdir()?;
    let mut load_s = 0.0;
    let mut index_s = 0.0;
    let mut index_cpu_s = 0.0;
    let t = Instant::now();
    let index = if in_memory {
        Bm25Index::in_memory()?
    } else {
        Bm25Index::open(dir.path().join("bm25"))?
    };
    index_s += t.elapsed().as_secs_f64();
    let mut titles: Vec<String> = Vec::new();
    let mut lines = open_lines(&path)?;
    loop {
        let t = Instant::now();
        let batch = read_batch(&mut lines, BATCH)?;
        load_s += t.elapsed().as_secs_f64();
        if batch.is_empty() {
            break;
        }
        titles.extend(batch.iter().map(|p| p.title.clone()));
        let (t, cpu) = (Instant::now(), cpu_seconds());
        index.upsert(batch.iter().map(|p| (p, 0)))?;
        index_s += t.elapsed().as_secs_f64();
        index_cpu_s += cpu_seconds() - cpu;
    }
    let (t, cpu) = (Instant::now(), cpu_seconds());
    index.commit(1)?;
    if std::env::var_os("BENCH_MERGE").is_some() {
        index.merge_segments(&Default::default())?;
    }
    index_s += t.elapsed().as_secs_f64();
    index_cpu_s += cpu_seconds() - cpu;
    let peak_indexing_mb = vm_kb("VmHWM") as f64 / 1024.0;
    let segments = index.tantivy_index().searchable_segment_ids()?.len();

    // Fixed-seed sample of titles (xorshift; the anchor samples with Python's seed 0, so the
    // papers differ but the kind of query is the same).
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let queries: Vec<&str> = (0..n_queries)
        .map(|_| titles[(next() % titles.len() as u64) as usize].as_str())
        .collect();

    let none = Filters::default();
    // Warm-up pass: the first touches of mmapped files are page faults, not search.
    for q in &queries {
        index.ranked_ids(q, &none, 10)?;
    }
    let mut ranked_ms = Vec::with_capacity(queries.len());
    let mut found_self = 0usize;
    for q in &queries {
        let t = Instant::now();
        let top = index.ranked_ids(q, &none, 10)?;
        ranked_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if let Some((id, _)) = top.first()
            && index.stored(id)?.is_some_and(|p| p.title == *q)
        {
            found_self += 1;
        }
    }
    let mut search_ms = Vec::with_capacity(queries.len());
    let mut snippet_ms = Vec::with_capacity(queries.len());
    for q in &queries {
        let mut req = SearchRequest::new(*q);
        req.snippets = false;
        let t = Instant::now();
        index.search(&req)?;
        search_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        req.snippets = true;
        let t = Instant::now();
        index.search(&req)?;
        snippet_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }

    let (p50, p99) = percentiles(&mut ranked_ms);
    let (s50, s99) = percentiles(&mut search_ms);
    let (h50, h99) = percentiles(&mut snippet_ms);
    println!(
        "{}",
        serde_json::json!({
            "docs": titles.len(),
            "storage": if in_memory { "ram" } else { "disk" },
            "load_seconds": round(load_s),
            "index_seconds": round(index_s),
            "index_cpu_seconds": round(index_cpu_s),
            "docs_per_second": (titles.len() as f64 / index_s).round(),
            "segments": segments,
            "queries": queries.len(),
            "top1_is_the_titled_paper": found_self,
            "ranked_ids_top10_p50_ms": round(p50),
            "ranked_ids_top10_p99_ms": round(p99),
            "search_top10_p50_ms": round(s50),
            "search_top10_p99_ms": round(s99),
            "search_top10_snippets_p50_ms": round(h50),
            "search_top10_snippets_p99_ms": round(h99),
            "peak_rss_indexing_mb": round(peak_indexing_mb),
            "peak_rss_mb": round(vm_kb("VmHWM") as f64 / 1024.0),
        })
    );
    Ok(())
}

/// Papers per upsert call.
const BATCH: usize = 5_000;

/// Lines of a plain or zstd-compressed file.
type Lines = std::io::Lines<BufReader<Box<dyn Read>>>;

fn open_lines(path: &str) -> Result<Lines, Box<dyn std::error::Error>> {
    let file = File::open(path)?;
    let reader: Box<dyn Read> = if path.ends_with(".zst") {
        Box::new(zstd::Decoder::new(file)?)
    } else {
        Box::new(file)
    };
    Ok(BufReader::new(reader).lines())
}

fn read_batch(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    n: usize,
) -> Result<Vec<Paper>, Box<dyn std::error::Error>> {
    let mut papers = Vec::with_capacity(n);
    for line in lines.by_ref() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let l: Line = serde_json::from_str(&line)?;
        let mut p = Paper::new(ArxivId::parse(&l.id)?, &l.title);
        p.abstract_text = l.abstract_text;
        p.authors = l.authors.iter().map(|a| Author::new(a)).collect();
        // Listings mix MSC/ACM classes (`68T50`, `I.2.7`) into categories; keep arXiv's.
        p.categories = l
            .categories
            .iter()
            .filter_map(|c| Category::parse(c).ok())
            .collect();
        p.listing_date = l.listing_date;
        papers.push(p.finish()?);
        if papers.len() == n {
            break;
        }
    }
    Ok(papers)
}

fn percentiles(xs: &mut [f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    xs.sort_by(f64::total_cmp);
    // numpy's default (linear interpolation), as the anchor reports.
    let at = |q: f64| {
        let pos = q * (xs.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        xs[lo] + (xs[hi] - xs[lo]) * (pos - lo as f64)
    };
    (at(0.50), at(0.99))
}

/// A `kB` line of `/proc/self/status` (`VmHWM` is peak RSS), 0 where unavailable.
fn vm_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User plus system CPU time of this process so far (all threads), from `/proc/self/stat`:
/// on a shared machine it shows the work done whatever the wall clock says.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the `(comm)`; utime and stime are the 14th and 15th fields overall.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Clock ticks are 100 per second on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
