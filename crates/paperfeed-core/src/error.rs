//! Validation errors of the domain types.

use thiserror::Error;

/// Why an arXiv identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    /// The input was empty or only whitespace.
    #[error("empty arXiv identifier")]
    Empty,
    /// The input is not an arXiv identifier in either scheme (the offending text, shortened).
    #[error("not an arXiv identifier: {0:?}")]
    Invalid(String),
}

/// Why a record cannot become a [`crate::Paper`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    /// The record has no identifier, or one that is not an arXiv identifier.
    #[error(transparent)]
    Id(#[from] IdError),
    /// The record has no title.
    #[error("missing title")]
    MissingTitle,
    /// A category is not of the form `archive` or `archive.subject` (e.g. `cs.CL`).
    #[error("invalid category {0:?}")]
    Category(String),
    /// A date could not be read or is impossible (e.g. 2025-02-30).
    #[error("invalid date {0:?}")]
    Date(String),
    /// A version label is not `vN` with N at least 1.
    #[error("invalid version {0:?}")]
    Version(String),
    /// A user name breaks the naming rules.
    #[error("invalid user name {0:?}: use 1-39 letters, digits, '-' or '_'")]
    UserName(String),
}
