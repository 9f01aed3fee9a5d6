//! The approximate index: an HNSW graph (`hnsw_rs`) over a [`VectorSet`]'s slots.
//!
//! The graph covers the slots that existed when it was built (`0..built_slots`); slots added
//! since are scanned exactly and merged in, and retired slots are filtered out, so the index
//! stays correct between rebuilds. Scores are recomputed from the set's own storage so graph
//! hits and scanned hits compare on one scale.
//!
//! `hnsw_rs` asserts and panics on files it cannot read or write; loading and saving run under
//! `catch_unwind`, so a damaged graph file means "rebuild", never a crash.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::Instant;

use hnsw_rs::api::AnnT;
use hnsw_rs::hnsw::Hnsw;
use hnsw_rs::hnswio::HnswIo;
use hnsw_rs::prelude::Distance;

use super::{VectorIndex, VectorSet, flat};
use crate::SearchError;

/// Base name of the graph files (`ann.hnsw.graph`, `ann.hnsw.data`).
const BASENAME: &str = "ann";
/// Layers of the graph at most (hnsw_rs caps it at 16).
const MAX_LAYERS: usize = 16;

/// HNSW parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnParams {
    /// Neighbours per node and layer (`M`); layer 0 keeps twice as many.
    pub max_connections: usize,
    /// Candidates examined while inserting.
    pub ef_construction: usize,
    /// Candidates examined while searching (at least the number of results asked).
    pub ef_search: usize,
}

impl Default for AnnParams {
    /// Measured on the 74,728-paper arXiv corpus with the bundled model (`paperfeed bench
    /// search`): recall@10 against the exact scan ≥ 0.97 at well under a millisecond.
    fn default() -> Self {
        AnnParams {
            max_connections: 16,
            ef_construction: 64,
            ef_search: 96,
        }
    }
}

/// `1 - cosine` for unit vectors: never negative for them, and no assertion on rounding
/// (hnsw_rs's own `DistDot` panics when a dot product rounds above 1).
#[derive(Debug, Default, Clone, Copy)]
pub struct DotDistance;

impl Distance<f32> for DotDistance {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        let d = pulp::Arch::new().dispatch(|| flat::dot_f32(a, b));
        (1.0 - d).max(0.0)
    }
}

/// An HNSW graph over slots `0..built_slots` of a set with numbering `numbering`.
pub struct HnswIndex {
    graph: Hnsw<'static, f32, DotDistance>,
    built_slots: u32,
    numbering: u64,
    params: AnnParams,
}

impl std::fmt::Debug for HnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex")
            .field("built_slots", &self.built_slots)
            .field("points", &self.graph.get_nb_point())
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl HnswIndex {
    /// Builds a graph over `points` (slot, vector), on all cores. `slots` is the set's slot
    /// count when the points were taken and `numbering` its numbering then.
    pub fn build(
        points: &[(u32, Vec<f32>)],
        slots: u32,
        numbering: u64,
        params: AnnParams,
    ) -> Self {
        let started = Instant::now();
        let mut graph = Hnsw::new(
            params.max_connections,
            points.len().max(1),
            MAX_LAYERS,
            params.ef_construction,
            DotDistance,
        );
        let data: Vec<(&[f32], usize)> = points
            .iter()
            .map(|(slot, v)| (v.as_slice(), *slot as usize))
            .collect();
        graph.parallel_insert_slice(&data);
        graph.set_searching_mode(true);
        tracing::debug!(
            points = points.len(),
            seconds = started.elapsed().as_secs_f64(),
            "HNSW graph built"
        );
        HnswIndex {
            graph,
            built_slots: slots,
            numbering,
            params,
        }
    }

    /// Builds a graph over every live slot of `set`.
    pub fn build_for(set: &VectorSet, params: AnnParams) -> Self {
        let points = set.live_vectors(0);
        Self::build(&points, set.slots() as u32, set.numbering(), params)
    }

    /// Slots the graph covers (`0..built_slots`).
    pub fn built_slots(&self) -> u32 {
        self.built_slots
    }

    /// The set numbering the graph was built for.
    pub fn numbering(&self) -> u64 {
        self.numbering
    }

    /// Points in the graph.
    pub fn points(&self) -> usize {
        self.graph.get_nb_point()
    }

    /// True when the graph was built over `set`'s current slot numbering.
    pub fn fits(&self, set: &VectorSet) -> bool {
        self.numbering == set.numbering() && self.built_slots as usize <= set.slots()
    }

    /// Writes the graph into `dir` (created; its previous content replaced).
    pub fn save(&self, dir: &Path) -> Result<(), SearchError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        for name in [".hnsw.graph", ".hnsw.data"] {
            let p = dir.join(format!("{BASENAME}{name}"));
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| io(&p, e))?;
            }
        }
        let written = catch_unwind(AssertUnwindSafe(|| self.graph.file_dump(dir, BASENAME)));
        match written {
            Ok(Ok(name)) if name == BASENAME => Ok(()),
            Ok(Ok(name)) => Err(SearchError::Index(format!(
                "HNSW graph written under an unexpected name {name:?}"
            ))),
            Ok(Err(e)) => Err(SearchError::Index(format!("cannot write HNSW graph: {e}"))),
            Err(_) => Err(SearchError::Index(format!(
                "cannot write HNSW graph into {}",
                dir.display()
            ))),
        }
    }

    /// Reads a graph written by [`HnswIndex::save`]; `built_slots` and `numbering` come from
    /// the caller's records of what it was built over.
    pub fn load(
        dir: &Path,
        built_slots: u32,
        numbering: u64,
        dims: usize,
        params: AnnParams,
    ) -> Result<Self, SearchError> {
        for name in [".hnsw.graph", ".hnsw.data"] {
            let p = dir.join(format!("{BASENAME}{name}"));
            if !p.is_file() {
                return Err(SearchError::Index(format!("{} is missing", p.display())));
            }
        }
        let dir = dir.to_path_buf();
        let loaded = catch_unwind(AssertUnwindSafe(move || {
            // The loaded graph borrows its loader for its whole life; a graph lives as long
            // as the process keeps its index, and is loaded once per start, so the loader (a
            // few hundred bytes, no mapped memory) is leaked rather than made self-referential.
            let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(&dir, BASENAME)));
            io.load_hnsw::<f32, DotDistance>()
        }));
        let mut graph = match loaded {
            Ok(Ok(g)) => g,
            Ok(Err(e)) => return Err(SearchError::Index(format!("cannot read HNSW graph: {e}"))),
            Err(_) => return Err(SearchError::Index("HNSW graph files are damaged".into())),
        };
        if graph.get_nb_point() > 0 && graph.get_point_indexation().get_data_dimension() != dims {
            return Err(SearchError::Index(format!(
                "HNSW graph has {} dimensions, vectors have {dims}",
                graph.get_point_indexation().get_data_dimension()
            )));
        }
        graph.set_searching_mode(true);
        Ok(HnswIndex {
            graph,
            built_slots,
            numbering,
            params,
        })
    }
}

impl VectorIndex for HnswIndex {
    fn kind(&self) -> &'static str {
        "hnsw"
    }

    fn search(
        &self,
        set: &VectorSet,
        query: &[f32],
        k: usize,
        allow: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        if k == 0 || query.len() != set.dims() {
            return Vec::new();
        }
        if !self.fits(set) {
            // Built over another numbering: its slots mean nothing now.
            return set.scan(query, 0..set.slots(), k, allow);
        }
        let filter = |id: &usize| u32::try_from(*id).is_ok_and(|s| set.is_alive(s) && allow(s));
        let ef = self.params.ef_search.max(k);
        let mut out: Vec<(u32, f32)> = self
            .graph
            .search_filter(query, k, ef, Some(&filter))
            .into_iter()
            .filter_map(|n| u32::try_from(n.d_id).ok())
            .map(|slot| (slot, set.score(query, slot)))
            .collect();
        // Slots added since the graph was built.
        let fresh = set.scan(query, self.built_slots as usize..set.slots(), k, allow);
        out.extend(fresh);
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.dedup_by_key(|(slot, _)| *slot);
        out.truncate(k);
        out
    }
}

fn io(path: &Path, source: std::io::Error) -> SearchError {
    SearchError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::{ExactScan, SlotTag, VectorLayout};
    use paperfeed_core::ArxivId;

    fn unit(seed: u64, dims: usize) -> Vec<f32> {
        // xorshift: deterministic pseudo-random vectors without a dependency.
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut v: Vec<f32> = (0..dims)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 2001) as f32 / 1000.0 - 1.0
            })
            .collect();
        let n = v.iter().map(|a| a * a).sum::<f32>().sqrt().max(1e-6);
        v.iter_mut().for_each(|a| *a /= n);
        v
    }

    fn set_of(n: u32, dims: usize) -> VectorSet {
        let identity = crate::embed::ModelIdentity {
            name: "t".into(),
            weights_sha256: "ab".into(),
            dimensions: dims,
            max_tokens: 8,
            pooling: "mean".into(),
        };
        let mut set = VectorSet::new(&identity, VectorLayout::F32);
        for i in 0..n {
            let id = ArxivId::parse(&format!("2401.{i:05}")).unwrap();
            let tag = SlotTag {
                known: true,
                ..SlotTag::default()
            };
            set.upsert(id, &unit(u64::from(i) + 1, dims), tag).unwrap();
        }
        set
    }

    #[test]
    fn graph_finds_what_the_scan_finds_and_survives_a_reload() {
        let dims = 16;
        let mut set = set_of(600, dims);
        let ann = HnswIndex::build_for(&set, AnnParams::default());
        // Changes after the build: a new paper and a retired one.
        let newcomer = ArxivId::parse("2402.00001").unwrap();
        let q = unit(999_999, dims);
        let tag = SlotTag {
            known: true,
            ..SlotTag::default()
        };
        set.upsert(newcomer.clone(), &q, tag).unwrap();
        let gone = set.id(0).cloned().unwrap();
        set.remove(&gone);

        let mut hits = 0;
        for s in 0..40u64 {
            let q = unit(10_000 + s, dims);
            let exact = ExactScan.search(&set, &q, 10, &|_| true);
            let approx = ann.search(&set, &q, 10, &|_| true);
            hits += approx.iter().filter(|h| exact.contains(h)).count();
            assert!(
                approx.iter().all(|(slot, _)| *slot != 0),
                "retired slot returned"
            );
        }
        assert!(hits >= 40 * 9, "recall@10 too low: {hits}/400");
        let top = ann.search(&set, &q, 1, &|_| true);
        assert_eq!(
            set.id(top[0].0),
            Some(&newcomer),
            "fresh slots are searched"
        );

        let dir = tempfile::tempdir().unwrap();
        ann.save(dir.path()).unwrap();
        let loaded = HnswIndex::load(
            dir.path(),
            ann.built_slots(),
            ann.numbering(),
            dims,
            AnnParams::default(),
        )
        .unwrap();
        assert_eq!(loaded.points(), 600);
        let q = unit(4242, dims);
        assert_eq!(
            loaded.search(&set, &q, 10, &|_| true),
            ann.search(&set, &q, 10, &|_| true)
        );
    }

    #[test]
    fn damaged_graph_files_are_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ann.hnsw.graph"), b"garbage").unwrap();
        std::fs::write(dir.path().join("ann.hnsw.data"), b"garbage").unwrap();
        assert!(HnswIndex::load(dir.path(), 0, 0, 4, AnnParams::default()).is_err());
        let empty = tempfile::tempdir().unwrap();
        assert!(HnswIndex::load(empty.path(), 0, 0, 4, AnnParams::default()).is_err());
    }
}
