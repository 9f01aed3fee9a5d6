//! The settings a command runs with, after config file < environment < flags.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use paperfeed_store::{SqliteStore, Store};

use crate::config::{DEFAULT_DATA_DIR, FileConfig};

/// The default OAI-PMH endpoint.
pub const DEFAULT_OAI_ENDPOINT: &str = "https://oaipmh.arxiv.org/oai";
/// The default arXiv API endpoint.
pub const DEFAULT_API_ENDPOINT: &str = "https://export.arxiv.org/api/query";
/// The default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// The contact used when none is configured: it names the project, so arXiv can still
/// reach whoever runs it through the project page.
pub const DEFAULT_CONTACT: &str = "paperfeed-operator@users.noreply.github.com";

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Data directory.
    pub data_dir: PathBuf,
    /// The file config, for per-command fallbacks.
    pub file: FileConfig,
    /// Contact for the User-Agent.
    pub contact: String,
    /// Only print errors.
    pub quiet: bool,
}

impl Settings {
    /// Merges the flags (and the environment clap read for them) with the config file.
    pub fn resolve(data_dir: Option<PathBuf>, config: Option<&Path>, quiet: bool) -> Result<Self> {
        let file = FileConfig::load(config)?;
        let data_dir = data_dir
            .or_else(|| file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let contact = std::env::var("PAPERFEED_CONTACT")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| file.contact.clone())
            .unwrap_or_else(|| DEFAULT_CONTACT.to_string());
        Ok(Settings {
            data_dir,
            file,
            contact,
            quiet,
        })
    }

    /// The SQLite file.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("paperfeed.sqlite")
    }

    /// The search index folder.
    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }

    /// Opens (creating if needed) the data dir and the store.
    pub async fn open_store(&self) -> Result<Arc<dyn Store>> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create data dir {}", self.data_dir.display()))?;
        let store = SqliteStore::open(&self.db_path()).await?;
        Ok(Arc::new(store))
    }
}
