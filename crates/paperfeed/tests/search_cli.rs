//! `paperfeed search`, `similar`, `embed` and `reindex` as a user runs them: the real binary on
//! a temporary data dir holding 300 real arXiv listings (tests/fixtures/search), with the
//! bundled model.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_paperfeed"));
    c.env_remove("PAPERFEED_MODEL")
        .env_remove("PAPERFEED_CONFIG")
        .env("PAPERFEED_LOG", "warn");
    c
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/search/papers-300.jsonl")
}

fn run(data: &Path, args: &[&str]) -> Output {
    let out = bin()
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("runs paperfeed");
    assert!(
        out.status.success(),
        "paperfeed {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(data: &Path, args: &[&str]) -> Value {
    let out = run(data, args);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "paperfeed {args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn hit_ids(v: &Value) -> Vec<String> {
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

/// A data dir with the fixture ingested, embedded with the bundled model; shared by the tests
/// that only read it.
fn embedded() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        // Under target/tmp, as a static is never dropped (see scripts/test.sh).
        let dir = tempfile::Builder::new()
            .prefix("paperfeed-test-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        run(
            dir.path(),
            &["-q", "ingest", "jsonl", fixture().to_str().unwrap()],
        );
        run(dir.path(), &["-q", "embed"]);
        dir
    })
    .path()
}

#[test]
fn fresh_ingest_is_searchable_at_once_and_hybrid_waits_for_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    run(
        data,
        &["-q", "ingest", "jsonl", fixture().to_str().unwrap()],
    );
    // No index was built by hand: search catches up with the store first.
    let bm25 = json(
        data,
        &[
            "search",
            "knowledge distillation",
            "--mode",
            "bm25",
            "--json",
        ],
    );
    assert_eq!(bm25["mode"], "bm25");
    assert!(bm25["total"].as_u64().unwrap() > 0);
    assert!(
        bm25["hits"][0]["title"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("distillation")
    );
    // Before `embed`: hybrid is BM25 and says semantic results are incomplete.
    let hybrid = json(data, &["search", "knowledge distillation", "--json"]);
    assert_eq!(hybrid["mode"], "hybrid");
    assert_eq!(hybrid["semantic_complete"], false);
    assert_eq!(hit_ids(&hybrid), hit_ids(&bm25));
    let out = run(
        data,
        &["search", "knowledge distillation", "--mode", "semantic"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("paperfeed embed"));

    let out = run(data, &["embed"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("embedded 300 papers"));
    let stats = json(data, &["stats", "--json"]);
    let counts: Vec<u64> = stats["embeddings"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![300]);
    let hybrid = json(data, &["search", "knowledge distillation", "--json"]);
    assert_eq!(hybrid["semantic_complete"], true);
    // A second embed has nothing to do.
    let out = run(data, &["embed"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("embedded 0 papers"));
}

#[test]
fn every_mode_honours_filters_and_limit() {
    let data = embedded();
    for mode in ["bm25", "semantic", "hybrid"] {
        let v = json(
            data,
            &[
                "search",
                "language model evaluation",
                "--mode",
                mode,
                "--json",
                "--limit",
                "7",
                "--category",
                "cs.CL",
                "--from",
                "2025-05-20",
                "--to",
                "2025-05-23",
            ],
        );
        let hits = v["hits"].as_array().unwrap();
        assert!(!hits.is_empty() && hits.len() <= 7, "{mode}: {v}");
        for h in hits {
            let cats: Vec<&str> = h["categories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            assert!(cats.contains(&"cs.CL"), "{mode}: {h}");
            let day = h["date"].as_str().unwrap();
            assert!(("2025-05-20"..="2025-05-23").contains(&day), "{mode}: {h}");
        }
    }
}

#[test]
fn an_id_query_pins_the_paper_in_every_mode() {
    let data = embedded();
    for mode in ["bm25", "semantic", "hybrid"] {
        let v = json(
            data,
            &["search", "arXiv:2503.12067v2", "--mode", mode, "--json"],
        );
        assert_eq!(v["hits"][0]["id"], "2503.12067", "{mode}");
        assert_eq!(v["hits"][0]["pinned"], true, "{mode}");
    }
}

#[test]
fn similar_papers_by_vector_exclude_the_paper() {
    let data = embedded();
    let v = json(data, &["similar", "2503.12067", "--json", "--limit", "5"]);
    assert_eq!(v["method"], "vectors");
    let ids: Vec<&str> = v["similar"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 5);
    assert!(!ids.contains(&"2503.12067"));
    let human = run(data, &["similar", "https://arxiv.org/abs/2503.12067"]);
    assert_eq!(String::from_utf8_lossy(&human.stdout).lines().count(), 10);
}

#[test]
fn bad_input_is_a_clean_error() {
    let data = embedded();
    for args in [
        vec!["search", "x", "--mode", "fuzzy"],
        vec!["search", "x", "--category", "Not A Category"],
        vec!["search", "x", "--from", "2025-05-23", "--to", "2025-05-20"],
        vec!["similar", "not-an-id"],
        vec!["similar", "9901.00001"],
        vec!["search", "x", "--model", "/no/such/model"],
    ] {
        let out = bin()
            .arg("--data-dir")
            .arg(data)
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("error: ") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn reindex_rebuilds_the_same_index() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    run(
        data,
        &["-q", "ingest", "jsonl", fixture().to_str().unwrap()],
    );
    let before = json(
        data,
        &["search", "image segmentation", "--mode", "bm25", "--json"],
    );
    let out = run(data, &["reindex"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("indexed 300 papers"));
    let after = json(
        data,
        &["search", "image segmentation", "--mode", "bm25", "--json"],
    );
    assert_eq!(hit_ids(&before), hit_ids(&after));
    assert_eq!(before["total"], after["total"]);
}

/// The search benchmark, small: every figure it promises is printed, from a real run over the
/// 300-paper fixture (the full run on 74,728 papers is a command, not a test).
#[test]
fn bench_search_prints_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture();
    let v = json(
        dir.path(),
        &[
            "bench",
            "search",
            file.to_str().unwrap(),
            "--json",
            "--queries",
            "20",
        ],
    );
    assert_eq!(v["docs"], 300, "{v}");
    assert_eq!(v["vectors"], 300, "{v}");
    for key in [
        "index_seconds",
        "bm25_p50_ms",
        "bm25_p99_ms",
        "hybrid_p50_ms",
        "hybrid_p99_ms",
        "embed_docs_per_s",
        "peak_rss_mb",
    ] {
        let x = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing: {v}"));
        assert!(x.is_finite() && x > 0.0, "{key} = {x}");
    }
    assert!(
        v["bm25_p50_ms"].as_f64() <= v["bm25_p99_ms"].as_f64(),
        "{v}"
    );
    assert!(
        v["hybrid_p50_ms"].as_f64() <= v["hybrid_p99_ms"].as_f64(),
        "{v}"
    );
}
