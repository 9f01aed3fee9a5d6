//! Shared by the `web_*` tests: the real `paperfeed` binary serving a temporary data dir on a
//! free loopback port, a local stand-in for the arXiv API that serves recorded responses, and
//! a small HTTP client that keeps cookies.

#![allow(dead_code)] // each test binary uses its own subset

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A fresh directory under Cargo's temporary dir for integration tests (`target/tmp`), not
/// `/tmp`: a server shared by a test binary's tests lives in a `static`, which is never
/// dropped, so its directory outlives the run; `scripts/test.sh` clears them before the
/// next.
pub fn test_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("paperfeed-test-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
}

/// A running server. Its stdin is a pipe: when the test process exits the pipe closes and
/// the server (started with `PAPERFEED_STOP_ON_STDIN_EOF=1`) shuts down by itself.
#[derive(Debug)]
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The data dir.
    pub data_dir: PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts `paperfeed <command> --addr 127.0.0.1:0` on `data_dir` (a fresh temporary one
    /// when `None`) with extra environment variables, and waits for its address.
    pub fn start(command: &str, data_dir: Option<&Path>, env: &[(&str, String)]) -> Server {
        let (dir, path) = match data_dir {
            Some(p) => (None, p.to_path_buf()),
            None => {
                let d = test_dir();
                let p = d.path().to_path_buf();
                (Some(d), p)
            }
        };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paperfeed"));
        cmd.arg("--data-dir")
            .arg(&path)
            .args([command, "--addr", "127.0.0.1:0"])
            .env("PAPERFEED_STOP_ON_STDIN_EOF", "1")
            .env("PAPERFEED_LOG", "info,tantivy=warn,sqlx=warn")
            .env_remove("PAPERFEED_CONFIG")
            .env_remove("PAPERFEED_MODEL")
            .current_dir(&path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start paperfeed");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(180))
            .expect("the server did not print `listening on` within 3 minutes");
        Server {
            url,
            data_dir: path,
            stdin: child.stdin.take(),
            child,
            _dir: dir,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit status (at most `timeout`).
    pub fn terminate(mut self, timeout: Duration) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not stop within {timeout:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A client of this server.
    pub fn client(&self) -> Client {
        Client {
            base: self.url.clone(),
            cookies: HashMap::new(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A stand-in for the arXiv API on a free loopback port: answers `id_list=1605.08386` with
/// arXiv's recorded response and anything else with arXiv's recorded empty result.
pub fn fake_arxiv() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/web");
    let found = std::fs::read(fixtures.join("arxiv-api-1605.08386.xml")).expect("fixture");
    let empty = std::fs::read(fixtures.join("arxiv-api-no-results.xml")).expect("fixture");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]);
            let body = if head.lines().next().unwrap_or("").contains("1605.08386") {
                &found
            } else {
                &empty
            };
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/atom+xml; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(body);
        }
    });
    format!("http://{addr}/api/query")
}

/// The environment pointing a server's arXiv client at [`fake_arxiv`].
pub fn fake_arxiv_env() -> Vec<(&'static str, String)> {
    vec![
        ("PAPERFEED_ARXIV_API_ENDPOINT", fake_arxiv()),
        ("PAPERFEED_HARVEST_INTERVAL", "0".to_string()),
    ]
}

/// An HTTP response.
#[derive(Debug)]
pub struct Resp {
    /// Status.
    pub status: u16,
    /// Headers, names lowercase (repeated ones joined with `\n`).
    pub headers: HashMap<String, String>,
    /// Body.
    pub body: String,
}

impl Resp {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// A header.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// A minimal HTTP/1.1 client over `std::net` (no redirects followed, cookies kept).
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    /// Cookies received.
    pub cookies: HashMap<String, String>,
}

impl Client {
    /// GET.
    pub fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, &[], None)
    }

    /// POST a form.
    pub fn post_form(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let body: String = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut h = vec![("Content-Type", "application/x-www-form-urlencoded")];
        h.extend_from_slice(headers);
        self.send("POST", path, &h, Some(body.as_bytes()))
    }

    /// Any request.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Resp {
        let host = self.base.trim_start_matches("http://").to_string();
        let mut conn = std::net::TcpStream::connect(&host).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(120))).ok();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req.push_str(&format!("Cookie: {}\r\n", c.join("; ")));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.unwrap_or(b"");
        req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        conn.write_all(req.as_bytes()).expect("write");
        conn.write_all(body).expect("write");
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).expect("read");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("header end");
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let mut body = raw[split + 4..].to_vec();
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status");
        let mut headers: HashMap<String, String> = HashMap::new();
        for l in lines {
            if let Some((k, v)) = l.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                let v = v.trim().to_string();
                if k == "set-cookie"
                    && let Some((name, rest)) = v.split_once('=')
                {
                    let value = rest.split(';').next().unwrap_or("").to_string();
                    if value.is_empty() || v.contains("Max-Age=0") {
                        self.cookies.remove(name);
                    } else {
                        self.cookies.insert(name.to_string(), value);
                    }
                }
                headers
                    .entry(k)
                    .and_modify(|e| {
                        e.push('\n');
                        e.push_str(&v);
                    })
                    .or_insert(v);
            }
        }
        if headers
            .get("transfer-encoding")
            .is_some_and(|t| t.contains("chunked"))
        {
            body = dechunk(&body);
        }
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&body).to_string(),
        }
    }

    /// The CSRF cookie (after any page was fetched).
    pub fn csrf(&self) -> String {
        self.cookies.get("pf_csrf").cloned().expect("csrf cookie")
    }

    /// Signs up (fetching a page first for the CSRF cookie).
    pub fn sign_up(&mut self, name: &str, password: &str) -> Resp {
        self.get("/signup");
        let csrf = self.csrf();
        self.post_form(
            "/signup",
            &[("csrf", &csrf), ("username", name), ("password", password)],
            &[],
        )
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&b[start..start + size]);
        b = &b[start + size + 2..];
    }
    out
}

/// Percent-encodes a form value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The Python of the test venv, or a failure naming the script that makes it.
pub fn test_python() -> PathBuf {
    let path = std::env::var_os("PAPERFEED_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-venv/bin/python")
        });
    assert!(
        path.exists(),
        "the Python test venv is missing ({}): run scripts/setup-test-env.sh (or set PAPERFEED_TEST_PYTHON)",
        path.display()
    );
    path
}

/// Runs `tests/python/<script>` against `server` and fails with its output if it fails.
pub fn run_python(script: &str, server: &Server, extra_env: &[(&str, &str)]) {
    let python = test_python();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let mut cmd = Command::new(&python);
    cmd.arg(&path)
        .env("PAPERFEED_URL", &server.url)
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("HF_HUB_OFFLINE", "0")
        .env("SE_OFFLINE", "true")
        .env_remove("HF_TOKEN");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script} failed:\n{text}");
    eprintln!("{script}:\n{text}");
}
