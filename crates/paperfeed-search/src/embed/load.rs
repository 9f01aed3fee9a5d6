//! Choosing an embedding model from what a user wrote (`--model`, `search.model`,
//! `PAPERFEED_MODEL`): nothing or `bundled` is the model compiled into the binary; an existing
//! folder is loaded by what it holds (a model2vec static model, or a BERT-family
//! sentence-transformer); anything else is a Hugging Face model id (`org/name[@revision]`)
//! fetched through the standard cache.

use std::path::Path;
use std::sync::Arc;

use super::Embedder;
use super::bert::{self, BertOptions};
use super::static_model::StaticEmbedder;
use crate::SearchError;

/// The spec naming the bundled model.
pub const BUNDLED: &str = "bundled";

/// What kind of model a folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderKind {
    /// model2vec format: an `embeddings` table, a tokenizer, a config of `model_type`
    /// `model2vec` (or without transformer layers).
    Static,
    /// A BERT-family sentence-transformer (or bare Hugging Face BERT) folder.
    Bert,
}

/// Tells a model2vec folder from a transformer one by its config.
pub fn folder_kind(dir: &Path) -> FolderKind {
    let config = std::fs::read(dir.join("config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let Some(config) = config else {
        return FolderKind::Bert;
    };
    let model_type = config.get("model_type").and_then(|v| v.as_str());
    let has_layers = config.get("num_hidden_layers").is_some();
    if model_type == Some("model2vec") || (!has_layers && !dir.join("modules.json").exists()) {
        FolderKind::Static
    } else {
        FolderKind::Bert
    }
}

/// Loads the model `spec` names (see the module docs). `None`, empty or `bundled` is the
/// bundled model.
pub fn load_embedder(spec: Option<&str>) -> Result<Arc<dyn Embedder>, SearchError> {
    let spec = spec.map(str::trim).filter(|s| !s.is_empty());
    match spec {
        None => Ok(Arc::new(StaticEmbedder::bundled()?)),
        Some(s) if s.eq_ignore_ascii_case(BUNDLED) => Ok(Arc::new(StaticEmbedder::bundled()?)),
        Some(s) => {
            let path = Path::new(s);
            if path.is_dir() {
                return match folder_kind(path) {
                    FolderKind::Static => Ok(Arc::new(StaticEmbedder::from_dir(path)?)),
                    FolderKind::Bert => Ok(Arc::new(bert::BertEmbedder::from_dir(
                        path,
                        BertOptions::default(),
                    )?)),
                };
            }
            if path.exists() {
                return Err(SearchError::ModelLoad {
                    model: s.to_string(),
                    message: "is a file; a model is a folder or a Hugging Face id".into(),
                });
            }
            Ok(Arc::from(bert::load_embedder(s, BertOptions::default())?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_and_bundled_are_the_bundled_model() {
        let a = load_embedder(None).unwrap();
        let b = load_embedder(Some(" Bundled ")).unwrap();
        assert_eq!(a.identity(), b.identity());
        assert_eq!(a.identity().name, super::super::static_model::BUNDLED_NAME);
    }

    #[test]
    fn folders_are_told_apart_by_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"model_type": "model2vec"}"#,
        )
        .unwrap();
        assert_eq!(folder_kind(dir.path()), FolderKind::Static);
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"model_type": "bert", "num_hidden_layers": 6}"#,
        )
        .unwrap();
        assert_eq!(folder_kind(dir.path()), FolderKind::Bert);
        let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/static-minilm-arxiv-v1");
        assert_eq!(folder_kind(&bundled), FolderKind::Static);
    }

    #[test]
    fn bad_specs_are_clean_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("weights.bin");
        std::fs::write(&file, b"x").unwrap();
        for spec in [file.to_str().unwrap(), "not a model id!", "/no/such/folder"] {
            let err = load_embedder(Some(spec)).unwrap_err();
            assert!(
                matches!(err, SearchError::ModelLoad { .. } | SearchError::Io { .. }),
                "{spec}: {err}"
            );
        }
    }
}
