//! Contiguous vector storage and the exact scan over it.
//!
//! Vectors sit in one flat array, either as f32 or as int8 codes with one f32 scale per
//! vector (`x ≈ scale * code`, `scale = max|x| / 127`). A query stays f32 and is multiplied
//! with the int8 codes directly: the scan reads a quarter of the bytes, which is what bounds
//! it once the table outgrows the cache. The dot products are plain loops over fixed-width
//! lane arrays, compiled inside [`pulp::Arch::dispatch`] so they use the widest vector
//! instructions of the CPU they run on; everything they call is `#[inline(always)]`.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Accumulator lanes: one AVX-512 register, or two AVX2 ones.
const LANES: usize = 16;

/// How vectors are held in memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VectorLayout {
    /// 4 bytes per dimension; scores exact.
    F32,
    /// 1 byte per dimension plus a scale per vector; scores within about 1% of exact
    /// (the retrieval metrics measured the same: see `paperfeed eval --layout`).
    #[default]
    Int8,
}

impl VectorLayout {
    /// The name used in files and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            VectorLayout::F32 => "f32",
            VectorLayout::Int8 => "int8",
        }
    }
}

impl fmt::Display for VectorLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VectorLayout {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" => Ok(VectorLayout::F32),
            "int8" | "i8" => Ok(VectorLayout::Int8),
            other => Err(format!("unknown vector layout {other:?} (f32 or int8)")),
        }
    }
}

/// The vectors of every slot, back to back.
#[derive(Clone, PartialEq)]
pub(crate) enum Flat {
    /// `dims` floats per slot.
    F32(Vec<f32>),
    /// `dims` codes per slot and one scale per slot.
    I8 { codes: Vec<i8>, scales: Vec<f32> },
}

impl fmt::Debug for Flat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flat::F32(v) => write!(f, "Flat::F32({} floats)", v.len()),
            Flat::I8 { codes, .. } => write!(f, "Flat::I8({} codes)", codes.len()),
        }
    }
}

impl Flat {
    pub(crate) fn new(layout: VectorLayout) -> Self {
        match layout {
            VectorLayout::F32 => Flat::F32(Vec::new()),
            VectorLayout::Int8 => Flat::I8 {
                codes: Vec::new(),
                scales: Vec::new(),
            },
        }
    }

    pub(crate) fn layout(&self) -> VectorLayout {
        match self {
            Flat::F32(_) => VectorLayout::F32,
            Flat::I8 { .. } => VectorLayout::Int8,
        }
    }

    pub(crate) fn reserve(&mut self, slots: usize, dims: usize) {
        match self {
            Flat::F32(v) => v.reserve(slots * dims),
            Flat::I8 { codes, scales } => {
                codes.reserve(slots * dims);
                scales.reserve(slots);
            }
        }
    }

    /// Appends one vector (`v.len()` is the caller-checked dimension count).
    pub(crate) fn push(&mut self, v: &[f32]) {
        match self {
            Flat::F32(data) => data.extend_from_slice(v),
            Flat::I8 { codes, scales } => {
                let (scale, inv) = quant_scale(v);
                codes.extend(v.iter().map(|&x| quantize(x, inv)));
                scales.push(scale);
            }
        }
    }

    /// Appends a slot stored elsewhere in the same layout (compaction, loading).
    pub(crate) fn push_from(&mut self, other: &Flat, slot: usize, dims: usize) {
        match (self, other) {
            (Flat::F32(data), Flat::F32(src)) => {
                data.extend_from_slice(&src[slot * dims..(slot + 1) * dims]);
            }
            (
                Flat::I8 { codes, scales },
                Flat::I8 {
                    codes: src,
                    scales: src_scales,
                },
            ) => {
                codes.extend_from_slice(&src[slot * dims..(slot + 1) * dims]);
                scales.push(src_scales[slot]);
            }
            (this, _) => {
                let v = other.get(slot, dims);
                this.push(&v);
            }
        }
    }

    /// The vector of `slot`, dequantised.
    pub(crate) fn get(&self, slot: usize, dims: usize) -> Vec<f32> {
        match self {
            Flat::F32(data) => data[slot * dims..(slot + 1) * dims].to_vec(),
            Flat::I8 { codes, scales } => {
                let s = scales[slot];
                codes[slot * dims..(slot + 1) * dims]
                    .iter()
                    .map(|&c| f32::from(c) * s)
                    .collect()
            }
        }
    }

    /// Bytes of vector data held (capacity aside).
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Flat::F32(v) => v.len() * 4,
            Flat::I8 { codes, scales } => codes.len() + scales.len() * 4,
        }
    }

    /// The `k` best slots by inner product with `query` among those `allow` accepts, best
    /// first; equal scores go to the lower slot. `slots` bounds the scan (`start..slots`).
    pub(crate) fn scan(
        &self,
        query: &[f32],
        dims: usize,
        range: std::ops::Range<usize>,
        k: usize,
        allow: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        if k == 0 || dims == 0 || query.len() != dims {
            return Vec::new();
        }
        pulp::Arch::new().dispatch(|| {
            let mut top = TopK::new(k);
            match self {
                Flat::F32(data) => {
                    for slot in range {
                        let s = slot as u32;
                        if !allow(s) {
                            continue;
                        }
                        let v = &data[slot * dims..(slot + 1) * dims];
                        top.push(s, dot_f32(query, v));
                    }
                }
                Flat::I8 { codes, scales } => {
                    for slot in range {
                        let s = slot as u32;
                        if !allow(s) {
                            continue;
                        }
                        let v = &codes[slot * dims..(slot + 1) * dims];
                        top.push(s, dot_i8(query, v) * scales[slot]);
                    }
                }
            }
            top.into_sorted()
        })
    }

    /// Inner product of `query` with one slot.
    pub(crate) fn score(&self, query: &[f32], dims: usize, slot: usize) -> f32 {
        pulp::Arch::new().dispatch(|| match self {
            Flat::F32(data) => dot_f32(query, &data[slot * dims..(slot + 1) * dims]),
            Flat::I8 { codes, scales } => {
                dot_i8(query, &codes[slot * dims..(slot + 1) * dims]) * scales[slot]
            }
        })
    }
}

/// `(scale, 1/scale)` for int8 codes of `v`: the largest magnitude maps to 127.
fn quant_scale(v: &[f32]) -> (f32, f32) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max > 0.0 && max.is_finite() {
        (max / 127.0, 127.0 / max)
    } else {
        (0.0, 0.0)
    }
}

fn quantize(x: f32, inv_scale: f32) -> i8 {
    // The clamp makes the cast exact; NaN (already rejected upstream) would become 0.
    (x * inv_scale).round().clamp(-127.0, 127.0) as i8
}

/// Dot product of two equally long f32 slices.
#[inline(always)]
pub(crate) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let (ac, ar) = a.as_chunks::<LANES>();
    let (bc, br) = b.as_chunks::<LANES>();
    let mut acc = [0f32; LANES];
    for (x, y) in ac.iter().zip(bc) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = sum_lanes(&acc);
    for (x, y) in ar.iter().zip(br) {
        s += x * y;
    }
    s
}

/// Dot product of an f32 query with int8 codes (unscaled).
#[inline(always)]
fn dot_i8(q: &[f32], c: &[i8]) -> f32 {
    let (qc, qr) = q.as_chunks::<LANES>();
    let (cc, cr) = c.as_chunks::<LANES>();
    let mut acc = [0f32; LANES];
    for (x, y) in qc.iter().zip(cc) {
        for i in 0..LANES {
            acc[i] += x[i] * f32::from(y[i]);
        }
    }
    let mut s = sum_lanes(&acc);
    for (x, y) in qr.iter().zip(cr) {
        s += x * f32::from(*y);
    }
    s
}

#[inline(always)]
fn sum_lanes(acc: &[f32; LANES]) -> f32 {
    // Pairwise, so the order (and so the result) does not depend on the instruction set.
    let mut half = [0f32; LANES / 2];
    for i in 0..LANES / 2 {
        half[i] = acc[i] + acc[i + LANES / 2];
    }
    let mut quarter = [0f32; LANES / 4];
    for i in 0..LANES / 4 {
        quarter[i] = half[i] + half[i + LANES / 4];
    }
    (quarter[0] + quarter[2]) + (quarter[1] + quarter[3])
}

/// A scored slot ordered best first: higher score, then lower slot.
#[derive(Debug, Clone, Copy)]
struct Scored {
    score: f32,
    slot: u32,
}

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    /// `Greater` means worse, so a max-heap keeps the worst kept slot on top.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.slot.cmp(&other.slot))
    }
}

/// The `k` best slots seen: a heap of `k` entries with the worst on top, the only
/// allocation of a scan.
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Scored>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
        }
    }

    #[inline(always)]
    pub(crate) fn push(&mut self, slot: u32, score: f32) {
        let item = Scored { score, slot };
        if self.heap.len() < self.k {
            self.heap.push(item);
        } else if let Some(worst) = self.heap.peek()
            && item < *worst
        {
            self.heap.pop();
            self.heap.push(item);
        }
    }

    /// Best first.
    pub(crate) fn into_sorted(self) -> Vec<(u32, f32)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|s| (s.slot, s.score))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    proptest! {
        #[test]
        fn dot_matches_naive(v in proptest::collection::vec((-1f32..1f32, -1f32..1f32), 0..100)) {
            let (a, b): (Vec<f32>, Vec<f32>) = v.into_iter().unzip();
            let got = dot_f32(&a, &b);
            prop_assert!((got - naive_dot(&a, &b)).abs() < 1e-4);
        }

        #[test]
        fn int8_scores_stay_close(v in proptest::collection::vec((-1f32..1f32, -1f32..1f32), 1..300)) {
            let (a, b): (Vec<f32>, Vec<f32>) = v.into_iter().unzip();
            let dims = a.len();
            let mut flat = Flat::new(VectorLayout::Int8);
            flat.push(&b);
            let exact = naive_dot(&a, &b);
            let approx = flat.score(&a, dims, 0);
            // Each code is off by at most half a step of max|b|/127.
            let max_b = b.iter().fold(0f32, |m, x| m.max(x.abs()));
            let bound = a.iter().map(|x| x.abs()).sum::<f32>() * max_b / 254.0 + 1e-4;
            prop_assert!((exact - approx).abs() <= bound, "{exact} vs {approx} (bound {bound})");
        }

        #[test]
        fn scan_is_the_sorted_top_k(
            rows in proptest::collection::vec(proptest::collection::vec(-1f32..1f32, 8), 0..60),
            q in proptest::collection::vec(-1f32..1f32, 8),
            k in 0usize..20,
        ) {
            let mut flat = Flat::new(VectorLayout::F32);
            for r in &rows {
                flat.push(r);
            }
            let allow = |s: u32| s % 3 != 1;
            let got = flat.scan(&q, 8, 0..rows.len(), k, &allow);
            let mut want: Vec<(u32, f32)> = rows
                .iter()
                .enumerate()
                .filter(|(i, _)| allow(*i as u32))
                .map(|(i, r)| (i as u32, dot_f32(&q, r)))
                .collect();
            want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            want.truncate(k);
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn zero_vector_quantises_to_zero() {
        let mut flat = Flat::new(VectorLayout::Int8);
        flat.push(&[0.0; 20]);
        assert_eq!(flat.get(0, 20), vec![0.0; 20]);
        assert_eq!(flat.score(&[1.0; 20], 20, 0), 0.0);
    }

    #[test]
    fn layout_names_round_trip() {
        for l in [VectorLayout::F32, VectorLayout::Int8] {
            assert_eq!(l.as_str().parse::<VectorLayout>(), Ok(l));
        }
        assert!("f16".parse::<VectorLayout>().is_err());
    }
}
