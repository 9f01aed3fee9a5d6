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
            let db_mb = std::fs::metadata(&db)
                .map(|m| m.len() as f64 / 1048576.0)
                .unwrap_or(0.0);
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
                println!(
                    "papers stored       {papers} ({} records, {} bad)",
                    first.records, first.bad
                );
                println!(
                    "first import        {:.2} s, {:.0} papers/s",
                    first.elapsed.as_secs_f64(),
                    rate(&first)
                );
                println!(
                    "re-import           {:.2} s, {:.0} papers/s ({} unchanged)",
                    again.elapsed.as_secs_f64(),
                    rate(&again),
                    again.store.unchanged
                );
                println!("database            {db_mb:.1} MB");
                if let Some(rss) = peak_rss_mb() {
                    println!("peak RSS            {rss:.0} MB");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BenchCommand::Search {
            file,
            json,
            model,
            queries,
            embed_limit,
        } => {
            let args = bench_search::Args {
                file,
                json: json || settings.quiet,
                model: crate::jobs::model_spec(model.as_deref(), settings),
                queries,
                embed_limit,
            };
            bench_search::run(args).await
        }
    }
}

/// `paperfeed bench search`: the whole search stack on a corpus, in a fresh data dir.
mod bench_search {
    use std::path::PathBuf;
    use std::process::ExitCode;
    use std::sync::Arc;
    use std::time::Instant;

    use anyhow::{Context, Result};
    use paperfeed_core::{ArxivId, Paper};
    use paperfeed_search::bm25::SearchRequest;
    use paperfeed_search::engine::{EngineRequest, SearchEngine, SearchMode};
    use paperfeed_store::{SqliteStore, Store};
    use serde_json::json;
    use tokio_util::sync::CancellationToken;

    use crate::commands::ingest::{FileFormat, import_file};
    use crate::commands::peak_rss_mb;
    use crate::jobs::embed::{EmbedJob, document_text};
    use crate::jobs::index::IndexJob;
    use crate::jobs::{load_model, open_engine};
    use crate::settings::Settings;

    /// Documents whose embedding time gives the model's throughput.
    const EMBED_SAMPLE: usize = 1000;

    pub struct Args {
        pub file: PathBuf,
        pub json: bool,
        pub model: Option<String>,
        pub queries: usize,
        pub embed_limit: Option<u64>,
    }

    pub async fn run(args: Args) -> Result<ExitCode> {
        let dir = tempfile::tempdir().context("cannot create a temporary data dir")?;
        let settings = Settings::resolve(Some(dir.path().to_path_buf()), None, true)?;
        let say = |m: &str| {
            if !args.json {
                eprintln!("{m}");
            }
        };
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&settings.db_path()).await?);
        let imported =
            import_file(store.clone(), FileFormat::Jsonl, &args.file, false, true).await?;
        say(&format!(
            "imported {} papers in {:.1} s",
            imported.records,
            imported.elapsed.as_secs_f64()
        ));

        let embedder = load_model(args.model.clone()).await?;
        let engine = open_engine(&settings, &store, embedder.clone()).await?;
        let rss_before_index = peak_rss_mb();
        let index = IndexJob::new(store.clone(), engine.clone())
            .catch_up(&CancellationToken::new(), None)
            .await?;
        let index_seconds = index.elapsed.as_secs_f64();
        let docs = engine.bm25().doc_count();
        let rss_after_index = peak_rss_mb();
        say(&format!("indexed {docs} papers in {index_seconds:.2} s"));

        // The model's own throughput on a sample, 2 threads (or the machine's cores).
        let all = all_papers(&store).await?;
        let sample: Vec<String> = all.iter().take(EMBED_SAMPLE).map(document_text).collect();
        let e = embedder.clone();
        let (embed_sample_seconds, n_sample) =
            tokio::task::spawn_blocking(move || -> Result<(f64, usize)> {
                let refs: Vec<&str> = sample.iter().map(String::as_str).collect();
                let t = Instant::now();
                for chunk in refs.chunks(256) {
                    e.embed_documents(chunk)?;
                }
                Ok((t.elapsed().as_secs_f64(), refs.len()))
            })
            .await??;
        let embed_docs_per_s = n_sample as f64 / embed_sample_seconds.max(1e-9);
        say(&format!("model: {embed_docs_per_s:.0} docs/s"));

        // The embedding job over the corpus (store writes included), then the graph.
        let job = EmbedJob::new(
            store.clone(),
            engine.clone(),
            settings.data_dir.join("vectors"),
        )
        .with_max_papers(args.embed_limit);
        let embedded = job.run_once(&CancellationToken::new(), None).await?;
        let e = engine.clone();
        // The job built the graph as it finished; build it once more to time it alone.
        let maintenance = tokio::task::spawn_blocking(move || e.rebuild_graph()).await??;
        say(&format!(
            "embed job: {} papers in {:.1} s; vector index {} ({} vectors, {:.0} MB)",
            embedded.embedded,
            embedded.elapsed.as_secs_f64(),
            engine.vector_index_kind(),
            engine.vector_count(),
            engine.vector_bytes() as f64 / 1048576.0
        ));

        // Fixed queries: titles of papers picked by a fixed seed; a second, disjoint set
        // warms the caches first.
        let picks = pick(all.len(), 2 * args.queries, 0x5eed);
        let titles: Vec<String> = picks.iter().map(|&i| all[i].title.clone()).collect();
        let (warm, measured) = titles.split_at(args.queries.min(titles.len()));
        let e = engine.clone();
        let warm = warm.to_vec();
        let measured = measured.to_vec();
        let figures = tokio::task::spawn_blocking(move || -> Result<_> {
            for q in &warm {
                e.search(&request(SearchMode::Bm25, q, false))?;
            }
            let bm25 = latencies(&e, SearchMode::Bm25, &measured, false)?;
            let bm25_snippets = latencies(&e, SearchMode::Bm25, &measured, true)?;
            // Distinct queries never seen before: every one pays its embedding.
            let hybrid = latencies(&e, SearchMode::Hybrid, &measured, false)?;
            let warm_hybrid = latencies(&e, SearchMode::Hybrid, &warm, true)?;
            let semantic = latencies(&e, SearchMode::Semantic, &measured, false)?;
            let recall = ann_recall(&e, &measured, 10)?;
            Ok((bm25, bm25_snippets, hybrid, warm_hybrid, semantic, recall))
        })
        .await??;
        let (bm25, bm25_snippets, hybrid, hybrid_snippets, semantic, recall) = figures;
        let out = json!({
            "file": args.file.display().to_string(),
            "docs": docs,
            "model": engine.identity().key(),
            "import_seconds": imported.elapsed.as_secs_f64(),
            "index_seconds": index_seconds,
            "index_docs_per_s": docs as f64 / index_seconds.max(1e-9),
            "peak_rss_before_index_mb": rss_before_index,
            "peak_rss_index_mb": rss_after_index,
            "queries": measured_len(args.queries, picks.len()),
            "bm25_p50_ms": bm25.0,
            "bm25_p99_ms": bm25.1,
            "bm25_snippets_p50_ms": bm25_snippets.0,
            "bm25_snippets_p99_ms": bm25_snippets.1,
            "semantic_p50_ms": semantic.0,
            "semantic_p99_ms": semantic.1,
            "hybrid_p50_ms": hybrid.0,
            "hybrid_p99_ms": hybrid.1,
            "hybrid_snippets_p50_ms": hybrid_snippets.0,
            "hybrid_snippets_p99_ms": hybrid_snippets.1,
            "embed_docs_per_s": embed_docs_per_s,
            "embed_max_tokens": engine.identity().max_tokens,
            "embed_job_docs": embedded.embedded,
            "embed_job_seconds": embedded.elapsed.as_secs_f64(),
            "vector_index": engine.vector_index_kind(),
            "vectors": engine.vector_count(),
            "vector_mb": engine.vector_bytes() as f64 / 1048576.0,
            "ann_build_seconds": maintenance.graph_seconds,
            "ann_recall_at_10": recall,
            "peak_rss_mb": peak_rss_mb(),
        });
        if args.json {
            println!("{out}");
        } else if let Some(map) = out.as_object() {
            for (k, v) in map {
                println!("{k:<28} {v}");
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    fn measured_len(queries: usize, picked: usize) -> usize {
        picked.saturating_sub(queries.min(picked))
    }

    fn request(mode: SearchMode, query: &str, snippets: bool) -> EngineRequest {
        let mut request = SearchRequest::new(query);
        request.snippets = snippets;
        EngineRequest { mode, request }
    }

    /// p50 and p99 in milliseconds of one search per query, single thread.
    fn latencies(
        engine: &SearchEngine,
        mode: SearchMode,
        queries: &[String],
        snippets: bool,
    ) -> Result<(f64, f64)> {
        let mut ms = Vec::with_capacity(queries.len());
        for q in queries {
            let t = Instant::now();
            engine.search(&request(mode, q, snippets))?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok((percentile(&mut ms, 50.0), percentile(&mut ms, 99.0)))
    }

    /// Share of the exact top-k the engine's dense search returns.
    fn ann_recall(engine: &SearchEngine, queries: &[String], k: usize) -> Result<f64> {
        let (mut found, mut wanted) = (0usize, 0usize);
        for q in queries {
            let v = engine.query_vector(q)?;
            let exact: Vec<ArxivId> = engine
                .dense_exact(&v, k)
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            let got = engine.dense(&v, &Default::default(), k, None)?;
            found += got.iter().filter(|(id, _)| exact.contains(id)).count();
            wanted += exact.len();
        }
        Ok(found as f64 / wanted.max(1) as f64)
    }

    fn percentile(xs: &mut [f64], p: f64) -> f64 {
        if xs.is_empty() {
            return 0.0;
        }
        xs.sort_by(f64::total_cmp);
        // numpy's default (linear interpolation), as the anchors compute it.
        let rank = p / 100.0 * (xs.len() - 1) as f64;
        let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
        xs[lo] + (xs[hi] - xs[lo]) * (rank - lo as f64)
    }

    /// `n` distinct indices below `len`, the same for a given seed (xorshift).
    fn pick(len: usize, n: usize, seed: u64) -> Vec<usize> {
        let mut x = seed | 1;
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(n);
        while out.len() < n.min(len) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x % len as u64) as usize;
            if seen.insert(i) {
                out.push(i);
            }
        }
        out
    }

    async fn all_papers(store: &Arc<dyn Store>) -> Result<Vec<Paper>> {
        let mut out = Vec::new();
        let mut after: Option<ArxivId> = None;
        loop {
            let page = store.papers_after(after.as_ref(), 10_000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            out.extend(page);
        }
        Ok(out)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn percentiles_interpolate_like_numpy() {
            let mut xs = vec![4.0, 1.0, 3.0, 2.0];
            assert_eq!(percentile(&mut xs, 50.0), 2.5);
            assert!((percentile(&mut xs, 99.0) - 3.97).abs() < 1e-9);
            assert_eq!(percentile(&mut [], 50.0), 0.0);
        }

        #[test]
        fn picks_are_distinct_and_fixed() {
            let a = pick(1000, 400, 7);
            assert_eq!(a, pick(1000, 400, 7));
            let set: std::collections::HashSet<_> = a.iter().collect();
            assert_eq!(set.len(), 400);
            assert_eq!(pick(3, 10, 1).len(), 3);
        }
    }
}
