//! Fetching a sentence-transformers model by Hugging Face id through the `hf-hub` crate, into
//! (or, offline, only from) the standard Hugging Face cache, so models downloaded by Python
//! tools are reused and the other way round.
//!
//! Cache folder: [`HubOptions::cache_dir`], else `HF_HUB_CACHE`, else `HF_HOME/hub`, else
//! `~/.cache/huggingface/hub`. Offline when [`HubOptions::offline`] says so, else when
//! `HF_HUB_OFFLINE` is `1`/`true`/`yes`/`on` (as in `huggingface_hub`): then only the cache
//! is read, through `hf_hub::Cache`, and nothing goes out on the network.

use std::path::{Path, PathBuf};

use hf_hub::api::sync::{ApiBuilder, ApiError, ApiRepo};
use hf_hub::{Cache, CacheRepo, Repo, RepoType};

use super::config;
use crate::SearchError;

/// Where and how [`BertEmbedder::from_hub_with`](super::BertEmbedder::from_hub_with) looks
/// for a model. The defaults follow the Hugging Face environment variables.
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    /// The hub cache folder (the one holding `models--org--name` folders). `None`: from the
    /// environment, see the module docs.
    pub cache_dir: Option<PathBuf>,
    /// `Some(true)`: read the cache only, never the network. `None`: `HF_HUB_OFFLINE`.
    pub offline: Option<bool>,
    /// Hub address. `None`: `HF_ENDPOINT`, else `https://huggingface.co`.
    pub endpoint: Option<String>,
}

/// The cache folder the environment names, if any can be found.
fn env_cache_dir(var: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(dir) = var("HF_HUB_CACHE").filter(|s| !s.is_empty()) {
        return Some(dir.into());
    }
    if let Some(home) = var("HF_HOME").filter(|s| !s.is_empty()) {
        return Some(Path::new(&home).join("hub"));
    }
    std::env::home_dir().map(|h| h.join(".cache").join("huggingface").join("hub"))
}

/// `huggingface_hub`'s truthy values.
fn is_truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

enum Source {
    Cache(CacheRepo),
    Api(Box<ApiRepo>),
}

/// Fetches (or finds in the cache) the files a sentence-transformers model needs and returns
/// the snapshot folder holding them.
pub(crate) fn fetch(
    model_id: &str,
    revision: &str,
    hub: &HubOptions,
) -> Result<PathBuf, SearchError> {
    let fail = |message: String| SearchError::ModelLoad {
        model: format!("{model_id}@{revision}"),
        message,
    };
    if !config::is_hub_id(model_id) {
        return Err(fail("not a Hugging Face model id (org/name)".into()));
    }
    let env = |k: &str| std::env::var(k).ok();
    let cache_dir = hub
        .cache_dir
        .clone()
        .or_else(|| env_cache_dir(env))
        .ok_or_else(|| fail("no Hugging Face cache folder: set HF_HOME".into()))?;
    let offline = hub
        .offline
        .unwrap_or_else(|| env("HF_HUB_OFFLINE").is_some_and(|v| is_truthy(&v)));
    let repo = Repo::with_revision(model_id.to_string(), RepoType::Model, revision.to_string());
    let source = if offline {
        Source::Cache(Cache::new(cache_dir.clone()).repo(repo))
    } else {
        let endpoint = hub
            .endpoint
            .clone()
            .or_else(|| env("HF_ENDPOINT"))
            .unwrap_or_else(|| "https://huggingface.co".into());
        let api = ApiBuilder::from_cache(Cache::new(cache_dir.clone()))
            .with_endpoint(endpoint)
            .with_progress(false)
            .build()
            .map_err(|e| fail(format!("hub client: {e}")))?;
        Source::Api(Box::new(api.repo(repo)))
    };
    // `Ok(None)`: the file does not exist in the repo (or, offline, in the cache).
    let get = |file: &str| -> Result<Option<PathBuf>, SearchError> {
        match &source {
            Source::Cache(c) => Ok(c
                .get(file)
                .or_else(|| snapshot_file(&cache_dir, model_id, revision, file))),
            Source::Api(api) => match api.get(file) {
                Ok(p) => Ok(Some(p)),
                Err(ApiError::RequestError(e)) if matches!(*e, ureq::Error::StatusCode(404)) => {
                    Ok(None)
                }
                Err(e) => Err(fail(format!("{file}: {e}"))),
            },
        }
    };
    let missing = |file: &str| {
        if offline {
            fail(format!(
                "{file} is not in the Hugging Face cache at {} and HF_HUB_OFFLINE is set",
                cache_dir.display()
            ))
        } else {
            fail(format!(
                "{file} is not in the repository (a safetensors sentence-transformers or BERT model is needed)"
            ))
        }
    };

    let modules = get("modules.json")?;
    let modules_json = match &modules {
        Some(p) => {
            Some(std::fs::read_to_string(p).map_err(|e| fail(format!("modules.json: {e}")))?)
        }
        None => None,
    };
    let files = config::module_files(modules_json.as_deref()).map_err(fail)?;
    let mut snapshot = None;
    for optional in ["README.md", "config_sentence_transformers.json"] {
        get(optional)?;
    }
    for file in &files {
        let required = !file.ends_with("sentence_bert_config.json");
        match get(file)? {
            Some(path) if file.ends_with("model.safetensors") => {
                snapshot = snapshot_root(&path, file);
            }
            Some(_) => {}
            None if required => return Err(missing(file)),
            None => {}
        }
    }
    snapshot.ok_or_else(|| fail("cannot locate the snapshot folder".into()))
}

/// The folder `file` (a path relative to the repo root) was placed under.
fn snapshot_root(path: &Path, file: &str) -> Option<PathBuf> {
    let mut root = path.to_path_buf();
    for _ in Path::new(file).components() {
        root = root.parent()?.to_path_buf();
    }
    Some(root)
}

/// Offline lookup for a revision given as a commit hash, which has no `refs/` entry for
/// `hf_hub::CacheRepo::get` to follow: the snapshot folder is named by the hash itself.
fn snapshot_file(cache_dir: &Path, model_id: &str, revision: &str, file: &str) -> Option<PathBuf> {
    if revision.len() != 40 || !revision.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let folder = format!("models--{}", model_id.replace('/', "--"));
    let path = cache_dir
        .join(folder)
        .join("snapshots")
        .join(revision)
        .join(file);
    path.exists().then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_follows_the_hugging_face_variables() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            env_cache_dir(vars(&[("HF_HUB_CACHE", "/c"), ("HF_HOME", "/h")])),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(
            env_cache_dir(vars(&[("HF_HOME", "/h")])),
            Some(PathBuf::from("/h/hub"))
        );
        if let Some(home) = std::env::home_dir() {
            assert_eq!(
                env_cache_dir(vars(&[])),
                Some(home.join(".cache/huggingface/hub"))
            );
        }
    }

    #[test]
    fn offline_values() {
        for v in ["1", "true", "TRUE", "yes", "On"] {
            assert!(is_truthy(v), "{v}");
        }
        for v in ["0", "false", "", "no", "off"] {
            assert!(!is_truthy(v), "{v}");
        }
    }

    #[test]
    fn snapshot_root_strips_the_repo_path() {
        let p = Path::new("/c/models--a--b/snapshots/abc/1_Pooling/config.json");
        assert_eq!(
            snapshot_root(p, "1_Pooling/config.json"),
            Some(PathBuf::from("/c/models--a--b/snapshots/abc"))
        );
    }
}
