//! BERT-family sentence-transformers (all-MiniLM-L6-v2, bge, e5, gte, ...) on the CPU, loaded
//! from a sentence-transformers folder ([`BertEmbedder::from_dir`]) or by Hugging Face id
//! ([`BertEmbedder::from_hub`]); [`load_embedder`] takes either.
//!
//! The forward pass is written here on top of the `gemm` crate rather than taken from
//! candle-transformers: on two cores it measured about three times faster, matching or beating
//! PyTorch (`examples/embed_bench.rs`, `scripts/bench-embed.sh`). The speed comes from
//! - packing: a batch is the concatenation of its inputs' tokens, with no padding, so every
//!   linear layer is one large product and no work goes to pad tokens;
//! - one forward pass per core, each on its own batch of inputs, instead of splitting every
//!   product across cores: no synchronisation inside the pass, and each core's working set
//!   stays in its own cache;
//! - fused weights (query, key and value in one product, the attention scale folded in), biases
//!   and residuals folded into the products and layer norms, and vectorised element-wise
//!   kernels (`kernels.rs`) dispatched at run time to AVX-512 or AVX2.
//!
//! Vectors match sentence-transformers' to a cosine of 0.99999 and better
//! (`tests/embed_bert.rs` checks ≥ 0.999 against stored reference vectors).

mod config;
mod forward;
mod hub;
mod int8;
mod kernels;
mod matmul;
mod weights;

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

pub use config::PoolingMode;
pub use hub::HubOptions;

use super::{Embedder, ModelIdentity};
use crate::SearchError;
use config::{ModelConfig, Pooling};
use forward::Scratch;
use weights::Weights;

/// Default tokens per forward batch. Large enough that the matrix products run at full speed,
/// small enough that a batch's activations (about 20 KB per token for MiniLM) stay in the
/// shared L3 cache; 2048 to 8192 measured within noise of each other on 2 cores.
pub const DEFAULT_BATCH_TOKENS: usize = 4096;

/// Inputs longer than `max_tokens * CUT_BYTES_PER_TOKEN` bytes are tokenised from a prefix
/// first, so a megabyte of text costs no more than an abstract. The result is kept only when
/// the prefix still overflows `max_tokens` by [`CUT_SLACK_TOKENS`], which makes it identical to
/// tokenising the whole text.
const CUT_BYTES_PER_TOKEN: usize = 16;
const CUT_SLACK_TOKENS: usize = 8;

/// Arithmetic of the linear layers (nine tenths of the work).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 throughout: vectors match sentence-transformers'.
    #[default]
    F32,
    /// int8 weights (per output column) and int8 activations (per token) in the four linear
    /// layers of every block, exact i32 accumulation; embeddings, attention, layer norms and
    /// pooling stay f32. Much faster on CPUs with AVX512-VNNI, same vectors (slower) elsewhere.
    /// Vectors differ slightly from f32 ones, so the identity name gets a `+int8` suffix.
    Int8,
}

/// How to run a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BertOptions {
    /// Cut inputs to this many tokens (special tokens included), below the model's own
    /// `max_seq_length`, e.g. 128 for speed. `None`: the model's limit.
    pub max_tokens: Option<usize>,
    /// Worker threads for [`Embedder::embed_documents`]. `None`: the available cores.
    pub threads: Option<usize>,
    /// Tokens per forward batch (per thread).
    pub batch_tokens: usize,
    /// Arithmetic of the linear layers.
    pub precision: Precision,
}

impl Default for BertOptions {
    fn default() -> Self {
        Self {
            max_tokens: None,
            threads: None,
            batch_tokens: DEFAULT_BATCH_TOKENS,
            precision: Precision::F32,
        }
    }
}

/// A BERT-family sentence-transformer. Share it behind an `Arc`; calls from several threads
/// run concurrently.
pub struct BertEmbedder {
    cfg: ModelConfig,
    weights: Weights,
    tokenizer: Tokenizer,
    pooling: Pooling,
    max_tokens: usize,
    threads: usize,
    batch_tokens: usize,
    query_prompt: String,
    document_prompt: String,
    identity: ModelIdentity,
    /// Forward-pass buffers of finished calls, reused by the next ones.
    scratch: Mutex<Vec<Scratch>>,
}

impl fmt::Debug for BertEmbedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BertEmbedder")
            .field("identity", &self.identity)
            .field("layers", &self.cfg.layers)
            .field("hidden", &self.cfg.hidden)
            .field("threads", &self.threads)
            .field("batch_tokens", &self.batch_tokens)
            .finish_non_exhaustive()
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

impl BertEmbedder {
    /// Loads a sentence-transformers folder: `config.json`, `model.safetensors` and
    /// `tokenizer.json` of a BERT-family encoder (required), and the optional
    /// `modules.json`, pooling config (mean, CLS, max, mean-sqrt-len), `Normalize` module,
    /// `sentence_bert_config.json` (`max_seq_length`) and `config_sentence_transformers.json`
    /// (query/document prompts). A bare Hugging Face BERT folder gets mean pooling.
    pub fn from_dir(path: impl AsRef<Path>, options: BertOptions) -> Result<Self, SearchError> {
        Self::load(path.as_ref(), None, options)
    }

    /// Loads a model by Hugging Face id (`org/name`) at `revision` (default `main`), through
    /// the standard Hugging Face cache; see [`HubOptions`] for the environment it honours
    /// (`HF_HOME`, `HF_HUB_CACHE`, `HF_HUB_OFFLINE`, `HF_ENDPOINT`).
    pub fn from_hub(
        model_id: &str,
        revision: Option<&str>,
        options: BertOptions,
    ) -> Result<Self, SearchError> {
        Self::from_hub_with(model_id, revision, &HubOptions::default(), options)
    }

    /// [`BertEmbedder::from_hub`] with explicit cache, offline and endpoint settings.
    pub fn from_hub_with(
        model_id: &str,
        revision: Option<&str>,
        hub: &HubOptions,
        options: BertOptions,
    ) -> Result<Self, SearchError> {
        let dir = hub::fetch(model_id, revision.unwrap_or("main"), hub)?;
        Self::load(&dir, Some(model_id), options)
    }

    fn load(dir: &Path, hub_id: Option<&str>, options: BertOptions) -> Result<Self, SearchError> {
        let fail = |message: String| SearchError::ModelLoad {
            model: hub_id.map_or_else(|| dir.display().to_string(), str::to_string),
            message,
        };
        if !dir.is_dir() {
            return Err(fail("no such folder".into()));
        }
        let read_cfg = |transformer_dir: &Path| -> Result<ModelConfig, String> {
            let path = transformer_dir.join("config.json");
            let json =
                read_optional(&path)?.ok_or_else(|| format!("{} is missing", path.display()))?;
            ModelConfig::parse(&json)
        };
        let pipeline = config::read_pipeline(dir, |d| read_cfg(d).map(|c| c.hidden), read_optional)
            .map_err(&fail)?;
        let tdir = &pipeline.transformer_dir;
        let cfg = read_cfg(tdir).map_err(&fail)?;

        let weights_path = tdir.join("model.safetensors");
        let bytes = std::fs::read(&weights_path).map_err(|e| {
            fail(if e.kind() == std::io::ErrorKind::NotFound {
                "model.safetensors is missing (PyTorch .bin checkpoints are not read: convert them to safetensors)".into()
            } else {
                format!("{}: {e}", weights_path.display())
            })
        })?;
        let weights_sha256 = hex(&Sha256::digest(&bytes));
        let weights = Weights::load(&bytes, &cfg, options.precision).map_err(&fail)?;
        drop(bytes);

        let model_limit = pipeline
            .max_seq_length
            .unwrap_or(usize::MAX)
            .min(cfg.max_tokens());
        let max_tokens = match options.max_tokens {
            Some(0 | 1) => {
                return Err(fail(
                    "max_tokens must leave room for the special tokens".into(),
                ));
            }
            Some(n) => n.min(model_limit),
            None => model_limit,
        };

        let mut tokenizer = Tokenizer::from_file(tdir.join("tokenizer.json"))
            .map_err(|e| fail(format!("tokenizer.json: {e}")))?;
        // tokenizer.json files often carry the padding and truncation of some training run
        // (MiniLM's pads everything to 128): packing needs neither, and the cut is ours.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| fail(format!("tokenizer.json: {e}")))?;
        let tokenizer_vocab = tokenizer.get_vocab_size(true);
        if tokenizer_vocab > cfg.vocab_size {
            return Err(fail(format!(
                "tokenizer has {tokenizer_vocab} tokens but the model only {} embeddings",
                cfg.vocab_size
            )));
        }

        let readme = read_optional(&dir.join("README.md")).ok().flatten();
        let mut name = match hub_id {
            Some(id) => id.to_string(),
            None => config::model_name(dir, readme.as_deref(), cfg.name_or_path.as_deref()),
        };
        if options.precision == Precision::Int8 {
            name.push_str("+int8");
        }
        let identity = ModelIdentity {
            name,
            weights_sha256,
            dimensions: pipeline.pooling.modes.len() * cfg.hidden,
            max_tokens,
            pooling: pipeline.pooling.describe(),
        };
        let threads = options
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        tracing::debug!(model = %identity.key(), dir = %dir.display(), threads, "BERT model loaded");
        Ok(Self {
            cfg,
            weights,
            tokenizer,
            pooling: pipeline.pooling,
            max_tokens,
            threads,
            batch_tokens: options.batch_tokens.max(1),
            query_prompt: pipeline.query_prompt,
            document_prompt: pipeline.document_prompt,
            identity,
            scratch: Mutex::new(Vec::new()),
        })
    }

    /// Tokens per input after truncation.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Worker threads used by [`Embedder::embed_documents`].
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Number of tokens `text` becomes as a document (special tokens and prompt included,
    /// after truncation): the unit of the model's work.
    pub fn count_tokens(&self, text: &str) -> Result<usize, SearchError> {
        Ok(self.tokenize(&self.document_prompt, text)?.len())
    }

    fn tokenize(&self, prompt: &str, text: &str) -> Result<Vec<u32>, SearchError> {
        let owned;
        let text = if prompt.is_empty() {
            text
        } else {
            owned = format!("{prompt}{text}");
            &owned
        };
        let encode = |t: &str| {
            self.tokenizer
                .encode_fast(t, true)
                .map_err(|e| SearchError::Embed(format!("tokenizer: {e}")))
        };
        let limit = self.max_tokens.saturating_mul(CUT_BYTES_PER_TOKEN);
        let mut encoding = None;
        if text.len() > limit
            && let Some(cut) = text[..floor_char_boundary(text, limit)].rfind(char::is_whitespace)
        {
            let enc = encode(&text[..cut])?;
            let overflow: usize = enc
                .get_overflowing()
                .iter()
                .map(|o| {
                    o.get_special_tokens_mask()
                        .iter()
                        .filter(|&&m| m == 0)
                        .count()
                })
                .sum();
            if overflow >= CUT_SLACK_TOKENS {
                encoding = Some(enc);
            }
        }
        let encoding = match encoding {
            Some(e) => e,
            None => encode(text)?,
        };
        let ids = encoding.get_ids();
        if let Some(bad) = ids.iter().find(|&&id| id as usize >= self.cfg.vocab_size) {
            return Err(SearchError::Embed(format!(
                "token id {bad} is outside the model's vocabulary"
            )));
        }
        if ids.is_empty() || ids.len() > self.max_tokens {
            return Err(SearchError::Embed(format!(
                "tokenizer returned {} tokens for a limit of {}",
                ids.len(),
                self.max_tokens
            )));
        }
        Ok(ids.to_vec())
    }

    /// Runs the encoder on `inputs` (token ids) and pools each into a vector.
    fn run_batch(&self, inputs: &[Vec<u32>], scratch: &mut Scratch) -> Vec<Vec<f32>> {
        let mut ids = Vec::with_capacity(inputs.iter().map(Vec::len).sum());
        let mut spans: Vec<Range<usize>> = Vec::with_capacity(inputs.len());
        for input in inputs {
            spans.push(ids.len()..ids.len() + input.len());
            ids.extend_from_slice(input);
        }
        let h = self.cfg.hidden;
        let hidden = forward::encode(&self.cfg, &self.weights, &ids, &spans, scratch);
        spans
            .iter()
            .map(|s| {
                let mut v = Vec::with_capacity(self.identity.dimensions);
                forward::pool(
                    &hidden[s.start * h..s.end * h],
                    h,
                    &self.pooling.modes,
                    &mut v,
                );
                v
            })
            .collect()
    }

    fn take_scratch(&self) -> Scratch {
        self.scratch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    }

    fn return_scratch(&self, s: Scratch) {
        let mut pool = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        // Keep one set per worker thread; more would only hold memory.
        if pool.len() < self.threads {
            pool.push(s);
        }
    }

    /// Tokenises and embeds `texts` on up to `self.threads` threads.
    fn embed_all(&self, prompt: &str, texts: &[&str]) -> Result<Vec<Vec<f32>>, SearchError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let threads = self.threads.min(texts.len());
        let per_thread = texts.len().div_ceil(threads);
        let tokenized: Vec<Vec<u32>> = parallel(threads, texts.chunks(per_thread), |chunk| {
            chunk
                .iter()
                .map(|t| self.tokenize(prompt, t))
                .collect::<Result<Vec<_>, _>>()
        })?
        .into_iter()
        .flatten()
        .collect();

        // Batches of consecutive inputs of about `target` tokens; at least one per thread, so
        // a call with few inputs still uses every core.
        let total: usize = tokenized.iter().map(Vec::len).sum();
        let target = self.batch_tokens.min(total.div_ceil(threads));
        let mut batches: Vec<Range<usize>> = Vec::new();
        let (mut start, mut tokens) = (0, 0);
        for (i, t) in tokenized.iter().enumerate() {
            if tokens > 0 && tokens + t.len() > target {
                batches.push(start..i);
                (start, tokens) = (i, 0);
            }
            tokens += t.len();
        }
        batches.push(start..tokenized.len());

        let next = AtomicUsize::new(0);
        let workers = threads.min(batches.len());
        let done = parallel(workers, 0..workers, |_| {
            let mut scratch = self.take_scratch();
            let mut out = Vec::new();
            loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                let Some(range) = batches.get(b) else { break };
                out.push((
                    range.start,
                    self.run_batch(&tokenized[range.clone()], &mut scratch),
                ));
            }
            self.return_scratch(scratch);
            Ok(out)
        })?;
        let mut vectors: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for (start, vs) in done.into_iter().flatten() {
            for (slot, v) in vectors[start..].iter_mut().zip(vs) {
                *slot = v;
            }
        }
        Ok(vectors)
    }
}

/// Runs `f` on each item, on up to `threads` scoped threads (inline when one suffices), and
/// returns the results in item order.
fn parallel<I, T, F>(threads: usize, items: I, f: F) -> Result<Vec<T>, SearchError>
where
    I: IntoIterator,
    I::Item: Send,
    T: Send,
    F: Fn(I::Item) -> Result<T, SearchError> + Sync,
{
    let items: Vec<I::Item> = items.into_iter().collect();
    if threads <= 1 || items.len() <= 1 {
        return items.into_iter().map(f).collect();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = items.into_iter().map(|it| s.spawn(|| f(it))).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(SearchError::Embed("embedding thread panicked".into())))
            })
            .collect()
    })
}

/// The largest char boundary of `s` at or below `i` (`str::floor_char_boundary`, which is
/// newer than this crate's minimum Rust).
fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl Embedder for BertEmbedder {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, SearchError> {
        self.embed_all(&self.document_prompt, texts)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, SearchError> {
        self.embed_all(&self.query_prompt, &[text])?
            .pop()
            .ok_or_else(|| SearchError::Embed("model returned no vector".into()))
    }
}

/// Loads a BERT-family model from `spec`: a folder when `spec` names an existing path, else a
/// Hugging Face id, optionally pinned as `org/name@revision`. The caller picks the bundled
/// default model when the user gives no spec.
pub fn load_embedder(spec: &str, options: BertOptions) -> Result<Box<dyn Embedder>, SearchError> {
    let path = PathBuf::from(spec);
    if path.exists() {
        return Ok(Box::new(BertEmbedder::from_dir(path, options)?));
    }
    let (id, revision) = match spec.split_once('@') {
        Some((id, rev)) if !rev.is_empty() => (id, Some(rev)),
        _ => (spec, None),
    };
    if !config::is_hub_id(id) {
        return Err(SearchError::ModelLoad {
            model: spec.to_string(),
            message: "no such folder, and not a Hugging Face model id (org/name[@revision])".into(),
        });
    }
    Ok(Box::new(BertEmbedder::from_hub(id, revision, options)?))
}
