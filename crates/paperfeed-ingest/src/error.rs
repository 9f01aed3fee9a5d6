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
}
