//! nDCG@10 and Recall@100 of the BM25 index on a BEIR-layout folder.
//!
//!     cargo run --release -p paperfeed-search --example bm25_eval -- \
//!         /work/shared/data/cacm [dev] [--title 2.0] [--abstract 1.0] [--single-field]
//!
//! The protocol is the anchors' (`shared/anchors/beir_eval.py`): documents are indexed with
//! their title in the title field and their text in the abstract field; each query's text is
//! searched through [`Bm25Index::ranked_ids`], exactly as a user's query would be, or, for
//! query-by-example collections (queries with a `paper_id`, like CSFCube), through
//! [`Bm25Index::similar_to_text`], whose own paper is dropped from its ranking.
//! `--text/--title/--abstract/--authors W` override the weights of the path used. BEIR ids are not arXiv
//! ids, so documents get stand-in ids (`2001.00000` + position) mapped back for scoring.
//! Prints one JSON object.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use paperfeed_core::{ArxivId, Paper};
use paperfeed_search::bm25::eval::{BeirSet, doc_text, evaluate};
use paperfeed_search::bm25::{Bm25Index, FieldWeights, Filters, Weights};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut folder: Option<PathBuf> = None;
    let mut split = "dev".to_string();
    // Field weights given on the command line replace the default ones of the path used.
    let mut overrides: Vec<(String, f32)> = Vec::new();
    let mut single_field = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--text" | "--title" | "--abstract" | "--authors" => {
                let w = args.next().ok_or("a weight after the field")?.parse()?;
                overrides.push((a.trim_start_matches("--").to_string(), w));
            }
            "--single-field" => single_field = true,
            _ if folder.is_none() => folder = Some(PathBuf::from(a)),
            _ => split = a,
        }
    }
    let folder = folder.ok_or("usage: bm25_eval FOLDER [SPLIT] [--title W] [--abstract W]")?;
    let set = BeirSet::load(&folder, &split)?;
    // Query-by-example collections (queries with a paper id) use the similar-by-text path.
    let by_example = set.queries.iter().any(|q| q.exclude.is_some());
    let mut weights = Weights::default();
    let profile: &mut FieldWeights = if by_example {
        &mut weights.similar
    } else {
        &mut weights.query
    };
    for (field, w) in &overrides {
        match field.as_str() {
            "text" => profile.text = *w,
            "title" => profile.title = *w,
            "abstract" => profile.abstract_text = *w,
            _ => profile.authors = *w,
        }
    }
    let used = *profile;

    let t = Instant::now();
    let index = Bm25Index::in_memory_with(weights)?;
    let mut papers = Vec::with_capacity(set.docs.len());
    let mut beir_id: HashMap<ArxivId, &str> = HashMap::with_capacity(set.docs.len());
    for (i, doc) in set.docs.iter().enumerate() {
        let id = stand_in_id(i)?;
        let paper = if single_field {
            // Diagnostic: everything in one field, as bm25s indexes it.
            let mut p = Paper::new(id.clone(), "");
            p.abstract_text = doc_text(&doc.title, &doc.text);
            p
        } else {
            let mut p = Paper::new(id.clone(), &doc.title);
            p.abstract_text = doc.text.trim().to_string();
            p
        };
        beir_id.insert(id, doc.id.as_str());
        papers.push(paper);
    }
    index.upsert(papers.iter().map(|p| (p, 0)))?;
    index.commit(1)?;
    let index_s = t.elapsed().as_secs_f64();

    let none = Filters::default();
    let mut runs: HashMap<String, Vec<String>> = HashMap::new();
    let t = Instant::now();
    for q in &set.queries {
        let ranked = if by_example {
            index.similar_to_text(&q.text, 101)?
        } else {
            index.ranked_ids(&q.text, &none, 101)?
        };
        let ids: Vec<String> = ranked
            .iter()
            .filter_map(|(id, _)| beir_id.get(id).map(|s| s.to_string()))
            .filter(|d| q.exclude.as_deref() != Some(d.as_str()))
            .take(100)
            .collect();
        runs.insert(q.id.clone(), ids);
    }
    let query_ms = t.elapsed().as_secs_f64() * 1000.0 / set.queries.len().max(1) as f64;
    let m = evaluate(&runs, &set.qrels);
    println!(
        "{}",
        serde_json::json!({
            "folder": folder.display().to_string(),
            "split": split,
            "single_field": single_field,
            "docs": set.docs.len(),
            "path": if by_example { "similar_to_text" } else { "ranked_ids" },
            "weights": { "text": used.text, "title": used.title, "abstract": used.abstract_text, "authors": used.authors },
            "ndcg@10": (m.ndcg_at_10 * 10_000.0).round() / 10_000.0,
            "recall@100": (m.recall_at_100 * 10_000.0).round() / 10_000.0,
            "queries": m.queries,
            "index_seconds": (index_s * 1000.0).round() / 1000.0,
            "mean_query_ms": (query_ms * 1000.0).round() / 1000.0,
        })
    );
    Ok(())
}

/// A valid new-style arXiv id for the `i`th document: `2001.00000`, `2001.00001`, … rolling
/// into the next month every 100,000.
fn stand_in_id(i: usize) -> Result<ArxivId, Box<dyn std::error::Error>> {
    let month = i / 100_000;
    let (yy, mm) = (20 + month / 12, 1 + month % 12);
    if yy > 99 {
        return Err("corpus too large for stand-in ids".into());
    }
    Ok(ArxivId::parse(&format!(
        "{yy:02}{mm:02}.{:05}",
        i % 100_000
    ))?)
}
