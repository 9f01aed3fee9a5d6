//! Paper vectors of one embedding model and nearest-neighbour search over them.
//!
//! - [`VectorSet`] holds the vectors: one slot per paper, contiguous storage in the chosen
//!   [`VectorLayout`] (f32, or int8 with a scale per vector), the filterable attributes of
//!   each slot ([`SlotTag`]: date, upvotes, categories) so dense candidates can be filtered
//!   without a round trip to the keyword index, and the model identity the vectors belong to.
//!   Replacing a paper's vector appends a new slot and retires the old one, so a graph built
//!   over earlier slots never sees a slot change under it; [`VectorSet::compact`] reclaims
//!   retired slots and renumbers.
//! - [`VectorIndex`] is the search strategy: [`ExactScan`] (every slot, the default, exact)
//!   or [`HnswIndex`] (an HNSW graph over the slots that existed when it was built, plus an
//!   exact scan of the slots added since), used above a size threshold.
//! - [`store`] persists both in a folder of the data dir (`vectors/<hash of model key>/`), with
//!   a journal of changes since the last snapshot, so a restart neither re-reads SQLite nor
//!   rebuilds the graph. The folder records the model key and refuses another model
//!   ([`SearchError::ModelMismatch`]).

mod ann;
mod flat;
pub mod store;

use std::collections::HashMap;

use paperfeed_core::ArxivId;

pub use ann::{AnnParams, HnswIndex};
pub use flat::VectorLayout;

use crate::SearchError;
use crate::embed::ModelIdentity;
use flat::Flat;

/// Category terms a [`CatMask`] can hold (arXiv has about 200 codes and archives).
pub const MAX_CATEGORY_TERMS: usize = 512;

/// A set of interned category terms (codes such as `cs.cl` and archives such as `cs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatMask([u64; MAX_CATEGORY_TERMS / 64]);

impl CatMask {
    /// Adds term number `bit` (ignored beyond [`MAX_CATEGORY_TERMS`]).
    pub fn insert(&mut self, bit: usize) {
        if let Some(word) = self.0.get_mut(bit / 64) {
            *word |= 1u64 << (bit % 64);
        }
    }

    /// True when both sets share a term.
    pub fn intersects(&self, other: &CatMask) -> bool {
        self.0.iter().zip(&other.0).any(|(a, b)| a & b != 0)
    }

    /// True when no term is set.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
}

/// What filters and sorts need to know of a slot's paper.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlotTag {
    /// False until the paper's metadata is known (a vector can arrive before its paper is
    /// indexed); unknown slots never pass a filter and are never returned.
    pub known: bool,
    /// The paper's date (published, else listing day), Unix seconds.
    pub date: Option<i64>,
    /// Upvotes.
    pub upvotes: u32,
    /// Category codes and archives.
    pub cats: CatMask,
}

/// Restrictions on slots, the dense counterpart of [`crate::bm25::Filters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlotFilter {
    /// Dates in `[lo, hi)`, Unix seconds; papers without a date fail.
    pub date: Option<(i64, i64)>,
    /// Any of these terms; `None`: any category.
    pub cats: Option<CatMask>,
}

impl SlotFilter {
    /// True when the filter restricts anything.
    pub fn is_restrictive(&self) -> bool {
        self.date.is_some() || self.cats.is_some()
    }

    /// Whether a slot with `tag` passes.
    #[inline]
    pub fn allows(&self, tag: &SlotTag) -> bool {
        if !tag.known {
            return false;
        }
        if let Some((lo, hi)) = self.date {
            match tag.date {
                Some(d) if d >= lo && d < hi => {}
                _ => return false,
            }
        }
        match &self.cats {
            Some(mask) => mask.intersects(&tag.cats),
            None => true,
        }
    }
}

/// The vectors of one model, one live slot per paper.
#[derive(Debug, Clone)]
pub struct VectorSet {
    identity: ModelIdentity,
    key: String,
    dims: usize,
    ids: Vec<ArxivId>,
    alive: Vec<bool>,
    tags: Vec<SlotTag>,
    slot_of: HashMap<ArxivId, u32>,
    flat: Flat,
    /// Changes whenever slots are renumbered, so a saved graph can tell it no longer fits.
    numbering: u64,
}

impl VectorSet {
    /// An empty set for `identity`'s vectors.
    pub fn new(identity: &ModelIdentity, layout: VectorLayout) -> Self {
        VectorSet {
            identity: identity.clone(),
            key: identity.key(),
            dims: identity.dimensions,
            ids: Vec::new(),
            alive: Vec::new(),
            tags: Vec::new(),
            slot_of: HashMap::new(),
            flat: Flat::new(layout),
            numbering: new_numbering(),
        }
    }

    /// The model the vectors belong to.
    pub fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    /// [`ModelIdentity::key`] of that model.
    pub fn model_key(&self) -> &str {
        &self.key
    }

    /// Refuses `identity` unless it is the set's own model.
    pub fn check_model(&self, identity: &ModelIdentity) -> Result<(), SearchError> {
        let actual = identity.key();
        if actual == self.key {
            Ok(())
        } else {
            Err(SearchError::ModelMismatch {
                expected: self.key.clone(),
                actual,
            })
        }
    }

    /// Dimensions of every vector.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Storage layout.
    pub fn layout(&self) -> VectorLayout {
        self.flat.layout()
    }

    /// Papers with a vector.
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    /// True when no paper has a vector.
    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    /// Slots, retired ones included.
    pub fn slots(&self) -> usize {
        self.ids.len()
    }

    /// Bytes of vector data in memory.
    pub fn vector_bytes(&self) -> usize {
        self.flat.bytes()
    }

    /// Identifies the current slot numbering (changes on [`VectorSet::compact`]).
    pub fn numbering(&self) -> u64 {
        self.numbering
    }

    /// Stores `vector` as `id`'s, replacing any previous one, with `tag` for filtering.
    /// The vector must have the model's dimension count and finite components.
    pub fn upsert(
        &mut self,
        id: ArxivId,
        vector: &[f32],
        tag: SlotTag,
    ) -> Result<u32, SearchError> {
        if vector.len() != self.dims {
            return Err(SearchError::Embed(format!(
                "vector for {id} has {} dimensions, the model {} has {}",
                vector.len(),
                self.key,
                self.dims
            )));
        }
        if vector.iter().any(|x| !x.is_finite()) {
            return Err(SearchError::Embed(format!(
                "vector for {id} has a non-finite component"
            )));
        }
        let slot = u32::try_from(self.ids.len())
            .map_err(|_| SearchError::Index("too many vectors for one index".into()))?;
        if let Some(old) = self.slot_of.insert(id.clone(), slot) {
            self.alive[old as usize] = false;
        }
        self.ids.push(id);
        self.alive.push(true);
        self.tags.push(tag);
        self.flat.push(vector);
        Ok(slot)
    }

    /// Retires `id`'s vector; false if it had none.
    pub fn remove(&mut self, id: &ArxivId) -> bool {
        match self.slot_of.remove(id) {
            Some(slot) => {
                self.alive[slot as usize] = false;
                true
            }
            None => false,
        }
    }

    /// The live slot of `id`.
    pub fn slot(&self, id: &ArxivId) -> Option<u32> {
        self.slot_of.get(id).copied()
    }

    /// The paper of a slot.
    pub fn id(&self, slot: u32) -> Option<&ArxivId> {
        self.ids.get(slot as usize)
    }

    /// True for a slot holding a paper's current vector.
    #[inline]
    pub fn is_alive(&self, slot: u32) -> bool {
        self.alive.get(slot as usize).copied().unwrap_or(false)
    }

    /// The tag of a slot.
    #[inline]
    pub fn tag(&self, slot: u32) -> Option<&SlotTag> {
        self.tags.get(slot as usize)
    }

    /// Replaces the tag of `id`'s slot; false if it has no vector.
    pub fn set_tag(&mut self, id: &ArxivId, tag: SlotTag) -> bool {
        match self.slot_of.get(id) {
            Some(&slot) => {
                self.tags[slot as usize] = tag;
                true
            }
            None => false,
        }
    }

    /// Sets every live slot's tag from `f` (after loading, when tags are not persisted).
    pub fn retag(&mut self, mut f: impl FnMut(&ArxivId) -> SlotTag) {
        for (slot, id) in self.ids.iter().enumerate() {
            if self.alive[slot] {
                self.tags[slot] = f(id);
            }
        }
    }

    /// `id`'s vector (dequantised for int8).
    pub fn vector(&self, id: &ArxivId) -> Option<Vec<f32>> {
        self.slot(id)
            .map(|slot| self.flat.get(slot as usize, self.dims))
    }

    /// Inner product of `query` with a slot's vector.
    pub fn score(&self, query: &[f32], slot: u32) -> f32 {
        if query.len() != self.dims || slot as usize >= self.ids.len() {
            return f32::NEG_INFINITY;
        }
        self.flat.score(query, self.dims, slot as usize)
    }

    /// The `k` best live slots in `range` that `allow` accepts, by inner product, best first.
    pub fn scan(
        &self,
        query: &[f32],
        range: std::ops::Range<usize>,
        k: usize,
        allow: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        let end = range.end.min(self.ids.len());
        let start = range.start.min(end);
        let alive = &self.alive;
        let check = |s: u32| alive[s as usize] && allow(s);
        self.flat.scan(query, self.dims, start..end, k, &check)
    }

    /// Drops retired slots and renumbers the rest (a graph built before no longer fits).
    /// Returns how many slots were reclaimed.
    pub fn compact(&mut self) -> usize {
        let retired = self.ids.len() - self.slot_of.len();
        if retired == 0 {
            return 0;
        }
        let mut flat = Flat::new(self.flat.layout());
        flat.reserve(self.slot_of.len(), self.dims);
        let mut ids = Vec::with_capacity(self.slot_of.len());
        let mut tags = Vec::with_capacity(self.slot_of.len());
        for (slot, id) in self.ids.iter().enumerate() {
            if !self.alive[slot] {
                continue;
            }
            flat.push_from(&self.flat, slot, self.dims);
            ids.push(id.clone());
            tags.push(self.tags[slot]);
        }
        self.slot_of = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i as u32))
            .collect();
        self.alive = vec![true; ids.len()];
        self.ids = ids;
        self.tags = tags;
        self.flat = flat;
        self.numbering = new_numbering();
        retired
    }

    /// Live slots from `start` on with their (dequantised) vectors, for building a graph.
    pub fn live_vectors(&self, start: usize) -> Vec<(u32, Vec<f32>)> {
        (start..self.ids.len())
            .filter(|&s| self.alive[s])
            .map(|s| (s as u32, self.flat.get(s, self.dims)))
            .collect()
    }

    /// Every live paper id with its slot, in slot order.
    pub fn live_ids(&self) -> impl Iterator<Item = (u32, &ArxivId)> {
        self.ids
            .iter()
            .enumerate()
            .filter(|(s, _)| self.alive[*s])
            .map(|(s, id)| (s as u32, id))
    }

    pub(crate) fn flat(&self) -> &Flat {
        &self.flat
    }

    pub(crate) fn alive_flags(&self) -> &[bool] {
        &self.alive
    }

    /// Rebuilds a set from saved parts (the store module's loader).
    pub(crate) fn from_parts(
        identity: &ModelIdentity,
        ids: Vec<ArxivId>,
        alive: Vec<bool>,
        flat: Flat,
        numbering: u64,
    ) -> Result<Self, SearchError> {
        if ids.len() != alive.len() {
            return Err(SearchError::Index(
                "vector file: ids and flags disagree".into(),
            ));
        }
        let mut slot_of = HashMap::with_capacity(ids.len());
        for (slot, id) in ids.iter().enumerate() {
            if alive[slot] && slot_of.insert(id.clone(), slot as u32).is_some() {
                return Err(SearchError::Index(format!(
                    "vector file: {id} has two live vectors"
                )));
            }
        }
        let tags = vec![SlotTag::default(); ids.len()];
        Ok(VectorSet {
            identity: identity.clone(),
            key: identity.key(),
            dims: identity.dimensions,
            ids,
            alive,
            tags,
            slot_of,
            flat,
            numbering,
        })
    }
}

/// A fresh numbering id: distinct across compactions and processes in practice.
fn new_numbering() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(48)
}

/// A way to find the best slots for a query.
pub trait VectorIndex: Send + Sync + std::fmt::Debug {
    /// Short name (`exact`, `hnsw`) for logs and benchmarks.
    fn kind(&self) -> &'static str;

    /// The `k` best live slots of `set` that `allow` accepts, by inner product with `query`
    /// (scored from `set`'s storage), best first.
    fn search(
        &self,
        set: &VectorSet,
        query: &[f32],
        k: usize,
        allow: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)>;
}

/// Scores every slot: exact, no extra memory, linear in the number of vectors.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExactScan;

impl VectorIndex for ExactScan {
    fn kind(&self) -> &'static str {
        "exact"
    }

    fn search(
        &self,
        set: &VectorSet,
        query: &[f32],
        k: usize,
        allow: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        set.scan(query, 0..set.slots(), k, allow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn identity(dims: usize) -> ModelIdentity {
        ModelIdentity {
            name: "test/model".into(),
            weights_sha256: "00ff".into(),
            dimensions: dims,
            max_tokens: 16,
            pooling: "mean+l2".into(),
        }
    }

    fn id(n: u32) -> ArxivId {
        ArxivId::parse(&format!("2401.{n:05}")).unwrap()
    }

    fn known() -> SlotTag {
        SlotTag {
            known: true,
            ..SlotTag::default()
        }
    }

    #[test]
    fn upsert_replaces_and_compaction_keeps_the_live_vectors() {
        let mut set = VectorSet::new(&identity(3), VectorLayout::F32);
        set.upsert(id(1), &[1.0, 0.0, 0.0], known()).unwrap();
        set.upsert(id(2), &[0.0, 1.0, 0.0], known()).unwrap();
        set.upsert(id(1), &[0.0, 0.0, 1.0], known()).unwrap();
        assert_eq!((set.len(), set.slots()), (2, 3));
        let best = ExactScan.search(&set, &[0.0, 0.0, 1.0], 5, &|_| true);
        assert_eq!(best.len(), 2, "the retired slot is not returned");
        assert_eq!(set.id(best[0].0), Some(&id(1)));
        let numbering = set.numbering();
        assert!(set.remove(&id(2)));
        assert_eq!(set.compact(), 2);
        assert_ne!(set.numbering(), numbering);
        assert_eq!((set.len(), set.slots()), (1, 1));
        assert_eq!(set.vector(&id(1)), Some(vec![0.0, 0.0, 1.0]));
        assert_eq!(set.vector(&id(2)), None);
    }

    #[test]
    fn bad_vectors_are_refused() {
        let mut set = VectorSet::new(&identity(2), VectorLayout::Int8);
        assert!(set.upsert(id(1), &[1.0], known()).is_err());
        assert!(set.upsert(id(1), &[f32::NAN, 0.0], known()).is_err());
        assert!(set.is_empty());
    }

    #[test]
    fn another_model_is_a_mismatch() {
        let set = VectorSet::new(&identity(2), VectorLayout::Int8);
        let mut other = identity(2);
        other.weights_sha256 = "11ee".into();
        assert!(set.check_model(&identity(2)).is_ok());
        assert!(matches!(
            set.check_model(&other),
            Err(SearchError::ModelMismatch { .. })
        ));
    }

    #[test]
    fn filters_check_dates_categories_and_knowledge() {
        let mut cats = CatMask::default();
        cats.insert(3);
        let tag = SlotTag {
            known: true,
            date: Some(100),
            upvotes: 0,
            cats,
        };
        let mut want = CatMask::default();
        want.insert(3);
        let mut other = CatMask::default();
        other.insert(300);
        let cases = [
            (SlotFilter::default(), true),
            (
                SlotFilter {
                    date: Some((100, 101)),
                    cats: None,
                },
                true,
            ),
            (
                SlotFilter {
                    date: Some((101, 200)),
                    cats: None,
                },
                false,
            ),
            (
                SlotFilter {
                    date: None,
                    cats: Some(want),
                },
                true,
            ),
            (
                SlotFilter {
                    date: None,
                    cats: Some(other),
                },
                false,
            ),
        ];
        for (filter, pass) in cases {
            assert_eq!(filter.allows(&tag), pass, "{filter:?}");
        }
        assert!(!SlotFilter::default().allows(&SlotTag::default()));
        let undated = SlotTag { date: None, ..tag };
        assert!(
            !SlotFilter {
                date: Some((i64::MIN, 0)),
                cats: None
            }
            .allows(&undated)
        );
    }
}
