//! `paperfeed eval` on the CACM collection (3,204 documents, 26 judged dev queries; a copy of
//! the project's shared/data/cacm in tests/fixtures/cacm) with the bundled model: JSON shape,
//! the bundled model's hybrid beating BM25 alone, and `--tune` recording a fusion the next
//! run uses. `PAPERFEED_CACM_DIR` points it at another copy.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn cacm() -> PathBuf {
    let dir = std::env::var_os("PAPERFEED_CACM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cacm"));
    assert!(
        dir.join("corpus.jsonl").is_file(),
        "the CACM collection is missing at {}",
        dir.display()
    );
    dir
}

fn eval(data: &std::path::Path, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_paperfeed"))
        .env_remove("PAPERFEED_MODEL")
        .env("PAPERFEED_LOG", "error")
        .arg("--data-dir")
        .arg(data)
        .args(["eval", "--dataset"])
        .arg(cacm())
        .args(["--split", "dev", "--json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn eval_prints_every_mode_and_tuning_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let v = eval(dir.path(), &[]);
    for mode in ["bm25", "semantic", "hybrid"] {
        for metric in ["ndcg@10", "recall@100"] {
            let x = v[mode][metric]
                .as_f64()
                .unwrap_or_else(|| panic!("{mode} {metric}: {v}"));
            assert!((0.0..=1.0).contains(&x), "{mode} {metric} = {x}");
        }
        assert_eq!(v[mode]["queries"], 26);
    }
    let ndcg = |m: &str| v[m]["ndcg@10"].as_f64().unwrap();
    // bm25s, the anchor, reaches 0.526 here; the bundled model must add to BM25, not drag it.
    assert!(ndcg("bm25") >= 0.526, "{v}");
    assert!(
        ndcg("hybrid") > ndcg("bm25"),
        "hybrid {} <= bm25 {}",
        ndcg("hybrid"),
        ndcg("bm25")
    );
    assert_eq!(
        v["fusion"]["source"], "shipped",
        "the bundled model ships a measured fusion"
    );

    let tuned = eval(dir.path(), &["--tune"]);
    assert_eq!(tuned["grid"].as_array().unwrap().len(), 42);
    assert_eq!(tuned["fusion"]["source"], "tuned");
    assert!(tuned["hybrid"]["ndcg@10"].as_f64().unwrap() >= ndcg("bm25"));
    assert!(dir.path().join("fusion.json").is_file());
    // The next run (and the service) use the recorded fusion.
    let again = eval(dir.path(), &[]);
    assert_eq!(again["fusion"], tuned["fusion"]);
    // The same ranking; the mean may differ in its last bit (summation order).
    for metric in ["ndcg@10", "recall@100"] {
        let (a, b) = (
            again["hybrid"][metric].as_f64(),
            tuned["hybrid"][metric].as_f64(),
        );
        assert!(
            (a.unwrap() - b.unwrap()).abs() < 1e-9,
            "{metric}: {again} vs {tuned}"
        );
    }
}
