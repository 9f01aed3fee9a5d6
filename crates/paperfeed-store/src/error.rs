//! Store errors.

use thiserror::Error;

/// Why a store operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database file could not be opened or created.
    #[error("cannot open the store at {path}: {message}")]
    Open {
        /// The file.
        path: String,
        /// What went wrong, in one line.
        message: String,
    },
    /// A migration failed (the file may be from a newer paperfeed).
    #[error("cannot migrate the store: {0}")]
    Migrate(String),
    /// A query failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored row could not be decoded (corruption or a schema bug).
    #[error("corrupt row for {id}: {message}")]
    Corrupt {
        /// The row's key.
        id: String,
        /// What failed.
        message: String,
    },
}
