//! Property tests: no query string makes the BM25 index panic or fail.

use std::sync::LazyLock;

use paperfeed_core::{ArxivId, Author, Category, Paper};
use paperfeed_search::bm25::{Bm25Index, Filters, MARK_CLOSE, MARK_OPEN, SearchRequest, Sort};
use proptest::prelude::*;

static INDEX: LazyLock<Bm25Index> = LazyLock::new(|| {
    let index = Bm25Index::in_memory().unwrap();
    let mut papers = Vec::new();
    // Titles and abstracts with the characters queries may contain.
    let rows = [
        (
            "2503.12067",
            "A Comprehensive Survey on Knowledge Distillation",
            "Deep Neural Networks (DNNs) & \"teacher\" <student> models: ti: au: cat:",
        ),
        (
            "2503.16870",
            "Sparse Logit Sampling: Accelerating Knowledge Distillation in LLMs",
            "marginal overhead (<10%) compared to cross-entropy",
        ),
        (
            "2505.11003",
            "ForensicHub: A Unified Benchmark & Codebase for All-Domain Fake Image Detection",
            "AND OR NOT -x +y ((a)) [b TO c] {d} ^2 ~3 *",
        ),
    ];
    for (id, title, abs) in rows {
        let mut p = Paper::new(ArxivId::parse(id).unwrap(), title);
        p.abstract_text = abs.into();
        p.authors = vec![Author::new("Yann LeCun")];
        p.categories = vec![Category::parse("cs.CL").unwrap()];
        papers.push(p);
    }
    index.upsert(papers.iter().map(|p| (p, 1))).unwrap();
    index.commit(1).unwrap();
    index
});

fn query_chars() -> impl Strategy<Value = String> {
    // Syntax-heavy alphabet plus arbitrary unicode.
    prop_oneof![
        "[a-zA-Z0-9 :\"()\\[\\]{}^~*+\\-!&|.,/\\\\<>']{0,40}",
        "(ti|abs|au|cat|id|date|upvotes|title_key|x)?:?[\"(]?[a-z0-9. \"]{0,12}[)\"]?( (AND|OR|NOT) )?.{0,10}",
        "\\PC{0,60}",
        ".{0,200}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn search_never_fails(q in query_chars(), snippets: bool, sort in 0u8..3, offset in 0usize..5) {
        let mut r = SearchRequest::new(q.clone());
        r.snippets = snippets;
        r.offset = offset;
        r.sort = [Sort::Relevance, Sort::Date, Sort::Votes][usize::from(sort)];
        let res = INDEX.search(&r);
        prop_assert!(res.is_ok(), "{:?}: {:?}", q, res);
        let res = res.unwrap();
        prop_assert!(res.hits.len() <= 10);
        for h in &res.hits {
            for html in [h.title_html.as_deref(), h.snippet_html.as_deref()].into_iter().flatten() {
                let bare = html.replace(MARK_OPEN, "").replace(MARK_CLOSE, "");
                prop_assert!(!bare.contains('<') && !bare.contains('>'), "{}", html);
            }
        }
        prop_assert!(INDEX.ranked_ids(&q, &Filters::default(), 10).is_ok());
        prop_assert!(INDEX.pinned(&q, &Filters::default()).is_ok());
        prop_assert!(INDEX.similar_to_text(&q, 3).is_ok());
    }
}
