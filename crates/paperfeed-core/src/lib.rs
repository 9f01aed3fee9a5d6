//! Domain types of paperfeed, with their validation and the trending maths. No I/O.
//!
//! - [`ArxivId`] / [`VersionedId`]: arXiv identifiers in both schemes, from any spelling
//!   people paste (prefixes, abs/pdf URLs, OAI identifiers), in one canonical form.
//! - [`Paper`]: the record every source format becomes. Parsers build one, call
//!   [`Paper::finish`] to normalise and validate it, and the store combines records of the
//!   same paper with [`Paper::merge`] (the newer version wins, never the reverse).
//! - [`Author`] lists from strings, `authors_parsed` parts or XML elements, with LaTeX accents
//!   decoded by [`decode_latex`]; [`Category`] codes, primary first; [`Version`] history.
//! - Code links ([`extract_code_links`]) found in abstracts and comments.
//! - [`User`], [`Vote`] and [`Submission`]: who put a paper in a day's feed and who upvoted
//!   it; [`trending_score`] turns votes and age into the trending order.

mod author;
mod codelinks;
mod error;
mod id;
mod latex;
mod paper;
pub mod text;
mod trending;
mod user;

pub use author::{Author, parse_author_list};
pub use codelinks::{extract_code_links, normalize_repo_url};
pub use error::{IdError, ValidationError};
pub use id::{ArxivId, VersionedId};
pub use latex::decode_latex;
pub use paper::{Category, Paper, Version, parse_categories, parse_version_label};
pub use trending::{TrendingParams, trending_score};
pub use user::{Submission, User, UserName, Vote};
