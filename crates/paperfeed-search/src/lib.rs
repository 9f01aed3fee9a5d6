//! Search for paperfeed: BM25 keyword search, semantic embeddings, hybrid fusion, similar
//! papers. No database and no web: callers feed it papers and ask it questions.
//!
//! - [`bm25`]: the tantivy index over title (boosted), abstract, authors and categories, with
//!   the query syntax (`ti:`, `au:`, `abs:`, `cat:`, phrases), filters, sorts, highlighted
//!   snippets and pinning of exact ids and titles. It records the last store change it has
//!   applied, so it can follow the store incrementally.
//! - [`embed`]: the [`embed::Embedder`] trait and its models: the bundled default that needs
//!   no download, and BERT-family sentence-transformers loaded with candle from a folder or
//!   the Hugging Face hub. Every model has an [`embed::ModelIdentity`]; vectors of different
//!   identities are never compared.

pub mod bm25;
pub mod embed;
mod error;

pub use error::SearchError;
