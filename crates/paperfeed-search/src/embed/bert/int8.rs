//! int8 linear layers: weights quantised once per output column, activations per row (token)
//! at run time, products accumulated exactly in i32, then scaled back to f32.
//!
//! On CPUs with AVX512-VNNI (Intel Ice Lake and later, AMD Zen 4 and later) the product runs on
//! `vpdpbusd`, which does 64 multiply-adds per instruction against 16 for an f32 FMA. Elsewhere
//! a portable loop computes the very same i32 sums (integer arithmetic is exact), so a model
//! gives the same vectors on every machine, only slower.
//!
//! `vpdpbusd` multiplies unsigned by signed bytes, so activations are stored as `q + 128` and
//! the extra `128 * Σ w` is subtracted per column afterwards.
//!
//! This module allows `unsafe` for the VNNI kernel alone: intrinsics need it for the CPU
//! feature they require (checked at run time before the call) and for their raw-pointer loads
//! (bounds asserted before the call).
#![allow(unsafe_code)]

use super::kernels::{self, Activation, simd};

/// Output columns per packed weight panel: four 16-lane i32 registers.
const PANEL: usize = 64;
/// Rows per kernel call: 6 rows × 4 registers = 24 accumulators, which with 4 weight registers
/// and a broadcast fits the 32 vector registers of AVX-512.
const MR: usize = 6;

/// A linear layer's weight, quantised and packed for the kernel.
#[derive(Debug)]
pub(crate) struct QuantLinear {
    /// Output columns.
    n: usize,
    /// Inputs, padded to a multiple of 4 (the kernel eats 4 bytes per lane per step).
    kp: usize,
    /// `[panels][kp / 4][4 registers][16 lanes][4 bytes]`: for each step of 4 inputs, the 256
    /// bytes of one panel that one row's broadcast multiplies, contiguous.
    packed: Vec<i8>,
    /// Per output column: `max |w| / 127`.
    scale: Vec<f32>,
    /// Per output column: `128 * Σ_k q[k]`, the contribution of the activations' offset.
    offset: Vec<i32>,
}

/// Per-row quantised activations, reused between calls.
#[derive(Debug, Default)]
pub(crate) struct QuantRows {
    q: Vec<u8>,
    scale: Vec<f32>,
}

fn round_i8(v: f32) -> i8 {
    v.round().clamp(-127.0, 127.0) as i8
}

impl QuantLinear {
    /// Quantises an `[n, k]` row-major f32 weight (outputs by inputs, PyTorch's layout).
    pub(crate) fn new(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), k * n, "weight shape");
        let kp = k.next_multiple_of(4);
        let panels = n.div_ceil(PANEL);
        let mut packed = vec![0i8; panels * kp * PANEL];
        let mut scale = vec![1.0f32; n];
        let mut offset = vec![0i32; n];
        for (col, row) in w.chunks_exact(k).enumerate() {
            let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            if max > 0.0 {
                scale[col] = max / 127.0;
            }
            let (panel, j) = (col / PANEL, col % PANEL);
            for (kk, &v) in row.iter().enumerate() {
                let q = round_i8(v / scale[col]);
                packed[panel * kp * PANEL + (kk / 4) * 4 * PANEL + j * 4 + kk % 4] = q;
                offset[col] += 128 * i32::from(q);
            }
        }
        Self {
            n,
            kp,
            packed,
            scale,
            offset,
        }
    }

    /// `dst = out(x · W)` for `x` `[m, k]` row-major, quantised into `rows`, and `dst`
    /// `[m, n]`: the bias and activation are applied as the block's sums are scaled back, so
    /// the output is written once and never read back (except to accumulate).
    pub(crate) fn matmul(
        &self,
        x: &[f32],
        m: usize,
        dst: &mut [f32],
        out: Output<'_>,
        rows: &mut QuantRows,
    ) {
        if m == 0 {
            return;
        }
        let k = x.len() / m;
        assert!(
            k <= self.kp && self.kp - k < 4 && x.len() == m * k,
            "input shape"
        );
        assert_eq!(dst.len(), m * self.n, "output shape");
        if let Output::Bias(b) | Output::BiasActivation(b, _) = out {
            assert_eq!(b.len(), self.n, "bias shape");
        }
        quantize_rows(x, m, k, self.kp, rows);
        let vnni = has_vnni();
        let mut acc = [[0i32; PANEL]; MR];
        for r0 in (0..m).step_by(MR) {
            let nrows = MR.min(m - r0);
            let a = &rows.q[r0 * self.kp..(r0 + nrows) * self.kp];
            for (p, panel) in self.packed.chunks_exact(self.kp * PANEL).enumerate() {
                match nrows {
                    6 => block::<6>(vnni, a, self.kp, panel, &mut acc),
                    5 => block::<5>(vnni, a, self.kp, panel, &mut acc),
                    4 => block::<4>(vnni, a, self.kp, panel, &mut acc),
                    3 => block::<3>(vnni, a, self.kp, panel, &mut acc),
                    2 => block::<2>(vnni, a, self.kp, panel, &mut acc),
                    _ => block::<1>(vnni, a, self.kp, panel, &mut acc),
                }
                let n0 = p * PANEL;
                let width = PANEL.min(self.n - n0);
                let cols = Cols {
                    scale: &self.scale[n0..n0 + width],
                    offset: &self.offset[n0..n0 + width],
                    row_scale: &rows.scale[r0..r0 + nrows],
                    ld: self.n,
                };
                let dst = &mut dst[r0 * self.n + n0..];
                let acc = &acc;
                simd(
                    #[inline(always)]
                    move || match out {
                        Output::Accumulate => epilogue(acc, cols, &[], dst, true, |v| v),
                        Output::Bias(b) => {
                            epilogue(acc, cols, &b[n0..n0 + width], dst, false, |v| v)
                        }
                        Output::BiasActivation(b, act) => {
                            let b = &b[n0..n0 + width];
                            match act {
                                Activation::Gelu => {
                                    epilogue(acc, cols, b, dst, false, kernels::gelu)
                                }
                                Activation::GeluTanh => {
                                    epilogue(acc, cols, b, dst, false, kernels::gelu_tanh)
                                }
                                Activation::Relu => {
                                    epilogue(acc, cols, b, dst, false, kernels::relu)
                                }
                                Activation::Silu => {
                                    epilogue(acc, cols, b, dst, false, kernels::silu)
                                }
                            }
                        }
                    },
                );
            }
        }
    }
}

/// What the product's output becomes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Output<'a> {
    /// Added to `dst` (a residual connection; the bias is applied later, with the layer norm).
    Accumulate,
    /// `dst = x · W + bias`.
    Bias(&'a [f32]),
    /// `dst = act(x · W + bias)`.
    BiasActivation(&'a [f32], Activation),
}

/// The per-column and per-row factors of one block's epilogue.
#[derive(Clone, Copy)]
struct Cols<'a> {
    scale: &'a [f32],
    offset: &'a [i32],
    row_scale: &'a [f32],
    /// Distance between output rows.
    ld: usize,
}

/// Scales a block's i32 sums back to f32 into `out`: `out += v` when `accumulate`, else
/// `out = f(v + bias)` (`bias` empty when `accumulate`).
#[inline(always)]
fn epilogue(
    acc: &[[i32; PANEL]; MR],
    cols: Cols<'_>,
    bias: &[f32],
    out: &mut [f32],
    accumulate: bool,
    f: impl Fn(f32) -> f32,
) {
    let width = cols.scale.len();
    for (r, (acc, &s)) in acc.iter().zip(cols.row_scale).enumerate() {
        let out = &mut out[r * cols.ld..][..width];
        let acc = &acc[..width];
        let (offset, scale) = (cols.offset, cols.scale);
        if accumulate {
            for (((o, &a), &off), &sc) in out.iter_mut().zip(acc).zip(offset).zip(scale) {
                *o += (a - off) as f32 * (s * sc);
            }
        } else {
            for ((((o, &a), &off), &sc), &b) in
                out.iter_mut().zip(acc).zip(offset).zip(scale).zip(bias)
            {
                *o = f((a - off) as f32 * (s * sc) + b);
            }
        }
    }
}

/// Quantises each row of `x` (`[m, k]`) to `u8` = `round(x / s) + 128` with `s = max |x| /
/// 127`, padded to `kp` bytes per row.
fn quantize_rows(x: &[f32], m: usize, k: usize, kp: usize, rows: &mut QuantRows) {
    rows.q.clear();
    rows.q.resize(m * kp, 128);
    rows.scale.clear();
    rows.scale.resize(m, 1.0);
    let (q, scale) = (&mut rows.q[..], &mut rows.scale[..]);
    simd(
        #[inline(always)]
        move || quantize_imp(x, k, kp, q, scale),
    );
}

#[inline(always)]
fn quantize_imp(x: &[f32], k: usize, kp: usize, q: &mut [u8], scales: &mut [f32]) {
    for ((src, dst), scale) in x
        .chunks_exact(k.max(1))
        .zip(q.chunks_exact_mut(kp))
        .zip(scales.iter_mut())
    {
        let max = src.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        if max > 0.0 && max.is_finite() {
            *scale = max / 127.0;
        }
        let inv = 1.0 / *scale;
        for (d, &v) in dst.iter_mut().zip(src) {
            // v * inv + 128 lies in [1, 255]; adding 1.5 * 2^23 rounds it to an integer held
            // in the low mantissa bits (a float-to-int `as` would be a saturating conversion
            // that keeps the loop scalar).
            let shifted = (v * inv).clamp(-127.0, 127.0) + (128.0 + 12_582_912.0);
            *d = shifted.to_bits() as u8;
        }
    }
}

fn has_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// i32 sums of `R` rows of `a` (`lda` bytes apart) times one weight panel, into `out[..R]`.
fn block<const R: usize>(
    vnni: bool,
    a: &[u8],
    lda: usize,
    panel: &[i8],
    out: &mut [[i32; PANEL]; MR],
) {
    let groups = lda / 4;
    assert!(R <= MR && a.len() >= (R - 1) * lda + groups * 4 && panel.len() >= groups * 4 * PANEL);
    #[cfg(target_arch = "x86_64")]
    if vnni {
        // SAFETY: `vnni` comes from `has_vnni`, so the CPU has the features the kernel is
        // compiled for; the assert above bounds every load (rows `r < R` read
        // `a[r * lda + 4g .. +4]` for `g < groups`, and the panel is read up to `groups * 256`).
        unsafe { block_vnni::<R>(a.as_ptr(), lda, panel.as_ptr(), groups, out) };
        return;
    }
    let _ = vnni;
    block_portable::<R>(a, lda, panel, groups, out);
}

fn block_portable<const R: usize>(
    a: &[u8],
    lda: usize,
    panel: &[i8],
    groups: usize,
    out: &mut [[i32; PANEL]; MR],
) {
    simd(
        #[inline(always)]
        || {
            for (r, acc) in out.iter_mut().enumerate().take(R) {
                *acc = [0; PANEL];
                for g in 0..groups {
                    let av = &a[r * lda + g * 4..][..4];
                    let w = &panel[g * 4 * PANEL..][..4 * PANEL];
                    for (j, acc) in acc.iter_mut().enumerate() {
                        let wj = &w[j * 4..][..4];
                        *acc += (0..4)
                            .map(|t| i32::from(av[t]) * i32::from(wj[t]))
                            .sum::<i32>();
                    }
                }
            }
        },
    );
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn block_vnni<const R: usize>(
    a: *const u8,
    lda: usize,
    panel: *const i8,
    groups: usize,
    out: &mut [[i32; PANEL]; MR],
) {
    use std::arch::x86_64::{
        __m512i, _mm512_dpbusd_epi32, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_setzero_si512,
        _mm512_storeu_si512,
    };
    let mut acc = [[_mm512_setzero_si512(); 4]; R];
    for g in 0..groups {
        // SAFETY (all loads): in bounds per the caller's assert.
        let w = unsafe { panel.add(g * 4 * PANEL) } as *const __m512i;
        let (w0, w1, w2, w3) = unsafe {
            (
                _mm512_loadu_si512(w),
                _mm512_loadu_si512(w.add(1)),
                _mm512_loadu_si512(w.add(2)),
                _mm512_loadu_si512(w.add(3)),
            )
        };
        for (r, acc) in acc.iter_mut().enumerate() {
            let four = unsafe { (a.add(r * lda + g * 4) as *const i32).read_unaligned() };
            let x = _mm512_set1_epi32(four);
            acc[0] = _mm512_dpbusd_epi32(acc[0], x, w0);
            acc[1] = _mm512_dpbusd_epi32(acc[1], x, w1);
            acc[2] = _mm512_dpbusd_epi32(acc[2], x, w2);
            acc[3] = _mm512_dpbusd_epi32(acc[3], x, w3);
        }
    }
    for (dst, acc) in out.iter_mut().zip(&acc) {
        for (c, v) in acc.iter().enumerate() {
            // SAFETY: `dst` holds 64 i32, four registers' worth.
            unsafe { _mm512_storeu_si512(dst.as_mut_ptr().add(c * 16) as *mut __m512i, *v) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let h = (i as u32)
                    .wrapping_mul(2_654_435_761)
                    .wrapping_add(seed.wrapping_mul(97));
                ((h >> 8) % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    /// `x · wᵀ` for `w` `[n, k]`.
    fn reference(x: &[f32], w: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k)
                    .map(|t| f64::from(x[i * k + t]) * f64::from(w[j * k + t]))
                    .sum::<f64>() as f32;
            }
        }
        out
    }

    #[test]
    fn vnni_and_portable_kernels_agree_exactly() {
        if !has_vnni() {
            eprintln!("no AVX512-VNNI on this CPU: only the portable kernel runs");
            return;
        }
        let (k, lda) = (40, 40);
        let a: Vec<u8> = (0..MR * lda).map(|i| (i * 37 % 256) as u8).collect();
        let panel: Vec<i8> = (0..k / 4 * 4 * PANEL)
            .map(|i| ((i * 91 % 255) as i32 - 127) as i8)
            .collect();
        let (mut v, mut p) = ([[0; PANEL]; MR], [[0; PANEL]; MR]);
        block::<6>(true, &a, lda, &panel, &mut v);
        block::<6>(false, &a, lda, &panel, &mut p);
        assert_eq!(v, p);
        block::<1>(true, &a, lda, &panel, &mut v);
        block::<1>(false, &a, lda, &panel, &mut p);
        assert_eq!(v[0], p[0]);
    }

    #[test]
    fn quantised_products_track_f32_products() {
        // Odd shapes: rows not a multiple of MR, columns not of PANEL, inputs not of 4.
        for &(m, k, n) in &[(1, 4, 16), (7, 30, 70), (13, 384, 130), (6, 1536, 64)] {
            let x = data(m * k, 1);
            let w = data(k * n, 2);
            let q = QuantLinear::new(&w, n, k);
            let want = reference(&x, &w, m, k, n);
            let mut got = vec![0.0; m * n];
            let mut rows = QuantRows::default();
            let zero = vec![0.0; n];
            q.matmul(&x, m, &mut got, Output::Bias(&zero), &mut rows);
            // Error of 8-bit rounding on both sides: about sqrt(k) * |x| |w| / 127.
            let tol = 0.02 * (k as f32).sqrt();
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < tol, "{m}x{k}x{n}: {g} vs {w}");
            }
            let before = got.clone();
            q.matmul(&x, m, &mut got, Output::Accumulate, &mut rows);
            for (g, b) in got.iter().zip(&before) {
                assert!((g - 2.0 * b).abs() < 1e-4 * b.abs().max(1.0), "accumulate");
            }
        }
    }

    #[test]
    fn zero_and_non_finite_rows_do_not_poison_others() {
        let (m, k, n) = (3, 8, 16);
        let mut x = data(m * k, 3);
        x[..k].fill(0.0);
        let w = data(k * n, 4);
        let q = QuantLinear::new(&w, n, k);
        let mut out = vec![0.0; m * n];
        q.matmul(
            &x,
            m,
            &mut out,
            Output::Bias(&[0.0; 16]),
            &mut QuantRows::default(),
        );
        assert!(out[..n].iter().all(|v| *v == 0.0));
        assert!(out.iter().all(|v| v.is_finite()));
    }
}
