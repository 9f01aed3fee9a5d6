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
    /// An operation named a paper that is not stored (or is deleted), e.g. a vote or a feed
    /// submission for a paper that was never imported.
    #[error("unknown paper {0}")]
    UnknownPaper(String),
    /// An account name is already in use (names compare case-insensitively).
    #[error("the name {0} is taken")]
    NameTaken(String),
    /// A session was asked for a user that has no account.
    #[error("unknown user {0}")]
    UnknownUser(String),
    /// Vectors were given for an embedding model that was never registered.
    #[error("unknown embedding model {0:?}: register it first")]
    UnknownModel(String),
    /// A vector is empty, has non-finite values, or its length differs from the model's.
    #[error("invalid embedding for {id}: {message}")]
    InvalidEmbedding {
        /// The paper.
        id: String,
        /// What is wrong with it.
        message: String,
    },
}
