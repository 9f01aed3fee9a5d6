//! `paperfeed search`, `paperfeed similar` and `paperfeed reindex`.
//!
//! `search` and `similar` first bring the BM25 index up to date with the store (incremental,
//! usually nothing to do), so papers ingested a moment ago are found at once.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use paperfeed_core::{ArxivId, Paper, VersionedId};
use paperfeed_search::bm25::{SearchRequest, Sort};
use paperfeed_search::engine::{EngineRequest, SearchEngine, SearchMode};
use paperfeed_store::Store;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::cli::{SearchArgs, SimilarArgs};
use crate::jobs::index::IndexJob;
use crate::jobs::{load_model, model_spec, open_engine};
use crate::progress::Progress;
use crate::settings::Settings;

/// Opens the store and the engine for `model`, and indexes what the store has that the
/// index has not seen yet.
pub async fn open_caught_up(
    settings: &Settings,
    model: Option<&str>,
) -> Result<(Arc<dyn Store>, Arc<SearchEngine>)> {
    let store = settings.open_store().await?;
    let embedder = load_model(model_spec(model, settings)).await?;
    let engine = open_engine(settings, &store, embedder).await?;
    let behind = store.last_seq().await? - engine.bm25().indexed_seq();
    let progress =
        (behind > 5_000).then(|| Progress::items("indexing", Some(behind as u64), settings.quiet));
    let report = IndexJob::new(store.clone(), engine.clone())
        .catch_up(&CancellationToken::new(), progress.as_ref())
        .await?;
    if let Some(p) = &progress {
        p.finish();
    }
    if report.upserted + report.deleted > 0 && !settings.quiet && behind > 5_000 {
        eprintln!(
            "indexed {} papers in {:.1} s",
            report.upserted,
            report.elapsed.as_secs_f64()
        );
    }
    Ok((store, engine))
}

pub async fn search(settings: &Settings, args: SearchArgs) -> Result<ExitCode> {
    let mode: SearchMode = args.mode.parse()?;
    let (store, engine) = open_caught_up(settings, args.model.as_deref()).await?;
    let request = EngineRequest {
        mode,
        request: SearchRequest {
            query: args.query.join(" "),
            from: args.from,
            to: args.to,
            categories: args.category.clone(),
            sort: args.sort.parse_sort()?,
            limit: args.limit,
            offset: args.offset,
            snippets: false,
            stored: false,
        },
    };
    let e = engine.clone();
    let results = tokio::task::spawn_blocking(move || e.search(&request))
        .await
        .context("search thread failed")??;
    let ids: Vec<ArxivId> = results.hits.iter().map(|h| h.id.clone()).collect();
    let papers = paper_map(&store, &ids).await?;
    if args.json {
        let hits: Vec<serde_json::Value> = results
            .hits
            .iter()
            .map(|h| {
                let p = papers.iter().find(|p| p.id == h.id);
                json!({
                    "id": h.id.as_str(),
                    "score": h.score,
                    "pinned": h.pinned,
                    "title": p.map(|p| p.title.as_str()),
                    "date": p.and_then(paper_day),
                    "categories": p.map(|p| p.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>()),
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "mode": results.mode,
                "total": results.total,
                "semantic_complete": results.semantic_complete,
                "hits": hits,
            })
        );
    } else {
        if results.hits.is_empty() {
            println!("no results");
        }
        for (i, h) in results.hits.iter().enumerate() {
            let p = papers.iter().find(|p| p.id == h.id);
            print_line(args.offset + i + 1, &h.id, h.score, h.pinned, p);
        }
        if !settings.quiet {
            eprintln!("{} results ({mode})", results.total);
        }
    }
    if mode != SearchMode::Bm25 && !results.semantic_complete && !settings.quiet {
        let c = engine.coverage();
        eprintln!(
            "note: semantic results cover {} of {} papers; run `paperfeed embed` to embed the rest",
            c.vectors, c.papers
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn similar(settings: &Settings, args: SimilarArgs) -> Result<ExitCode> {
    let id = VersionedId::parse(&args.id)
        .map(|v| v.id)
        .with_context(|| format!("not an arXiv id: {}", args.id))?;
    let (store, engine) = open_caught_up(settings, args.model.as_deref()).await?;
    if store.get_paper(&id).await?.is_none() {
        bail!("paper {id} is not in the store");
    }
    let e = engine.clone();
    let (limit, target) = (args.limit, id.clone());
    let found = tokio::task::spawn_blocking(move || e.similar(&target, limit))
        .await
        .context("search thread failed")??;
    let ids: Vec<ArxivId> = found.iter().map(|(id, _)| id.clone()).collect();
    let papers = paper_map(&store, &ids).await?;
    let by_vector = engine.has_vector(&id);
    if args.json {
        let hits: Vec<serde_json::Value> = found
            .iter()
            .map(|(hid, score)| {
                let p = papers.iter().find(|p| p.id == *hid);
                json!({ "id": hid.as_str(), "score": score, "title": p.map(|p| p.title.as_str()) })
            })
            .collect();
        println!(
            "{}",
            json!({ "id": id.as_str(), "method": if by_vector { "vectors" } else { "bm25" }, "similar": hits })
        );
    } else {
        for (i, (hid, score)) in found.iter().enumerate() {
            let p = papers.iter().find(|p| p.id == *hid);
            print_line(i + 1, hid, *score, false, p);
        }
        if !by_vector && !settings.quiet {
            eprintln!(
                "note: {id} has no vector yet; these are keyword matches (run `paperfeed embed`)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Rebuilds the BM25 index from the store.
pub async fn reindex(settings: &Settings) -> Result<ExitCode> {
    let dir = settings.index_dir();
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove the old index {}", dir.display()))?;
    }
    let store = settings.open_store().await?;
    // The vectors are the model's, not the index's: open with the bundled model unless the
    // settings name another, and leave its vectors as they are.
    let embedder = load_model(model_spec(None, settings)).await?;
    let engine = open_engine(settings, &store, embedder).await?;
    let total = store.last_seq().await?;
    let progress = Progress::items("indexing", Some(total.max(0) as u64), settings.quiet);
    let report = IndexJob::new(store.clone(), engine.clone())
        .catch_up(&CancellationToken::new(), Some(&progress))
        .await?;
    progress.finish();
    let docs = engine.bm25().doc_count();
    if !settings.quiet {
        eprintln!(
            "indexed {docs} papers in {:.1} s ({:.0} papers/s)",
            report.elapsed.as_secs_f64(),
            docs as f64 / report.elapsed.as_secs_f64().max(1e-9)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn paper_map(store: &Arc<dyn Store>, ids: &[ArxivId]) -> Result<Vec<Paper>> {
    Ok(store.get_papers(ids).await?)
}

fn paper_day(p: &Paper) -> Option<String> {
    p.published
        .map(|d| d.date_naive().to_string())
        .or_else(|| p.listing_date.map(|d| d.to_string()))
}

fn print_line(rank: usize, id: &ArxivId, score: f32, pinned: bool, paper: Option<&Paper>) {
    let title = paper.map_or("", |p| p.title.as_str());
    let day = paper.and_then(paper_day).unwrap_or_default();
    let pin = if pinned { " (pinned)" } else { "" };
    println!(
        "{rank:>3}. {:<16} {score:>8.4}  {day:<10}  {title}{pin}",
        id.as_str()
    );
}

/// `--sort` values.
pub trait ParseSort {
    /// The sort named.
    fn parse_sort(&self) -> Result<Sort>;
}

impl ParseSort for String {
    fn parse_sort(&self) -> Result<Sort> {
        match self.trim().to_ascii_lowercase().as_str() {
            "relevance" | "" => Ok(Sort::Relevance),
            "date" => Ok(Sort::Date),
            "votes" | "upvotes" => Ok(Sort::Votes),
            other => bail!("unknown sort {other:?} (relevance, date or votes)"),
        }
    }
}
