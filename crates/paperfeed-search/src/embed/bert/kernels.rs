//! The element-wise and row-wise parts of the BERT forward pass (layer norm, activations,
//! softmax, pooling sums), written as plain loops over fixed-width lane arrays so the compiler
//! vectorises them, and run through [`simd`], which compiles them once per x86 level and picks
//! the best one at run time. Without that dispatch a portable build only gets SSE2, and these
//! loops would cost a quarter of the forward pass instead of a few percent.
//!
//! `exp` and `erf` are polynomial approximations (accurate to a few ulp) because the libm
//! versions are scalar calls that block vectorisation.

/// Lanes per accumulator array: one AVX-512 register, or two AVX2 ones.
const LANES: usize = 16;

/// Runs `f` compiled for the best instruction set of this CPU. Everything `f` calls must be
/// `#[inline(always)]` to be compiled inside it.
#[inline(always)]
pub(crate) fn simd<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// The feed-forward activation named by `hidden_act` in a BERT config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activation {
    /// `gelu`: the exact form, `x * Φ(x)` with the error function.
    Gelu,
    /// `gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`: the tanh approximation.
    GeluTanh,
    /// `relu`.
    Relu,
    /// `silu` / `swish`.
    Silu,
}

impl Activation {
    /// Parses a Hugging Face `hidden_act` name.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "gelu" => Some(Self::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Some(Self::GeluTanh),
            "relu" => Some(Self::Relu),
            "silu" | "swish" => Some(Self::Silu),
            _ => None,
        }
    }
}

/// `e^x` for `x` in about `[-87, 88]` (clamped outside), within 2 ulp of the exact value.
/// Cephes' `expf`: `e^x = 2^n e^r` with `|r| <= ln2/2` and a degree-6 polynomial for `e^r`.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so that n * LN2_HI is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let er = p * (r * r) + r + 1.0;
    // 2^n built from bits. n is in [-126, 127] after the clamp, so n + 127 is a valid biased
    // exponent; adding 2^23 puts that integer in the low mantissa bits, and the shift moves it
    // into the exponent field. All float and bit operations: a float-to-int `as` would be a
    // saturating conversion that keeps the loop scalar.
    let biased = n + (127.0 + 8_388_608.0);
    er * f32::from_bits(biased.to_bits() << 23)
}

/// The error function, within about 1e-7 absolute. The rational approximation XLA and Eigen
/// use for `erf` on f32 (odd polynomial of degree 13 over an even one of degree 8 on
/// `[-4, 4]`; beyond that erf is ±1 in f32).
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 - 2.101_024e-6;
    p = p * x2 - 5.692_506_4e-5;
    p = p * x2 - 7.349_906_3e-4;
    p = p * x2 - 2.954_600_2e-3;
    p = p * x2 - 1.609_603_3e-2;
    p *= x;
    let mut q = -1.456_607_1e-5;
    q = q * x2 - 2.133_740_6e-4;
    q = q * x2 - 1.682_827e-3;
    q = q * x2 - 7.373_329_2e-3;
    q = q * x2 - 1.426_474e-2;
    p / q
}

#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

#[inline(always)]
pub(crate) fn gelu_tanh(x: f32) -> f32 {
    // 0.5 x (1 + tanh(u)) = x * sigmoid(2u)
    const K: f32 = 0.797_884_6; // sqrt(2 / pi)
    let u = K * (x + 0.044_715 * x * x * x);
    x / (1.0 + exp(-2.0 * u))
}

#[inline(always)]
pub(crate) fn relu(x: f32) -> f32 {
    x.max(0.0)
}

#[inline(always)]
pub(crate) fn silu(x: f32) -> f32 {
    x / (1.0 + exp(-x))
}

#[inline(always)]
fn lane_sum(acc: [f32; LANES]) -> f32 {
    // Pairwise, so the result does not depend on more than log2(16) rounding steps.
    let mut a = acc;
    let mut w = LANES / 2;
    while w > 0 {
        for i in 0..w {
            a[i] += a[i + w];
        }
        w /= 2;
    }
    a[0]
}

#[inline(always)]
fn row_sum(xs: &[f32]) -> f32 {
    let (chunks, rest) = xs.as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for c in chunks {
        for j in 0..LANES {
            acc[j] += c[j];
        }
    }
    lane_sum(acc) + rest.iter().sum::<f32>()
}

#[inline(always)]
fn row_max(xs: &[f32]) -> f32 {
    let (chunks, rest) = xs.as_chunks::<LANES>();
    let mut acc = [f32::NEG_INFINITY; LANES];
    for c in chunks {
        for j in 0..LANES {
            acc[j] = acc[j].max(c[j]);
        }
    }
    acc.iter()
        .chain(rest)
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v))
}

// Each kernel below is a plain function called from inside `simd`: slices reach the loop as
// function arguments, which tell the compiler they do not overlap. Captured by a closure, they
// would not, and stores would force reloads of every other slice (and of flags), which keeps
// loops scalar.

/// In place on every `width`-wide row of `x`: `x = LayerNorm(x + bias) * gamma + beta`.
/// `bias` is the bias of the product that produced `x`, folded in here to save a pass.
pub(crate) fn bias_layer_norm(
    x: &mut [f32],
    bias: Option<&[f32]>,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) {
    simd(
        #[inline(always)]
        move || match bias {
            Some(bias) => layer_norm_imp(x, bias, gamma, beta, eps, true),
            None => layer_norm_imp(x, gamma, gamma, beta, eps, false),
        },
    );
}

#[inline(always)]
fn layer_norm_imp(
    x: &mut [f32],
    bias: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    add_bias: bool,
) {
    let width = gamma.len();
    for row in x.chunks_exact_mut(width) {
        if add_bias {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
        let mean = row_sum(row) / width as f32;
        // Two passes (mean, then squared deviations) as PyTorch does: one-pass E[x²] - E[x]²
        // loses digits on rows with a large mean.
        let (chunks, rest) = row.as_chunks::<LANES>();
        let mut acc = [0.0f32; LANES];
        for c in chunks {
            for j in 0..LANES {
                let d = c[j] - mean;
                acc[j] += d * d;
            }
        }
        let var = (lane_sum(acc) + rest.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>())
            / width as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// In place on every `bias.len()`-wide row of `x`: `x = act(x + bias)`.
pub(crate) fn bias_activation(x: &mut [f32], bias: &[f32], act: Activation) {
    // One loop per activation: a `match` inside the loop compiles to a jump per element and
    // keeps it from vectorising (measured 25x slower).
    simd(
        #[inline(always)]
        move || match act {
            Activation::Gelu => bias_map(x, bias, gelu),
            Activation::GeluTanh => bias_map(x, bias, gelu_tanh),
            Activation::Relu => bias_map(x, bias, relu),
            Activation::Silu => bias_map(x, bias, silu),
        },
    );
}

#[inline(always)]
fn bias_map(x: &mut [f32], bias: &[f32], f: impl Fn(f32) -> f32) {
    for row in x.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v = f(*v + b);
        }
    }
}

/// In place on every `width`-wide row of `x`: `x = softmax(x)`.
pub(crate) fn softmax_rows(x: &mut [f32], width: usize) {
    simd(
        #[inline(always)]
        move || softmax_imp(x, width),
    );
}

#[inline(always)]
fn softmax_imp(x: &mut [f32], width: usize) {
    for row in x.chunks_exact_mut(width) {
        let max = row_max(row);
        for v in row.iter_mut() {
            *v = exp(*v - max);
        }
        let inv = 1.0 / row_sum(row);
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

/// `dst[i] += src[i]`.
pub(crate) fn add_assign(dst: &mut [f32], src: &[f32]) {
    simd(
        #[inline(always)]
        move || add_imp(dst, src),
    );
}

#[inline(always)]
fn add_imp(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// `dst[i] = max(dst[i], src[i])`.
pub(crate) fn max_assign(dst: &mut [f32], src: &[f32]) {
    simd(
        #[inline(always)]
        move || max_imp(dst, src),
    );
}

#[inline(always)]
fn max_imp(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = d.max(*s);
    }
}

/// `dst (+)= x · wᵀ` for few rows: `x` `[m, k]`, `w` `[n, k]` (PyTorch's layout), `dst`
/// `[m, n]`, all row-major. For a handful of rows a blocked product spends its time packing
/// `w`; this streams `w` once, in order, taking each output's dot products with up to 8 rows
/// at a time (a one-line query embeds several times faster).
pub(crate) fn small_matmul(x: &[f32], w: &[f32], dst: &mut [f32], n: usize, accumulate: bool) {
    let k = w.len() / n;
    let m = dst.len() / n;
    for r0 in (0..m).step_by(8) {
        let rows = 8.min(m - r0);
        let x = &x[r0 * k..(r0 + rows) * k];
        let dst = &mut dst[r0 * n..(r0 + rows) * n];
        let arch = pulp::Arch::new();
        match rows {
            8 => arch.dispatch(SmallRows::<8> {
                x,
                w,
                dst,
                n,
                accumulate,
            }),
            7 => arch.dispatch(SmallRows::<7> {
                x,
                w,
                dst,
                n,
                accumulate,
            }),
            6 => arch.dispatch(SmallRows::<6> {
                x,
                w,
                dst,
                n,
                accumulate,
            }),
            5 => arch.dispatch(SmallRows::<5> {
                x,
                w,
                dst,
                n,
                accumulate,
            }),
            4 => arch.dispatch(SmallRows::<4> {
                x,
                w,
                dst,
                n,
                accumulate,
            }),
            3 => arch.dispatch(SmallRows::<3> {
                x,
                w,
                dst,
                n,
                accumulate,
            }),
            2 => arch.dispatch(SmallRows::<2> {
                x,
                w,
                dst,
                n,
                accumulate,
            }),
            _ => arch.dispatch(SmallRows::<1> {
                x,
                w,
                dst,
                n,
                accumulate,
            }),
        }
    }
}

/// [`small_matmul`] on exactly `R` rows, with explicit vectors: left to itself the compiler
/// does not keep `R` rows of sums in registers.
struct SmallRows<'a, const R: usize> {
    x: &'a [f32],
    w: &'a [f32],
    dst: &'a mut [f32],
    n: usize,
    accumulate: bool,
}

impl<const R: usize> pulp::WithSimd for SmallRows<'_, R> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let Self {
            x,
            w,
            dst,
            n,
            accumulate,
        } = self;
        let k = w.len() / n;
        let rows: [(&[S::f32s], &[f32]); R] =
            std::array::from_fn(|r| S::as_simd_f32s(&x[r * k..(r + 1) * k]));
        for (j, wj) in w.chunks_exact(k).enumerate() {
            let (wv, wtail) = S::as_simd_f32s(wj);
            let mut acc = [simd.splat_f32s(0.0); R];
            for (t, &wvt) in wv.iter().enumerate() {
                for (acc, (xv, _)) in acc.iter_mut().zip(&rows) {
                    *acc = simd.mul_add_e_f32s(xv[t], wvt, *acc);
                }
            }
            for (r, (acc, (_, xtail))) in acc.into_iter().zip(&rows).enumerate() {
                let tail: f32 = xtail.iter().zip(wtail).map(|(a, b)| a * b).sum();
                let v = simd.reduce_sum_f32s(acc) + tail;
                let out = &mut dst[r * n + j];
                *out = if accumulate { *out + v } else { v };
            }
        }
    }
}

/// Scales `v` to unit L2 norm; a zero vector stays zero.
pub(crate) fn l2_normalize(v: &mut [f32]) {
    let norm = v
        .iter()
        .map(|x| f64::from(*x) * f64::from(*x))
        .sum::<f64>()
        .sqrt();
    if norm > 0.0 {
        let inv = (1.0 / norm) as f32;
        v.iter_mut().for_each(|x| *x *= inv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// erf in f64 without a libm `erf` (Rust's std has none): the Taylor series below 3, where
    /// it converges without cancellation, and the asymptotic series of erfc above.
    fn erf_ref(x: f64) -> f64 {
        let a = x.abs();
        if a >= 3.0 {
            let (mut term, mut sum) = (1.0, 1.0);
            for k in 1..8 {
                term *= -(2.0 * k as f64 - 1.0) / (2.0 * a * a);
                sum += term;
            }
            let erfc = (-a * a).exp() / (a * std::f64::consts::PI.sqrt()) * sum;
            return x.signum() * (1.0 - erfc);
        }
        let (mut sum, mut term, mut n) = (0.0, x, 0.0);
        while term.abs() > 1e-18 {
            sum += term / (2.0 * n + 1.0);
            n += 1.0;
            term *= -x * x / n;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn erf_matches_the_series_reference() {
        let mut worst = 0.0f64;
        for i in -6000..=6000 {
            let x = i as f64 / 1000.0;
            let got = simd(|| erf(x as f32)) as f64;
            worst = worst.max((got - erf_ref(x)).abs());
        }
        assert!(worst < 5e-7, "max |erf error| {worst}");
    }

    #[test]
    fn exp_matches_std_within_a_few_ulp() {
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let got = simd(|| exp(x));
            let want = (x as f64).exp();
            let rel = ((got as f64 - want) / want).abs();
            assert!(
                rel < 4.0 * f32::EPSILON as f64,
                "exp({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn exp_of_very_negative_inputs_is_tiny_not_garbage() {
        // Softmax feeds exp(x - max) with x - max down to -inf for masked or extreme scores.
        for x in [-100.0f32, -1e30, f32::NEG_INFINITY] {
            let got = exp(x);
            assert!((0.0..1e-37).contains(&got), "exp({x}) = {got}");
        }
    }

    #[test]
    fn gelu_matches_its_definition() {
        for i in -800..=800 {
            let x = i as f32 / 100.0;
            let want = 0.5 * x as f64 * (1.0 + erf_ref(x as f64 / 2f64.sqrt()));
            let got = gelu(x) as f64;
            assert!((got - want).abs() < 1e-6, "gelu({x}) = {got}, want {want}");
            let t = 0.5
                * x as f64
                * (1.0
                    + ((2.0 / std::f64::consts::PI).sqrt()
                        * (x as f64 + 0.044715 * (x as f64).powi(3)))
                    .tanh());
            let got = gelu_tanh(x) as f64;
            assert!((got - t).abs() < 1e-6, "gelu_tanh({x}) = {got}, want {t}");
        }
    }

    fn layer_norm_ref(row: &[f32], gamma: &[f32], beta: &[f32], eps: f64) -> Vec<f32> {
        let n = row.len() as f64;
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        row.iter()
            .zip(gamma)
            .zip(beta)
            .map(|((&v, &g), &b)| {
                ((v as f64 - mean) / (var + eps).sqrt() * g as f64 + b as f64) as f32
            })
            .collect()
    }

    proptest! {
        #[test]
        fn layer_norm_matches_f64(
            rows in prop::collection::vec(prop::collection::vec(-50.0f32..50.0, 37), 1..4),
            offset in -1000.0f32..1000.0,
        ) {
            let width = 37;
            let gamma: Vec<f32> = (0..width).map(|i| 0.5 + i as f32 / 37.0).collect();
            let beta: Vec<f32> = (0..width).map(|i| i as f32 / 10.0 - 1.0).collect();
            let bias: Vec<f32> = (0..width).map(|i| offset + i as f32).collect();
            let mut x: Vec<f32> = rows.concat();
            let want: Vec<f32> = rows
                .iter()
                .flat_map(|r| {
                    let shifted: Vec<f32> = r.iter().zip(&bias).map(|(a, b)| a + b).collect();
                    layer_norm_ref(&shifted, &gamma, &beta, 1e-12)
                })
                .collect();
            bias_layer_norm(&mut x, Some(&bias), &gamma, &beta, 1e-12);
            for (g, w) in x.iter().zip(&want) {
                prop_assert!((g - w).abs() < 2e-3, "{} vs {}", g, w);
            }
        }

        #[test]
        fn softmax_rows_sum_to_one_and_keep_order(
            row in prop::collection::vec(-80.0f32..80.0, 1..300),
        ) {
            let mut x = row.clone();
            softmax_rows(&mut x, row.len());
            let sum: f64 = x.iter().map(|&v| v as f64).sum();
            prop_assert!((sum - 1.0).abs() < 1e-4, "sum {}", sum);
            let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let denom: f64 = row.iter().map(|&v| ((v - max) as f64).exp()).sum();
            for (&g, &r) in x.iter().zip(&row) {
                let want = ((r - max) as f64).exp() / denom;
                prop_assert!((g as f64 - want).abs() < 1e-5 + 1e-4 * want, "{} vs {}", g, want);
            }
        }
    }

    #[test]
    fn small_matmul_matches_a_naive_product() {
        let (m, k, n) = (11, 37, 5);
        // k = 37: two whole vectors and a tail on AVX-512 and AVX2; m = 11: a block of 8 rows
        // and one of 3.
        let x: Vec<f32> = (0..m * k).map(|i| (i % 13) as f32 / 7.0 - 1.0).collect();
        let w: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 - 2.0).collect(); // [n, k]
        let mut got = vec![1.0; m * n];
        small_matmul(&x, &w, &mut got, n, true);
        for i in 0..m {
            for j in 0..n {
                let want = 1.0 + (0..k).map(|t| x[i * k + t] * w[j * k + t]).sum::<f32>();
                let got = got[i * n + j];
                // Summation order differs from the naive loop's: relative tolerance.
                assert!(
                    (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                    "{got} vs {want}"
                );
            }
        }
        small_matmul(&x, &w, &mut got, n, false);
        for i in 0..m {
            for j in 0..n {
                let want = (0..k).map(|t| x[i * k + t] * w[j * k + t]).sum::<f32>();
                let got = got[i * n + j];
                // Summation order differs from the naive loop's: relative tolerance.
                assert!(
                    (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                    "{got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn l2_normalize_leaves_zero_vectors_alone() {
        let mut z = vec![0.0f32; 5];
        l2_normalize(&mut z);
        assert_eq!(z, vec![0.0; 5]);
        let mut v = vec![3.0f32, 4.0];
        l2_normalize(&mut v);
        assert!((v[0] - 0.6).abs() < 1e-7 && (v[1] - 0.8).abs() < 1e-7);
    }
}
