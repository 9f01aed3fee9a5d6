//! Dense retrieval quality of a BERT sentence-transformer on a BEIR-layout folder, in f32 and
//! int8, so the cost of int8 in relevance can be read next to its speed:
//!
//!     cargo run --release -p paperfeed-search --example embed_eval -- \
//!         /work/shared/data/cacm [dev] [MODEL_DIR]
//!
//! The protocol is the dense part of the anchors' `shared/anchors/beir_eval.py`: documents are
//! title + "\n" + text, queries are embedded as documents are (no prompt for this model),
//! ranking is by cosine, a query-by-example query (CSFCube) never retrieves its own paper, and
//! nDCG@10 / Recall@100 are averaged over judged queries. MODEL_DIR defaults to
//! `PAPERFEED_MINILM_DIR` or `target/models/all-MiniLM-L6-v2`. Prints one JSON object with, per
//! precision, the metrics and the embedding time, and how far int8 vectors are from f32 ones.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use paperfeed_search::bm25::eval::{BeirSet, doc_text, evaluate};
use paperfeed_search::embed::Embedder;
use paperfeed_search::embed::bert::{BertEmbedder, BertOptions, Precision};

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let folder = PathBuf::from(
        args.first()
            .ok_or("usage: embed_eval FOLDER [SPLIT] [MODEL_DIR]")?,
    );
    let split = args.get(1).map_or("dev", String::as_str);
    let model_dir = args.get(2).map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("PAPERFEED_MINILM_DIR").map_or_else(
            || {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../../target/models/all-MiniLM-L6-v2")
            },
            PathBuf::from,
        )
    });
    let set = BeirSet::load(&folder, split)?;
    let docs: Vec<String> = set
        .docs
        .iter()
        .map(|d| doc_text(&d.title, &d.text))
        .collect();
    let docs: Vec<&str> = docs.iter().map(String::as_str).collect();
    let queries: Vec<&str> = set.queries.iter().map(|q| q.text.as_str()).collect();

    let mut out = serde_json::Map::new();
    out.insert("folder".into(), folder.display().to_string().into());
    out.insert("docs".into(), docs.len().into());
    let mut doc_vectors: HashMap<&str, Vec<Vec<f32>>> = HashMap::new();
    for (label, precision) in [("f32", Precision::F32), ("int8", Precision::Int8)] {
        let options = BertOptions {
            precision,
            ..BertOptions::default()
        };
        let model = BertEmbedder::from_dir(&model_dir, options)?;
        let t = Instant::now();
        let d = model.embed_documents(&docs)?;
        let embed_s = t.elapsed().as_secs_f64();
        let q = model.embed_documents(&queries)?;
        let mut runs: HashMap<String, Vec<String>> = HashMap::new();
        for (query, qv) in set.queries.iter().zip(&q) {
            let mut scored: Vec<(f32, usize)> = d
                .iter()
                .enumerate()
                .map(|(i, dv)| (dot(qv, dv), i))
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let ranked: Vec<String> = scored
                .iter()
                .map(|&(_, i)| set.docs[i].id.clone())
                .filter(|id| query.exclude.as_deref() != Some(id.as_str()))
                .take(100)
                .collect();
            runs.insert(query.id.clone(), ranked);
        }
        let m = evaluate(&runs, &set.qrels);
        out.insert(
            label.into(),
            serde_json::json!({
                "model": model.identity().key(),
                "ndcg@10": (m.ndcg_at_10 * 10_000.0).round() / 10_000.0,
                "recall@100": (m.recall_at_100 * 10_000.0).round() / 10_000.0,
                "queries": m.queries,
                "embed_docs_s": (embed_s * 100.0).round() / 100.0,
            }),
        );
        doc_vectors.insert(label, d);
    }
    let (f, i) = (&doc_vectors["f32"], &doc_vectors["int8"]);
    let cos: Vec<f32> = f.iter().zip(i).map(|(a, b)| dot(a, b)).collect();
    let mean = cos.iter().map(|&c| f64::from(c)).sum::<f64>() / cos.len().max(1) as f64;
    let worst = f64::from(cos.iter().cloned().fold(1.0f32, f32::min));
    out.insert(
        "int8_vs_f32_doc_cosine".into(),
        serde_json::json!({ "mean": (mean * 1e5).round() / 1e5, "worst": (worst * 1e5).round() / 1e5 }),
    );
    println!("{}", serde_json::Value::Object(out));
    Ok(())
}
