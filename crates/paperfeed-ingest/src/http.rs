//! The polite HTTP client every fetcher shares.
//!
//! arXiv's terms for its APIs ask for at most one request every three seconds and a single
//! connection at a time, from the whole client, not per thread or per object. So the pacing
//! state is a process-wide `static` gate: a mutex held for the whole of each request (send
//! and body), with the instant the last request finished and the earliest instant the next
//! may start. Every [`PoliteClient`] in the process goes through it.
//!
//! Failures are sorted into transient (connection errors, timeouts, `429`, `5xx`), retried
//! with exponential backoff up to a cap, and permanent (other `4xx`, bad URLs), returned at
//! once. A `Retry-After` header (seconds or an HTTP date) replaces the backoff and holds back
//! every client of the process, since the server asked the whole client to wait.
//!
//! There is no jitter in the backoff: one process talks to the server one request at a
//! time, so there is no herd of clients to spread out.

use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::IngestError;

/// The shortest interval between requests arXiv allows.
pub const MIN_INTERVAL: Duration = Duration::from_secs(3);

/// The project's address, named in the User-Agent.
const PROJECT_URL: &str = "https://github.com/paperfeed/paperfeed";

/// How much of an error response's body is kept in [`IngestError::HttpStatus`].
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Settings of a [`PoliteClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoliteConfig {
    user_agent: String,
    min_interval: Duration,
    /// Retries after the first attempt for transient failures.
    pub max_retries: u32,
    /// The first backoff delay; each retry doubles it.
    pub backoff_base: Duration,
    /// The longest backoff delay.
    pub backoff_cap: Duration,
    /// The longest `Retry-After` the client will wait; a longer one fails the request.
    pub max_retry_after: Duration,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, body included.
    pub request_timeout: Duration,
    /// The largest response body accepted (arXivRaw pages of 1000 records are a few MB).
    pub max_body_bytes: u64,
}

impl PoliteConfig {
    /// Settings for arXiv with a contact address (an e-mail address, optionally with
    /// `mailto:`, or a URL) that goes into the User-Agent, as arXiv asks of API clients:
    /// `paperfeed/0.1.0 (https://github.com/paperfeed/paperfeed; mailto:you@example.org)`.
    pub fn new(contact: &str) -> Result<Self, IngestError> {
        let contact = contact.trim();
        let contact = if is_url(contact) {
            contact.to_string()
        } else {
            let address = contact.strip_prefix("mailto:").unwrap_or(contact);
            if !is_email(address) {
                return Err(IngestError::Config(format!(
                    "contact {contact:?} is neither an e-mail address nor a URL; arXiv asks \
                     API clients to say how to reach them"
                )));
            }
            format!("mailto:{address}")
        };
        Ok(PoliteConfig {
            user_agent: format!(
                "paperfeed/{} ({PROJECT_URL}; {contact})",
                env!("CARGO_PKG_VERSION")
            ),
            min_interval: MIN_INTERVAL,
            max_retries: 4,
            backoff_base: Duration::from_secs(5),
            backoff_cap: Duration::from_secs(120),
            max_retry_after: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(300),
            max_body_bytes: 256 * 1024 * 1024,
        })
    }

    /// The User-Agent sent with every request.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The minimum interval between two requests of this client.
    pub fn min_interval(&self) -> Duration {
        self.min_interval
    }

    /// Sets the minimum interval, never below [`MIN_INTERVAL`].
    pub fn with_min_interval(mut self, interval: Duration) -> Self {
        self.min_interval = interval.max(MIN_INTERVAL);
        self
    }

    /// Sets any minimum interval, below arXiv's three seconds included. Only for tests
    /// against a local server; never point a client built this way at arXiv.
    pub fn with_min_interval_unchecked(mut self, interval: Duration) -> Self {
        self.min_interval = interval;
        self
    }
}

fn is_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| r.contains('.') && !r.contains(char::is_whitespace))
}

fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ';'))
                && !domain.contains('@')
        }
        None => false,
    }
}

/// The process-wide pacing state.
#[derive(Debug)]
struct Gate {
    /// When the last request (of any client) finished.
    last_finished: Option<Instant>,
    /// No request may start before this (a `Retry-After` or a backoff).
    not_before: Option<Instant>,
}

static GATE: Mutex<Gate> = Mutex::new(Gate {
    last_finished: None,
    not_before: None,
});

/// An HTTP client that is polite to arXiv: see the module documentation.
#[derive(Debug, Clone)]
pub struct PoliteClient {
    agent: ureq::Agent,
    config: PoliteConfig,
}

/// The outcome of one attempt.
enum Attempt {
    Done(String),
    /// Worth retrying, after the server's `Retry-After` if it gave one.
    Transient {
        error: IngestError,
        retry_after: Option<Duration>,
    },
    Permanent(IngestError),
}

impl PoliteClient {
    /// A client with these settings.
    pub fn new(config: PoliteConfig) -> Self {
        let agent = ureq::Agent::config_builder()
            .user_agent(config.user_agent.as_str())
            .http_status_as_error(false)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(Some(config.request_timeout))
            .max_idle_connections(1)
            .max_idle_connections_per_host(1)
            .build()
            .new_agent();
        PoliteClient { agent, config }
    }

    /// The client's settings.
    pub fn config(&self) -> &PoliteConfig {
        &self.config
    }

    /// GETs `url` and returns the body of a `2xx` response, retrying transient failures.
    pub fn get(&self, url: &str) -> Result<String, IngestError> {
        let mut attempt = 0;
        loop {
            let (error, retry_after) = match self.attempt(url) {
                Attempt::Done(body) => return Ok(body),
                Attempt::Permanent(error) => return Err(error),
                Attempt::Transient { error, retry_after } => (error, retry_after),
            };
            if attempt >= self.config.max_retries {
                return Err(error);
            }
            let wait = match retry_after {
                Some(wait) if wait > self.config.max_retry_after => {
                    tracing::warn!("{url}: server asks to wait {wait:?}, more than allowed");
                    return Err(error);
                }
                Some(wait) => wait,
                None => backoff_delay(attempt, self.config.backoff_base, self.config.backoff_cap),
            };
            tracing::warn!("{error}; retrying in {wait:?}");
            let mut gate = GATE.lock().unwrap_or_else(PoisonError::into_inner);
            let until = Instant::now() + wait;
            gate.not_before = Some(gate.not_before.map_or(until, |t| t.max(until)));
            drop(gate);
            attempt += 1;
        }
    }

    /// One request through the gate.
    fn attempt(&self, url: &str) -> Attempt {
        let mut gate = GATE.lock().unwrap_or_else(PoisonError::into_inner);
        let earliest = [
            gate.last_finished.map(|t| t + self.config.min_interval),
            gate.not_before,
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(earliest) = earliest {
            let now = Instant::now();
            if earliest > now {
                thread::sleep(earliest - now);
            }
        }
        tracing::debug!("GET {url}");
        let outcome = self.send(url);
        gate.last_finished = Some(Instant::now());
        outcome
    }

    fn send(&self, url: &str) -> Attempt {
        let mut response = match self.agent.get(url).call() {
            Ok(r) => r,
            Err(e) => return transport_error(url, e),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        let body = response
            .body_mut()
            .with_config()
            .limit(self.config.max_body_bytes)
            .read_to_vec();
        let body = match body {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if (200..300).contains(&status) => return transport_error(url, e),
            // The status says enough; an unreadable error body is no reason to retry.
            Err(_) => String::new(),
        };
        if (200..300).contains(&status) {
            return Attempt::Done(body);
        }
        let error = IngestError::HttpStatus {
            url: url.to_string(),
            status,
            body: truncate_body(body),
        };
        if is_transient_status(status) {
            Attempt::Transient { error, retry_after }
        } else {
            Attempt::Permanent(error)
        }
    }
}

fn truncate_body(mut body: String) -> String {
    if body.len() > ERROR_BODY_LIMIT {
        let mut end = ERROR_BODY_LIMIT;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
    }
    body
}

fn transport_error(url: &str, e: ureq::Error) -> Attempt {
    let transient = matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
    );
    let error = IngestError::Http {
        url: url.to_string(),
        source: Box::new(e),
    };
    if transient {
        Attempt::Transient {
            error,
            retry_after: None,
        }
    } else {
        Attempt::Permanent(error)
    }
}

/// `429 Too Many Requests` and every `5xx` may succeed later; other statuses will not.
pub fn is_transient_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// The delay before retry number `attempt + 1`: `base * 2^attempt`, at most `cap`.
pub fn backoff_delay(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let factor = 2u32.checked_pow(attempt).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(cap).min(cap)
}

/// Reads a `Retry-After` value: delay-seconds (`120`) or an HTTP date in any of the three
/// formats of RFC 9110 (IMF-fixdate, RFC 850, asctime), relative to `now`. A date in the
/// past means "now"; anything unreadable is `None`.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Very long digit strings overflow u64: treat them as "very long".
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = DateTime::parse_from_rfc2822(value)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            // RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`.
            let rest = value.split_once(", ")?.1.strip_suffix(" GMT")?;
            NaiveDateTime::parse_from_str(rest, "%d-%b-%y %H:%M:%S")
                .ok()
                .map(|d| d.and_utc())
        })
        .or_else(|| {
            // asctime: `Sun Nov  6 08:49:37 1994`.
            let squeezed = value.split_whitespace().collect::<Vec<_>>().join(" ");
            NaiveDateTime::parse_from_str(&squeezed, "%a %b %d %H:%M:%S %Y")
                .ok()
                .map(|d| d.and_utc())
        })?;
    Some((date - now).to_std().unwrap_or(Duration::ZERO))
}

/// Percent-encodes a query parameter value (everything but RFC 3986 unreserved characters).
pub(crate) fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `base?k1=v1&k2=v2`, values percent-encoded; `base` may already have a query.
pub(crate) fn url_with_query(base: &str, params: &[(&str, &str)]) -> String {
    let mut url = base.to_string();
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        url.push(sep);
        url.push_str(k);
        url.push('=');
        url.push_str(&encode_query_value(v));
        sep = '&';
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(1994, 11, 6, 8, 49, 0).unwrap()
    }

    #[test]
    fn retry_after_values() {
        let cases: &[(&str, Option<u64>)] = &[
            ("120", Some(120)),
            (" 0 ", Some(0)),
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(37)),
            ("Sunday, 06-Nov-94 08:49:37 GMT", Some(37)),
            ("Sun Nov  6 08:49:37 1994", Some(37)),
            ("Sun, 06 Nov 1994 08:59:00 GMT", Some(600)),
            // In the past: go now.
            ("Sun, 06 Nov 1994 08:00:00 GMT", Some(0)),
            ("99999999999999999999999", Some(u64::MAX)),
            ("-5", None),
            ("1.5", None),
            ("soon", None),
            ("", None),
            ("Sun, 31 Nov 1994 08:49:37 GMT", None),
        ];
        for (value, want) in cases {
            assert_eq!(
                parse_retry_after(value, now()),
                want.map(Duration::from_secs),
                "{value:?}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let base = Duration::from_secs(5);
        let cap = Duration::from_secs(120);
        let schedule: Vec<u64> = (0..8)
            .map(|a| backoff_delay(a, base, cap).as_secs())
            .collect();
        assert_eq!(schedule, [5, 10, 20, 40, 80, 120, 120, 120]);
        assert_eq!(backoff_delay(u32::MAX, base, cap), cap);
        assert_eq!(
            backoff_delay(40, Duration::from_secs(u64::MAX / 2), cap),
            cap
        );
    }

    #[test]
    fn transient_statuses() {
        for s in [429, 500, 502, 503, 504, 599] {
            assert!(is_transient_status(s), "{s}");
        }
        for s in [200, 301, 400, 401, 403, 404, 410, 422, 600] {
            assert!(!is_transient_status(s), "{s}");
        }
    }

    #[test]
    fn user_agent_names_a_contact() {
        let ua = |c: &str| PoliteConfig::new(c).map(|c| c.user_agent().to_string());
        let want = format!(
            "paperfeed/{} (https://github.com/paperfeed/paperfeed; mailto:you@example.org)",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(ua("you@example.org").unwrap(), want);
        assert_eq!(ua("mailto:you@example.org").unwrap(), want);
        assert!(
            ua("https://example.org/contact")
                .unwrap()
                .ends_with("; https://example.org/contact)")
        );
        for bad in [
            "",
            "you",
            "you@",
            "@example.org",
            "you@localhost",
            "a b@example.org",
            "a@b.org; x",
            "http://",
        ] {
            assert!(matches!(ua(bad), Err(IngestError::Config(_))), "{bad:?}");
        }
    }

    #[test]
    fn interval_cannot_go_below_three_seconds_by_accident() {
        let c = PoliteConfig::new("you@example.org").unwrap();
        assert_eq!(c.min_interval(), MIN_INTERVAL);
        assert_eq!(
            c.clone()
                .with_min_interval(Duration::from_millis(10))
                .min_interval(),
            MIN_INTERVAL
        );
        assert_eq!(
            c.clone()
                .with_min_interval(Duration::from_secs(5))
                .min_interval(),
            Duration::from_secs(5)
        );
        assert_eq!(
            c.with_min_interval_unchecked(Duration::from_millis(10))
                .min_interval(),
            Duration::from_millis(10)
        );
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            url_with_query(
                "http://h/oai",
                &[("verb", "ListRecords"), ("resumptionToken", "726959|1001")]
            ),
            "http://h/oai?verb=ListRecords&resumptionToken=726959%7C1001"
        );
        assert_eq!(
            url_with_query("http://h/q?x=1", &[("search_query", "ti:\"a b\"")]),
            "http://h/q?x=1&search_query=ti%3A%22a%20b%22"
        );
        assert_eq!(encode_query_value("é"), "%C3%A9");
    }

    proptest! {
        #[test]
        fn retry_after_never_panics(s in "\\PC{0,40}") {
            let _ = parse_retry_after(&s, now());
        }

        #[test]
        fn backoff_is_monotonic_and_capped(a in 0u32..64, base_ms in 1u64..10_000, cap_ms in 1u64..1_000_000) {
            let base = Duration::from_millis(base_ms);
            let cap = Duration::from_millis(cap_ms);
            let d = backoff_delay(a, base, cap);
            prop_assert!(d <= cap);
            prop_assert!(backoff_delay(a + 1, base, cap) >= d);
        }
    }
}
