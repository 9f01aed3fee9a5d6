//! Search errors.

use thiserror::Error;

/// Why a search operation failed.
#[derive(Debug, Error)]
pub enum SearchError {
    /// The query could not be understood (a user error: shown to them as is).
    #[error("invalid query: {0}")]
    Query(String),
    /// The index could not be opened, written or read.
    #[error("index error: {0}")]
    Index(String),
    /// A model could not be loaded (missing files, bad config, no network for a hub id).
    #[error("cannot load model {model}: {message}")]
    ModelLoad {
        /// The path or id asked for.
        model: String,
        /// What went wrong.
        message: String,
    },
    /// Inference failed.
    #[error("embedding failed: {0}")]
    Embed(String),
    /// Vectors of another model were offered where this one's are needed.
    #[error("model mismatch: index holds {expected}, got {actual}")]
    ModelMismatch {
        /// The identity the index was built with.
        expected: String,
        /// The identity offered.
        actual: String,
    },
    /// An evaluation collection is malformed (a bad line, a missing field).
    #[error("bad dataset {path}: {message}")]
    Dataset {
        /// The file.
        path: String,
        /// What is wrong, with the line number.
        message: String,
    },
    /// File I/O.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        SearchError::Index(e.to_string())
    }
}
