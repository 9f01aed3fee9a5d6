//! Work that keeps derived data in step with the store: the BM25 index ([`index`]) and the
//! vectors of the embedding model ([`embed`]). Each job is a plain struct with an async
//! `catch_up`/`run_once` (one pass, for the CLI) and `run` (a loop until its
//! [`CancellationToken`] fires, for `serve`); the search engine they feed is opened once with
//! [`open_engine`] and shared behind an `Arc`.
//!
//! Which model, and which fusion weight for it, are settings of the data dir: `--model` /
//! `PAPERFEED_MODEL` / `[search] model`, and `fusion.json` written by `paperfeed eval --tune`.

pub mod admit;
pub mod embed;
pub mod harvest;
pub mod index;
pub mod supervisor;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use paperfeed_search::embed::Embedder;
use paperfeed_search::engine::{EngineOptions, SearchEngine};
use paperfeed_search::fusion::{Fusion, FusionChoice, FusionSource};
use paperfeed_store::{ModelKey, Store};
use serde::{Deserialize, Serialize};

use crate::settings::Settings;

/// The file of measured fusion weights in the data dir.
pub const FUSION_FILE: &str = "fusion.json";

/// The model to use: the flag (or `PAPERFEED_MODEL`, which clap reads into it), else the
/// config file's `[search] model`, else the bundled one.
pub fn model_spec(flag: Option<&str>, settings: &Settings) -> Option<String> {
    flag.map(str::to_string)
        .or_else(|| settings.file.search.model.clone())
        .filter(|s| !s.trim().is_empty())
}

/// Loads the embedding model (on a blocking thread: a BERT model takes a moment).
pub async fn load_model(spec: Option<String>) -> Result<Arc<dyn Embedder>> {
    let shown = spec.clone().unwrap_or_else(|| "bundled".into());
    tokio::task::spawn_blocking(move || {
        paperfeed_search::embed::load::load_embedder(spec.as_deref())
    })
    .await
    .context("model loading thread failed")?
    .with_context(|| format!("cannot load model {shown}"))
}

/// The vectors folder of the data dir.
pub fn vectors_root(settings: &Settings) -> PathBuf {
    settings.data_dir.join("vectors")
}

/// Opens the search engine of the data dir for `embedder`'s model, with the fusion measured
/// for it (if any), and makes sure its vectors are not behind the store's (reloading them from
/// SQLite when the vectors folder was lost or damaged).
pub async fn open_engine(
    settings: &Settings,
    store: &Arc<dyn Store>,
    embedder: Arc<dyn Embedder>,
) -> Result<Arc<SearchEngine>> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create data dir {}", settings.data_dir.display()))?;
    let key = embedder.identity().key();
    let tuned = load_tuned_fusion(&settings.data_dir, &key)?;
    let options = EngineOptions {
        fusion: tuned.map(|fusion| FusionChoice {
            fusion,
            source: FusionSource::Tuned,
        }),
        ..EngineOptions::default()
    };
    let index_dir = settings.index_dir();
    let vectors = vectors_root(settings);
    let engine = tokio::task::spawn_blocking(move || {
        SearchEngine::open(&index_dir, &vectors, embedder, options)
    })
    .await
    .context("engine opening thread failed")?
    .context("cannot open the search index")?;
    let engine = Arc::new(engine);
    resync_vectors(store, &engine).await?;
    Ok(engine)
}

/// Reloads every vector from the store when the engine holds fewer than the store has for
/// current paper texts: the vectors folder is a cache of SQLite's embeddings table, written
/// ahead of it, so it can only lag when it was deleted or damaged.
async fn resync_vectors(store: &Arc<dyn Store>, engine: &Arc<SearchEngine>) -> Result<()> {
    let key = ModelKey(engine.identity().key());
    let stats = store.stats().await?;
    let stored = stats
        .embeddings
        .iter()
        .find(|(k, _)| *k == key.0)
        .map_or(0, |(_, n)| *n);
    if stored == 0 {
        return Ok(());
    }
    let needing = store.count_needing_embedding(&key).await?;
    let current = stats.papers.saturating_sub(needing);
    if engine.vector_count() as u64 >= current {
        return Ok(());
    }
    tracing::info!(
        have = engine.vector_count(),
        store = current,
        "vectors folder is behind the store; reloading vectors from the store"
    );
    let e = engine.clone();
    tokio::task::spawn_blocking(move || e.clear_vectors()).await??;
    let mut after = None;
    loop {
        let page = store.embeddings_after(&key, after.as_ref(), 5000).await?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        let e = engine.clone();
        tokio::task::spawn_blocking(move || e.upsert_vectors(&page)).await??;
    }
    let e = engine.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        e.maintain()?;
        e.persist_vectors()?;
        Ok(())
    })
    .await??;
    Ok(())
}

/// One model's measured fusion in `fusion.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TunedFusion {
    /// The fusion chosen.
    pub fusion: Fusion,
    /// Mean nDCG@10 it reached.
    #[serde(rename = "ndcg@10")]
    pub ndcg_at_10: f64,
    /// Mean Recall@100 it reached.
    #[serde(rename = "recall@100")]
    pub recall_at_100: f64,
    /// The collections and split it was measured on.
    pub measured_on: Vec<String>,
    /// When.
    pub measured_at: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FusionFile {
    models: BTreeMap<String, TunedFusion>,
}

/// The fusion measured for `model_key` in `data_dir`, if any.
pub fn load_tuned_fusion(data_dir: &Path, model_key: &str) -> Result<Option<Fusion>> {
    Ok(read_fusion_file(data_dir)?
        .models
        .get(model_key)
        .map(|t| t.fusion))
}

fn read_fusion_file(data_dir: &Path) -> Result<FusionFile> {
    let path = data_dir.join(FUSION_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).with_context(|| format!("invalid {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FusionFile::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Records `tuned` as `model_key`'s fusion in `data_dir`.
pub fn save_tuned_fusion(data_dir: &Path, model_key: &str, tuned: TunedFusion) -> Result<PathBuf> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    let mut file = read_fusion_file(data_dir)?;
    file.models.insert(model_key.to_string(), tuned);
    let path = data_dir.join(FUSION_FILE);
    let tmp = data_dir.join("fusion.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&file)?)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuned_fusion_round_trips_per_model() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_tuned_fusion(dir.path(), "m").unwrap(), None);
        let tuned = |w| TunedFusion {
            fusion: Fusion::Rrf {
                k: 60.0,
                w_dense: w,
            },
            ndcg_at_10: 0.5,
            recall_at_100: 0.7,
            measured_on: vec!["cacm/dev".into()],
            measured_at: "2026-01-01T00:00:00Z".into(),
        };
        save_tuned_fusion(dir.path(), "m", tuned(0.3)).unwrap();
        save_tuned_fusion(dir.path(), "n", tuned(0.6)).unwrap();
        assert_eq!(
            load_tuned_fusion(dir.path(), "m").unwrap(),
            Some(Fusion::Rrf {
                k: 60.0,
                w_dense: 0.3
            })
        );
        assert_eq!(
            load_tuned_fusion(dir.path(), "n").unwrap(),
            Some(Fusion::Rrf {
                k: 60.0,
                w_dense: 0.6
            })
        );
        std::fs::write(dir.path().join(FUSION_FILE), "{").unwrap();
        assert!(load_tuned_fusion(dir.path(), "m").is_err());
    }
}
