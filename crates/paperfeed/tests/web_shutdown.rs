//! `serve` stopped by SIGTERM in the middle of its work (indexing, embedding, admission,
//! requests) exits cleanly, and a restart on the same data dir loses nothing: accounts,
//! sessions, votes and feed entries are there, and the jobs finish what was cut short.

mod web_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use web_support::Server;

const PAPERS: u64 = 2000;

fn sample() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/listings-sample-2000.jsonl.zst")
}

#[test]
fn sigterm_during_work_then_restart_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_paperfeed"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--quiet", "ingest", "jsonl"])
        .arg(sample())
        .status()
        .unwrap();
    assert!(status.success());
    let env = [("PAPERFEED_AUTO_ADMIT", "cs".to_string())];

    // Nothing is indexed or embedded yet: the jobs start on all 2,000 papers at once.
    let server = Server::start("serve", Some(dir.path()), &env);
    let mut c = server.client();
    assert_eq!(c.sign_up("durable", "durable password").status, 303);
    let csrf = c.csrf();
    let r = c.post_form(
        "/papers/2503.12067/vote",
        &[("csrf", &csrf), ("up", "1")],
        &[],
    );
    assert_eq!(r.status, 303);
    let first = c.get("/api/search?q=&mode=bm25&limit=1").json();
    let started = Instant::now();
    let status = server.terminate(Duration::from_secs(90));
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    eprintln!(
        "stopped in {:?}; the index had {} papers when it was asked",
        started.elapsed(),
        first["total"]
    );

    // Restarted: everything written before is there, and the jobs complete the rest.
    let server = Server::start("serve", Some(dir.path()), &env);
    let mut again = server.client();
    again.cookies = c.cookies.clone();
    let home = again.get("/");
    assert!(
        home.body.contains(r#"<span class="user">durable</span>"#),
        "session kept"
    );
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let v = again.get("/api/search?q=&mode=hybrid&limit=1").json();
        if v["total"].as_u64() == Some(PAPERS) && v["semanticComplete"] == true {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "jobs did not finish after the restart: {v}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let paper = again.get("/api/papers/2503.12067").json();
    assert_eq!(paper["upvotes"], 1, "the vote survived");
    let daily = again.get("/api/daily_papers").json();
    assert!(
        !daily.as_array().unwrap().is_empty(),
        "admitted papers are in the feed"
    );
    let status = server.terminate(Duration::from_secs(90));
    assert!(status.success());

    // And the store agrees: every paper has its vector, exactly once.
    let out = Command::new(env!("CARGO_BIN_EXE_paperfeed"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["stats", "--json"])
        .output()
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["papers"], PAPERS);
    assert_eq!(stats["votes"], 1);
    let vectors: Vec<u64> = stats["embeddings"]
        .as_object()
        .expect("embeddings per model")
        .values()
        .filter_map(serde_json::Value::as_u64)
        .collect();
    assert_eq!(vectors, [PAPERS], "{stats}");
}
