//! The real binary on real files into a real SQLite file: every file format, idempotent
//! re-imports, bad lines reported and skipped, clear errors, lossless export, and an OAI-PMH
//! harvest killed between two pages that resumes against a local server serving the real
//! arXivRaw pages.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ingest_fixture(rel: &str) -> PathBuf {
    repo_root()
        .join("crates/paperfeed-ingest/tests/fixtures")
        .join(rel)
}

fn sample() -> PathBuf {
    repo_root().join("data/sample/listings-sample-2000.jsonl.zst")
}

fn paperfeed(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paperfeed"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("PAPERFEED_CONFIG")
        .env_remove("PAPERFEED_MODEL")
        .env_remove("PAPERFEED_DATA_DIR")
        .current_dir(data.parent().unwrap_or(data))
        .stdin(Stdio::null())
        .output()
        .expect("run paperfeed")
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = paperfeed(data, args);
    assert!(
        out.status.success(),
        "paperfeed {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn papers(data: &Path) -> u64 {
    let out = ok(data, &["stats", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("stats --json is JSON");
    v["papers"].as_u64().expect("papers is a number")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_clean_failure(out: &Output) {
    let err = stderr(out);
    assert!(!out.status.success(), "expected a failure, got success");
    assert!(!err.contains("panicked"), "a panic: {err}");
    assert!(!err.contains("stack backtrace"), "a backtrace: {err}");
    assert!(err.contains("error"), "no error line: {err}");
}

#[test]
fn sample_listing_imports_2000_papers_and_a_second_import_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = sample();
    ok(&data, &["ingest", "jsonl", s.to_str().unwrap()]);
    assert_eq!(papers(&data), 2000);
    let before = ok(&data, &["export", "jsonl"]);
    ok(&data, &["ingest", "jsonl", s.to_str().unwrap()]);
    assert_eq!(papers(&data), 2000);
    assert_eq!(
        ok(&data, &["export", "jsonl"]),
        before,
        "a re-import changed a paper"
    );
}

#[test]
fn export_then_import_into_a_fresh_store_is_lossless() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let api = ingest_fixture("jsonl/api-records-300.jsonl.zst");
    ok(&a, &["ingest", "jsonl", api.to_str().unwrap()]);
    let file = dir.path().join("export.jsonl");
    ok(&a, &["export", "jsonl", file.to_str().unwrap()]);
    ok(&b, &["ingest", "jsonl", file.to_str().unwrap()]);
    assert_eq!(papers(&a), papers(&b));
    let first = std::fs::read_to_string(&file).unwrap();
    assert_eq!(ok(&b, &["export", "jsonl"]), first);
}

#[test]
fn every_file_format_goes_into_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let kaggle = ingest_fixture("kaggle/arxiv-metadata-oai-snapshot.json");
    ok(&data, &["ingest", "kaggle", kaggle.to_str().unwrap()]);
    let after_kaggle = papers(&data);
    assert!(after_kaggle > 0);
    let rss = ingest_fixture("rss/cs.CV-2025-03-18.atom.xml");
    ok(&data, &["ingest", "rss", rss.to_str().unwrap()]);
    let after_rss = papers(&data);
    assert!(after_rss > after_kaggle);
    let hf = ingest_fixture("hfdaily/daily_papers.json");
    ok(&data, &["ingest", "hf-daily", hf.to_str().unwrap()]);
    assert!(papers(&data) > after_rss);
}

#[test]
fn standard_input_is_read_with_a_dash() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let text = lines_of_sample(25).join("\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_paperfeed"))
        .arg("--data-dir")
        .arg(&data)
        .args(["ingest", "jsonl", "-"])
        .env_remove("PAPERFEED_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(papers(&data), 25);
}

fn lines_of_sample(n: usize) -> Vec<String> {
    let file = std::fs::File::open(sample()).unwrap();
    let reader = BufReader::new(zstd::Decoder::new(file).unwrap());
    reader.lines().take(n).map(Result::unwrap).collect()
}

/// 50 real lines with three broken ones: a cut JSON line, an id that is not an arXiv id,
/// and an impossible date.
fn corrupted_file(dir: &Path) -> PathBuf {
    let mut lines = lines_of_sample(50);
    lines[9] = lines[9][..lines[9].len() / 2].to_string();
    let mut bad_id: serde_json::Value = serde_json::from_str(&lines[19]).unwrap();
    bad_id["id"] = "not-an-id".into();
    lines[19] = bad_id.to_string();
    let mut bad_date: serde_json::Value = serde_json::from_str(&lines[29]).unwrap();
    bad_date["listing_date"] = "2025-02-30".into();
    lines[29] = bad_date.to_string();
    let path = dir.join("corrupted.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[test]
fn corrupted_lines_are_skipped_and_reported_and_the_rest_imported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = corrupted_file(dir.path());
    let out = paperfeed(&data, &["ingest", "jsonl", file.to_str().unwrap()]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    for line in ["line 10", "line 20", "line 30"] {
        assert!(err.contains(line), "{line} not reported:\n{err}");
    }
    assert!(!err.contains("line 11:"), "a good line reported:\n{err}");
    assert_eq!(papers(&data), 47);
}

#[test]
fn strict_stops_at_the_first_bad_record_and_keeps_what_was_stored() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = sample();
    ok(&data, &["ingest", "jsonl", s.to_str().unwrap()]);
    let file = corrupted_file(dir.path());
    let out = paperfeed(
        &data,
        &["ingest", "--strict", "jsonl", file.to_str().unwrap()],
    );
    assert_clean_failure(&out);
    assert!(stderr(&out).contains("line 10"), "{}", stderr(&out));
    assert_eq!(papers(&data), 2000, "stored papers were lost");
}

#[test]
fn a_missing_file_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = paperfeed(&data, &["ingest", "kaggle", "/nonexistent/snapshot.json"]);
    assert_clean_failure(&out);
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/snapshot.json"), "{err}");
}

#[test]
fn a_store_that_cannot_be_opened_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    // The data dir is a file: nothing can be created in it.
    let data = dir.path().join("data");
    std::fs::write(&data, "not a directory").unwrap();
    let out = paperfeed(&data, &["stats", "--json"]);
    assert_clean_failure(&out);
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
}

// ---- an OAI-PMH harvest killed between two pages ----

const TOKEN: &str = "726959|1001";

fn page_1() -> String {
    std::fs::read_to_string(ingest_fixture("oai/arxivraw/ListRecordsResponse.xml")).unwrap()
}

/// The real ListRecords envelope around the real GetRecord record, and no token.
fn page_2() -> String {
    let list = page_1();
    let head_end = list.find("<ListRecords>").unwrap() + "<ListRecords>".len();
    let get =
        std::fs::read_to_string(ingest_fixture("oai/arxivraw/GetRecordResponse.xml")).unwrap();
    let start = get.find("<record>").unwrap();
    let end = get.find("</record>").unwrap() + "</record>".len();
    format!(
        "{}\n{}\n</ListRecords>\n</OAI-PMH>\n",
        &list[..head_end],
        &get[start..end]
    )
}

fn records_in(page: &str) -> usize {
    page.matches("<record>").count()
}

/// A one-thread OAI-PMH server: page 1 for a fresh list, page 2 for the token. While
/// `hang` is set, a request for page 2 is never answered (the harvester is killed while it
/// waits). One address throughout: the checkpoint belongs to the endpoint.
struct OaiServer {
    url: String,
    hang: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl OaiServer {
    fn start() -> OaiServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/oai", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let hang = Arc::new(AtomicBool::new(true));
        let (seen, hanging) = (requests.clone(), hang.clone());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let target = request_target(&stream);
                seen.lock().unwrap().push(target.clone());
                let body = if target.contains("resumptionToken") {
                    if hanging.load(Ordering::SeqCst) {
                        held.push(stream);
                        continue;
                    }
                    page_2()
                } else {
                    page_1()
                };
                respond(stream, &body);
            }
        });
        OaiServer {
            url,
            hang,
            requests,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn request_target(stream: &TcpStream) -> String {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let mut line = String::new();
    let mut length = 0usize;
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let target = first.split_whitespace().nth(1).unwrap_or("").to_string();
    // OAI-PMH allows POST with the arguments in the body.
    format!("{target} {}", String::from_utf8_lossy(&body))
}

fn respond(mut stream: TcpStream, body: &str) {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

fn harvest(data: &Path, server: &OaiServer) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paperfeed"));
    cmd.arg("--data-dir")
        .arg(data)
        .args(["ingest", "oai", "--set", "cs", "--from", "2007-05-23"])
        .args(["--metadata-prefix", "arXivRaw", "--endpoint", &server.url])
        .args(["--interval", "0.05"])
        .env_remove("PAPERFEED_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

#[test]
fn a_harvest_killed_between_two_pages_resumes_and_stores_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first_page = records_in(&page_1());
    let second_page = records_in(&page_2());
    assert!(first_page > 0 && second_page > 0);

    // Run 1: page 1 is stored, then the process is killed while it waits for page 2.
    let server = OaiServer::start();
    let mut child = harvest(&data, &server).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !server
        .requests()
        .iter()
        .any(|r| r.contains("resumptionToken"))
    {
        assert!(Instant::now() < deadline, "page 2 was never asked for");
        assert!(child.try_wait().unwrap().is_none(), "the harvest exited");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let after_kill = papers(&data);
    assert_eq!(after_kill as usize, first_page, "page 1 was not stored");

    // Run 2: resumes with the token, not from the start.
    let before = server.requests().len();
    server.hang.store(false, Ordering::SeqCst);
    let out = harvest(&data, &server).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let requests = server.requests()[before..].to_vec();
    assert!(
        requests[0].contains("resumptionToken")
            && requests[0].contains(TOKEN.split('|').next().unwrap()),
        "the restarted harvest did not resume with the token: {requests:?}"
    );
    assert_eq!(requests.len(), 1, "{requests:?}");
    let total = papers(&data);
    assert_eq!(total as usize, first_page + second_page);
    let exported = ok(&data, &["export", "jsonl"]);
    let mut ids: Vec<String> = exported
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "a record stored twice");
}

/// The ingest benchmark, small: it imports the bundled sample into a fresh store (twice, the
/// second time unchanged) and prints its figures (the 74,728-paper run is a command).
#[test]
fn bench_ingest_prints_its_figures() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = sample();
    let out = ok(&data, &["bench", "ingest", s.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["papers"], 2000, "{v}");
    assert_eq!(v["bad"], 0, "{v}");
    assert_eq!(v["reimport_unchanged"], 2000, "{v}");
    for key in [
        "papers_per_s",
        "reimport_papers_per_s",
        "peak_rss_mb",
        "db_mb",
    ] {
        let x = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing: {v}"));
        assert!(x.is_finite() && x > 0.0, "{key} = {x}");
    }
}
