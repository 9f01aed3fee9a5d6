//! Reading a sentence-transformers folder: the Hugging Face `config.json` of the transformer,
//! `modules.json` (which modules run, in which order), the pooling module's config,
//! `sentence_bert_config.json` (`max_seq_length`), `config_sentence_transformers.json`
//! (prompts), and the human name of the model.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::kernels::Activation;

/// The transformer's shape and numerics, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ModelConfig {
    pub(crate) vocab_size: usize,
    pub(crate) hidden: usize,
    pub(crate) layers: usize,
    pub(crate) heads: usize,
    pub(crate) intermediate: usize,
    pub(crate) activation: Activation,
    pub(crate) layer_norm_eps: f32,
    /// Rows in the position table.
    pub(crate) max_positions: usize,
    pub(crate) type_vocab_size: usize,
    /// Position id of the first token: 0 for BERT, `pad_token_id + 1` for RoBERTa.
    pub(crate) position_offset: usize,
    /// `_name_or_path`, the checkpoint the model was saved from (often its base model).
    pub(crate) name_or_path: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawConfig {
    #[serde(default)]
    model_type: Option<String>,
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    #[serde(default)]
    hidden_act: Option<String>,
    #[serde(default)]
    layer_norm_eps: Option<f64>,
    max_position_embeddings: usize,
    #[serde(default)]
    type_vocab_size: Option<usize>,
    #[serde(default)]
    pad_token_id: Option<usize>,
    #[serde(default)]
    position_embedding_type: Option<String>,
    #[serde(default, rename = "_name_or_path")]
    name_or_path: Option<String>,
}

impl ModelConfig {
    /// Parses and checks `config.json`. Only BERT-architecture encoders are accepted: `bert`,
    /// and `roberta`/`xlm-roberta`/`camembert`, which share its weights and differ in positions.
    pub(crate) fn parse(json: &str) -> Result<Self, String> {
        let raw: RawConfig = serde_json::from_str(json).map_err(|e| format!("config.json: {e}"))?;
        let model_type = raw.model_type.as_deref().unwrap_or("bert");
        let position_offset = match model_type {
            "bert" => 0,
            // fairseq's convention: positions count from padding_idx + 1.
            "roberta" | "xlm-roberta" | "camembert" => raw.pad_token_id.unwrap_or(1) + 1,
            other => {
                return Err(format!(
                    "model_type {other:?} is not a BERT-family encoder (bert, roberta, xlm-roberta, camembert)"
                ));
            }
        };
        if let Some(kind) = raw.position_embedding_type.as_deref()
            && kind != "absolute"
        {
            return Err(format!(
                "position_embedding_type {kind:?} is not supported (only absolute)"
            ));
        }
        let act_name = raw.hidden_act.as_deref().unwrap_or("gelu");
        let activation = Activation::from_name(act_name)
            .ok_or_else(|| format!("hidden_act {act_name:?} is not supported"))?;
        let positive = [
            ("vocab_size", raw.vocab_size),
            ("hidden_size", raw.hidden_size),
            ("num_hidden_layers", raw.num_hidden_layers),
            ("num_attention_heads", raw.num_attention_heads),
            ("intermediate_size", raw.intermediate_size),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("config.json: {name} is 0"));
        }
        // Bounds that no real BERT comes near; they keep a corrupt config from asking for
        // absurd allocations.
        if raw.hidden_size > 16_384 || raw.intermediate_size > 65_536 || raw.num_hidden_layers > 256
        {
            return Err("config.json: implausibly large model dimensions".into());
        }
        if !raw.hidden_size.is_multiple_of(raw.num_attention_heads) {
            return Err(format!(
                "config.json: hidden_size {} is not a multiple of num_attention_heads {}",
                raw.hidden_size, raw.num_attention_heads
            ));
        }
        if raw.max_position_embeddings <= position_offset + 2 {
            return Err("config.json: max_position_embeddings leaves no room for tokens".into());
        }
        let eps = raw.layer_norm_eps.unwrap_or(1e-12);
        if !(eps > 0.0 && eps < 1.0) {
            return Err(format!("config.json: layer_norm_eps {eps} out of range"));
        }
        Ok(Self {
            vocab_size: raw.vocab_size,
            hidden: raw.hidden_size,
            layers: raw.num_hidden_layers,
            heads: raw.num_attention_heads,
            intermediate: raw.intermediate_size,
            activation,
            layer_norm_eps: eps as f32,
            max_positions: raw.max_position_embeddings,
            type_vocab_size: raw.type_vocab_size.unwrap_or(2).max(1),
            position_offset,
            name_or_path: raw.name_or_path.filter(|s| !s.trim().is_empty()),
        })
    }

    /// The most tokens one input can have, limited by the position table.
    pub(crate) fn max_tokens(&self) -> usize {
        self.max_positions - self.position_offset
    }
}

/// One sentence-transformers pooling mode. Several may be on; their outputs are concatenated
/// in this order, as sentence-transformers does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolingMode {
    /// The first token's (`[CLS]`) vector.
    Cls,
    /// Element-wise maximum over the tokens.
    Max,
    /// Mean over the tokens (special tokens included, as in sentence-transformers).
    Mean,
    /// Sum over the tokens divided by the square root of their number.
    MeanSqrtLen,
}

impl PoolingMode {
    fn label(self) -> &'static str {
        match self {
            Self::Cls => "cls",
            Self::Max => "max",
            Self::Mean => "mean",
            Self::MeanSqrtLen => "mean_sqrt_len",
        }
    }
}

#[derive(Debug, Deserialize, Default)]
struct RawPooling {
    #[serde(default)]
    word_embedding_dimension: Option<usize>,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

/// Pooling and normalisation of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pooling {
    pub(crate) modes: Vec<PoolingMode>,
    /// Whether `modules.json` lists a `Normalize` module. Vectors are L2-normalised either way
    /// (the [`Embedder`](crate::embed::Embedder) contract); this only shows in the identity.
    pub(crate) normalize_module: bool,
}

impl Pooling {
    /// `mean+l2`, `cls+l2`, `cls+mean+l2`: the identity's pooling field.
    pub(crate) fn describe(&self) -> String {
        let mut parts: Vec<&str> = self.modes.iter().map(|m| m.label()).collect();
        parts.push("l2");
        parts.join("+")
    }

    fn parse(json: &str, hidden: usize) -> Result<Self, String> {
        let raw: RawPooling =
            serde_json::from_str(json).map_err(|e| format!("pooling config.json: {e}"))?;
        if raw.pooling_mode_weightedmean_tokens || raw.pooling_mode_lasttoken {
            return Err("weighted-mean and last-token pooling are not supported".into());
        }
        if let Some(d) = raw.word_embedding_dimension
            && d != hidden
        {
            return Err(format!(
                "pooling word_embedding_dimension {d} differs from hidden_size {hidden}"
            ));
        }
        let mut modes = Vec::new();
        for (on, mode) in [
            (raw.pooling_mode_cls_token, PoolingMode::Cls),
            (raw.pooling_mode_max_tokens, PoolingMode::Max),
            (raw.pooling_mode_mean_tokens, PoolingMode::Mean),
            (
                raw.pooling_mode_mean_sqrt_len_tokens,
                PoolingMode::MeanSqrtLen,
            ),
        ] {
            if on {
                modes.push(mode);
            }
        }
        if modes.is_empty() {
            return Err("pooling config turns every pooling mode off".into());
        }
        Ok(Self {
            modes,
            normalize_module: false,
        })
    }
}

#[derive(Debug, Deserialize)]
struct RawModule {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize, Default)]
struct RawSbert {
    #[serde(default)]
    max_seq_length: Option<usize>,
}

#[derive(Debug, Deserialize, Default)]
struct RawStConfig {
    #[serde(default)]
    prompts: std::collections::BTreeMap<String, String>,
}

/// What a sentence-transformers folder says beyond the transformer itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pipeline {
    /// Folder of the transformer files (the model folder itself, or a `0_Transformer`-style
    /// subfolder in old layouts).
    pub(crate) transformer_dir: PathBuf,
    pub(crate) pooling: Pooling,
    /// `max_seq_length` from `sentence_bert_config.json`.
    pub(crate) max_seq_length: Option<usize>,
    /// Prompt prepended to queries (`prompts.query`).
    pub(crate) query_prompt: String,
    /// Prompt prepended to documents (`prompts.document`, `passage` or `corpus`).
    pub(crate) document_prompt: String,
}

/// Files of the folder the pipeline needs, relative to the folder, in the order to fetch them.
/// `modules` is the parsed `modules.json`, when there is one.
pub(crate) fn module_files(modules_json: Option<&str>) -> Result<Vec<String>, String> {
    let mut files = Vec::new();
    let mut transformer = String::new();
    if let Some(json) = modules_json {
        for m in parse_modules(json)? {
            if m.kind.ends_with(".Pooling") {
                files.push(join(&m.path, "config.json"));
            } else if m.kind.ends_with(".Transformer") {
                transformer = m.path;
            }
        }
    }
    files.push(join(&transformer, "sentence_bert_config.json"));
    files.push(join(&transformer, "config.json"));
    files.push(join(&transformer, "tokenizer.json"));
    files.push(join(&transformer, "model.safetensors"));
    Ok(files)
}

fn join(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        file.to_string()
    } else {
        format!("{}/{file}", dir.trim_end_matches('/'))
    }
}

fn parse_modules(json: &str) -> Result<Vec<RawModule>, String> {
    let modules: Vec<RawModule> =
        serde_json::from_str(json).map_err(|e| format!("modules.json: {e}"))?;
    for m in &modules {
        // Module paths index into the model folder; never let one climb out of it.
        if Path::new(&m.path).components().any(|c| {
            !matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        }) {
            return Err(format!(
                "modules.json: module path {:?} leaves the folder",
                m.path
            ));
        }
    }
    Ok(modules)
}

/// Reads the sentence-transformers files of `dir` (all optional: a bare Hugging Face BERT
/// folder gets mean pooling, as sentence-transformers gives it). `read` returns a file's text,
/// or `None` when it does not exist.
pub(crate) fn read_pipeline(
    dir: &Path,
    hidden: impl Fn(&Path) -> Result<usize, String>,
    read: impl Fn(&Path) -> Result<Option<String>, String>,
) -> Result<Pipeline, String> {
    let mut transformer_dir = dir.to_path_buf();
    let mut pooling_path = None;
    let mut normalize_module = false;
    if let Some(json) = read(&dir.join("modules.json"))? {
        let modules = parse_modules(&json)?;
        let mut seen_transformer = false;
        for m in modules {
            match m.kind.rsplit('.').next().unwrap_or_default() {
                "Transformer" if !seen_transformer => {
                    seen_transformer = true;
                    transformer_dir = dir.join(&m.path);
                }
                "Pooling" if pooling_path.is_none() => {
                    pooling_path = Some(dir.join(&m.path).join("config.json"));
                }
                "Normalize" => normalize_module = true,
                _ => {
                    return Err(format!(
                        "modules.json: module {:?} is not supported",
                        m.kind
                    ));
                }
            }
        }
    }
    let hidden = hidden(&transformer_dir)?;
    let mut pooling = match pooling_path {
        Some(p) => {
            let json = read(&p)?.ok_or_else(|| format!("{} is missing", p.display()))?;
            Pooling::parse(&json, hidden)?
        }
        None => Pooling {
            modes: vec![PoolingMode::Mean],
            normalize_module: false,
        },
    };
    pooling.normalize_module = normalize_module;
    let max_seq_length = match read(&transformer_dir.join("sentence_bert_config.json"))? {
        Some(json) => {
            serde_json::from_str::<RawSbert>(&json)
                .map_err(|e| format!("sentence_bert_config.json: {e}"))?
                .max_seq_length
        }
        None => None,
    };
    let prompts = match read(&dir.join("config_sentence_transformers.json"))? {
        Some(json) => {
            serde_json::from_str::<RawStConfig>(&json)
                .map_err(|e| format!("config_sentence_transformers.json: {e}"))?
                .prompts
        }
        None => Default::default(),
    };
    let query_prompt = prompts.get("query").cloned().unwrap_or_default();
    let document_prompt = ["document", "passage", "corpus"]
        .iter()
        .find_map(|k| prompts.get(*k).cloned())
        .unwrap_or_default();
    Ok(Pipeline {
        transformer_dir,
        pooling,
        max_seq_length,
        query_prompt,
        document_prompt,
    })
}

/// The name a model folder goes by, for its identity: the hub id its README loads it by
/// (`SentenceTransformer('org/name')`, the form sentence-transformers model cards use), else
/// the README's first heading, else the folder's own name. `_name_or_path` in `config.json` is
/// the last resort only: fine-tuned models keep their base model's name there.
pub(crate) fn model_name(dir: &Path, readme: Option<&str>, name_or_path: Option<&str>) -> String {
    if let Some(readme) = readme {
        if let Some(id) = readme_hub_id(readme) {
            return id;
        }
        if let Some(h) = readme
            .lines()
            .find_map(|l| l.strip_prefix("# "))
            .map(str::trim)
            .filter(|h| !h.is_empty() && h.len() <= 100)
        {
            return h.to_string();
        }
    }
    let folder = dir
        .file_name()
        .and_then(|s| s.to_str())
        .filter(|f| !is_generic_folder(f));
    if let Some(folder) = folder {
        return folder.to_string();
    }
    name_or_path
        .map(str::to_string)
        .unwrap_or_else(|| dir.display().to_string())
}

/// `model`, `snapshot`, or a 40-hex hub snapshot hash say nothing about which model it is.
fn is_generic_folder(name: &str) -> bool {
    matches!(name, "model" | "models" | "snapshot" | "." | "..")
        || (name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn readme_hub_id(readme: &str) -> Option<String> {
    let start = readme.find("SentenceTransformer(")? + "SentenceTransformer(".len();
    let rest = readme[start..].trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = &rest[1..];
    let id = &inner[..inner.find(quote)?];
    is_hub_id(id).then(|| id.to_string())
}

/// Whether `s` is shaped like a Hugging Face repo id: `name` or `org/name`, with letters,
/// digits, `-`, `_` and `.`, no `..`, at most 96 characters per part.
pub(crate) fn is_hub_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    if parts.is_empty() || parts.len() > 2 || s.contains("..") {
        return false;
    }
    parts.iter().all(|p| {
        !p.is_empty()
            && p.len() <= 96
            && !p.starts_with(['.', '-'])
            && !p.ends_with('.')
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINILM: &str = r#"{"_name_or_path": "nreimers/MiniLM-L6-H384-uncased",
        "architectures": ["BertModel"], "hidden_act": "gelu", "hidden_size": 384,
        "intermediate_size": 1536, "layer_norm_eps": 1e-12, "max_position_embeddings": 512,
        "model_type": "bert", "num_attention_heads": 12, "num_hidden_layers": 6,
        "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2,
        "vocab_size": 30522}"#;

    #[test]
    fn parses_the_minilm_config() {
        let c = ModelConfig::parse(MINILM).expect("valid");
        assert_eq!(
            (c.hidden, c.layers, c.heads, c.intermediate),
            (384, 6, 12, 1536)
        );
        assert_eq!(c.activation, Activation::Gelu);
        assert_eq!(c.position_offset, 0);
        assert_eq!(c.max_tokens(), 512);
        assert_eq!(
            c.name_or_path.as_deref(),
            Some("nreimers/MiniLM-L6-H384-uncased")
        );
    }

    #[test]
    fn roberta_positions_start_after_the_padding_index() {
        let json = MINILM
            .replace("\"bert\"", "\"xlm-roberta\"")
            .replace("\"pad_token_id\": 0", "\"pad_token_id\": 1")
            .replace("512", "514");
        let c = ModelConfig::parse(&json).expect("valid");
        assert_eq!(c.position_offset, 2);
        assert_eq!(c.max_tokens(), 512);
    }

    #[test]
    fn refuses_configs_it_cannot_run() {
        for (from, to, why) in [
            ("\"bert\"", "\"gpt2\"", "not a BERT-family"),
            (
                "\"absolute\"",
                "\"relative_key\"",
                "position_embedding_type",
            ),
            ("\"gelu\"", "\"mish\"", "hidden_act"),
            (
                "\"num_attention_heads\": 12",
                "\"num_attention_heads\": 7",
                "multiple",
            ),
            (
                "\"num_hidden_layers\": 6",
                "\"num_hidden_layers\": 0",
                "is 0",
            ),
            (
                "\"hidden_size\": 384",
                "\"hidden_size\": \"x\"",
                "config.json",
            ),
        ] {
            let err = ModelConfig::parse(&MINILM.replace(from, to)).expect_err(why);
            assert!(err.contains(why), "{err} should mention {why}");
        }
    }

    fn pipeline(files: &[(&str, &str)]) -> Result<Pipeline, String> {
        let files: Vec<(PathBuf, String)> = files
            .iter()
            .map(|(p, c)| (Path::new("/m").join(p), c.to_string()))
            .collect();
        read_pipeline(
            Path::new("/m"),
            |_| Ok(384),
            |p| Ok(files.iter().find(|(q, _)| q == p).map(|(_, c)| c.clone())),
        )
    }

    const MODULES: &str = r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
        {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
        {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#;

    #[test]
    fn reads_the_sentence_transformers_modules() {
        let p = pipeline(&[
            ("modules.json", MODULES),
            (
                "1_Pooling/config.json",
                r#"{"word_embedding_dimension": 384,
                "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true}"#,
            ),
            (
                "sentence_bert_config.json",
                r#"{"max_seq_length": 256, "do_lower_case": false}"#,
            ),
        ])
        .expect("valid");
        assert_eq!(p.pooling.describe(), "mean+l2");
        assert!(p.pooling.normalize_module);
        assert_eq!(p.max_seq_length, Some(256));
        assert_eq!(p.transformer_dir, Path::new("/m/"));
        assert_eq!(p.query_prompt, "");
    }

    #[test]
    fn cls_pooling_and_prompts() {
        let p = pipeline(&[
            ("modules.json", MODULES),
            (
                "1_Pooling/config.json",
                r#"{"pooling_mode_cls_token": true}"#,
            ),
            (
                "config_sentence_transformers.json",
                r#"{"prompts": {"query": "query: ", "passage": "passage: "}}"#,
            ),
        ])
        .expect("valid");
        assert_eq!(p.pooling.modes, vec![PoolingMode::Cls]);
        assert_eq!(p.query_prompt, "query: ");
        assert_eq!(p.document_prompt, "passage: ");
    }

    #[test]
    fn a_bare_transformer_folder_gets_mean_pooling() {
        let p = pipeline(&[]).expect("valid");
        assert_eq!(p.pooling.modes, vec![PoolingMode::Mean]);
        assert!(!p.pooling.normalize_module);
        assert_eq!(p.max_seq_length, None);
    }

    #[test]
    fn refuses_unknown_modules_and_escaping_paths() {
        let dense = MODULES.replace("models.Normalize", "models.Dense");
        assert!(
            pipeline(&[("modules.json", &dense)])
                .unwrap_err()
                .contains("Dense")
        );
        let escape = MODULES.replace("1_Pooling", "../elsewhere");
        assert!(
            pipeline(&[("modules.json", &escape)])
                .unwrap_err()
                .contains("leaves")
        );
        let missing = pipeline(&[("modules.json", MODULES)]).unwrap_err();
        assert!(missing.contains("1_Pooling"), "{missing}");
    }

    #[test]
    fn module_files_follow_modules_json() {
        let files = module_files(Some(MODULES)).expect("valid");
        assert_eq!(
            files,
            [
                "1_Pooling/config.json",
                "sentence_bert_config.json",
                "config.json",
                "tokenizer.json",
                "model.safetensors"
            ]
        );
        let old = MODULES.replace("\"path\":\"\"", "\"path\":\"0_Transformer\"");
        assert!(
            module_files(Some(&old))
                .expect("valid")
                .contains(&"0_Transformer/config.json".to_string())
        );
    }

    #[test]
    fn names_come_from_the_readme_then_the_folder() {
        let card = "---\nlicense: apache-2.0\n---\n# all-MiniLM-L6-v2\n\n```python\nmodel = SentenceTransformer('sentence-transformers/all-MiniLM-L6-v2')\n```";
        let dir = Path::new("/x/model");
        assert_eq!(
            model_name(dir, Some(card), None),
            "sentence-transformers/all-MiniLM-L6-v2"
        );
        assert_eq!(model_name(dir, Some("# my-model\n"), None), "my-model");
        assert_eq!(
            model_name(Path::new("/x/all-MiniLM-L6-v2"), None, Some("base")),
            "all-MiniLM-L6-v2"
        );
        let snap = Path::new("/c/snapshots/c9745ed1d9f207416be6d2e6f8de32d1f16199bf");
        assert_eq!(model_name(snap, None, Some("org/base")), "org/base");
        // A README whose snippet names a template, not an id, falls through to its heading.
        let tmpl = "# real-name\nSentenceTransformer('{MODEL_NAME}')";
        assert_eq!(model_name(dir, Some(tmpl), None), "real-name");
    }

    #[test]
    fn hub_ids() {
        for ok in [
            "bert-base-uncased",
            "BAAI/bge-small-en-v1.5",
            "intfloat/e5_small.v2",
        ] {
            assert!(is_hub_id(ok), "{ok}");
        }
        for bad in [
            "",
            "/abs/path",
            "a/b/c",
            "../x",
            "a/..",
            "./m",
            "a b",
            "org/",
            "x/.hidden",
        ] {
            assert!(!is_hub_id(bad), "{bad}");
        }
    }
}
