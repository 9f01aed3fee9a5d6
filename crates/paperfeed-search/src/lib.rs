//! Search for paperfeed: BM25 keyword search, semantic embeddings, hybrid fusion, similar
//! papers. No database and no web: callers feed it papers and ask it questions.
//!
//! - [`bm25`]: the tantivy index over title (boosted), abstract, authors and categories, with
//!   the query syntax (`ti:`, `au:`, `abs:`, `cat:`, phrases), filters, sorts, highlighted
//!   snippets and pinning of exact ids and titles. It records the last store change it has
//!   applied, so it can follow the store incrementally.
//! - [`embed`]: the [`embed::Embedder`] trait and its models: the bundled default that needs
//!   no download, and BERT-family sentence-transformers (safetensors weights, `tokenizer.json`)
//!   loaded from a folder or the Hugging Face hub and run by a forward pass on the `gemm`
//!   kernels (candle's own CPU matmul backend) without candle's tensor layer, which measured
//!   three times faster on two cores. Every model has an [`embed::ModelIdentity`]; vectors of different
//!   identities are never compared. [`embed::load::load_embedder`] picks one from what a user
//!   wrote (`bundled`, a folder, a hub id).
//! - [`vector`]: one model's paper vectors (f32 or int8), exact scan and HNSW search, and
//!   their folder in the data dir.
//! - [`fusion`]: weighted reciprocal rank fusion and convex score fusion.
//! - [`engine`]: [`engine::SearchEngine`], what the service calls: BM25, semantic and hybrid
//!   search with filters, sorts, pinning and snippets in every mode; similar papers; the
//!   methods the indexing and embedding jobs keep it current with.
//! - [`eval`]: relevance evaluation of the engine on BEIR-layout collections.

pub mod bm25;
pub mod embed;
pub mod engine;
mod error;
pub mod eval;
pub mod fusion;
pub mod vector;

pub use error::SearchError;
