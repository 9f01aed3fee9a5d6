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
    /// Search the papers (keywords, semantic or hybrid).
    Search(SearchArgs),
    /// Papers most similar to one paper.
    Similar(SimilarArgs),
    /// Give every paper a vector of the embedding model (resumable; Ctrl-C stops cleanly).
    Embed {
        /// Embedding model: `bundled`, a local folder, or a Hugging Face id [config:
        /// search.model; default: bundled].
        #[arg(long, env = "PAPERFEED_MODEL", value_name = "PATH_OR_ID")]
        model: Option<String>,
    },
    /// Rebuild the keyword index from the store.
    Reindex,
    /// Measure search quality on BEIR-layout collections (nDCG@10, Recall@100).
    Eval(EvalArgs),
    /// Run the web service (pages, JSON API, feeds) with its background jobs.
    Serve(ServeArgs),
    /// Serve the bundled sample corpus: imported and indexed into the data dir when it is
    /// empty, with automatic admission on.
    Demo(ServeArgs),
}

/// `paperfeed search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to search for (field syntax works: ti:, abs:, au:, cat:, "phrases").
    #[arg(required = true, num_args = 1..)]
    pub query: Vec<String>,
    /// bm25, semantic or hybrid.
    #[arg(long, default_value = "hybrid")]
    pub mode: String,
    /// Results to print.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Results to skip.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// relevance, date or votes.
    #[arg(long, default_value = "relevance")]
    pub sort: String,
    /// Papers dated on or after this day (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<chrono::NaiveDate>,
    /// Papers dated on or before this day.
    #[arg(long)]
    pub to: Option<chrono::NaiveDate>,
    /// Only these categories or archives (cs.CL, cs); repeat for any of several.
    #[arg(long)]
    pub category: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Embedding model [config: search.model; default: bundled].
    #[arg(long, env = "PAPERFEED_MODEL", value_name = "PATH_OR_ID")]
    pub model: Option<String>,
}

/// `paperfeed serve` and `paperfeed demo`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one [config: server.addr; default
    /// 127.0.0.1:8080].
    #[arg(long, env = "PAPERFEED_ADDR", value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// Embedding model [config: search.model; default: bundled].
    #[arg(long, env = "PAPERFEED_MODEL", value_name = "PATH_OR_ID")]
    pub model: Option<String>,
}

/// `paperfeed similar`.
#[derive(Debug, Args)]
pub struct SimilarArgs {
    /// The paper (any id spelling).
    pub id: String,
    /// Papers to print.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Embedding model [config: search.model; default: bundled].
    #[arg(long, env = "PAPERFEED_MODEL", value_name = "PATH_OR_ID")]
    pub model: Option<String>,
}

/// `paperfeed eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A BEIR folder (corpus.jsonl, queries.SPLIT.jsonl, qrels.SPLIT.tsv); repeat to tune on
    /// several at once.
    #[arg(long, required = true, value_name = "DIR")]
    pub dataset: Vec<PathBuf>,
    /// The split.
    #[arg(long, default_value = "dev")]
    pub split: String,
    /// Print one JSON object per collection.
    #[arg(long)]
    pub json: bool,
    /// Embedding model [config: search.model; default: bundled].
    #[arg(long, env = "PAPERFEED_MODEL", value_name = "PATH_OR_ID")]
    pub model: Option<String>,
    /// Measure the best fusion method and weight for the model and record it in the data dir.
    #[arg(long)]
    pub tune: bool,
    /// Vector layout in memory: f32 or int8 [default: int8].
    #[arg(long)]
    pub layout: Option<String>,
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
    /// Import, index and embed a corpus into a fresh data dir; print index time, query
    /// latencies (BM25, semantic, hybrid), embedding throughput and peak RSS.
    Search {
        /// The corpus (JSON lines, .zst/.gz ok).
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Embedding model [config: search.model; default: bundled].
        #[arg(long, env = "PAPERFEED_MODEL", value_name = "PATH_OR_ID")]
        model: Option<String>,
        /// Timed queries per measurement (paper titles picked with a fixed seed).
        #[arg(long, default_value_t = 200)]
        queries: usize,
        /// Embed at most this many papers (for slow models).
        #[arg(long)]
        embed_limit: Option<u64>,
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
