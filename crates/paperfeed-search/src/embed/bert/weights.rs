//! BERT weights from `model.safetensors`, converted to f32 (or quantised to int8) and arranged
//! for the forward pass: query, key and value fused into one `[3 * hidden, hidden]` product
//! with the attention scale `1/sqrt(head_dim)` folded into the query part, and the token-type-0
//! row added to the position table once instead of to every token. Linear weights keep
//! PyTorch's `[out, in]` layout: `gemm` reads it as a transposed view about as fast as a
//! transposed copy, and the few-rows product wants each output's weights contiguous.

use safetensors::{Dtype, SafeTensors};

use super::Precision;
use super::config::ModelConfig;
use super::int8::{Output, QuantLinear, QuantRows};
use super::kernels;
use super::matmul::{Mat, MatMut, matmul};

/// Up to this many rows, f32 products stream the weights instead of calling `gemm` (see
/// `kernels::small_matmul`); measured crossover on Zen 4.
const SMALL_M: usize = 16;

/// A linear layer's weight (its bias is applied by the caller, fused into a later pass).
#[derive(Debug)]
pub(crate) enum Linear {
    /// `[out, in]` row-major.
    F32 { w: Vec<f32>, k: usize, n: usize },
    /// Quantised per output column.
    Int8(QuantLinear),
}

impl Linear {
    /// From an `[n, k]` (out, in) weight.
    fn new(w: Vec<f32>, n: usize, k: usize, precision: Precision) -> Self {
        match precision {
            Precision::F32 => Self::F32 { w, k, n },
            Precision::Int8 => Self::Int8(QuantLinear::new(&w, n, k)),
        }
    }

    /// `dst = out(x · W)` for `x` `[m, in]` and `dst` `[m, out]`, both row-major.
    pub(crate) fn apply(
        &self,
        x: &[f32],
        m: usize,
        dst: &mut [f32],
        out: Output<'_>,
        rows: &mut QuantRows,
    ) {
        match self {
            Self::F32 { w, k, n } => {
                let product = |dst: &mut [f32], accumulate: bool| {
                    if m <= SMALL_M {
                        return kernels::small_matmul(x, w, dst, *n, accumulate);
                    }
                    matmul(
                        MatMut::row_major(dst, m, *n),
                        Mat::row_major(x, m, *k),
                        Mat::new(w, *k, *n, 1, *k),
                        accumulate,
                    );
                };
                match out {
                    Output::Accumulate => product(dst, true),
                    // The bias goes in first, as the product's starting value.
                    Output::Bias(b) => {
                        for row in dst.chunks_exact_mut(*n) {
                            row.copy_from_slice(b);
                        }
                        product(dst, true);
                    }
                    Output::BiasActivation(b, act) => {
                        product(dst, false);
                        kernels::bias_activation(dst, b, act);
                    }
                }
            }
            Self::Int8(q) => q.matmul(x, m, dst, out, rows),
        }
    }
}

/// Layer-norm parameters.
#[derive(Debug)]
pub(crate) struct Norm {
    pub(crate) gamma: Vec<f32>,
    pub(crate) beta: Vec<f32>,
}

/// One encoder layer.
#[derive(Debug)]
pub(crate) struct Layer {
    /// `[hidden, 3 * hidden]`: query (pre-scaled), key, value.
    pub(crate) qkv: Linear,
    pub(crate) qkv_bias: Vec<f32>,
    /// `[hidden, hidden]`.
    pub(crate) out: Linear,
    pub(crate) out_bias: Vec<f32>,
    pub(crate) attn_norm: Norm,
    /// `[hidden, intermediate]`.
    pub(crate) up: Linear,
    pub(crate) up_bias: Vec<f32>,
    /// `[intermediate, hidden]`.
    pub(crate) down: Linear,
    pub(crate) down_bias: Vec<f32>,
    pub(crate) ffn_norm: Norm,
}

/// All weights of the encoder.
#[derive(Debug)]
pub(crate) struct Weights {
    /// `[vocab, hidden]`.
    pub(crate) word: Vec<f32>,
    /// `[positions, hidden]`: position embedding plus the token-type-0 embedding.
    pub(crate) position: Vec<f32>,
    pub(crate) embed_norm: Norm,
    pub(crate) layers: Vec<Layer>,
}

/// Tensor-name prefixes under which checkpoints store the encoder: plain `BertModel` exports
/// have none, `BertForMaskedLM`-style ones nest it.
const PREFIXES: [&str; 4] = ["", "bert.", "roberta.", "model."];

struct Reader<'a> {
    st: SafeTensors<'a>,
    prefix: &'static str,
}

impl Reader<'_> {
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let full = format!("{}{name}", self.prefix);
        let t = self
            .st
            .tensor(&full)
            .map_err(|_| format!("model.safetensors has no tensor {full}"))?;
        if t.shape() != shape {
            return Err(format!(
                "{full} has shape {:?}, expected {shape:?}",
                t.shape()
            ));
        }
        let bytes = t.data();
        let out: Vec<f32> = match t.dtype() {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => bytes
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(format!(
                    "{full} has dtype {other:?}; expected F32, F16 or BF16"
                ));
            }
        };
        if out.len() != shape.iter().product::<usize>() {
            return Err(format!("{full}: data length does not match its shape"));
        }
        Ok(out)
    }

    fn norm(&self, name: &str, n: usize) -> Result<Norm, String> {
        // Old TF-converted checkpoints call them gamma/beta.
        let gamma = self
            .tensor(&format!("{name}.weight"), &[n])
            .or_else(|_| self.tensor(&format!("{name}.gamma"), &[n]))?;
        let beta = self
            .tensor(&format!("{name}.bias"), &[n])
            .or_else(|_| self.tensor(&format!("{name}.beta"), &[n]))?;
        Ok(Norm { gamma, beta })
    }
}

impl Weights {
    /// Reads and rearranges every tensor the encoder needs from a safetensors file's bytes.
    pub(crate) fn load(
        bytes: &[u8],
        cfg: &ModelConfig,
        precision: Precision,
    ) -> Result<Self, String> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| format!("model.safetensors: {e}"))?;
        let names = st.names();
        let prefix = PREFIXES
            .into_iter()
            .find(|p| {
                names
                    .iter()
                    .any(|n| **n == format!("{p}embeddings.word_embeddings.weight"))
            })
            .ok_or(
                "model.safetensors has no embeddings.word_embeddings.weight (not a BERT model?)",
            )?;
        let r = Reader { st, prefix };
        let (h, i) = (cfg.hidden, cfg.intermediate);

        let word = r.tensor("embeddings.word_embeddings.weight", &[cfg.vocab_size, h])?;
        let mut position = r.tensor(
            "embeddings.position_embeddings.weight",
            &[cfg.max_positions, h],
        )?;
        let types = r.tensor(
            "embeddings.token_type_embeddings.weight",
            &[cfg.type_vocab_size, h],
        )?;
        for row in position.chunks_exact_mut(h) {
            for (p, t) in row.iter_mut().zip(&types[..h]) {
                *p += t;
            }
        }
        let embed_norm = r.norm("embeddings.LayerNorm", h)?;

        let scale = 1.0 / ((h / cfg.heads) as f32).sqrt();
        let mut layers = Vec::with_capacity(cfg.layers);
        for l in 0..cfg.layers {
            let p = format!("encoder.layer.{l}.");
            let mut qkv = r.tensor(&format!("{p}attention.self.query.weight"), &[h, h])?;
            qkv.iter_mut().for_each(|w| *w *= scale);
            qkv.extend(r.tensor(&format!("{p}attention.self.key.weight"), &[h, h])?);
            qkv.extend(r.tensor(&format!("{p}attention.self.value.weight"), &[h, h])?);
            let mut qkv_bias = r.tensor(&format!("{p}attention.self.query.bias"), &[h])?;
            qkv_bias.iter_mut().for_each(|b| *b *= scale);
            qkv_bias.extend(r.tensor(&format!("{p}attention.self.key.bias"), &[h])?);
            qkv_bias.extend(r.tensor(&format!("{p}attention.self.value.bias"), &[h])?);
            let linear = |name: &str, out: usize, inp: usize| -> Result<Linear, String> {
                Ok(Linear::new(
                    r.tensor(&format!("{p}{name}"), &[out, inp])?,
                    out,
                    inp,
                    precision,
                ))
            };
            layers.push(Layer {
                qkv: Linear::new(qkv, 3 * h, h, precision),
                qkv_bias,
                out: linear("attention.output.dense.weight", h, h)?,
                out_bias: r.tensor(&format!("{p}attention.output.dense.bias"), &[h])?,
                attn_norm: r.norm(&format!("{p}attention.output.LayerNorm"), h)?,
                up: linear("intermediate.dense.weight", i, h)?,
                up_bias: r.tensor(&format!("{p}intermediate.dense.bias"), &[i])?,
                down: linear("output.dense.weight", h, i)?,
                down_bias: r.tensor(&format!("{p}output.dense.bias"), &[h])?,
                ffn_norm: r.norm(&format!("{p}output.LayerNorm"), h)?,
            });
        }
        Ok(Self {
            word,
            position,
            embed_norm,
            layers,
        })
    }
}
