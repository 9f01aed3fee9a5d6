//! The search engine the service and the CLI call: BM25, semantic and hybrid search over one
//! BM25 index and one model's vectors, similar papers, and the methods the indexing and
//! embedding jobs use to keep both current.
//!
//! - [`SearchMode::Bm25`] is [`Bm25Index::search`] as is.
//! - [`SearchMode::Semantic`] ranks papers by cosine similarity of their vector with the
//!   query's (embedded through a small LRU cache: a server sees the same queries again and
//!   again), with an exact scan or, above [`EngineOptions::ann_threshold`] vectors, an HNSW
//!   graph.
//! - [`SearchMode::Hybrid`] fuses the top [`EngineOptions::depth`] of both lists
//!   ([`crate::fusion`]) with the model's measured fusion ([`FusionChoice`]).
//!
//! In every mode the request's date and category filters and its sort apply (dense
//! candidates are checked against a compact in-memory table of dates, upvotes and category
//! terms read from the BM25 index), a query naming a paper by id or exact title pins it
//! first, and hits carry highlighted titles and snippets when asked. An empty query lists
//! papers as the BM25 index does (newest first). While the embedding job has not covered
//! every paper, semantic and hybrid search use the vectors there are and say so with
//! [`EngineResults::semantic_complete`]; with no vectors at all, hybrid is BM25 and semantic
//! returns only pinned papers.
//!
//! The engine is `Send + Sync`; share it behind an `Arc` and call it from blocking threads
//! (`spawn_blocking`): a search takes a millisecond or so of CPU, more for a BERT query.

mod papers;

use std::fmt;
use std::num::NonZeroUsize;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use lru::LruCache;
use paperfeed_core::{ArxivId, Paper};
use serde::{Deserialize, Serialize};
use tantivy::{IndexReader, ReloadPolicy};

use crate::SearchError;
use crate::bm25::{self, Bm25Index, Filters, Hit, QUOTATION_WORDS, SearchRequest, Sort};
use crate::embed::{Embedder, ModelIdentity};
use crate::fusion::{self, FusionChoice, FusionSource};
use crate::vector::store::{self, VectorDir};
use crate::vector::{
    AnnParams, ExactScan, HnswIndex, SlotFilter, SlotTag, VectorIndex, VectorLayout, VectorSet,
};
use papers::PaperTable;

/// How to search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Keywords only.
    Bm25,
    /// Embeddings only.
    Semantic,
    /// Both, fused.
    #[default]
    Hybrid,
}

impl SearchMode {
    /// Every mode, in the order results are reported.
    pub const ALL: [SearchMode; 3] = [SearchMode::Bm25, SearchMode::Semantic, SearchMode::Hybrid];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Bm25 => "bm25",
            SearchMode::Semantic => "semantic",
            SearchMode::Hybrid => "hybrid",
        }
    }
}

impl fmt::Display for SearchMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SearchMode {
    type Err = SearchError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bm25" | "keyword" | "keywords" => Ok(SearchMode::Bm25),
            "semantic" | "dense" => Ok(SearchMode::Semantic),
            "hybrid" | "" => Ok(SearchMode::Hybrid),
            other => Err(SearchError::Query(format!(
                "unknown search mode {:?} (bm25, semantic or hybrid)",
                other.chars().take(20).collect::<String>()
            ))),
        }
    }
}

/// One search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineRequest {
    /// How.
    pub mode: SearchMode,
    /// What, with filters, sort, paging and whether to render snippets.
    pub request: SearchRequest,
}

impl EngineRequest {
    /// A first page of 10 in `mode` with snippets.
    pub fn new(mode: SearchMode, query: impl Into<String>) -> Self {
        EngineRequest {
            mode,
            request: SearchRequest::new(query),
        }
    }
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineResults {
    /// The mode searched.
    pub mode: SearchMode,
    /// How many results there are in all: the BM25 match count for keyword search; for
    /// semantic and hybrid search, the length of the ranking (pinned papers, then the top
    /// [`EngineOptions::depth`] candidates of each list, or deeper when a page asks for more).
    pub total: usize,
    /// This page. `score` is the BM25 score, the cosine similarity, or the fused score.
    pub hits: Vec<Hit>,
    /// False when semantic or hybrid results were computed before every paper had a vector
    /// (the embedding job is behind): they are right for the papers embedded so far. Always
    /// true for BM25 search.
    pub semantic_complete: bool,
}

/// Tuning of an engine.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineOptions {
    /// Vector storage in memory.
    pub layout: VectorLayout,
    /// From this many vectors on, semantic search goes through an HNSW graph.
    pub ann_threshold: usize,
    /// HNSW parameters.
    pub ann: AnnParams,
    /// Candidates taken from each list before fusing (at least what a page needs).
    pub depth: usize,
    /// Query embeddings remembered.
    pub query_cache: usize,
    /// The fusion to use; `None`: the one shipped for the model, else [`fusion::UNMEASURED_FUSION`]
    /// with a warning.
    pub fusion: Option<FusionChoice>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            layout: VectorLayout::default(),
            ann_threshold: DEFAULT_ANN_THRESHOLD,
            ann: AnnParams::default(),
            depth: DEFAULT_DEPTH,
            query_cache: 4096,
            fusion: None,
        }
    }
}

/// Vectors from which an HNSW graph is used: below it an exact int8 scan takes well under a
/// millisecond on one core.
pub const DEFAULT_ANN_THRESHOLD: usize = 20_000;
/// Candidates per list fused by default (the anchors' RRF fuses the top 100 too).
pub const DEFAULT_DEPTH: usize = 100;
/// Most results (offset and page) a light search shows (see [`SearchEngine::is_light`]).
pub const LIGHT_HITS: usize = 50;
/// Longest query, in bytes, of a light search: a dozen long words.
const LIGHT_QUERY_BYTES: usize = 200;
/// A graph is rebuilt when this share of the vectors arrived since it was built.
const ANN_STALE_FRACTION: f64 = 0.1;
/// Retired slots are reclaimed when they are this share of all slots.
const COMPACT_FRACTION: f64 = 0.2;

/// How far the embedding job has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Papers with a vector.
    pub vectors: usize,
    /// Papers in the BM25 index.
    pub papers: usize,
    /// Papers the embedding job last reported still waiting for a vector (`None`: it has not
    /// reported).
    pub pending: Option<u64>,
    /// Whether semantic results cover every paper.
    pub complete: bool,
}

/// What [`SearchEngine::maintain`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Maintenance {
    /// Retired slots reclaimed.
    pub compacted: usize,
    /// Whether an HNSW graph was (re)built.
    pub graph_built: bool,
    /// Seconds spent building it.
    pub graph_seconds: f64,
}

/// The ranked candidates of a query before paging: what [`SearchEngine::search`] pages
/// through, exposed for evaluation and fusion tuning.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidates {
    /// Papers the query names by id or exact title.
    pub pinned: Vec<ArxivId>,
    /// BM25's top papers.
    pub bm25: Vec<(ArxivId, f32)>,
    /// The dense top papers.
    pub dense: Vec<(ArxivId, f32)>,
}

/// BM25, semantic and hybrid search over one index and one model's vectors.
pub struct SearchEngine {
    bm25: Bm25Index,
    reader: IndexReader,
    embedder: Arc<dyn Embedder>,
    identity: ModelIdentity,
    options: EngineOptions,
    papers: RwLock<PaperTable>,
    vectors: RwLock<VectorSet>,
    ann: RwLock<Option<Arc<HnswIndex>>>,
    vector_dir: Option<VectorDir>,
    fusion: RwLock<FusionChoice>,
    cache: Mutex<LruCache<String, Arc<[f32]>>>,
    /// Papers waiting for a vector as the embedding job last said; -1: not reported.
    pending: AtomicI64,
    /// Serialises graph builds.
    maintaining: Mutex<()>,
}

impl fmt::Debug for SearchEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SearchEngine")
            .field("bm25", &self.bm25)
            .field("model", &self.identity.key())
            .field("vectors", &self.vector_count())
            .field("fusion", &self.fusion())
            .finish_non_exhaustive()
    }
}

impl SearchEngine {
    /// Opens the BM25 index in `index_dir` and the model's vectors under `vectors_root`
    /// (`vectors/` of the data dir; each model has its own folder in it).
    pub fn open(
        index_dir: &Path,
        vectors_root: &Path,
        embedder: Arc<dyn Embedder>,
        options: EngineOptions,
    ) -> Result<Self, SearchError> {
        let bm25 = Bm25Index::open(index_dir)?;
        let dir = VectorDir::new(vectors_root, embedder.identity());
        Self::assemble(bm25, Some(dir), embedder, options)
    }

    /// An engine held in memory only (evaluation, tests).
    pub fn in_memory(
        embedder: Arc<dyn Embedder>,
        options: EngineOptions,
    ) -> Result<Self, SearchError> {
        Self::assemble(Bm25Index::in_memory()?, None, embedder, options)
    }

    fn assemble(
        bm25: Bm25Index,
        vector_dir: Option<VectorDir>,
        embedder: Arc<dyn Embedder>,
        options: EngineOptions,
    ) -> Result<Self, SearchError> {
        let identity = embedder.identity().clone();
        let reader: IndexReader = bm25
            .tantivy_index()
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let papers = PaperTable::from_index(&reader)?;
        let (mut set, ann) = match &vector_dir {
            Some(dir) => match dir.load(&identity, options.layout, options.ann)? {
                Some(loaded) => {
                    if loaded.replayed > 0 {
                        tracing::debug!(records = loaded.replayed, "vector journal replayed");
                    }
                    (loaded.set, loaded.ann.map(Arc::new))
                }
                None => (VectorSet::new(&identity, options.layout), None),
            },
            None => (VectorSet::new(&identity, options.layout), None),
        };
        set.check_model(&identity)?;
        set.retag(|id| papers.get(id).unwrap_or_default());
        let fusion = match options.fusion {
            Some(choice) => choice,
            None => default_fusion(&identity),
        };
        let cache = LruCache::new(
            NonZeroUsize::new(options.query_cache.max(1)).unwrap_or(NonZeroUsize::MIN),
        );
        Ok(SearchEngine {
            bm25,
            reader,
            embedder,
            identity,
            options,
            papers: RwLock::new(papers),
            vectors: RwLock::new(set),
            ann: RwLock::new(ann),
            vector_dir,
            fusion: RwLock::new(fusion),
            cache: Mutex::new(cache),
            pending: AtomicI64::new(-1),
            maintaining: Mutex::new(()),
        })
    }

    /// The BM25 index.
    pub fn bm25(&self) -> &Bm25Index {
        &self.bm25
    }

    /// The embedding model.
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// The model's identity.
    pub fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    /// The options the engine runs with.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// The fusion hybrid search uses, and where it came from.
    pub fn fusion(&self) -> FusionChoice {
        *read(&self.fusion)
    }

    /// Replaces the fusion (after tuning).
    pub fn set_fusion(&self, choice: FusionChoice) {
        *write(&self.fusion) = choice;
    }

    // --- searching ------------------------------------------------------------------------

    /// Whether `req` is a search of bounded, short cost: at most [`LIGHT_HITS`] results
    /// (each is a document read and highlighted), a typed query of at most
    /// [`QUOTATION_WORDS`] words (not a pasted abstract), and no transformer to embed it
    /// with. Such a search takes about a millisecond on the 74,728 papers, which lets a
    /// server run it where the request arrived rather than hand it to another thread.
    pub fn is_light(&self, req: &EngineRequest) -> bool {
        let r = &req.request;
        r.offset.saturating_add(r.limit) <= LIGHT_HITS
            && r.query.split_whitespace().nth(QUOTATION_WORDS).is_none()
            && r.query.len() <= LIGHT_QUERY_BYTES
            && (req.mode == SearchMode::Bm25 || self.embedder.embeds_queries_cheaply())
    }

    /// A page of results for `req` (see the module docs).
    pub fn search(&self, req: &EngineRequest) -> Result<EngineResults, SearchError> {
        let r = &req.request;
        if req.mode == SearchMode::Bm25 {
            let res = self.bm25.search(r)?;
            return Ok(EngineResults {
                mode: req.mode,
                total: res.total,
                hits: res.hits,
                semantic_complete: true,
            });
        }
        let complete = self.coverage().complete;
        if r.query.trim().is_empty() {
            let res = self.bm25.search(r)?;
            return Ok(EngineResults {
                mode: req.mode,
                total: res.total,
                hits: res.hits,
                semantic_complete: complete,
            });
        }
        check_page(r)?;
        let depth = self.options.depth.max(r.offset + r.limit);
        let candidates = self.candidates(req.mode, &r.query, &r.filters(), depth)?;
        let ranked = self.rank(req.mode, &candidates, depth)?;
        let mut list: Vec<(ArxivId, f32, bool)> =
            Vec::with_capacity(candidates.pinned.len() + ranked.len());
        for id in &candidates.pinned {
            let score = ranked
                .iter()
                .find(|(x, _)| x == id)
                .map_or(0.0, |(_, s)| *s);
            list.push((id.clone(), score, true));
        }
        let mut rest: Vec<(ArxivId, f32, bool)> = ranked
            .into_iter()
            .filter(|(id, _)| !candidates.pinned.contains(id))
            .map(|(id, s)| (id, s, false))
            .collect();
        if r.sort != Sort::Relevance {
            self.sort_by(&mut rest, r.sort);
        }
        list.extend(rest);
        let total = list.len();
        let page: Vec<(ArxivId, f32, bool)> =
            list.into_iter().skip(r.offset).take(r.limit).collect();
        let hits = self.render(&r.query, page, r.snippets, r.stored)?;
        Ok(EngineResults {
            mode: req.mode,
            total,
            hits,
            semantic_complete: complete,
        })
    }

    /// The pinned papers and the BM25 and dense candidate lists of `query` (each at most
    /// `depth` long) for `mode`; a list the mode does not use is empty.
    pub fn candidates(
        &self,
        mode: SearchMode,
        query: &str,
        filters: &Filters,
        depth: usize,
    ) -> Result<Candidates, SearchError> {
        let pinned = self.bm25.pinned(query, filters)?;
        let bm25 = if mode == SearchMode::Semantic {
            Vec::new()
        } else {
            self.bm25.ranked_ids(query, filters, depth)?
        };
        let dense = if mode == SearchMode::Bm25 || self.vector_count() == 0 {
            Vec::new()
        } else {
            let q = self.query_vector(query)?;
            let mut dense = self.dense(&q, filters, depth, None)?;
            if mode == SearchMode::Hybrid {
                self.score_missing(&q, &bm25, &mut dense);
            }
            dense
        };
        Ok(Candidates {
            pinned,
            bm25,
            dense,
        })
    }

    /// Adds to `dense` the similarity of each BM25 candidate it lacks (when that paper has a
    /// vector), and re-sorts it. Without this, a paper BM25 found but just outside the dense
    /// top `depth` counts as "not similar at all" in the fusion; with it, the dense list
    /// re-scores every BM25 candidate by its true similarity. With the bundled model this
    /// turned hybrid from below BM25 alone on CSFCube (best fusion 0.533 / 0.541 nDCG@10 on
    /// CACM / CSFCube against BM25's 0.527 / 0.544) to above it on both (0.530 / 0.549), and
    /// it costs a few hundred dot products.
    fn score_missing(
        &self,
        query: &[f32],
        bm25: &[(ArxivId, f32)],
        dense: &mut Vec<(ArxivId, f32)>,
    ) {
        let set = read(&self.vectors);
        if query.len() != set.dims() {
            return;
        }
        let have: std::collections::HashSet<&ArxivId> = dense.iter().map(|(id, _)| id).collect();
        let missing: Vec<(ArxivId, f32)> = bm25
            .iter()
            .filter(|(id, _)| !have.contains(id))
            .filter_map(|(id, _)| {
                set.slot(id)
                    .map(|slot| (id.clone(), set.score(query, slot)))
            })
            .collect();
        drop(have);
        if missing.is_empty() {
            return;
        }
        dense.extend(missing);
        dense.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }

    /// The ranking of `candidates` in `mode` (pinned papers aside), at most `limit` long:
    /// BM25's list, the dense list, or their fusion.
    pub fn rank(
        &self,
        mode: SearchMode,
        candidates: &Candidates,
        limit: usize,
    ) -> Result<Vec<(ArxivId, f32)>, SearchError> {
        Ok(match mode {
            SearchMode::Bm25 => candidates.bm25.iter().take(limit).cloned().collect(),
            SearchMode::Semantic => candidates.dense.iter().take(limit).cloned().collect(),
            SearchMode::Hybrid => {
                let fusion = self.fusion().fusion;
                fusion::fuse(
                    &candidates.bm25,
                    &candidates.dense,
                    &fusion,
                    limit.saturating_mul(2),
                )
            }
        })
    }

    /// Papers most like `id`: its vector's nearest neighbours (itself excluded), or BM25's
    /// more-like-this when it has no vector. Empty for an unknown paper.
    pub fn similar(&self, id: &ArxivId, limit: usize) -> Result<Vec<(ArxivId, f32)>, SearchError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let vector = read(&self.vectors).vector(id);
        match vector {
            Some(v) if read(&self.papers).get(id).is_some() => {
                self.dense(&v, &Filters::default(), limit, Some(id))
            }
            _ => self.bm25.similar(id, limit),
        }
    }

    /// The embedding of a query, from the cache when it was asked before.
    pub fn query_vector(&self, query: &str) -> Result<Arc<[f32]>, SearchError> {
        if let Some(v) = lock(&self.cache).get(query) {
            return Ok(v.clone());
        }
        let v: Arc<[f32]> = self.embedder.embed_query(query)?.into();
        lock(&self.cache).put(query.to_string(), v.clone());
        Ok(v)
    }

    /// The `k` papers whose vectors are closest to `query` among those passing `filters`,
    /// `exclude` left out.
    pub fn dense(
        &self,
        query: &[f32],
        filters: &Filters,
        k: usize,
        exclude: Option<&ArxivId>,
    ) -> Result<Vec<(ArxivId, f32)>, SearchError> {
        let filter = read(&self.papers).slot_filter(filters)?;
        let set = read(&self.vectors);
        if set.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        if query.len() != set.dims() {
            return Err(SearchError::ModelMismatch {
                expected: set.model_key().to_string(),
                actual: format!("a query vector of {} dimensions", query.len()),
            });
        }
        let skip = exclude.and_then(|id| set.slot(id));
        let want = k + usize::from(skip.is_some());
        let allow = |s: u32| Some(s) != skip && set.tag(s).is_some_and(|t| filter.allows(t));
        let ann = read(&self.ann).clone();
        let slots = match ann {
            Some(ann)
                if set.len() >= self.options.ann_threshold && self.graph_pays(&set, &filter) =>
            {
                let found = ann.search(&set, query, want, &allow);
                if found.len() < want && filter.is_restrictive() {
                    // The graph lost its way among few allowed papers: scan them.
                    ExactScan.search(&set, query, want, &allow)
                } else {
                    found
                }
            }
            _ => ExactScan.search(&set, query, want, &allow),
        };
        Ok(slots
            .into_iter()
            .filter_map(|(slot, score)| set.id(slot).map(|id| (id.clone(), score)))
            .take(k)
            .collect())
    }

    /// The `k` nearest papers to `query` by exact scan, whatever index is in use: the
    /// reference an approximate index's recall is measured against.
    pub fn dense_exact(&self, query: &[f32], k: usize) -> Vec<(ArxivId, f32)> {
        let set = read(&self.vectors);
        let allow = |s: u32| set.tag(s).is_some_and(|t| t.known);
        ExactScan
            .search(&set, query, k, &allow)
            .into_iter()
            .filter_map(|(slot, score)| set.id(slot).map(|id| (id.clone(), score)))
            .collect()
    }

    /// Whether the graph beats a scan for `filter`: it does unless few papers pass, where a
    /// filtered graph walk visits many rejected nodes and the scan touches few vectors.
    fn graph_pays(&self, set: &VectorSet, filter: &SlotFilter) -> bool {
        if !filter.is_restrictive() {
            return true;
        }
        let passing = (0..set.slots() as u32)
            .filter(|&s| set.is_alive(s) && set.tag(s).is_some_and(|t| filter.allows(t)))
            .count();
        passing * 20 >= set.len()
    }

    fn sort_by(&self, list: &mut [(ArxivId, f32, bool)], sort: Sort) {
        let papers = read(&self.papers);
        let key = |id: &ArxivId| -> (i64, u32) {
            let tag = papers.get(id).unwrap_or_default();
            (tag.date.unwrap_or(i64::MIN), tag.upvotes)
        };
        list.sort_by(|a, b| {
            let (ka, kb) = (key(&a.0), key(&b.0));
            let primary = match sort {
                Sort::Date => kb.0.cmp(&ka.0),
                Sort::Votes => kb.1.cmp(&ka.1),
                Sort::Relevance => std::cmp::Ordering::Equal,
            };
            primary
                .then_with(|| b.1.total_cmp(&a.1))
                .then_with(|| a.0.cmp(&b.0))
        });
    }

    fn render(
        &self,
        query: &str,
        page: Vec<(ArxivId, f32, bool)>,
        snippets: bool,
        stored: bool,
    ) -> Result<Vec<Hit>, SearchError> {
        let mut shown = if page.is_empty() || !(snippets || stored) {
            Vec::new()
        } else {
            let ids: Vec<ArxivId> = page.iter().map(|(id, _, _)| id.clone()).collect();
            self.bm25.show(query, &ids, snippets)?
        };
        shown.resize(page.len(), None);
        Ok(page
            .into_iter()
            .zip(shown)
            .map(|((id, score, pinned), shown)| Hit::new(id, score, pinned, shown))
            .collect())
    }

    // --- following the store ----------------------------------------------------------------

    /// Applies papers (with their upvotes) and deletions to the BM25 index and commits them
    /// as store change `seq`; a deleted paper's vector goes too.
    pub fn apply_changes(
        &self,
        upserts: &[(&Paper, u32)],
        deletes: &[ArxivId],
        seq: i64,
    ) -> Result<(), SearchError> {
        self.stage_changes(upserts, deletes)?;
        self.commit(seq)
    }

    /// Writes papers and deletions without committing: BM25 search sees them at the next
    /// [`SearchEngine::commit`] (several batches per commit keep a large catch-up fast and
    /// its memory flat). Filters and sorts of dense candidates, and deletions of vectors, take
    /// effect at once.
    pub fn stage_changes(
        &self,
        upserts: &[(&Paper, u32)],
        deletes: &[ArxivId],
    ) -> Result<(), SearchError> {
        self.bm25.upsert(upserts.iter().map(|(p, v)| (*p, *v)))?;
        for id in deletes {
            self.bm25.delete(id)?;
        }
        let mut tags: Vec<(ArxivId, SlotTag)> = Vec::with_capacity(upserts.len());
        {
            let mut papers = write(&self.papers);
            for (paper, upvotes) in upserts {
                tags.push((paper.id.clone(), papers.upsert(paper, *upvotes)));
            }
            for id in deletes {
                papers.remove(id);
            }
        }
        {
            let mut set = write(&self.vectors);
            for (id, tag) in &tags {
                set.set_tag(id, *tag);
            }
        }
        if !deletes.is_empty() {
            self.remove_vectors(deletes)?;
        }
        Ok(())
    }

    /// Commits what was staged as store change `seq` (see [`Bm25Index::commit`]).
    pub fn commit(&self, seq: i64) -> Result<(), SearchError> {
        self.bm25.commit(seq)?;
        self.reader.reload()?;
        Ok(())
    }

    /// Merges the keyword index's segments other than `keep` into one per indexing thread
    /// (see [`Bm25Index::merge_segments`]): after a bulk build, so queries walk few postings
    /// lists per term.
    pub fn merge_segments(&self, keep: &bm25::Segments) -> Result<(), SearchError> {
        self.bm25.merge_segments(keep)?;
        self.reader.reload()?;
        // Both readers hold the merged segments now, so the old files can go.
        self.bm25.collect_garbage()
    }

    /// Stores vectors (of this engine's model) for papers, replacing older ones. They are
    /// journaled on disk before anything else, so a caller that records them elsewhere
    /// afterwards never has vectors the engine lacks.
    pub fn upsert_vectors(&self, vectors: &[(ArxivId, Vec<f32>)]) -> Result<(), SearchError> {
        let dims = self.identity.dimensions;
        for (id, v) in vectors {
            if v.len() != dims || v.iter().any(|x| !x.is_finite()) {
                return Err(SearchError::Embed(format!(
                    "vector for {id} does not fit model {} ({} dimensions, finite)",
                    self.identity.key(),
                    dims
                )));
            }
        }
        if let Some(dir) = &self.vector_dir {
            dir.append_upserts(vectors)?;
        }
        let papers = read(&self.papers);
        let mut set = write(&self.vectors);
        for (id, v) in vectors {
            let tag = papers.get(id).unwrap_or_default();
            set.upsert(id.clone(), v, tag)?;
        }
        Ok(())
    }

    /// Drops the vectors of `ids`; returns how many there were.
    pub fn remove_vectors(&self, ids: &[ArxivId]) -> Result<usize, SearchError> {
        let present: Vec<ArxivId> = {
            let set = read(&self.vectors);
            ids.iter()
                .filter(|id| set.slot(id).is_some())
                .cloned()
                .collect()
        };
        if present.is_empty() {
            return Ok(0);
        }
        if let Some(dir) = &self.vector_dir {
            dir.append_deletes(&present)?;
        }
        let mut set = write(&self.vectors);
        Ok(present.iter().filter(|id| set.remove(id)).count())
    }

    /// Forgets every vector (before reloading them all from the store), on disk too.
    pub fn clear_vectors(&self) -> Result<(), SearchError> {
        let mut set = write(&self.vectors);
        *write(&self.ann) = None;
        *set = VectorSet::new(&self.identity, self.options.layout);
        if let Some(dir) = &self.vector_dir {
            dir.save(&set, None)?;
        }
        Ok(())
    }

    /// Papers with a vector.
    pub fn vector_count(&self) -> usize {
        read(&self.vectors).len()
    }

    /// Whether `id` has a vector.
    pub fn has_vector(&self, id: &ArxivId) -> bool {
        read(&self.vectors).slot(id).is_some()
    }

    /// The vector index in use for unfiltered semantic search (`exact` or `hnsw`).
    pub fn vector_index_kind(&self) -> &'static str {
        let set = read(&self.vectors);
        match read(&self.ann).as_ref() {
            Some(ann) if set.len() >= self.options.ann_threshold && ann.fits(&set) => ann.kind(),
            _ => ExactScan.kind(),
        }
    }

    /// Bytes of vector data in memory.
    pub fn vector_bytes(&self) -> usize {
        read(&self.vectors).vector_bytes()
    }

    /// Writes the vectors (and the graph, if new) to the data dir and empties the journal.
    /// A no-op for an in-memory engine.
    pub fn persist_vectors(&self) -> Result<(), SearchError> {
        let Some(dir) = &self.vector_dir else {
            return Ok(());
        };
        let set = read(&self.vectors);
        let ann = read(&self.ann).clone();
        dir.save(&set, ann.as_deref())
    }

    /// Removes the vector folders of every other model from `vectors_root`.
    pub fn remove_other_models(&self, vectors_root: &Path) -> Result<usize, SearchError> {
        store::remove_other_models(vectors_root, &self.identity)
    }

    /// Reclaims retired vector slots and (re)builds the HNSW graph when the vectors passed
    /// the threshold and the graph is missing or a tenth of the vectors are newer than it.
    /// Searches go on meanwhile (by exact scan while slots are renumbered).
    pub fn maintain(&self) -> Result<Maintenance, SearchError> {
        self.maintain_with(false)
    }

    /// [`SearchEngine::maintain`], building the graph anew even when the one in use is fresh
    /// (benchmarks time it this way).
    pub fn rebuild_graph(&self) -> Result<Maintenance, SearchError> {
        self.maintain_with(true)
    }

    fn maintain_with(&self, force: bool) -> Result<Maintenance, SearchError> {
        let _one = lock(&self.maintaining);
        let mut report = Maintenance::default();
        let (live, slots, built, fits) = {
            let set = read(&self.vectors);
            let ann = read(&self.ann);
            let built = ann.as_ref().map_or(0, |a| a.built_slots() as usize);
            let fits = ann.as_ref().is_some_and(|a| a.fits(&set));
            (set.len(), set.slots(), built, fits)
        };
        if live < self.options.ann_threshold {
            return Ok(report);
        }
        let newer = slots.saturating_sub(built);
        if !force && fits && (newer as f64) < ANN_STALE_FRACTION * live as f64 {
            return Ok(report);
        }
        if (slots - live) as f64 > COMPACT_FRACTION * slots as f64 {
            let mut set = write(&self.vectors);
            *write(&self.ann) = None;
            report.compacted = set.compact();
        }
        let (points, slots, numbering) = {
            let set = read(&self.vectors);
            (set.live_vectors(0), set.slots() as u32, set.numbering())
        };
        let started = Instant::now();
        let graph = HnswIndex::build(&points, slots, numbering, self.options.ann)?;
        drop(points);
        report.graph_seconds = started.elapsed().as_secs_f64();
        let set = read(&self.vectors);
        if graph.fits(&set) {
            *write(&self.ann) = Some(Arc::new(graph));
            report.graph_built = true;
        }
        tracing::info!(
            vectors = live,
            seconds = report.graph_seconds,
            "HNSW graph built"
        );
        Ok(report)
    }

    /// Records how many papers the embedding job still has to embed (`None`: unknown).
    pub fn set_pending_embeddings(&self, pending: Option<u64>) {
        let v = pending.map_or(-1, |p| i64::try_from(p).unwrap_or(i64::MAX));
        self.pending.store(v, Ordering::Relaxed);
    }

    /// How far semantic search covers the papers. Complete when the embedding job reported
    /// nothing left, or (before it reports) when every indexed paper has a vector.
    pub fn coverage(&self) -> Coverage {
        let vectors = self.vector_count();
        let papers = read(&self.papers).len();
        let pending = u64::try_from(self.pending.load(Ordering::Relaxed)).ok();
        let complete = vectors > 0
            && match pending {
                Some(p) => p == 0,
                None => vectors >= papers,
            };
        Coverage {
            vectors,
            papers,
            pending,
            complete,
        }
    }
}

/// The fusion for a model nobody configured: the shipped measurement for the bundled model,
/// else the conservative default, with a warning.
fn default_fusion(identity: &ModelIdentity) -> FusionChoice {
    match fusion::shipped_fusion(&identity.key()) {
        Some(fusion) => FusionChoice {
            fusion,
            source: FusionSource::Shipped,
        },
        None => {
            tracing::warn!(
                model = %identity.key(),
                fusion = %fusion::UNMEASURED_FUSION.describe(),
                "no fusion weight measured for this model; using a conservative default. \
                 Run `paperfeed eval --tune --dataset DIR --model ...` to measure one"
            );
            FusionChoice {
                fusion: fusion::UNMEASURED_FUSION,
                source: FusionSource::Default,
            }
        }
    }
}

fn check_page(r: &SearchRequest) -> Result<(), SearchError> {
    if r.limit == 0 || r.limit > bm25::MAX_LIMIT {
        return Err(SearchError::Query(format!(
            "limit must be between 1 and {}, got {}",
            bm25::MAX_LIMIT,
            r.limit
        )));
    }
    if r.offset > bm25::MAX_OFFSET {
        return Err(SearchError::Query(format!(
            "offset must be at most {}, got {}",
            bm25::MAX_OFFSET,
            r.offset
        )));
    }
    Ok(())
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        for m in SearchMode::ALL {
            assert_eq!(m.as_str().parse::<SearchMode>().unwrap(), m);
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{m}\""));
        }
        assert_eq!(SearchMode::default(), SearchMode::Hybrid);
        assert!("fuzzy".parse::<SearchMode>().is_err());
    }

    #[test]
    fn light_searches_are_short_pages_of_typed_queries() {
        let engine = SearchEngine::in_memory(
            crate::embed::load::load_embedder(None).unwrap(),
            EngineOptions::default(),
        )
        .unwrap();
        let twelve = "graph neural networks for molecule property prediction with few labels \
                      and data";
        let long = format!("{twelve} again");
        let cases: &[(SearchMode, &str, usize, usize, bool)] = &[
            (SearchMode::Hybrid, "graph neural networks", 0, 20, true),
            (SearchMode::Semantic, "graph neural networks", 30, 20, true),
            (SearchMode::Bm25, "", 0, 50, true),
            (SearchMode::Hybrid, twelve, 0, 10, true),
            // a deep page, a big page
            (SearchMode::Hybrid, "graph", 40, 20, false),
            (SearchMode::Bm25, "graph", 0, 51, false),
            // pasted text
            (SearchMode::Bm25, &long, 0, 10, false),
            (SearchMode::Bm25, &"x".repeat(201), 0, 10, false),
        ];
        for &(mode, query, offset, limit, light) in cases {
            let mut req = EngineRequest::new(mode, query);
            req.request.offset = offset;
            req.request.limit = limit;
            assert_eq!(
                engine.is_light(&req),
                light,
                "{mode} {query:?} {offset}+{limit}"
            );
        }
    }

    /// A transformer's query embedding takes milliseconds: only keyword searches are light.
    #[test]
    fn searches_embedded_by_a_transformer_are_not_light() {
        #[derive(Debug)]
        struct Slow(crate::embed::ModelIdentity);
        impl Embedder for Slow {
            fn identity(&self) -> &crate::embed::ModelIdentity {
                &self.0
            }
            fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, SearchError> {
                Ok(texts.iter().map(|_| vec![1.0, 0.0]).collect())
            }
        }
        let bundled = crate::embed::load::load_embedder(None).unwrap();
        let engine = SearchEngine::in_memory(
            Arc::new(Slow(bundled.identity().clone())),
            EngineOptions::default(),
        )
        .unwrap();
        for (mode, light) in [
            (SearchMode::Bm25, true),
            (SearchMode::Semantic, false),
            (SearchMode::Hybrid, false),
        ] {
            assert_eq!(
                engine.is_light(&EngineRequest::new(mode, "graphs")),
                light,
                "{mode}"
            );
        }
    }

    #[test]
    fn engine_is_shareable() {
        fn check<T: Send + Sync>() {}
        check::<SearchEngine>();
    }
}
