//! The engine on real arXiv listings (tests/fixtures/bm25/listings-151.jsonl) with the bundled
//! model: semantic and hybrid search honour filters, sorts, pinning, snippets and paging like
//! BM25 search does; partial and missing vectors; similar papers.

use std::sync::{Arc, OnceLock};

use chrono::NaiveDate;
use paperfeed_core::{ArxivId, Author, Category, Paper};
use paperfeed_search::bm25::{Filters, Hit, SearchRequest, Sort};
use paperfeed_search::embed::Embedder;
use paperfeed_search::embed::load::load_embedder;
use paperfeed_search::engine::{EngineOptions, EngineRequest, SearchEngine, SearchMode};
use serde::Deserialize;

#[derive(Deserialize)]
struct Line {
    id: String,
    title: String,
    authors: Vec<String>,
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
            p.authors = l.authors.iter().map(|a| Author::new(a)).collect();
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

fn votes(i: usize) -> u32 {
    ((i * 37) % 23) as u32
}

fn bundled() -> Arc<dyn Embedder> {
    static MODEL: OnceLock<Arc<dyn Embedder>> = OnceLock::new();
    MODEL.get_or_init(|| load_embedder(None).unwrap()).clone()
}

/// An engine over the fixture with vectors for the papers `embed` selects.
fn engine_with(embed: impl Fn(usize) -> bool) -> (Vec<Paper>, SearchEngine) {
    let papers = fixture();
    let engine = SearchEngine::in_memory(bundled(), EngineOptions::default()).unwrap();
    let upserts: Vec<(&Paper, u32)> = papers
        .iter()
        .enumerate()
        .map(|(i, p)| (p, votes(i)))
        .collect();
    engine.apply_changes(&upserts, &[], 1).unwrap();
    let chosen: Vec<&Paper> = papers
        .iter()
        .enumerate()
        .filter(|(i, _)| embed(*i))
        .map(|(_, p)| p)
        .collect();
    let texts: Vec<String> = chosen
        .iter()
        .map(|p| format!("{}\n{}", p.title, p.abstract_text))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = bundled().embed_documents(&refs).unwrap();
    let pairs: Vec<(ArxivId, Vec<f32>)> =
        chosen.iter().map(|p| p.id.clone()).zip(vectors).collect();
    engine.upsert_vectors(&pairs).unwrap();
    (papers, engine)
}

fn full() -> &'static (Vec<Paper>, SearchEngine) {
    static FULL: OnceLock<(Vec<Paper>, SearchEngine)> = OnceLock::new();
    FULL.get_or_init(|| engine_with(|_| true))
}

fn req(mode: SearchMode, q: &str) -> EngineRequest {
    EngineRequest::new(mode, q)
}

fn ids(hits: &[Hit]) -> Vec<ArxivId> {
    hits.iter().map(|h| h.id.clone()).collect()
}

fn paper<'a>(papers: &'a [Paper], id: &ArxivId) -> &'a Paper {
    papers.iter().find(|p| p.id == *id).unwrap()
}

const QUERY: &str = "language models for code generation";

#[test]
fn every_mode_answers_and_semantic_is_complete() {
    let (_, engine) = full();
    for mode in SearchMode::ALL {
        let res = engine.search(&req(mode, QUERY)).unwrap();
        assert_eq!(res.mode, mode);
        assert_eq!(res.hits.len(), 10, "{mode}");
        assert!(res.semantic_complete, "{mode}");
        assert!(res.total >= 10);
    }
    assert!(engine.coverage().complete);
}

#[test]
fn semantic_search_finds_a_paper_from_a_paraphrase_of_its_abstract() {
    let (papers, engine) = full();
    // The first sentence of each of a few abstracts, searched semantically, finds its paper
    // near the top: the vectors mean something.
    let mut found = 0;
    for p in papers.iter().take(20) {
        let first: String = p.abstract_text.split(". ").next().unwrap().to_string();
        let res = engine.search(&req(SearchMode::Semantic, &first)).unwrap();
        if ids(&res.hits[..5.min(res.hits.len())]).contains(&p.id) {
            found += 1;
        }
    }
    assert!(found >= 14, "only {found}/20 found in the semantic top 5");
}

#[test]
fn filters_apply_in_every_mode() {
    let (papers, engine) = full();
    let from = NaiveDate::from_ymd_opt(2025, 4, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(2025, 4, 18).unwrap();
    for mode in SearchMode::ALL {
        let mut r = req(mode, QUERY);
        r.request.from = Some(from);
        r.request.to = Some(to);
        r.request.categories = vec!["cs.CL".into()];
        r.request.limit = 50;
        let res = engine.search(&r).unwrap();
        assert!(!res.hits.is_empty(), "{mode}: nothing passes");
        for h in &res.hits {
            let p = paper(papers, &h.id);
            let day = p.listing_date.unwrap();
            assert!(day >= from && day <= to, "{mode}: {} dated {day}", h.id);
            assert!(
                p.categories.iter().any(|c| c.as_str() == "cs.CL"),
                "{mode}: {} not cs.CL",
                h.id
            );
        }
        // Archive-level categories work as in BM25 search.
        let mut r = req(mode, QUERY);
        r.request.categories = vec!["eess".into()];
        let res = engine.search(&r).unwrap();
        for h in &res.hits {
            assert!(
                paper(papers, &h.id)
                    .categories
                    .iter()
                    .any(|c| c.archive() == "eess"),
                "{mode}"
            );
        }
        // Bad filters are query errors in every mode.
        let mut r = req(mode, QUERY);
        r.request.categories = vec!["Not A Category".into()];
        assert!(engine.search(&r).is_err(), "{mode}");
        let mut r = req(mode, QUERY);
        r.request.from = Some(to);
        r.request.to = Some(from);
        assert!(engine.search(&r).is_err(), "{mode}");
    }
}

#[test]
fn sorts_apply_in_every_mode() {
    let (papers, engine) = full();
    let index_of = |id: &ArxivId| papers.iter().position(|p| p.id == *id).unwrap();
    for mode in SearchMode::ALL {
        let mut r = req(mode, QUERY);
        r.request.limit = 30;
        r.request.sort = Sort::Date;
        let hits = engine.search(&r).unwrap().hits;
        let days: Vec<NaiveDate> = hits
            .iter()
            .map(|h| paper(papers, &h.id).listing_date.unwrap())
            .collect();
        assert!(
            days.windows(2).all(|w| w[0] >= w[1]),
            "{mode}: not newest first: {days:?}"
        );
        r.request.sort = Sort::Votes;
        let hits = engine.search(&r).unwrap().hits;
        let v: Vec<u32> = hits.iter().map(|h| votes(index_of(&h.id))).collect();
        assert!(
            v.windows(2).all(|w| w[0] >= w[1]),
            "{mode}: not most voted first: {v:?}"
        );
    }
}

#[test]
fn pinned_papers_come_first_in_every_mode() {
    let (papers, engine) = full();
    let target = &papers[42];
    let spellings = [
        target.id.as_str().to_string(),
        format!("arXiv:{}v1", target.id.as_str()),
        format!("https://arxiv.org/abs/{}", target.id.as_str()),
        target.title.to_uppercase(),
    ];
    for mode in SearchMode::ALL {
        for q in &spellings {
            let hits = engine.search(&req(mode, q)).unwrap().hits;
            assert_eq!(hits[0].id, target.id, "{mode}: {q}");
            assert!(hits[0].pinned, "{mode}: {q}");
            assert_eq!(
                hits.iter().filter(|h| h.id == target.id).count(),
                1,
                "{mode}: duplicate"
            );
        }
    }
}

#[test]
fn every_hit_has_escaped_highlighted_snippets_when_asked() {
    let (papers, engine) = full();
    for mode in SearchMode::ALL {
        let res = engine
            .search(&req(mode, "diffusion models & <script>"))
            .unwrap();
        for h in &res.hits {
            let title = h.title_html.as_deref().expect("title");
            let snippet = h.snippet_html.as_deref().expect("snippet");
            for html in [title, snippet] {
                let without_marks = html.replace("<mark>", "").replace("</mark>", "");
                assert!(
                    !without_marks.contains('<') && !without_marks.contains('>'),
                    "{mode}: {html}"
                );
            }
            let p = paper(papers, &h.id);
            if p.title.to_lowercase().contains("diffusion") {
                assert!(title.contains("<mark>"), "{mode}: {title}");
            }
        }
        let mut r = req(mode, "diffusion");
        r.request.snippets = false;
        assert!(
            engine
                .search(&r)
                .unwrap()
                .hits
                .iter()
                .all(|h| h.title_html.is_none())
        );
    }
    // A title with `&` comes back escaped from a semantic hit too.
    let amp = papers
        .iter()
        .find(|p| p.title.contains('&'))
        .expect("fixture has a title with &");
    let hits = engine
        .search(&req(SearchMode::Semantic, amp.id.as_str()))
        .unwrap()
        .hits;
    assert!(hits[0].title_html.as_deref().unwrap().contains("&amp;"));
}

#[test]
fn pages_are_slices_of_one_ranking() {
    let (_, engine) = full();
    for mode in [SearchMode::Semantic, SearchMode::Hybrid] {
        let mut r = req(mode, QUERY);
        r.request.limit = 30;
        r.request.snippets = false;
        let all = ids(&engine.search(&r).unwrap().hits);
        let mut paged = Vec::new();
        for page in 0..3 {
            r.request.limit = 10;
            r.request.offset = page * 10;
            paged.extend(ids(&engine.search(&r).unwrap().hits));
        }
        assert_eq!(all, paged, "{mode}");
        r.request.limit = 0;
        assert!(engine.search(&r).is_err());
    }
}

#[test]
fn without_vectors_hybrid_is_bm25_and_semantic_is_empty() {
    let (_, engine) = engine_with(|_| false);
    let bm25 = engine.search(&req(SearchMode::Bm25, QUERY)).unwrap();
    let hybrid = engine.search(&req(SearchMode::Hybrid, QUERY)).unwrap();
    assert_eq!(ids(&hybrid.hits), ids(&bm25.hits));
    assert!(!hybrid.semantic_complete);
    let semantic = engine.search(&req(SearchMode::Semantic, QUERY)).unwrap();
    assert!(semantic.hits.is_empty());
    assert!(!semantic.semantic_complete);
    assert!(
        bm25.semantic_complete,
        "BM25 results never depend on vectors"
    );
}

#[test]
fn partial_vectors_give_partial_semantic_results_flagged_incomplete() {
    let (papers, engine) = engine_with(|i| i % 2 == 0);
    let embedded: Vec<&ArxivId> = papers.iter().step_by(2).map(|p| &p.id).collect();
    let mut r = req(SearchMode::Semantic, QUERY);
    r.request.limit = 100;
    let res = engine.search(&r).unwrap();
    assert!(!res.semantic_complete);
    assert_eq!(res.hits.len(), embedded.len());
    assert!(res.hits.iter().all(|h| embedded.contains(&&h.id)));
    let hybrid = engine.search(&req(SearchMode::Hybrid, QUERY)).unwrap();
    assert!(!hybrid.semantic_complete && !hybrid.hits.is_empty());
    let c = engine.coverage();
    assert_eq!((c.vectors, c.papers), (embedded.len(), papers.len()));
    engine.set_pending_embeddings(Some(0));
    assert!(
        engine.coverage().complete,
        "the job's word counts once it reports"
    );
}

#[test]
fn similar_uses_vectors_and_falls_back_to_bm25() {
    let (papers, engine) = engine_with(|i| i != 7);
    let with = &papers[3];
    let found = engine.similar(&with.id, 5).unwrap();
    assert_eq!(found.len(), 5);
    assert!(found.iter().all(|(id, _)| *id != with.id));
    assert!(found.windows(2).all(|w| w[0].1 >= w[1].1));
    let without = &papers[7];
    assert_eq!(
        engine.similar(&without.id, 5).unwrap(),
        engine.bm25().similar(&without.id, 5).unwrap()
    );
    let unknown = ArxivId::parse("9901.00001").unwrap();
    assert!(engine.similar(&unknown, 5).unwrap().is_empty());
}

#[test]
fn deleted_papers_leave_every_mode() {
    let (papers, engine) = engine_with(|_| true);
    let gone = papers[0].id.clone();
    let q = papers[0].title.clone();
    engine
        .apply_changes(&[], std::slice::from_ref(&gone), 2)
        .unwrap();
    assert!(!engine.has_vector(&gone));
    for mode in SearchMode::ALL {
        let hits = engine.search(&req(mode, &q)).unwrap().hits;
        assert!(hits.iter().all(|h| h.id != gone), "{mode}");
    }
    assert!(
        engine
            .similar(&papers[1].id, 50)
            .unwrap()
            .iter()
            .all(|(id, _)| *id != gone)
    );
}

#[test]
fn query_embeddings_are_cached() {
    let (_, engine) = full();
    let a = engine.query_vector("a query seen twice").unwrap();
    let b = engine.query_vector("a query seen twice").unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    let filters = Filters::default();
    assert_eq!(engine.dense(&a, &filters, 3, None).unwrap().len(), 3);
}

#[test]
fn empty_query_lists_papers_in_every_mode() {
    let (_, engine) = full();
    let bm25 = engine.search(&req(SearchMode::Bm25, "")).unwrap();
    for mode in [SearchMode::Semantic, SearchMode::Hybrid] {
        let res = engine
            .search(&EngineRequest {
                mode,
                request: SearchRequest::new("  "),
            })
            .unwrap();
        assert_eq!(ids(&res.hits), ids(&bm25.hits), "{mode}");
    }
}
