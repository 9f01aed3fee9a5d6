//! The polite client against a local server: `Retry-After`, retries, permanent errors, the
//! minimum interval and one request at a time across threads and client instances, all
//! measured on the server side.

mod harvest_server;

use std::thread;
use std::time::Duration;

use harvest_server::{Reply, TestServer, gaps, test_client};
use paperfeed_ingest::IngestError;

const INTERVAL: Duration = Duration::from_millis(150);

#[test]
fn honours_retry_after_then_succeeds() {
    let server = TestServer::start(|_, n| match n {
        0 => Reply::status(503, "busy").header("Retry-After", "1"),
        _ => Reply::ok("<ok/>"),
    });
    let client = test_client(INTERVAL);
    let body = client
        .get(&format!("{}/oai?verb=Identify", server.base))
        .unwrap();
    assert_eq!(body, "<ok/>");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert!(
        gaps(&seen)[0] >= Duration::from_secs(1),
        "waited {:?}",
        gaps(&seen)[0]
    );
    let ua = seen[0].user_agent.clone().unwrap_or_default();
    assert!(ua.starts_with("paperfeed/"), "{ua}");
    assert!(ua.contains("mailto:tests@paperfeed.example.org"), "{ua}");
}

#[test]
fn honours_retry_after_as_an_http_date() {
    // An HTTP date has one-second resolution: ask for the request after next second.
    let server = TestServer::start(|_, n| match n {
        0 => {
            let at = chrono::Utc::now() + chrono::Duration::seconds(2);
            Reply::status(503, "").header(
                "Retry-After",
                &at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            )
        }
        _ => Reply::ok("fine"),
    });
    assert_eq!(test_client(INTERVAL).get(&server.base).unwrap(), "fine");
    let seen = server.requests();
    assert!(
        gaps(&seen)[0] >= Duration::from_secs(1),
        "waited {:?}",
        gaps(&seen)[0]
    );
}

#[test]
fn retries_server_errors_with_backoff() {
    let server = TestServer::start(|_, n| match n {
        0 => Reply::status(500, "oops"),
        1 => Reply::status(429, "slow down"),
        2 => Reply::status(502, "bad gateway"),
        _ => Reply::ok("third time lucky"),
    });
    assert_eq!(
        test_client(INTERVAL).get(&server.base).unwrap(),
        "third time lucky"
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 4);
    // Backoff 50, 100, 200 ms, never shorter than the interval.
    for gap in gaps(&seen) {
        assert!(gap >= INTERVAL, "{gap:?}");
    }
}

#[test]
fn gives_up_after_max_retries() {
    let server = TestServer::start(|_, _| Reply::status(503, "down for maintenance"));
    let client = test_client(Duration::from_millis(20));
    let retries = client.config().max_retries;
    match client.get(&server.base) {
        Err(IngestError::HttpStatus { status, body, .. }) => {
            assert_eq!(status, 503);
            assert_eq!(body, "down for maintenance");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests().len(), retries as usize + 1);
}

#[test]
fn a_retry_after_beyond_the_limit_fails_at_once() {
    let server = TestServer::start(|_, _| Reply::status(503, "").header("Retry-After", "86400"));
    let err = test_client(INTERVAL).get(&server.base).unwrap_err();
    assert!(
        matches!(err, IngestError::HttpStatus { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn client_errors_are_permanent() {
    for status in [400u16, 403, 404, 410] {
        let server = TestServer::start(move |_, _| Reply::status(status, "no"));
        match test_client(INTERVAL).get(&server.base) {
            Err(IngestError::HttpStatus { status: s, .. }) => assert_eq!(s, status),
            other => panic!("{status}: {other:?}"),
        }
        assert_eq!(server.requests().len(), 1, "{status} must not be retried");
    }
}

#[test]
fn connection_refused_is_retried_then_reported() {
    // Bind and drop to get a port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let err = test_client(Duration::from_millis(10))
        .get(&format!("http://127.0.0.1:{port}/"))
        .unwrap_err();
    assert!(matches!(err, IngestError::Http { .. }), "{err:?}");
}

#[test]
fn one_request_at_a_time_for_the_whole_process() {
    // Slow answers make any overlap visible; four threads with their own clients.
    let server = TestServer::start(|_, _| Reply::ok("x").delay(Duration::from_millis(60)));
    let base = server.base.clone();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let url = format!("{base}/t{i}");
            thread::spawn(move || {
                let client = test_client(INTERVAL);
                for _ in 0..3 {
                    client.get(&url).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let seen = server.requests();
    assert_eq!(seen.len(), 12);
    assert_eq!(server.max_concurrent(), 1);
    for gap in gaps(&seen) {
        // The interval runs from the end of one request to the start of the next, so the
        // gap between arrivals is at least the interval plus the 60 ms answer.
        assert!(gap >= INTERVAL + Duration::from_millis(60), "{gap:?}");
    }
}
