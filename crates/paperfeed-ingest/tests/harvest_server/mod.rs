//! A small HTTP/1.1 server on 127.0.0.1 for the fetcher tests: it answers each GET with what
//! a handler says, and logs when each request arrived, its target and User-Agent, and how
//! many requests were being served at once (to catch a client that opens two connections).
//!
//! Each connection is served on its own thread, so the server itself never serialises
//! requests: any one-at-a-time behaviour it observes is the client's doing.

#![allow(dead_code)] // Each test binary uses a different part of it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use paperfeed_ingest::http::{PoliteClient, PoliteConfig};

/// The most requests one server answers; a runaway client fails the test instead of looping.
const MAX_REQUESTS: usize = 400;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Path and query, e.g. `/oai?verb=ListRecords&...`.
    pub target: String,
    /// When the request line arrived.
    pub at: Instant,
    /// The User-Agent header.
    pub user_agent: Option<String>,
}

impl Seen {
    /// The decoded value of a query parameter.
    pub fn param(&self, name: &str) -> Option<String> {
        let query = self.target.split_once('?')?.1;
        query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| percent_decode(v))
        })
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Time to wait before answering, to make overlapping requests visible.
    pub delay: Duration,
}

impl Reply {
    pub fn ok(body: impl Into<String>) -> Self {
        Reply::status(200, body)
    }

    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Handler = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

/// A running server; stops when dropped.
pub struct TestServer {
    pub base: String,
    log: Arc<Mutex<Vec<Seen>>>,
    max_active: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Serves `handler(request, index)` where `index` counts requests from 0.
    pub fn start<F>(handler: F) -> TestServer
    where
        F: Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let max_active = Arc::new(AtomicUsize::new(0));
        let active = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let accept = {
            let (log, max_active, stop) = (log.clone(), max_active.clone(), stop.clone());
            thread::spawn(move || {
                let mut workers = Vec::new();
                for (n, stream) in listener.incoming().enumerate() {
                    if stop.load(Ordering::SeqCst) || n >= MAX_REQUESTS {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (log, handler) = (log.clone(), handler.clone());
                    let (active, max_active) = (active.clone(), max_active.clone());
                    workers.push(thread::spawn(move || {
                        let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                        max_active.fetch_max(now, Ordering::SeqCst);
                        serve(stream, &log, &*handler);
                        active.fetch_sub(1, Ordering::SeqCst);
                    }));
                }
                for w in workers {
                    let _ = w.join();
                }
            })
        };
        TestServer {
            base: format!("http://{addr}"),
            log,
            max_active,
            stop,
            addr,
            accept: Some(accept),
        }
    }

    /// The requests so far, in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        self.log.lock().expect("log").clone()
    }

    /// The most requests that were in flight at once.
    pub fn max_concurrent(&self) -> usize {
        self.max_active.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<Seen>>, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return; // the wake-up connection of `Drop`
    }
    let at = Instant::now();
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut user_agent = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.trim().eq_ignore_ascii_case("user-agent")
        {
            user_agent = Some(value.trim().to_string());
        }
    }
    let seen = Seen {
        target,
        at,
        user_agent,
    };
    let index = {
        let mut log = log.lock().expect("log");
        log.push(seen.clone());
        log.len() - 1
    };
    let reply = handler(&seen, index);
    thread::sleep(reply.delay);
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Type: application/xml; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = stream;
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(reply.body.as_bytes());
    let _ = stream.flush();
}

/// Decodes `%XX` escapes and `+`.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A client for local servers: a short interval and short backoffs keep the tests fast.
pub fn test_client(interval: Duration) -> PoliteClient {
    let mut config = PoliteConfig::new("mailto:tests@paperfeed.example.org")
        .expect("config")
        .with_min_interval_unchecked(interval);
    config.backoff_base = Duration::from_millis(50);
    config.backoff_cap = Duration::from_millis(200);
    config.max_retry_after = Duration::from_secs(5);
    config.request_timeout = Duration::from_secs(20);
    PoliteClient::new(config)
}

/// A fixture file of this crate.
pub fn fixture(path: &str) -> String {
    let full: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", path]
        .iter()
        .collect();
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The gaps between consecutive request arrivals.
pub fn gaps(seen: &[Seen]) -> Vec<Duration> {
    seen.windows(2)
        .map(|w| w[1].at.duration_since(w[0].at))
        .collect()
}

/// A recording of arxiv.py's test suite (`tests/fixtures/atom/2026/*.json`, each
/// `{"url", "status_code", "body"}`): the URL, the status and the body as the server sent it.
///
/// The recorder decoded the UTF-8 bytes as Latin-1 (`Wübben` is stored as `WÃ¼bben`), so the
/// body is re-encoded to recover the server's bytes; a body that is not such mojibake is
/// returned as stored.
pub fn recorded(name: &str) -> (String, u16, String) {
    let raw = fixture(&format!("atom/2026/{name}"));
    let v: serde_json::Value = serde_json::from_str(&raw).expect("recording is JSON");
    let url = v["url"].as_str().expect("url").to_string();
    let status = v["status_code"].as_u64().expect("status") as u16;
    let stored = v["body"].as_str().expect("body");
    (url, status, undo_latin1_mojibake(stored))
}

fn undo_latin1_mojibake(s: &str) -> String {
    let bytes: Option<Vec<u8>> = s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
    bytes
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| s.to_string())
}
