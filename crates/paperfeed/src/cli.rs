//! The command line: one binary, one subcommand per job.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Self-hostable research-paper discovery: a daily feed of arXiv papers, trending, upvotes,
/// hybrid keyword + semantic search, a Hugging Face-compatible JSON API and feeds.
#[derive(Debug, Parser)]
#[command(name = "paperfeed", version, propagate_version = true)]
pub struct Cli {
    /// Where the store, search index and vectors live [default: ./paperfeed-data].
    #[arg(long, global = true, env = "PAPERFEED_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// A TOML config file [default: ./paperfeed.toml when it exists].
    #[arg(long, global = true, env = "PAPERFEED_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Only print errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import papers from files, OAI-PMH or the arXiv API.
    Ingest(IngestArgs),
    /// Print counts of what the store holds.
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the store out.
    Export {
        /// Format.
        #[command(subcommand)]
        format: ExportFormat,
    },
    /// Benchmarks that print figures.
    Bench {
        /// Which benchmark.
        #[command(subcommand)]
        what: BenchCommand,
    },
}

/// `paperfeed ingest ...`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Stop at the first bad record with a non-zero exit, instead of skipping it.
    #[arg(long, global = true)]
    pub strict: bool,

    /// The source.
    #[command(subcommand)]
    pub source: IngestSource,
}

/// Sources `ingest` reads.
#[derive(Debug, Subcommand)]
pub enum IngestSource {
    /// The Kaggle arxiv-metadata-oai-snapshot.json (.gz/.zst read transparently; - for stdin).
    Kaggle {
        /// Files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// JSON lines: paperfeed's own export, or listings-*/api-records-* files.
    Jsonl {
        /// Files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// rss.arxiv.org listing feeds (RSS 2.0 or Atom) saved to files.
    Rss {
        /// Files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Hugging Face daily papers JSON (the /api/daily_papers list, or JSON lines).
    HfDaily {
        /// Files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Incremental OAI-PMH harvest; resumes where the last run stopped.
    Oai(OaiArgs),
    /// Fetch papers through the arXiv API by id or query.
    Arxiv(ArxivArgs),
}

/// OAI-PMH metadata formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetadataPrefix {
    /// `arXiv`.
    #[value(name = "arXiv")]
    Arxiv,
    /// `arXivRaw`, with every version's date.
    #[value(name = "arXivRaw")]
    ArxivRaw,
    /// Dublin Core.
    #[value(name = "oai_dc")]
    OaiDc,
}

/// `ingest oai`.
#[derive(Debug, Args)]
pub struct OaiArgs {
    /// The set to harvest, e.g. cs or cs:cs:CL [config: harvest.set].
    #[arg(long)]
    pub set: Option<String>,
    /// Harvest records changed on or after this day (YYYY-MM-DD); later runs continue from
    /// the last harvested day by themselves.
    #[arg(long)]
    pub from: Option<chrono::NaiveDate>,
    /// Harvest records changed on or before this day.
    #[arg(long)]
    pub until: Option<chrono::NaiveDate>,
    /// The OAI-PMH endpoint [config: harvest.endpoint; default https://oaipmh.arxiv.org/oai].
    #[arg(long, env = "PAPERFEED_OAI_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Metadata format [default: arXivRaw].
    #[arg(long, value_enum)]
    pub metadata_prefix: Option<MetadataPrefix>,
    /// Seconds between requests; arXiv asks for at least 3.
    #[arg(long, env = "PAPERFEED_HARVEST_INTERVAL")]
    pub interval: Option<f64>,
}

/// `ingest arxiv`.
#[derive(Debug, Args)]
pub struct ArxivArgs {
    /// arXiv ids (any spelling: 2501.12345v2, arXiv:..., abs/pdf URLs).
    #[arg(long = "id", num_args = 1.., required_unless_present = "query", conflicts_with = "query")]
    pub ids: Vec<String>,
    /// An arXiv API search query, e.g. 'ti:"diffusion" AND cat:cs.CV'.
    #[arg(long)]
    pub query: Option<String>,
    /// At most this many results for --query.
    #[arg(long, default_value_t = 100)]
    pub max_results: u32,
    /// The API endpoint [config: arxiv_api.endpoint; default https://export.arxiv.org/api/query].
    #[arg(long, env = "PAPERFEED_ARXIV_API_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Seconds between requests; arXiv asks for at least 3.
    #[arg(long, env = "PAPERFEED_HARVEST_INTERVAL")]
    pub interval: Option<f64>,
}

/// `export ...`.
#[derive(Debug, Subcommand)]
pub enum ExportFormat {
    /// paperfeed JSON lines, one paper per line (stdout when FILE is - or absent).
    Jsonl {
        /// Output file.
        file: Option<PathBuf>,
    },
}

/// `bench ...`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Import a file into a fresh store and print papers/s and peak RSS.
    Ingest {
        /// The file (JSON lines, .zst/.gz ok).
        file: PathBuf,
        /// The format.
        #[arg(long, value_enum, default_value_t = BenchFormat::Jsonl)]
        format: BenchFormat,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Formats `bench ingest` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchFormat {
    /// JSON lines.
    Jsonl,
    /// Kaggle snapshot.
    Kaggle,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
