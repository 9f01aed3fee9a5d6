//! The engine's vectors on disk: the snapshot, the journal and the HNSW graph survive a
//! restart without re-embedding or rebuilding, and vectors of another model are refused.

use std::sync::Arc;

use chrono::NaiveDate;
use paperfeed_core::{ArxivId, Category, Paper};
use paperfeed_search::SearchError;
use paperfeed_search::embed::Embedder;
use paperfeed_search::embed::load::load_embedder;
use paperfeed_search::engine::{EngineOptions, EngineRequest, SearchEngine, SearchMode};
use paperfeed_search::vector::VectorLayout;
use paperfeed_search::vector::store::{VECTORS_FILE, model_dir};
use serde::Deserialize;

#[derive(Deserialize)]
struct Line {
    id: String,
    title: String,
    categories: Vec<String>,
    #[serde(rename = "abstract")]
    abstract_text: String,
    listing_date: Option<NaiveDate>,
}

fn fixture() -> Vec<Paper> {
    include_str!("fixtures/bm25/listings-151.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let l: Line = serde_json::from_str(l).unwrap();
            let mut p = Paper::new(ArxivId::parse(&l.id).unwrap(), &l.title);
            p.abstract_text = l.abstract_text;
            p.categories = l
                .categories
                .iter()
                .filter_map(|c| Category::parse(c).ok())
                .collect();
            p.listing_date = l.listing_date;
            p.finish().unwrap()
        })
        .collect()
}

fn options(layout: VectorLayout) -> EngineOptions {
    EngineOptions {
        layout,
        // Small enough that the fixture gets a graph.
        ann_threshold: 50,
        ..EngineOptions::default()
    }
}

fn vectors(embedder: &Arc<dyn Embedder>, papers: &[Paper]) -> Vec<(ArxivId, Vec<f32>)> {
    let texts: Vec<String> = papers
        .iter()
        .map(|p| format!("{}\n{}", p.title, p.abstract_text))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let v = embedder.embed_documents(&refs).unwrap();
    papers.iter().map(|p| p.id.clone()).zip(v).collect()
}

fn top(engine: &SearchEngine, mode: SearchMode, q: &str) -> Vec<ArxivId> {
    engine
        .search(&EngineRequest::new(mode, q))
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect()
}

#[test]
fn vectors_graph_and_journal_survive_a_restart_in_both_layouts() {
    for layout in [VectorLayout::Int8, VectorLayout::F32] {
        let dir = tempfile::tempdir().unwrap();
        let (index, root) = (dir.path().join("index"), dir.path().join("vectors"));
        let model = load_embedder(None).unwrap();
        let papers = fixture();
        let (first, rest) = papers.split_at(120);
        let q = "benchmarks for vision language models";
        let before;
        {
            let engine = SearchEngine::open(&index, &root, model.clone(), options(layout)).unwrap();
            let upserts: Vec<(&Paper, u32)> = papers.iter().map(|p| (p, 0)).collect();
            engine.apply_changes(&upserts, &[], 7).unwrap();
            engine.upsert_vectors(&vectors(&model, first)).unwrap();
            let m = engine.maintain().unwrap();
            assert!(m.graph_built);
            assert_eq!(engine.vector_index_kind(), "hnsw");
            engine.persist_vectors().unwrap();
            // After the snapshot: journaled only.
            engine.upsert_vectors(&vectors(&model, rest)).unwrap();
            engine.remove_vectors(&[papers[0].id.clone()]).unwrap();
            before = top(&engine, SearchMode::Semantic, q);
            assert_eq!(before.len(), 10);
        }
        let engine = SearchEngine::open(&index, &root, model.clone(), options(layout)).unwrap();
        assert_eq!(engine.bm25().indexed_seq(), 7);
        assert_eq!(engine.vector_count(), papers.len() - 1, "{layout}");
        assert!(!engine.has_vector(&papers[0].id));
        assert_eq!(
            engine.vector_index_kind(),
            "hnsw",
            "the graph is loaded, not rebuilt"
        );
        assert_eq!(top(&engine, SearchMode::Semantic, q), before, "{layout}");
        // The restarted engine still knows every paper's date and categories (read back from
        // the BM25 index) for filters.
        let mut r = EngineRequest::new(SearchMode::Semantic, q);
        r.request.categories = vec!["cs.CV".into()];
        let hits = engine.search(&r).unwrap().hits;
        assert!(!hits.is_empty());
        for h in hits {
            let p = papers.iter().find(|p| p.id == h.id).unwrap();
            assert!(p.categories.iter().any(|c| c.as_str() == "cs.CV"));
        }
    }
}

#[test]
fn vectors_of_another_model_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (index, root) = (dir.path().join("index"), dir.path().join("vectors"));
    let bundled = load_embedder(None).unwrap();
    let papers = fixture();
    {
        let engine =
            SearchEngine::open(&index, &root, bundled.clone(), EngineOptions::default()).unwrap();
        engine
            .upsert_vectors(&vectors(&bundled, &papers[..10]))
            .unwrap();
        engine.persist_vectors().unwrap();
        // A vector of the wrong size never gets in.
        let wrong = vec![(papers[11].id.clone(), vec![0.5f32; 7])];
        assert!(engine.upsert_vectors(&wrong).is_err());
    }
    // Another model (the same table loaded from its folder has another identity) finds its
    // own empty folder...
    let folder =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/static-minilm-arxiv-v1");
    let other = load_embedder(folder.to_str()).unwrap();
    assert_ne!(other.identity().key(), bundled.identity().key());
    {
        let engine =
            SearchEngine::open(&index, &root, other.clone(), EngineOptions::default()).unwrap();
        assert_eq!(engine.vector_count(), 0);
    }
    // ...and refuses the bundled model's vectors put where its own belong.
    let theirs = model_dir(&root, &bundled.identity().key()).join(VECTORS_FILE);
    let mine = model_dir(&root, &other.identity().key());
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::copy(theirs, mine.join(VECTORS_FILE)).unwrap();
    let err = SearchEngine::open(&index, &root, other, EngineOptions::default()).unwrap_err();
    assert!(matches!(err, SearchError::ModelMismatch { .. }), "{err}");
}

/// A graph saved in an older layout (f32 vectors, before `graph.json` recorded a format) is
/// not loaded: the engine scans until maintenance rebuilds it in the current layout.
#[test]
fn a_graph_of_an_older_layout_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let (index, root) = (dir.path().join("index"), dir.path().join("vectors"));
    let model = load_embedder(None).unwrap();
    let papers = fixture();
    let open = || SearchEngine::open(&index, &root, model.clone(), options(VectorLayout::F32));
    {
        let engine = open().unwrap();
        engine.upsert_vectors(&vectors(&model, &papers)).unwrap();
        assert!(engine.maintain().unwrap().graph_built);
        engine.persist_vectors().unwrap();
    }
    let meta = model_dir(&root, &model.identity().key()).join("graph/graph.json");
    let mut record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert!(record["format"].as_u64().unwrap() >= 2, "{record}");
    record.as_object_mut().unwrap().remove("format");
    std::fs::write(&meta, serde_json::to_vec(&record).unwrap()).unwrap();

    let engine = open().unwrap();
    assert_eq!(engine.vector_count(), papers.len());
    assert_eq!(engine.vector_index_kind(), "exact");
    assert!(engine.maintain().unwrap().graph_built);
    assert_eq!(engine.vector_index_kind(), "hnsw");
    engine.persist_vectors().unwrap();
    drop(engine);
    assert_eq!(open().unwrap().vector_index_kind(), "hnsw");
}
