//! Throughput of a BERT sentence-transformer on real papers, in documents per second, measured
//! the way `shared/anchors/encode_speed.py` measures sentence-transformers: title + "\n" +
//! abstract, a warm-up on the first 64 documents, then one timed call over all of them.
//!
//!     cargo run --release -p paperfeed-search --example embed_bench -- \
//!         MODEL_DIR PAPERS.jsonl [N_DOCS=2000] [MAX_TOKENS=256]
//!
//! Threads: `PAPERFEED_THREADS` (default: all cores); tokens per batch:
//! `PAPERFEED_BATCH_TOKENS`; `PAPERFEED_PRECISION=int8` for int8 linear layers;
//! `PAPERFEED_QUERIES`: how many one-line queries to time (default 20). Prints one JSON object.

use std::io::BufRead;
use std::time::Instant;

use paperfeed_search::embed::Embedder;
use paperfeed_search::embed::bert::{BertEmbedder, BertOptions, Precision};

/// CPU seconds this process has used (all threads), from `/proc/self/stat` on Linux. On a
/// shared machine wall time depends on the neighbours; CPU time much less.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ, 100 on every Linux ABI
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, papers, rest @ ..] = args.as_slice() else {
        return Err("usage: embed_bench MODEL_DIR PAPERS.jsonl [N_DOCS] [MAX_TOKENS]".into());
    };
    let n: usize = rest.first().map_or(Ok(2000), |s| s.parse())?;
    let max_tokens: usize = rest.get(1).map_or(Ok(256), |s| s.parse())?;

    let mut texts = Vec::new();
    for line in std::io::BufReader::new(std::fs::File::open(papers)?).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        let field = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_string()
        };
        texts.push(format!("{}\n{}", field("title"), field("abstract")));
        if texts.len() == n {
            break;
        }
    }
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();

    let mut options = BertOptions {
        max_tokens: Some(max_tokens),
        threads: env_usize("PAPERFEED_THREADS"),
        ..BertOptions::default()
    };
    if std::env::var("PAPERFEED_PRECISION").is_ok_and(|p| p == "int8") {
        options.precision = Precision::Int8;
    }
    if let Some(b) = env_usize("PAPERFEED_BATCH_TOKENS") {
        options.batch_tokens = b;
    }
    let model = BertEmbedder::from_dir(model, options)?;
    let tokens: usize = texts
        .iter()
        .map(|t| model.count_tokens(t))
        .sum::<Result<usize, _>>()?;

    model.embed_documents(&texts[..texts.len().min(64)])?;
    let (t, cpu0) = (Instant::now(), cpu_seconds());
    let vectors = model.embed_documents(&texts)?;
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
    assert_eq!(vectors.len(), texts.len());

    let q = Instant::now();
    let reps = env_usize("PAPERFEED_QUERIES").unwrap_or(20).max(1);
    for _ in 0..reps {
        model.embed_query("knowledge distillation for vision transformers")?;
    }
    let query_ms = q.elapsed().as_secs_f64() * 1000.0 / reps as f64;

    println!(
        "{}",
        serde_json::json!({
            "tool": format!("paperfeed BertEmbedder, {} threads", model.threads()),
            "model": model.identity().key(),
            "docs": texts.len(),
            "max_tokens": max_tokens,
            "mean_tokens": (tokens as f64 / texts.len() as f64 * 10.0).round() / 10.0,
            format!("docs_per_s_{max_tokens}"): (texts.len() as f64 / secs * 100.0).round() / 100.0,
            format!("docs_per_cpu_s_{max_tokens}"): cpu.map(|c| (texts.len() as f64 / c * 100.0).round() / 100.0),
            "tokens_per_s": (tokens as f64 / secs).round(),
            "query_ms": (query_ms * 100.0).round() / 100.0,
        })
    );
    Ok(())
}
