//! Static (model2vec-style) embedding models: a sentence vector is the weighted mean of per-token
//! vectors looked up in a table, so embedding costs one tokenisation and a few additions per token,
//! with no neural network at run time.
//!
//! Two ways in:
//! - [`StaticEmbedder::bundled`]: paperfeed's default model, compiled into the binary with
//!   `include_bytes!`, so semantic search works on a fresh machine with no download and no files.
//!   It was distilled from `sentence-transformers/all-MiniLM-L6-v2` and trained on arXiv
//!   abstracts; `tools/bundled-model/` rebuilds it and `models/` holds its provenance.
//! - [`StaticEmbedder::from_dir`]: any model2vec-format folder (`model.safetensors` with an
//!   `embeddings` tensor and optional `weights` and `mapping` tensors, `tokenizer.json`,
//!   `config.json`), e.g. the `minishlab/potion-*` models.
//!
//! The arithmetic follows model2vec's `StaticModel.encode`: tokens without special tokens, unknown
//! tokens dropped, at most `max_length` tokens, rows (through `mapping` when present) scaled by
//! `weights[token]` when present, averaged, then L2-normalised when the config says `normalize`.
//! `tools/bundled-model/static_ref.py` is the Python reference the parity test compares against.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{PoisonError, RwLock};

use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

use super::{Embedder, ModelIdentity};
use crate::SearchError;

/// The identity name of the bundled model.
pub const BUNDLED_NAME: &str = "paperfeed/static-minilm-arxiv-v1";

const BUNDLED_DIR: &str = "models/static-minilm-arxiv-v1";
static BUNDLED_SAFETENSORS: &[u8] =
    include_bytes!("../../models/static-minilm-arxiv-v1/model.safetensors");
static BUNDLED_TOKENIZER: &[u8] =
    include_bytes!("../../models/static-minilm-arxiv-v1/tokenizer.json");
static BUNDLED_CONFIG: &[u8] = include_bytes!("../../models/static-minilm-arxiv-v1/config.json");

/// Characters that end a word in every tokenizer [`words_are_independent`] accepts (its
/// normaliser turns them into spaces, never removes them).
const SAFE_SPLIT: [char; 4] = [' ', '\t', '\n', '\r'];

/// Most distinct words the word cache keeps (a few tens of MB at worst).
const WORD_CACHE_CAPACITY: usize = 200_000;

/// Below this many texts per core, threads cost more than they save.
const MIN_TEXTS_PER_THREAD: usize = 32;

/// model2vec's default when a config names no `max_length`.
const DEFAULT_MAX_TOKENS: usize = 512;

/// Texts are cut to `max_tokens * BYTES_PER_TOKEN_CUT` bytes before tokenising, so a megabyte of
/// input costs no more than a long abstract. Every token spans at least one byte, so the cut only
/// changes the result for texts with more than this many bytes per token on average (long runs
/// of whitespace or of one unknown character); the Python reference applies the same cut.
const BYTES_PER_TOKEN_CUT: usize = 32;

/// Token ids of whitespace-separated words, shared by all threads.
type WordCache = RwLock<HashMap<Box<str>, Box<[u32]>>>;

/// The vector table, kept in the dtype it was stored in: an int8 table stays int8 (and, for the
/// bundled model, stays borrowed from the binary), which keeps the resident size at a quarter of
/// f32 and costs nothing measurable per token.
enum Table {
    F32(Vec<f32>),
    I8(Cow<'static, [u8]>),
}

/// A static embedding model. Cheap to share behind an `Arc`; embedding needs no locking.
pub struct StaticEmbedder {
    tokenizer: Tokenizer,
    table: Table,
    /// Number of rows in `table`.
    rows: usize,
    dims: usize,
    /// model2vec's `weights`: a multiplier per token id, applied before averaging.
    token_weights: Option<Vec<f32>>,
    /// model2vec's `mapping`: token id to table row (vocabulary quantisation).
    mapping: Option<Vec<u32>>,
    unk_id: Option<u32>,
    /// Token ids per whitespace-separated word, when the tokenizer allows tokenising words one
    /// at a time (see [`words_are_independent`]). Tokenisation dominates the cost of a static
    /// model and words repeat (Zipf), so this skips most of it.
    word_cache: Option<WordCache>,
    max_tokens: usize,
    normalize: bool,
    identity: ModelIdentity,
}

impl fmt::Debug for StaticEmbedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticEmbedder")
            .field("identity", &self.identity)
            .field("rows", &self.rows)
            .field(
                "dtype",
                &match self.table {
                    Table::F32(_) => "f32",
                    Table::I8(_) => "i8",
                },
            )
            .field("weighted", &self.token_weights.is_some())
            .field("mapped", &self.mapping.is_some())
            .finish_non_exhaustive()
    }
}

/// The fields of a model2vec `config.json` that change the vectors.
#[derive(Debug, Deserialize)]
struct StaticConfig {
    #[serde(default = "default_true")]
    normalize: bool,
    /// `null` in model2vec means "no truncation"; we keep the default bound instead, so the
    /// cost of one text stays bounded.
    #[serde(default)]
    max_length: Option<usize>,
}

fn default_true() -> bool {
    true
}

/// The tensors of a model2vec `model.safetensors`, checked against each other.
struct Tensors {
    table: Table,
    rows: usize,
    dims: usize,
    token_weights: Option<Vec<f32>>,
    mapping: Option<Vec<u32>>,
    /// sha256 of the `embeddings` bytes, then `weights` and `mapping` bytes when present.
    sha256: String,
}

impl Tensors {
    /// `keep_i8` turns the int8 table's bytes into the stored table (borrowing when `bytes` is
    /// `'static`).
    fn parse<'a>(
        bytes: &'a [u8],
        keep_i8: impl FnOnce(&'a [u8]) -> Cow<'static, [u8]>,
    ) -> Result<Self, String> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| format!("model.safetensors: {e}"))?;
        let emb = st
            .tensor("embeddings")
            .or_else(|_| st.tensor("embedding.weight"))
            .map_err(|_| "model.safetensors has no `embeddings` tensor".to_owned())?;
        let &[rows, dims] = emb.shape() else {
            return Err(format!(
                "`embeddings` must be 2-d, has shape {:?}",
                emb.shape()
            ));
        };
        if rows == 0 || dims == 0 {
            return Err(format!("`embeddings` is empty ({rows}x{dims})"));
        }
        let mut hasher = Sha256::new();
        hasher.update(emb.data());
        let table = match emb.dtype() {
            Dtype::I8 => Table::I8(keep_i8(emb.data())),
            other => Table::F32(
                to_f32(other, emb.data())
                    .ok_or_else(|| format!("unsupported `embeddings` dtype {other:?}"))?,
            ),
        };
        let token_weights = match st.tensor("weights") {
            Ok(w) => {
                hasher.update(w.data());
                Some(
                    to_f32(w.dtype(), w.data())
                        .ok_or_else(|| format!("unsupported `weights` dtype {:?}", w.dtype()))?,
                )
            }
            Err(_) => None,
        };
        let mapping = match st.tensor("mapping") {
            Ok(m) => {
                hasher.update(m.data());
                let v = to_u32(m.dtype(), m.data())
                    .ok_or_else(|| format!("unsupported `mapping` dtype {:?}", m.dtype()))?;
                if let Some(bad) = v.iter().find(|&&r| r as usize >= rows) {
                    return Err(format!("`mapping` points at row {bad} of {rows}"));
                }
                Some(v)
            }
            Err(_) => None,
        };
        let sha256 = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            table,
            rows,
            dims,
            token_weights,
            mapping,
            sha256,
        })
    }
}

impl StaticEmbedder {
    /// The bundled default model, from bytes compiled into the binary. Needs no files and no
    /// network. Loading parses the tokenizer and hashes the table (tens of milliseconds), so
    /// load it once and share it.
    pub fn bundled() -> Result<Self, SearchError> {
        Self::from_parts(
            BUNDLED_NAME,
            BUNDLED_DIR,
            Cow::Borrowed(BUNDLED_SAFETENSORS),
            BUNDLED_TOKENIZER,
            BUNDLED_CONFIG,
        )
    }

    /// Loads a model2vec-format folder: `model.safetensors` (an `embeddings` tensor, or
    /// sentence-transformers' `embedding.weight`, in f32, f16, bf16 or i8, with optional
    /// `weights` and `mapping` tensors), `tokenizer.json` and `config.json`. The identity name
    /// is `static:` followed by the folder name.
    pub fn from_dir(path: impl AsRef<Path>) -> Result<Self, SearchError> {
        let dir = path.as_ref();
        let read = |file: &str| {
            let p = dir.join(file);
            std::fs::read(&p).map_err(|source| SearchError::Io {
                path: p.display().to_string(),
                source,
            })
        };
        let weights = read("model.safetensors")?;
        let tokenizer = read("tokenizer.json")?;
        let config = read("config.json")?;
        let folder = dir
            .canonicalize()
            .ok()
            .as_deref()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Self::from_parts(
            &format!("static:{folder}"),
            &dir.display().to_string(),
            Cow::Owned(weights),
            &tokenizer,
            &config,
        )
    }

    fn from_parts(
        name: &str,
        origin: &str,
        safetensors_bytes: Cow<'static, [u8]>,
        tokenizer_json: &[u8],
        config_json: &[u8],
    ) -> Result<Self, SearchError> {
        let fail = |message: String| SearchError::ModelLoad {
            model: origin.to_owned(),
            message,
        };
        let config: StaticConfig =
            serde_json::from_slice(config_json).map_err(|e| fail(format!("config.json: {e}")))?;
        let max_tokens = config.max_length.unwrap_or(DEFAULT_MAX_TOKENS).max(1);

        let mut tokenizer = Tokenizer::from_bytes(tokenizer_json)
            .map_err(|e| fail(format!("tokenizer.json: {e}")))?;
        // Exported tokenizers often carry the teacher's fixed padding and truncation (MiniLM's
        // pads every text to 128 tokens): both would change the mean.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| fail(format!("tokenizer.json: {e}")))?;
        let unk_id = unknown_token_id(&tokenizer, tokenizer_json);

        let Tensors {
            table,
            rows,
            dims,
            token_weights,
            mapping,
            sha256,
        } = match safetensors_bytes {
            // The bundled table stays where the binary has it: no copy, no allocation.
            Cow::Borrowed(bytes) => Tensors::parse(bytes, Cow::Borrowed),
            Cow::Owned(bytes) => Tensors::parse(&bytes, |d: &[u8]| Cow::Owned(d.to_vec())),
        }
        .map_err(fail)?;

        let vocab = tokenizer.get_vocab_size(true);
        let covered = mapping.as_ref().map_or(rows, Vec::len);
        if vocab > covered {
            return Err(fail(format!(
                "tokenizer has {vocab} tokens but the table covers {covered}"
            )));
        }
        if let Some(w) = &token_weights
            && w.len() < vocab
        {
            return Err(fail(format!(
                "`weights` has {} entries for {vocab} tokens",
                w.len()
            )));
        }

        let identity = ModelIdentity {
            name: name.to_owned(),
            weights_sha256: sha256,
            dimensions: dims,
            max_tokens,
            pooling: if config.normalize {
                "weighted-mean+l2"
            } else {
                "weighted-mean"
            }
            .to_owned(),
        };
        Ok(Self {
            tokenizer,
            table,
            rows,
            dims,
            token_weights,
            mapping,
            unk_id,
            word_cache: words_are_independent(tokenizer_json).then(|| RwLock::new(HashMap::new())),
            max_tokens,
            normalize: config.normalize,
            identity,
        })
    }

    /// Token ids of `text` as the model averages them: no special tokens, no unknown token, at
    /// most `max_tokens`. Exposed for tests and diagnostics.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, SearchError> {
        let mut ids = Vec::new();
        self.token_ids_into(text, &mut ids)?;
        Ok(ids)
    }

    /// Fills `ids` (cleared first) with the ids [`Self::token_ids`] returns.
    fn token_ids_into(&self, text: &str, ids: &mut Vec<u32>) -> Result<(), SearchError> {
        ids.clear();
        let text = cut(text, self.max_tokens);
        let unk = self.unk_id;
        let Some(cache) = &self.word_cache else {
            let enc = self.encode(text)?;
            ids.extend(enc.get_ids().iter().filter(|&&id| Some(id) != unk));
            ids.truncate(self.max_tokens);
            return Ok(());
        };
        for word in text.split(SAFE_SPLIT).filter(|w| !w.is_empty()) {
            if ids.len() >= self.max_tokens {
                break;
            }
            let hit = cache
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(word)
                .map(|w| ids.extend(w.iter().filter(|&&id| Some(id) != unk)));
            if hit.is_some() {
                continue;
            }
            let enc = self.encode(word)?;
            let word_ids: Box<[u32]> = enc.get_ids().into();
            ids.extend(word_ids.iter().filter(|&&id| Some(id) != unk));
            let mut map = cache.write().unwrap_or_else(PoisonError::into_inner);
            // A bound, so that adversarial input cannot grow the cache without limit.
            if map.len() < WORD_CACHE_CAPACITY {
                map.insert(word.into(), word_ids);
            }
        }
        ids.truncate(self.max_tokens);
        Ok(())
    }

    fn encode(&self, text: &str) -> Result<tokenizers::Encoding, SearchError> {
        self.tokenizer
            .encode_fast(text, false)
            .map_err(|e| SearchError::Embed(format!("tokenizer: {e}")))
    }

    /// Writes the pooled vector of `ids` (already filtered and truncated) into `out` (length
    /// `dims`, overwritten).
    fn pool(&self, ids: &[u32], out: &mut [f32]) {
        out.fill(0.0);
        let mut n = 0usize;
        for &id in ids {
            let Some(row) = self.row_of(id) else {
                continue;
            };
            let w = self
                .token_weights
                .as_ref()
                .map_or(1.0, |w| w.get(id as usize).copied().unwrap_or(0.0));
            let start = row * self.dims;
            match &self.table {
                Table::F32(t) => {
                    for (acc, &x) in out.iter_mut().zip(&t[start..start + self.dims]) {
                        *acc += w * x;
                    }
                }
                Table::I8(t) => {
                    for (acc, &x) in out.iter_mut().zip(&t[start..start + self.dims]) {
                        *acc += w * f32::from(x as i8);
                    }
                }
            }
            n += 1;
        }
        if n == 0 {
            return;
        }
        let inv_n = 1.0 / n as f32;
        out.iter_mut().for_each(|x| *x *= inv_n);
        if self.normalize {
            let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                out.iter_mut().for_each(|x| *x /= norm);
            }
        }
    }

    fn row_of(&self, id: u32) -> Option<usize> {
        match &self.mapping {
            Some(m) => m.get(id as usize).map(|&r| r as usize),
            None => Some(id as usize).filter(|&r| r < self.rows),
        }
    }

    /// Embeds one text into `out` (length [`ModelIdentity::dimensions`]), reusing the caller's
    /// buffer. A text with no known token gets the zero vector.
    pub fn embed_into(&self, text: &str, out: &mut [f32]) -> Result<(), SearchError> {
        let mut ids = Vec::new();
        self.embed_with(text, &mut ids, out)
    }

    fn embed_with(
        &self,
        text: &str,
        ids: &mut Vec<u32>,
        out: &mut [f32],
    ) -> Result<(), SearchError> {
        if out.len() != self.dims {
            return Err(SearchError::Embed(format!(
                "output buffer has {} slots for {} dimensions",
                out.len(),
                self.dims
            )));
        }
        self.token_ids_into(text, ids)?;
        self.pool(ids, out);
        Ok(())
    }

    /// Embeds `texts` into `out` (`texts.len() * dims` floats, row-major) on one thread.
    fn embed_rows(&self, texts: &[&str], out: &mut [f32]) -> Result<(), SearchError> {
        let mut ids = Vec::with_capacity(self.max_tokens);
        for (text, row) in texts.iter().zip(out.chunks_exact_mut(self.dims)) {
            self.embed_with(text, &mut ids, row)?;
        }
        Ok(())
    }
}

impl Embedder for StaticEmbedder {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    /// A query is a few table rows summed: 2-5 µs.
    fn embeds_queries_cheaply(&self) -> bool {
        true
    }

    /// Large batches are split over the machine's cores. A text with no known token (empty,
    /// whitespace, only unknown characters) gets the zero vector.
    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, SearchError> {
        let mut flat = vec![0.0; texts.len() * self.dims];
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(texts.len() / MIN_TEXTS_PER_THREAD)
            .max(1);
        if threads == 1 {
            self.embed_rows(texts, &mut flat)?;
        } else {
            let per = texts.len().div_ceil(threads);
            std::thread::scope(|scope| {
                let jobs: Vec<_> = texts
                    .chunks(per)
                    .zip(flat.chunks_mut(per * self.dims))
                    .map(|(t, o)| scope.spawn(move || self.embed_rows(t, o)))
                    .collect();
                jobs.into_iter().try_for_each(|j| {
                    j.join().unwrap_or_else(|_| {
                        Err(SearchError::Embed("embedding thread panicked".into()))
                    })
                })
            })?;
        }
        Ok(flat.chunks_exact(self.dims).map(<[f32]>::to_vec).collect())
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, SearchError> {
        let mut v = vec![0.0; self.dims];
        self.embed_into(text, &mut v)?;
        Ok(v)
    }
}

/// Whether whitespace-separated words of `tokenizer_json`'s tokenizer can be tokenised one at a
/// time (and so memoised): true for BERT-style pipelines (BertNormalizer or none, then
/// BertPreTokenizer or whitespace splitting, then WordPiece), where ASCII spaces, tabs and
/// newlines always end a word and nothing reaches across them. Byte-level BPE or Metaspace
/// tokenizers fold the space into the next token, so they take the whole-text path.
fn words_are_independent(tokenizer_json: &[u8]) -> bool {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(tokenizer_json) else {
        return false;
    };
    let kind = |key: &str| {
        json.get(key)
            .and_then(|v| v.get("type"))
            .and_then(|t| t.as_str())
    };
    let normalizer_ok = json
        .get("normalizer")
        .is_none_or(serde_json::Value::is_null)
        || kind("normalizer") == Some("BertNormalizer");
    let pre_ok = matches!(
        kind("pre_tokenizer"),
        Some("BertPreTokenizer" | "Whitespace" | "WhitespaceSplit")
    );
    let model_ok = kind("model") == Some("WordPiece");
    let added_ok = json
        .get("added_tokens")
        .and_then(serde_json::Value::as_array)
        .is_none_or(|tokens| {
            tokens.iter().all(|t| {
                t.get("content")
                    .and_then(|c| c.as_str())
                    .is_some_and(|c| !c.contains(SAFE_SPLIT))
            })
        });
    normalizer_ok && pre_ok && model_ok && added_ok
}

/// The longest prefix of `text` of at most `max_tokens * BYTES_PER_TOKEN_CUT` bytes that ends on
/// a character boundary.
fn cut(text: &str, max_tokens: usize) -> &str {
    let limit = max_tokens.saturating_mul(BYTES_PER_TOKEN_CUT);
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The id model2vec drops from every text: the model's unknown token (`unk_token` for WordPiece,
/// BPE and WordLevel, `unk_id` for Unigram), if it has one.
fn unknown_token_id(tokenizer: &Tokenizer, tokenizer_json: &[u8]) -> Option<u32> {
    let json: serde_json::Value = serde_json::from_slice(tokenizer_json).ok()?;
    let model = json.get("model")?;
    if let Some(tok) = model.get("unk_token").and_then(|t| t.as_str()) {
        return tokenizer.token_to_id(tok);
    }
    model
        .get("unk_id")
        .and_then(serde_json::Value::as_u64)
        .and_then(|id| u32::try_from(id).ok())
}

fn to_f32(dtype: Dtype, data: &[u8]) -> Option<Vec<f32>> {
    Some(match dtype {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        Dtype::I8 => data.iter().map(|&b| f32::from(b as i8)).collect(),
        _ => return None,
    })
}

fn to_u32(dtype: Dtype, data: &[u8]) -> Option<Vec<u32>> {
    Some(match dtype {
        Dtype::I64 => data
            .chunks_exact(8)
            .map(|c| {
                let v = i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
                u32::try_from(v).unwrap_or(u32::MAX)
            })
            .collect(),
        Dtype::I32 => data
            .chunks_exact(4)
            .map(|c| {
                let v = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                u32::try_from(v).unwrap_or(u32::MAX)
            })
            .collect(),
        Dtype::U32 => data
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn cut_keeps_short_texts_and_backs_off_to_a_char_boundary() {
        // (text, max_tokens, expected): the limit is max_tokens * 32 bytes.
        let e_acute = "é".repeat(20); // 40 bytes, 2 per char
        let cases: &[(&str, usize, &str)] = &[
            ("", 1, ""),
            ("short", 1, "short"),
            (&e_acute, 1, &e_acute[..32]),
            ("€€€€€€€€€€€", 1, "€€€€€€€€€€"), // 33 bytes -> 30 (3 per char)
            ("abc", 0, ""),
        ];
        for &(text, max_tokens, want) in cases {
            assert_eq!(cut(text, max_tokens), want, "{text:?} / {max_tokens}");
        }
    }

    proptest! {
        #[test]
        fn cut_is_the_longest_fitting_prefix(text in "\\PC{0,200}", max_tokens in 0usize..8) {
            let got = cut(&text, max_tokens);
            let limit = max_tokens * BYTES_PER_TOKEN_CUT;
            prop_assert!(text.starts_with(got));
            prop_assert!(got.len() <= limit || got.len() == text.len() && text.len() <= limit);
            if got.len() < text.len() {
                // One more character would not fit.
                let next = text[got.len()..].chars().next().map_or(0, char::len_utf8);
                prop_assert!(got.len() + next > limit);
            }
        }
    }

    fn bundled() -> &'static StaticEmbedder {
        static MODEL: std::sync::OnceLock<StaticEmbedder> = std::sync::OnceLock::new();
        MODEL.get_or_init(|| StaticEmbedder::bundled().unwrap())
    }

    /// The word cache must give exactly the ids of tokenising the whole text at once.
    fn assert_cache_matches_whole_text(model: &StaticEmbedder, text: &str) {
        assert!(model.word_cache.is_some());
        let whole: Vec<u32> = model
            .encode(cut(text, model.max_tokens))
            .unwrap()
            .get_ids()
            .iter()
            .copied()
            .filter(|&id| Some(id) != model.unk_id)
            .take(model.max_tokens)
            .collect();
        // Twice: the first fills the cache, the second reads it.
        assert_eq!(model.token_ids(text).unwrap(), whole, "{text:?}");
        assert_eq!(model.token_ids(text).unwrap(), whole, "{text:?}");
    }

    #[test]
    fn word_cache_equals_whole_text_tokenisation_on_awkward_whitespace() {
        let model = bundled();
        for text in [
            "a\u{85}b next\u{85} line", // NEL: whitespace to Rust, a control char removed by BERT
            "x\u{0}y z\u{fffd}w",       // removed characters join words
            "no\u{a0}break\u{2003}em space", // Unicode spaces the cache does not split on
            "foo[UNK]bar [PAD] [CLS]x", // special tokens inside and between words
            "tab\tnew\nline\r\nend   ",
            "Straße ÉCOLE naïve İstanbul ﬁne",
            "日本語テキスト検索 mixed漢字words",
            "(parenthesised), punctuated; words! and--dashes",
        ] {
            assert_cache_matches_whole_text(model, text);
        }
    }

    proptest! {
        #[test]
        fn word_cache_equals_whole_text_tokenisation(text in "[a-zA-Z0-9 \t\n\r.,;()\u{a0}\u{85}\u{0}é漢ß-]{0,80}") {
            assert_cache_matches_whole_text(bundled(), &text);
        }
    }

    #[test]
    fn float_and_index_tensors_decode_little_endian() {
        let f32s: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(to_f32(Dtype::F32, &f32s), Some(vec![1.5, -2.0]));
        let f16s: Vec<u8> = [half::f16::from_f32(0.5), half::f16::from_f32(-3.0)]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(to_f32(Dtype::F16, &f16s), Some(vec![0.5, -3.0]));
        assert_eq!(to_f32(Dtype::I8, &[0xff, 0x02]), Some(vec![-1.0, 2.0]));
        assert_eq!(to_f32(Dtype::BOOL, &[1]), None);
        let i64s: Vec<u8> = [7i64, -1].iter().flat_map(|x| x.to_le_bytes()).collect();
        // A negative row index becomes u32::MAX, which the loader's bounds check rejects.
        assert_eq!(to_u32(Dtype::I64, &i64s), Some(vec![7, u32::MAX]));
        assert_eq!(to_u32(Dtype::F32, &[0; 4]), None);
    }
}
