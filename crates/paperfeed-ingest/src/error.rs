//! Errors that stop a whole input (as opposed to [`crate::BadRecord`], which skips one record).

use thiserror::Error;

/// Why an input could not be read or fetched at all.
#[derive(Debug, Error)]
pub enum IngestError {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file (`-` for standard input).
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A document is not well-formed XML (or uses a DTD, which is refused).
    #[error("malformed XML in {what}: {source}")]
    Xml {
        /// What was being read, e.g. `OAI-PMH response`.
        what: &'static str,
        /// The parser's error, with its position.
        #[source]
        source: roxmltree::Error,
    },
    /// A well-formed document of the wrong kind, e.g. an HTML page where a feed was expected.
    #[error("expected {expected}, found <{found}>")]
    UnexpectedDocument {
        /// What the caller expected, e.g. `an OAI-PMH response`.
        expected: &'static str,
        /// The root element that was found.
        found: String,
    },
    /// The OAI-PMH repository answered with an error. `noRecordsMatch` is not reported this
    /// way: it means "nothing new" and is an ordinary outcome.
    #[error("OAI-PMH error {code}: {message}")]
    Oai {
        /// The error code from the OAI-PMH 2.0 specification.
        code: crate::oai::OaiErrorCode,
        /// The repository's explanation (may be empty).
        message: String,
    },
    /// The arXiv API answered with its error feed (an entry titled `Error`).
    #[error("arXiv API error: {message}")]
    ArxivApi {
        /// The error entry's summary, e.g. `incorrect id format for abc`.
        message: String,
    },
    /// A request failed below HTTP (connection, TLS, timeout, body), after all retries.
    #[error("request to {url} failed: {source}")]
    Http {
        /// The requested URL.
        url: String,
        /// The client's error.
        #[source]
        source: Box<ureq::Error>,
    },
    /// A server answered with an unsuccessful status: a permanent one, or a transient one
    /// after all retries (or with a `Retry-After` longer than the client will wait).
    #[error("{url} answered HTTP {status}")]
    HttpStatus {
        /// The requested URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body, which some APIs use to explain the error.
        body: String,
    },
    /// A client or harvester setting is unusable (e.g. a User-Agent without a contact).
    #[error("invalid configuration: {0}")]
    Config(String),
}
