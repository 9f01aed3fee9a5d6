//! The on-disk BM25 index: reopening, the recorded store sequence, schema-version rebuilds.

use std::fs;

use paperfeed_core::{ArxivId, Paper};
use paperfeed_search::bm25::{Bm25Index, MARKER_FILE, OpenState, SCHEMA_VERSION, SearchRequest};

fn paper(id: &str, title: &str, abstract_text: &str) -> Paper {
    let mut p = Paper::new(ArxivId::parse(id).unwrap(), title);
    p.abstract_text = abstract_text.into();
    p.finish().unwrap()
}

fn papers() -> Vec<Paper> {
    // Real titles and abstract openings from the arXiv listings fixture.
    vec![
        paper(
            "2503.12067",
            "A Comprehensive Survey on Knowledge Distillation",
            "Deep Neural Networks (DNNs) have achieved notable performance in the fields of computer vision and natural language processing.",
        ),
        paper(
            "2503.16870",
            "Sparse Logit Sampling: Accelerating Knowledge Distillation in LLMs",
            "Knowledge distillation can be a cost-effective technique to distill knowledge in Large Language Models.",
        ),
    ]
}

fn hits(index: &Bm25Index, q: &str) -> usize {
    index.search(&SearchRequest::new(q)).unwrap().total
}

#[test]
fn commit_seq_and_documents_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bm25");
    {
        let index = Bm25Index::open(&path).unwrap();
        assert_eq!(index.open_state(), OpenState::Created);
        assert!(index.open_state().needs_full_feed());
        assert_eq!(index.indexed_seq(), 0);
        index.upsert(papers().iter().map(|p| (p, 3))).unwrap();
        index.commit(41).unwrap();
        index
            .upsert([(&paper("2504.00001", "Uncommitted wombat", ""), 0)])
            .unwrap();
        index.commit(42).unwrap();
        assert_eq!(index.indexed_seq(), 42);
    }
    let index = Bm25Index::open(&path).unwrap();
    assert_eq!(index.open_state(), OpenState::Reopened);
    assert!(!index.open_state().needs_full_feed());
    assert_eq!(index.indexed_seq(), 42);
    assert_eq!(index.doc_count(), 3);
    assert_eq!(hits(&index, "distillation"), 2);
    let marker: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(path.join(MARKER_FILE)).unwrap()).unwrap();
    assert_eq!(marker["schema_version"], SCHEMA_VERSION);
}

/// A reopened index replaces the papers it holds on disk: an upsert of a paper the writer
/// has not staged looks it up in the committed index before skipping its delete.
#[test]
fn a_reopened_index_replaces_the_papers_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bm25");
    {
        let index = Bm25Index::open(&path).unwrap();
        index.upsert(papers().iter().map(|p| (p, 0))).unwrap();
        index.commit(1).unwrap();
    }
    let index = Bm25Index::open(&path).unwrap();
    let mut changed = papers()[0].clone();
    changed.title = "Quokka retrieval".into();
    index.upsert([(&changed, 0)]).unwrap();
    index.commit(2).unwrap();
    assert_eq!(index.doc_count(), papers().len());
    assert_eq!(hits(&index, "quokka"), 1);
}

#[test]
fn uncommitted_writes_are_lost_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = Bm25Index::open(dir.path()).unwrap();
        index.upsert(papers().iter().map(|p| (p, 0))).unwrap();
        index.commit(7).unwrap();
        index
            .upsert([(&paper("2504.00001", "Uncommitted wombat", ""), 0)])
            .unwrap();
    }
    let index = Bm25Index::open(dir.path()).unwrap();
    assert_eq!(index.indexed_seq(), 7);
    assert_eq!(index.doc_count(), 2);
    assert_eq!(hits(&index, "wombat"), 0);
}

#[test]
fn another_schema_version_is_wiped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = Bm25Index::open(dir.path()).unwrap();
        index.upsert(papers().iter().map(|p| (p, 0))).unwrap();
        index.commit(9).unwrap();
    }
    fs::write(dir.path().join(MARKER_FILE), r#"{"schema_version":0}"#).unwrap();
    let index = Bm25Index::open(dir.path()).unwrap();
    assert_eq!(
        index.open_state(),
        OpenState::Rebuilt {
            previous_version: Some(0)
        }
    );
    assert!(index.open_state().needs_full_feed());
    assert_eq!(index.doc_count(), 0);
    assert_eq!(index.indexed_seq(), 0);
    // It works as a fresh index and stays at the current version.
    index.upsert(papers().iter().map(|p| (p, 0))).unwrap();
    index.commit(1).unwrap();
    drop(index);
    let index = Bm25Index::open(dir.path()).unwrap();
    assert_eq!(index.open_state(), OpenState::Reopened);
    assert_eq!(index.doc_count(), 2);
}

#[test]
fn missing_or_garbled_marker_means_rebuild() {
    for marker in [None, Some("not json"), Some(r#"{"schema_version":"x"}"#)] {
        let dir = tempfile::tempdir().unwrap();
        {
            let index = Bm25Index::open(dir.path()).unwrap();
            index.upsert(papers().iter().map(|p| (p, 0))).unwrap();
            index.commit(5).unwrap();
        }
        let path = dir.path().join(MARKER_FILE);
        match marker {
            None => fs::remove_file(&path).unwrap(),
            Some(text) => fs::write(&path, text).unwrap(),
        }
        let index = Bm25Index::open(dir.path()).unwrap();
        assert_eq!(
            index.open_state(),
            OpenState::Rebuilt {
                previous_version: None
            },
            "{marker:?}"
        );
        assert_eq!(index.doc_count(), 0);
    }
}

#[test]
fn a_second_writer_on_the_same_directory_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Bm25Index::open(dir.path()).unwrap();
    assert!(Bm25Index::open(dir.path()).is_err());
}

#[test]
fn in_memory_index_reports_its_state() {
    let index = Bm25Index::in_memory().unwrap();
    assert_eq!(index.open_state(), OpenState::InMemory);
    assert!(index.open_state().needs_full_feed());
    assert_eq!(index.doc_count(), 0);
    assert_eq!(
        index.search(&SearchRequest::new("anything")).unwrap().total,
        0
    );
}
