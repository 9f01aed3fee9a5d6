//! What parsers yield.

use std::fmt;

use chrono::NaiveDate;
use paperfeed_core::{ArxivId, Paper, Submission};

/// One record read from a source.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A paper's metadata.
    Paper(Box<Paper>),
    /// A paper and its place in a curated daily feed (Hugging Face daily papers).
    Featured {
        /// The paper (may be thin: some sources give only a title and first author).
        paper: Box<Paper>,
        /// Its feed day, submitter and upvotes.
        submission: Submission,
    },
    /// The source says the paper was deleted (an OAI `status="deleted"` header).
    Deleted {
        /// The paper.
        id: ArxivId,
        /// The header's datestamp.
        datestamp: Option<NaiveDate>,
    },
}

/// Where a record sits in its input, for error reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 1-based line of a line-oriented file.
    Line(u64),
    /// 1-based record of an XML page or JSON array.
    Record(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(n) => write!(f, "line {n}"),
            Position::Record(n) => write!(f, "record {n}"),
        }
    }
}

/// A record that was skipped, with where it was and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// Where.
    pub position: Position,
    /// Why, in one line, e.g. `invalid date "2025-02-30"`.
    pub reason: String,
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position, self.reason)
    }
}
