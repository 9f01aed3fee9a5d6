//! Sentence embeddings: the [`Embedder`] trait and the models behind it.

use serde::{Deserialize, Serialize};

use crate::SearchError;

/// Everything that makes two models' vectors comparable or not. Persist it with vectors;
/// compare [`ModelIdentity::key`]s, never just dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelIdentity {
    /// Human name, e.g. `sentence-transformers/all-MiniLM-L6-v2`.
    pub name: String,
    /// Content hash of the weights (hex sha256, or the hub revision when hashing is not
    /// possible), so a re-exported or fine-tuned copy under the same name differs.
    pub weights_sha256: String,
    /// Output dimensions.
    pub dimensions: usize,
    /// Tokens per input after truncation.
    pub max_tokens: usize,
    /// Pooling and normalisation, e.g. `mean+l2`.
    pub pooling: String,
}

impl ModelIdentity {
    /// A compact stable key: `name@sha256[..16]/dims/max_tokens/pooling`.
    pub fn key(&self) -> String {
        let short = &self.weights_sha256[..self.weights_sha256.len().min(16)];
        format!(
            "{}@{}/{}/{}/{}",
            self.name, short, self.dimensions, self.max_tokens, self.pooling
        )
    }
}

/// A text embedding model. Vectors are L2-normalised, so cosine similarity is a dot product.
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// Which model this is.
    fn identity(&self) -> &ModelIdentity;

    /// Embeds documents (title and abstract), one vector per text, in order.
    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, SearchError>;

    /// Whether a query embeds in microseconds (a table lookup a token) rather than
    /// milliseconds (a transformer's forward pass). A search with such a model is short
    /// enough to run on the thread it arrives on (see [`crate::engine::SearchEngine::is_light`]).
    fn embeds_queries_cheaply(&self) -> bool {
        false
    }

    /// Embeds a search query. Models with query/document prefixes apply them here.
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, SearchError> {
        let mut v = self.embed_documents(&[text])?;
        v.pop()
            .ok_or_else(|| SearchError::Embed("model returned no vector".into()))
    }
}

pub mod bert;
pub mod load;
pub mod static_model;
