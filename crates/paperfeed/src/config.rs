//! Settings: a TOML config file, then environment variables, then command-line flags.
//!
//! Flags and environment variables are declared on the clap structs (clap reads
//! `PAPERFEED_*` variables itself, and a flag beats its variable); this module reads the file
//! and fills in whatever neither gave. Every setting has a default, so paperfeed runs with
//! no file at all.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

/// The default data directory, relative to where paperfeed runs.
pub const DEFAULT_DATA_DIR: &str = "./paperfeed-data";
/// The config file read when `--config` / `PAPERFEED_CONFIG` is not given and it exists.
pub const DEFAULT_CONFIG_FILE: &str = "paperfeed.toml";

/// The config file's shape. Every field is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    /// Where the store, index and vectors live.
    pub data_dir: Option<PathBuf>,
    /// Contact address put in the User-Agent of every request to arXiv (their terms ask for one).
    pub contact: Option<String>,
    /// OAI-PMH harvesting.
    pub harvest: HarvestConfig,
    /// arXiv API.
    pub arxiv_api: ArxivApiConfig,
    /// The web server.
    pub server: ServerConfig,
    /// The daily feed.
    pub feed: FeedConfig,
    /// Search.
    pub search: SearchConfig,
}

/// `[harvest]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HarvestConfig {
    /// OAI-PMH endpoint.
    pub endpoint: Option<String>,
    /// Set to harvest, e.g. `cs`.
    pub set: Option<String>,
    /// `arXiv`, `arXivRaw` or `oai_dc`.
    pub metadata_prefix: Option<String>,
    /// Seconds between requests (at least 3 unless explicitly lowered for tests).
    pub interval_secs: Option<f64>,
    /// When set, `serve` harvests every this many hours.
    pub every_hours: Option<f64>,
}

/// `[arxiv_api]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArxivApiConfig {
    /// API endpoint.
    pub endpoint: Option<String>,
}

/// `[server]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listen address.
    pub addr: Option<String>,
}

/// `[feed]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedConfig {
    /// Papers newly listed on arXiv in any of these categories (`cs.CL`, or a whole archive
    /// like `cs`) are admitted to their listing day's feed automatically.
    pub auto_admit_categories: Option<Vec<String>>,
}

/// `[search]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Embedding model: `bundled`, a local folder, or a Hugging Face model id.
    pub model: Option<String>,
}

impl FileConfig {
    /// Reads `explicit` (an error if missing), else `paperfeed.toml` in the working
    /// directory if it exists, else defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let p = PathBuf::from(DEFAULT_CONFIG_FILE);
                if !p.exists() {
                    return Ok(FileConfig::default());
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_file() {
        let cfg: FileConfig = toml::from_str(
            r#"
            data_dir = "/var/lib/paperfeed"
            contact = "lab@example.org"
            [harvest]
            endpoint = "https://oaipmh.arxiv.org/oai"
            set = "cs"
            metadata_prefix = "arXivRaw"
            interval_secs = 3.5
            every_hours = 24
            [arxiv_api]
            endpoint = "https://export.arxiv.org/api/query"
            [server]
            addr = "0.0.0.0:8080"
            [feed]
            auto_admit_categories = ["cs.CL", "cs.CV"]
            [search]
            model = "bundled"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.data_dir.unwrap(), PathBuf::from("/var/lib/paperfeed"));
        assert_eq!(cfg.harvest.interval_secs, Some(3.5));
        assert_eq!(cfg.feed.auto_admit_categories.unwrap().len(), 2);
    }

    #[test]
    fn rejects_unknown_keys() {
        assert!(toml::from_str::<FileConfig>("dat_dir = \"x\"").is_err());
    }

    #[test]
    fn missing_default_file_is_fine_explicit_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        assert!(FileConfig::load(Some(&missing)).is_err());
    }
}
