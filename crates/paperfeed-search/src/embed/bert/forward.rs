//! The BERT encoder forward pass over a packed batch: the tokens of all inputs of a batch are
//! stacked into one `[tokens, hidden]` matrix with no padding, so every linear layer is one
//! large matrix product and no work is spent on pad tokens; only attention looks at input
//! boundaries, running per input and head. No attention mask is needed, since an input never
//! sees another input's tokens.
//!
//! Per layer: `qkv = x·Wqkv + b` (the attention scale is folded into the query weights),
//! per-input-and-head `softmax(q·kᵀ)·v` into `ctx`, `x = LN(x + ctx·Wo + bo)`, then the
//! feed-forward `x = LN(x + act(x·W1 + b1)·W2 + b2)` in row blocks, so that the wide
//! intermediate activations stay in cache.

use std::ops::Range;

use super::config::{ModelConfig, PoolingMode};
use super::int8::{Output, QuantRows};
use super::kernels::{self, simd};
use super::matmul::{Mat, MatMut, matmul};
use super::weights::Weights;

/// Rows of the feed-forward block: its `[rows, intermediate]` activations (1.5 MB for
/// MiniLM) fit in a core's L2 cache between the two products.
const FFN_ROWS: usize = 256;

/// Buffers reused from batch to batch, so a forward pass allocates nothing in steady state.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    x: Vec<f32>,
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    ffn: Vec<f32>,
    scores: Vec<f32>,
    quant: QuantRows,
}

fn sized(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}

/// Runs the encoder on a packed batch. `ids` holds the token ids of all inputs back to back
/// and `spans` the range of each input in it (non-empty, at most `cfg.max_tokens()` long, ids
/// below the vocabulary size: the caller checks). Returns the final hidden states,
/// `[ids.len(), hidden]`, borrowed from `scratch`.
pub(crate) fn encode<'s>(
    cfg: &ModelConfig,
    w: &Weights,
    ids: &[u32],
    spans: &[Range<usize>],
    scratch: &'s mut Scratch,
) -> &'s [f32] {
    let (h, t) = (cfg.hidden, ids.len());
    let Scratch {
        x,
        qkv,
        ctx,
        ffn,
        scores,
        quant,
    } = scratch;
    let x = sized(x, t * h);

    // Embeddings: word + (position + type 0), then layer norm.
    for span in spans {
        for (pos, tok) in span.clone().enumerate() {
            let id = ids[tok] as usize;
            let p = cfg.position_offset + pos;
            let row = &mut x[tok * h..(tok + 1) * h];
            row.copy_from_slice(&w.word[id * h..(id + 1) * h]);
            kernels::add_assign(row, &w.position[p * h..(p + 1) * h]);
        }
    }
    kernels::bias_layer_norm(
        x,
        None,
        &w.embed_norm.gamma,
        &w.embed_norm.beta,
        cfg.layer_norm_eps,
    );

    let longest = spans.iter().map(|s| s.len()).max().unwrap_or(0);
    let qkv = sized(qkv, t * 3 * h);
    let ctx = sized(ctx, t * h);
    let scores = sized(scores, longest * longest);
    let ffn = sized(ffn, FFN_ROWS.min(t) * cfg.intermediate);
    for layer in &w.layers {
        layer
            .qkv
            .apply(x, t, qkv, Output::Bias(&layer.qkv_bias), quant);
        attention(cfg, qkv, spans, ctx, scores);
        layer.out.apply(ctx, t, x, Output::Accumulate, quant);
        let eps = cfg.layer_norm_eps;
        kernels::bias_layer_norm(
            x,
            Some(&layer.out_bias),
            &layer.attn_norm.gamma,
            &layer.attn_norm.beta,
            eps,
        );

        for block in x.chunks_mut(FFN_ROWS * h) {
            let rows = block.len() / h;
            let inter = &mut ffn[..rows * cfg.intermediate];
            let act = Output::BiasActivation(&layer.up_bias, cfg.activation);
            layer.up.apply(block, rows, inter, act, quant);
            layer
                .down
                .apply(inter, rows, block, Output::Accumulate, quant);
            kernels::bias_layer_norm(
                block,
                Some(&layer.down_bias),
                &layer.ffn_norm.gamma,
                &layer.ffn_norm.beta,
                eps,
            );
        }
    }
    x
}

/// Self-attention of every input and head: `ctx = softmax(q·kᵀ)·v`, `q` already scaled.
fn attention(
    cfg: &ModelConfig,
    qkv: &[f32],
    spans: &[Range<usize>],
    ctx: &mut [f32],
    scores: &mut [f32],
) {
    let h = cfg.hidden;
    let dh = h / cfg.heads;
    for span in spans {
        let n = span.len();
        let base = span.start * 3 * h;
        let scores = &mut scores[..n * n];
        for head in 0..cfg.heads {
            let q = Mat::new(&qkv[base + head * dh..], n, dh, 3 * h, 1);
            let k_t = Mat::new(&qkv[base + h + head * dh..], dh, n, 1, 3 * h);
            let v = Mat::new(&qkv[base + 2 * h + head * dh..], n, dh, 3 * h, 1);
            matmul(MatMut::row_major(scores, n, n), q, k_t, false);
            kernels::softmax_rows(scores, n);
            matmul(
                MatMut::new(&mut ctx[span.start * h + head * dh..], n, dh, h, 1),
                Mat::row_major(scores, n, n),
                v,
                false,
            );
        }
    }
}

/// Pools the hidden states of one input (`[tokens, hidden]`) into `out` (`modes.len() *
/// hidden` long), mode after mode, then L2-normalises it.
pub(crate) fn pool(hidden: &[f32], width: usize, modes: &[PoolingMode], out: &mut Vec<f32>) {
    out.clear();
    let rows = hidden.len() / width;
    for mode in modes {
        let start = out.len();
        match mode {
            PoolingMode::Cls => out.extend_from_slice(&hidden[..width]),
            PoolingMode::Max => {
                out.extend_from_slice(&hidden[..width]);
                for row in hidden.chunks_exact(width).skip(1) {
                    kernels::max_assign(&mut out[start..], row);
                }
            }
            PoolingMode::Mean | PoolingMode::MeanSqrtLen => {
                out.resize(start + width, 0.0);
                for row in hidden.chunks_exact(width) {
                    kernels::add_assign(&mut out[start..], row);
                }
                let div = if *mode == PoolingMode::Mean {
                    rows as f32
                } else {
                    (rows as f32).sqrt()
                };
                simd(|| out[start..].iter_mut().for_each(|v| *v /= div));
            }
        }
    }
    kernels::l2_normalize(out);
}
