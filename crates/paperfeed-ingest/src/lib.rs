//! Reading arXiv metadata from every source paperfeed knows, and fetching it politely.
//!
//! Parsers are pure: bytes or a reader in, [`Record`]s out, no database and no network.
//! Each yields `Result<Record, BadRecord>` per record, so one malformed record is skipped and
//! reported with its position while the rest of the input is read.
//!
//! - [`input`]: opens a file or standard input, decompressing `.gz` and `.zst` transparently.
//! - [`jsonl`]: paperfeed's own JSON lines (lossless), plus the `listings-*.jsonl` and
//!   `api-records-*.jsonl` shapes.
//! - [`kaggle`]: the Kaggle `arxiv-metadata-oai-snapshot.json`, streamed line by line.
//! - [`hfdaily`]: Hugging Face `/api/daily_papers` JSON (papers plus their feed day and votes).
//! - [`oai`]: OAI-PMH `ListRecords`/`GetRecord` pages in the `arXiv`, `arXivRaw` and `oai_dc`
//!   formats, resumption tokens, deleted records and OAI errors.
//! - [`atom`]: arXiv API Atom feeds (2016 and 2026 shapes) with opensearch totals.
//! - [`rss`]: rss.arxiv.org listing feeds (RSS 2.0 / Atom with `arxiv:announce_type`).
//! - [`http`]: the polite HTTP client shared by every fetcher: one request at a time for the
//!   whole process, a minimum interval between requests, `Retry-After`, backoff, User-Agent.
//! - [`harvest`]: incremental OAI-PMH harvesting with resumable checkpoints.
//! - [`arxiv_api`]: fetching papers by id or query through the arXiv API.

pub mod arxiv_api;
pub mod atom;
mod error;
pub mod harvest;
pub mod hfdaily;
pub mod http;
pub mod input;
pub mod jsonl;
pub mod kaggle;
pub mod oai;
mod record;
pub mod rss;

pub use error::IngestError;
pub use record::{BadRecord, Position, Record};
