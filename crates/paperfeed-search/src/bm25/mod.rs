//! BM25 keyword search over papers, on tantivy.
//!
//! [`Bm25Index`] indexes each paper's id, title, abstract, title and abstract together
//! (`text`, the field plain queries score, as bm25s does), authors, categories (codes and
//! archives), date and upvotes. The title is boosted where measurement says it helps: for
//! similar-by-text, not for typed queries (see [`Weights`]). Queries are plain words or the field syntax users
//! know from arXiv: `ti:`, `abs:`, `au:`, `cat:` (`cat:cs.CL`, `cat:cs`), `"phrases"`,
//! `AND`/`OR`/`-word`. Title and abstract are stemmed (English Snowball) without stop words.
//! A search can be filtered by date range and categories, sorted by relevance, date or
//! votes, and can return highlighted HTML titles and snippets. A query that is an arXiv id
//! (any spelling) or exactly a paper's title pins that paper first.
//!
//! The index follows the store: [`Bm25Index::commit`] records the store's change sequence
//! it has applied, read back by [`Bm25Index::indexed_seq`] after a restart. An on-disk index
//! written with another [`SCHEMA_VERSION`] is wiped on open and reported through
//! [`Bm25Index::open_state`], so the caller feeds it again from sequence 0.
//!
//! [`eval`] loads BEIR-layout relevance collections and computes nDCG and recall; it does
//! not depend on the index.

pub mod eval;
mod html;
mod ids;
mod query;
mod schema;
mod snippet;
mod union;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::hash::BuildHasher;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime as ChronoDateTime, NaiveDate, Utc};
use paperfeed_core::{ArxivId, Paper, VersionedId};
use rustc_hash::{FxBuildHasher, FxHashSet};
use serde::{Deserialize, Serialize};
use tantivy::DocSet;
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue};
use tantivy::collector::{Count, TopDocs};
use tantivy::index::SegmentId;
use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::query::{ConstScoreQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{
    DateTime, DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher,
    SegmentReader, TantivyDocument, Term,
};

pub use html::{MARK_CLOSE, MARK_OPEN, escape, render_marked};
pub use query::{
    FieldWeights, Filters, LONG_QUERY_WORDS, MAX_QUERY_BYTES, QUOTATION_WORDS, Weights,
};
pub use schema::{ABSTRACT, AUTHORS, CATEGORIES, DATE, ID, SCHEMA_VERSION, TITLE, UPVOTES};

use crate::SearchError;
use query::{QueryBuilder, UserQuery, normalize_title, restrict, title_key};
use schema::Fields;

/// File next to the tantivy files recording the schema version of the index.
pub const MARKER_FILE: &str = "paperfeed-index.json";
/// Largest page a search returns.
pub const MAX_LIMIT: usize = 1000;
/// Deepest result a search pages to.
pub const MAX_OFFSET: usize = 10_000;
/// Writer heap per indexing thread. Large enough that a 75k-paper build makes few
/// segments (the final merges cost about the same either way), small enough for the
/// 400 MB peak RSS a 75k-paper build aims at (`bench search`: 385-403 MB with 32 MB,
/// 353-369 MB with 24 MB, in 4.8-5.4 s either way).
const WRITER_HEAP_PER_THREAD: usize = 24 * 1024 * 1024;
/// Indexing threads (the target machine has 2 cores).
const WRITER_THREADS: usize = 2;

/// How the index was found when opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenState {
    /// No index was there: a new, empty one was created.
    Created,
    /// An index of the current schema version was opened.
    Reopened,
    /// An index of another (or unknown) schema version was there; it was wiped and a new,
    /// empty one created. Everything must be fed again.
    Rebuilt {
        /// The version found, if it could be read.
        previous_version: Option<u32>,
    },
    /// An in-memory index.
    InMemory,
}

impl OpenState {
    /// True when the index is empty and needs every paper fed (from sequence 0).
    pub fn needs_full_feed(self) -> bool {
        !matches!(self, OpenState::Reopened)
    }
}

/// Result order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Best BM25 match first (for an empty query: newest first).
    #[default]
    Relevance,
    /// Newest first; papers without a date last.
    Date,
    /// Most upvoted first.
    Votes,
}

/// One search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// What the user typed; empty matches every paper.
    pub query: String,
    /// Earliest paper date, inclusive.
    pub from: Option<NaiveDate>,
    /// Latest paper date, inclusive.
    pub to: Option<NaiveDate>,
    /// Category codes or archives, any of which must match.
    pub categories: Vec<String>,
    /// Result order.
    pub sort: Sort,
    /// Page size, 1 to [`MAX_LIMIT`].
    pub limit: usize,
    /// Results to skip, at most [`MAX_OFFSET`].
    pub offset: usize,
    /// Whether to render highlighted titles and abstract snippets.
    pub snippets: bool,
    /// Whether each hit carries what the index stores of its paper ([`Hit::paper`]). It
    /// costs a document read per hit, which snippets pay anyway: with them it is always on.
    pub stored: bool,
}

impl SearchRequest {
    /// A first page of 10 by relevance with snippets.
    pub fn new(query: impl Into<String>) -> Self {
        SearchRequest {
            query: query.into(),
            from: None,
            to: None,
            categories: Vec::new(),
            sort: Sort::Relevance,
            limit: 10,
            offset: 0,
            snippets: true,
            stored: false,
        }
    }

    /// The request's filters.
    pub fn filters(&self) -> Filters {
        Filters {
            from: self.from,
            to: self.to,
            categories: self.categories.clone(),
        }
    }
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// The paper.
    pub id: ArxivId,
    /// BM25 score (0 for a pinned paper the words themselves do not match).
    pub score: f32,
    /// True when the query named this paper by id or exact title.
    pub pinned: bool,
    /// The title as HTML, query words in `<mark>`, everything else escaped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_html: Option<String>,
    /// The best-matching part of the abstract as HTML, like `title_html`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet_html: Option<String>,
    /// What the index stores of the paper (as of its last indexing), when snippets or
    /// stored fields were asked for: enough to list the hit without asking the store.
    #[serde(skip)]
    pub paper: Option<StoredPaper>,
}

impl Hit {
    /// A hit with what was read of its document, if anything.
    pub(crate) fn new(id: ArxivId, score: f32, pinned: bool, shown: Option<Shown>) -> Self {
        let (title_html, snippet_html, paper) = match shown {
            Some(s) => (s.title_html, s.snippet_html, Some(s.paper)),
            None => (None, None, None),
        };
        Hit {
            id,
            score,
            pinned,
            title_html,
            snippet_html,
            paper,
        }
    }
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// How many papers match in all (pinned ones included).
    pub total: usize,
    /// This page.
    pub hits: Vec<Hit>,
}

/// What the index stores of a paper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPaper {
    /// The paper.
    pub id: ArxivId,
    /// Title.
    pub title: String,
    /// Abstract.
    pub abstract_text: String,
    /// Author names.
    pub authors: Vec<String>,
    /// Category codes, primary first.
    pub categories: Vec<String>,
    /// The indexed date: published, else listing date (midnight UTC).
    pub date: Option<ChronoDateTime<Utc>>,
    /// Upvotes as last fed.
    pub upvotes: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    schema_version: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct CommitPayload {
    seq: i64,
}

/// The BM25 index. Searches run concurrently; writes go through one writer behind a mutex
/// and become visible at [`Bm25Index::commit`].
pub struct Bm25Index {
    index: Index,
    reader: IndexReader,
    writer: Mutex<Writer>,
    fields: Fields,
    queries: QueryBuilder,
    open_state: OpenState,
    indexed_seq: AtomicI64,
    /// Warmed by the reader on every reload; the reader holds it weakly.
    ids: Arc<ids::IdCache>,
    /// The writer's indexing threads: a bulk build merges into this many segments.
    threads: usize,
    /// Whether [`Bm25Index::pause_merges`] paused background merges.
    merges_paused: AtomicBool,
}

/// A set of segments of a [`Bm25Index`] (see [`Bm25Index::segments`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segments(HashSet<SegmentId>);

impl Segments {
    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every segment of `self` is in `other`.
    pub fn is_subset(&self, other: &Segments) -> bool {
        self.0.is_subset(&other.0)
    }
}

/// The index writer and what it has staged since the last commit.
struct Writer {
    tantivy: IndexWriter,
    /// Hashes of the ids upserted since the last commit. An id in neither this set nor the
    /// committed index needs no delete before its add (see [`Bm25Index::upsert`]); a hash
    /// collision only costs a needless delete.
    staged: FxHashSet<u64>,
}

/// A hit's document as shown: what the index stores, and highlights when asked.
#[derive(Debug, Clone)]
pub(crate) struct Shown {
    pub(crate) title_html: Option<String>,
    pub(crate) snippet_html: Option<String>,
    pub(crate) paper: StoredPaper,
}

/// The markers of one query: its terms on the title and on title + abstract.
struct Highlighter {
    title: snippet::Marker,
    text: snippet::Marker,
}

impl std::fmt::Debug for Bm25Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bm25Index")
            .field("open_state", &self.open_state)
            .field("indexed_seq", &self.indexed_seq())
            .field("weights", &self.queries.weights())
            .finish_non_exhaustive()
    }
}

impl Bm25Index {
    /// Opens the index in `dir`, creating it (and `dir`) if needed. An index of another
    /// schema version is wiped and recreated; see [`Bm25Index::open_state`].
    ///
    /// `dir` belongs to the index: on a rebuild everything in it is removed.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, SearchError> {
        Self::open_with(dir, Weights::default())
    }

    /// [`Bm25Index::open`] with explicit field weights.
    pub fn open_with(dir: impl AsRef<Path>, weights: Weights) -> Result<Self, SearchError> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let (schema, fields) = schema::build_schema();
        let marker_path = dir.join(MARKER_FILE);
        let found_version = read_marker(&marker_path);
        let has_index = dir.join("meta.json").exists();
        let mut state = match (has_index, found_version) {
            (false, _) => OpenState::Created,
            (true, Some(v)) if v == SCHEMA_VERSION => OpenState::Reopened,
            (true, v) => OpenState::Rebuilt {
                previous_version: v,
            },
        };
        let mut index = None;
        if state == OpenState::Reopened {
            let existing = Index::open_in_dir(dir)?;
            if existing.schema() == schema {
                index = Some(existing);
            } else {
                // Same version number, different schema: someone forgot to bump it. Rebuild
                // rather than serve a half-compatible index.
                tracing::warn!(dir = %dir.display(), "index schema differs at the same version; rebuilding");
                state = OpenState::Rebuilt {
                    previous_version: found_version,
                };
            }
        }
        let index = match index {
            Some(index) => index,
            None => {
                if let OpenState::Rebuilt { previous_version } = state {
                    tracing::info!(dir = %dir.display(), ?previous_version, current = SCHEMA_VERSION, "wiping BM25 index of another schema version");
                    wipe_dir(dir)?;
                } else if marker_path.exists() {
                    // A marker without an index: a crash between creating both. Start clean.
                    wipe_dir(dir)?;
                }
                Index::builder()
                    .schema(schema)
                    .settings(index_settings())
                    .create_in_dir(dir)?
            }
        };
        write_marker(&marker_path)?;
        Self::from_index(index, fields, weights, state)
    }

    /// A new index in memory (evaluation, tests).
    pub fn in_memory() -> Result<Self, SearchError> {
        Self::in_memory_with(Weights::default())
    }

    /// [`Bm25Index::in_memory`] with explicit field weights.
    pub fn in_memory_with(weights: Weights) -> Result<Self, SearchError> {
        let (schema, fields) = schema::build_schema();
        let index = Index::builder()
            .schema(schema)
            .settings(index_settings())
            .create_in_ram()?;
        Self::from_index(index, fields, weights, OpenState::InMemory)
    }

    fn from_index(
        index: Index,
        fields: Fields,
        weights: Weights,
        open_state: OpenState,
    ) -> Result<Self, SearchError> {
        schema::register_analyzers(index.tokenizers());
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, WRITER_THREADS);
        let writer = index.writer_with_num_threads(threads, threads * WRITER_HEAP_PER_THREAD)?;
        let ids = Arc::new(ids::IdCache::default());
        let warmer: Arc<dyn tantivy::Warmer> = ids.clone();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .warmers(vec![Arc::downgrade(&warmer)])
            .try_into()?;
        let seq = read_seq(&index)?;
        let queries = QueryBuilder::new(&index, fields, weights);
        Ok(Bm25Index {
            index,
            reader,
            writer: Mutex::new(Writer {
                tantivy: writer,
                staged: FxHashSet::default(),
            }),
            fields,
            queries,
            open_state,
            indexed_seq: AtomicI64::new(seq),
            ids,
            threads,
            merges_paused: AtomicBool::new(false),
        })
    }

    /// How the index was found when opened.
    pub fn open_state(&self) -> OpenState {
        self.open_state
    }

    /// The field weights in use.
    pub fn weights(&self) -> Weights {
        self.queries.weights()
    }

    /// Adds or replaces papers, each with its upvote count. Not visible to searches until
    /// [`Bm25Index::commit`]. Returns how many were written.
    ///
    /// A paper that is neither in the committed index nor staged since the last commit is
    /// added without a delete of its id. Why: tantivy keeps every queued delete, a term
    /// query's weight each, until the commit, and applies it to each segment flushed after
    /// it. A bulk build of the 74,728 papers in one commit held 50-125 MB more at its peak
    /// with those deletes, and spent about 2% of its CPU time on them.
    pub fn upsert<'a>(
        &self,
        docs: impl IntoIterator<Item = (&'a Paper, u32)>,
    ) -> Result<usize, SearchError> {
        let mut writer = self.lock_writer()?;
        // Commits reload the reader before they release the writer, so this searcher holds
        // every committed paper.
        let searcher = self.reader.searcher();
        let mut n = 0;
        for (paper, upvotes) in docs {
            let fresh = writer.staged.insert(id_hash(&paper.id));
            if !fresh || self.find(&searcher, &paper.id)?.is_some() {
                writer.tantivy.delete_term(self.id_term(&paper.id));
            }
            writer.tantivy.add_document(self.document(paper, upvotes))?;
            n += 1;
        }
        Ok(n)
    }

    /// Removes a paper (visible after [`Bm25Index::commit`]).
    pub fn delete(&self, id: &ArxivId) -> Result<(), SearchError> {
        self.lock_writer()?.tantivy.delete_term(self.id_term(id));
        Ok(())
    }

    /// Stops merging segments in the background (`true`) or lets tantivy's default merge
    /// policy run again after each commit (`false`).
    ///
    /// Why: during a bulk build, the policy merged the segments of the first commit into one
    /// (about 1 s of CPU time for the 74,728 papers), and [`Bm25Index::merge_segments`]
    /// then merged those documents a second time. Paused, each document is merged once.
    pub fn pause_merges(&self, paused: bool) -> Result<(), SearchError> {
        let writer = self.lock_writer()?;
        if paused {
            writer.tantivy.set_merge_policy(Box::new(NoMergePolicy));
        } else {
            writer
                .tantivy
                .set_merge_policy(Box::new(LogMergePolicy::default()));
        }
        self.merges_paused.store(paused, AtomicOrdering::SeqCst);
        Ok(())
    }

    /// Whether background merges are paused (see [`Bm25Index::pause_merges`]).
    pub fn merges_paused(&self) -> bool {
        self.merges_paused.load(AtomicOrdering::SeqCst)
    }

    /// Makes every write so far visible and durable, recording `seq`: the last store change
    /// they reflect.
    pub fn commit(&self, seq: i64) -> Result<(), SearchError> {
        let payload = serde_json::to_string(&CommitPayload { seq })
            .map_err(|e| SearchError::Index(e.to_string()))?;
        let mut writer = self.lock_writer()?;
        let mut prepared = writer.tantivy.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        // Under the writer lock: `upsert` takes the reloaded searcher for "committed".
        self.reader.reload()?;
        writer.staged.clear();
        drop(writer);
        self.indexed_seq.store(seq, AtomicOrdering::SeqCst);
        Ok(())
    }

    /// The searchable segments now: what [`Bm25Index::merge_segments`] should leave alone
    /// after a bulk build that starts now.
    pub fn segments(&self) -> Result<Segments, SearchError> {
        Ok(Segments(
            self.index.searchable_segment_ids()?.into_iter().collect(),
        ))
    }

    /// Merges the segments not in `keep` into one per indexing thread, the merges running
    /// side by side, and waits for them. Worth it after a bulk build (a reindex, a first
    /// import, a large harvest), which leaves several segments: each costs every query a
    /// term lookup and a postings walk per term. `keep` holds the segments from before the
    /// build ([`Bm25Index::segments`]): a large harvest into a large index merges what it
    /// wrote, not the whole index again, and tantivy's merge policy takes it from there.
    ///
    /// Why not into one: tantivy merges on one thread, so a single merge left the other core
    /// idle for 2.0-2.2 s of a 7 s build of the 74,728 papers; two merges of half the
    /// documents each took 0.9 s. Queries barely notice the second segment: they are
    /// dominated by scoring the union of postings, whose length does not change
    /// (200 title queries, top 10: p50 0.465 against 0.442 ms; the search API's CPU time a
    /// request was the same within noise).
    pub fn merge_segments(&self, keep: &Segments) -> Result<(), SearchError> {
        let metas = self.index.searchable_segment_metas()?;
        let sizes: Vec<(SegmentId, u32)> = metas
            .iter()
            .filter(|m| !keep.0.contains(&m.id()))
            .map(|m| (m.id(), m.num_docs()))
            .collect();
        let merges: Vec<_> = {
            let mut writer = self.lock_writer()?;
            balanced_groups(&sizes, self.threads)
                .into_iter()
                .filter(|group| group.len() > 1)
                .map(|group| writer.tantivy.merge(&group))
                .collect()
        };
        if merges.is_empty() {
            return Ok(());
        }
        for merge in merges {
            merge
                .wait()
                .map_err(|e| SearchError::Index(format!("segment merge failed: {e}")))?;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// Deletes the files of segments no searcher uses any more, and waits for it.
    ///
    /// Why: tantivy collects garbage after each commit and merge, but a merge's old segments
    /// are still held by the searcher it ends under, so they stayed on disk until the next
    /// commit: after a reindex of the 74,728 papers the index took 259 MB, not 115. Call it
    /// once every reader of this index has reloaded.
    pub fn collect_garbage(&self) -> Result<(), SearchError> {
        let collected = self.lock_writer()?.tantivy.garbage_collect_files();
        collected
            .wait()
            .map_err(|e| SearchError::Index(format!("cannot delete unused index files: {e}")))?;
        Ok(())
    }

    /// The `seq` of the last commit (0 for a new index).
    pub fn indexed_seq(&self) -> i64 {
        self.indexed_seq.load(AtomicOrdering::SeqCst)
    }

    /// Papers searchable now.
    pub fn doc_count(&self) -> usize {
        usize::try_from(self.reader.searcher().num_docs()).unwrap_or(usize::MAX)
    }

    /// What the index stores of a paper, if it holds it.
    pub fn stored(&self, id: &ArxivId) -> Result<Option<StoredPaper>, SearchError> {
        let searcher = self.reader.searcher();
        match self.find(&searcher, id)? {
            None => Ok(None),
            Some(addr) => self.load_stored(&searcher, addr).map(Some),
        }
    }

    /// A page of results for `req`.
    ///
    /// Syntax errors in the query never fail a search (it is parsed leniently); a request
    /// that cannot be answered (an empty date range, an unknown category, a limit out of
    /// range) is a [`SearchError::Query`].
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, SearchError> {
        if req.limit == 0 || req.limit > MAX_LIMIT {
            return Err(SearchError::Query(format!(
                "limit must be between 1 and {MAX_LIMIT}, got {}",
                req.limit
            )));
        }
        if req.offset > MAX_OFFSET {
            return Err(SearchError::Query(format!(
                "offset must be at most {MAX_OFFSET}, got {}",
                req.offset
            )));
        }
        let searcher = self.reader.searcher();
        let filter = self.queries.filter_query(&req.filters())?;
        let main = self.queries.user_query(&req.query, &searcher);
        let pins = self.find_pins(&searcher, &req.query, filter.as_deref())?;
        let restricted = || restrict(main.query(), filter.as_ref().map(|f| f.box_clone()));

        let sort = if req.query.trim().is_empty() && req.sort == Sort::Relevance {
            Sort::Date
        } else {
            req.sort
        };
        let want = req.offset + req.limit + pins.len();
        let (ranked, total_matches) = match (&main, sort) {
            (UserQuery::Terms(union), Sort::Relevance) => {
                union.top(&searcher, want.max(1), filter.as_deref())?
            }
            _ => self.collect(&searcher, &*restricted(), sort, want)?,
        };

        let mut hits: Vec<(DocAddress, f32, bool)> = Vec::with_capacity(want);
        let mut total = total_matches;
        for (addr, id) in &pins {
            let matched = ranked.iter().find(|(a, _)| a == addr).map(|(_, s)| *s);
            let matched = match matched {
                Some(score) => Some(score),
                None => self.score_of(&searcher, &*restricted(), id)?,
            };
            if matched.is_none() {
                total += 1;
            }
            hits.push((*addr, matched.unwrap_or(0.0), true));
        }
        hits.extend(
            ranked
                .into_iter()
                .filter(|(addr, _)| !pins.iter().any(|(p, _)| p == addr))
                .map(|(addr, score)| (addr, score, false)),
        );
        let page: Vec<(DocAddress, f32, bool)> =
            hits.into_iter().skip(req.offset).take(req.limit).collect();

        let mut highlighter = if req.snippets {
            Some(self.highlighter(&searcher, &*main.query())?)
        } else {
            None
        };
        if !(req.snippets || req.stored) {
            let ids = self.ids_of(&searcher, page.iter().map(|(a, _, _)| *a))?;
            let hits = page
                .into_iter()
                .zip(ids)
                .map(|((_, score, pinned), id)| Hit::new(id, score, pinned, None))
                .collect();
            return Ok(SearchResults { total, hits });
        }
        let mut out = Vec::with_capacity(page.len());
        for (addr, score, pinned) in page {
            let shown = self.show_doc(&searcher, highlighter.as_mut(), addr)?;
            out.push(Hit::new(shown.paper.id.clone(), score, pinned, Some(shown)));
        }
        Ok(SearchResults { total, hits: out })
    }

    /// The top `depth` papers for `query` by BM25 alone (no pinning, no snippets): the input
    /// of hybrid fusion.
    pub fn ranked_ids(
        &self,
        query: &str,
        filters: &Filters,
        depth: usize,
    ) -> Result<Vec<(ArxivId, f32)>, SearchError> {
        if depth == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let filter = self.queries.filter_query(filters)?;
        match self.queries.user_query(query, &searcher) {
            UserQuery::Terms(union) => {
                let (top, _) = union.top(&searcher, depth, filter.as_deref())?;
                self.with_ids(&searcher, top)
            }
            UserQuery::Parsed(query) => {
                self.top_by_score(&searcher, &*restrict(query, filter), depth)
            }
        }
    }

    /// The papers `query` names by id or exact title, restricted by `filters`, to be shown
    /// before ranked results (at most two: the id's paper and the title's).
    pub fn pinned(&self, query: &str, filters: &Filters) -> Result<Vec<ArxivId>, SearchError> {
        let searcher = self.reader.searcher();
        let filter = self.queries.filter_query(filters)?;
        Ok(self
            .find_pins(&searcher, query, filter.as_deref())?
            .into_iter()
            .map(|(_, id)| id)
            .collect())
    }

    /// Papers whose title and abstract share the most BM25 weight with this paper's, best
    /// first, the paper itself excluded: similar papers when no vectors exist. Empty if the
    /// paper is not indexed.
    pub fn similar(&self, id: &ArxivId, limit: usize) -> Result<Vec<(ArxivId, f32)>, SearchError> {
        let Some(paper) = self.stored(id)? else {
            return Ok(Vec::new());
        };
        let text = format!("{}\n{}", paper.title, paper.abstract_text);
        let mut out = self.similar_to_text(&text, limit.saturating_add(1))?;
        out.retain(|(other, _)| other != id);
        out.truncate(limit);
        Ok(out)
    }

    /// Papers sharing the most BM25 weight with `text` (a title and abstract), best first.
    /// Long text is fine: it becomes one flat disjunction of its terms.
    pub fn similar_to_text(
        &self,
        text: &str,
        limit: usize,
    ) -> Result<Vec<(ArxivId, f32)>, SearchError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let (top, _) = self
            .queries
            .similar_text(text)
            .top(&searcher, limit, None)?;
        self.with_ids(&searcher, top)
    }

    /// The stored fields of each paper in `ids` (`None` for one the index lacks), with its
    /// title and best abstract fragment highlighted for `query` when `snippets`.
    pub(crate) fn show(
        &self,
        query: &str,
        ids: &[ArxivId],
        snippets: bool,
    ) -> Result<Vec<Option<Shown>>, SearchError> {
        let searcher = self.reader.searcher();
        let mut highlighter = if snippets {
            let query = self.queries.user_query(query, &searcher).query();
            Some(self.highlighter(&searcher, &*query)?)
        } else {
            None
        };
        ids.iter()
            .map(|id| match self.find(&searcher, id)? {
                Some(addr) => self
                    .show_doc(&searcher, highlighter.as_mut(), addr)
                    .map(Some),
                None => Ok(None),
            })
            .collect()
    }

    /// One document read once for both its stored fields and its highlights.
    fn show_doc(
        &self,
        searcher: &Searcher,
        highlighter: Option<&mut Highlighter>,
        addr: DocAddress,
    ) -> Result<Shown, SearchError> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let paper = self.stored_from_doc(&doc)?;
        let (title_html, snippet_html) = match highlighter {
            Some(h) => (
                Some(html::title_html(&paper.title, &mut h.title)),
                Some(html::abstract_html(&paper.abstract_text, &mut h.text)),
            ),
            None => (None, None),
        };
        Ok(Shown {
            title_html,
            snippet_html,
            paper,
        })
    }

    fn highlighter(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
    ) -> Result<Highlighter, SearchError> {
        Ok(Highlighter {
            title: self.marker(searcher, query, self.fields.title)?,
            text: self.marker(searcher, query, self.fields.text)?,
        })
    }

    /// Marks the query's terms on `field` and on `text` (which holds the same words,
    /// analyzed the same way): typed queries search `text`.
    fn marker(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        field: Field,
    ) -> Result<snippet::Marker, SearchError> {
        let mut terms: Vec<Term> = Vec::new();
        query.query_terms(&mut |term, _| {
            if term.field() == field || term.field() == self.fields.text {
                terms.push(term.clone());
            }
        });
        let mut weighted: BTreeMap<String, f32> = BTreeMap::new();
        for term in terms {
            let Some(text) = term.value().as_str().map(str::to_string) else {
                continue;
            };
            let doc_freq = searcher.doc_freq(&term)?;
            if doc_freq > 0 {
                // Rarer words weigh more when choosing the fragment, as in tantivy.
                let weight = 1.0 / (1.0 + doc_freq as f32);
                let slot = weighted.entry(text).or_insert(0.0);
                *slot = slot.max(weight);
            }
        }
        // Title and text are both analyzed in English.
        Ok(snippet::Marker::new(weighted))
    }

    fn top_by_score(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        limit: usize,
    ) -> Result<Vec<(ArxivId, f32)>, SearchError> {
        // Exhaustive scoring, not `order_by_score`'s block-max WAND: with a dozen or more
        // term clauses tantivy's WAND was slower (p50 1.66 ms against 1.03 ms on 75k papers).
        let top = searcher.search(
            query,
            &TopDocs::with_limit(limit).tweak_score(|_: &SegmentReader| |_doc, score: f32| score),
        )?;
        self.with_ids(searcher, top.into_iter().map(|(s, a)| (a, s)).collect())
    }

    /// Ranked documents as ranked papers.
    fn with_ids(
        &self,
        searcher: &Searcher,
        top: Vec<(DocAddress, f32)>,
    ) -> Result<Vec<(ArxivId, f32)>, SearchError> {
        let ids = self.ids_of(searcher, top.iter().map(|(a, _)| *a))?;
        Ok(ids
            .into_iter()
            .zip(top)
            .map(|(id, (_, score))| (id, score))
            .collect())
    }

    /// The top `want` documents in `sort` order with their BM25 scores, and the match count.
    fn collect(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        sort: Sort,
        want: usize,
    ) -> Result<(Vec<(DocAddress, f32)>, usize), SearchError> {
        let top = TopDocs::with_limit(want.max(1));
        match sort {
            Sort::Relevance => {
                let (docs, count) = searcher.search(query, &(top.order_by_score(), Count))?;
                Ok((docs.into_iter().map(|(s, a)| (a, s)).collect(), count))
            }
            Sort::Date => {
                let key = (
                    (
                        SortByStaticFastValue::<DateTime>::for_field(DATE),
                        Order::Desc,
                    ),
                    (SortBySimilarityScore, Order::Desc),
                );
                let (docs, count) = searcher.search(query, &(top.order_by(key), Count))?;
                Ok((docs.into_iter().map(|((_, s), a)| (a, s)).collect(), count))
            }
            Sort::Votes => {
                let key = (
                    (
                        SortByStaticFastValue::<u64>::for_field(UPVOTES),
                        Order::Desc,
                    ),
                    (SortBySimilarityScore, Order::Desc),
                );
                let (docs, count) = searcher.search(query, &(top.order_by(key), Count))?;
                Ok((docs.into_iter().map(|((_, s), a)| (a, s)).collect(), count))
            }
        }
    }

    /// The score `query` gives the paper, or `None` if it does not match it.
    fn score_of(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        id: &ArxivId,
    ) -> Result<Option<f32>, SearchError> {
        // Not `Query::explain`: tantivy 0.27's boolean explain trips a seek assertion when a
        // clause has no posting in the segment. The id clause scores zero, so the score is
        // the query's own.
        let only_this = ConstScoreQuery::new(
            Box::new(TermQuery::new(self.id_term(id), IndexRecordOption::Basic)),
            0.0,
        );
        let q = restrict(query.box_clone(), Some(Box::new(only_this)));
        Ok(searcher
            .search(&*q, &TopDocs::with_limit(1).order_by_score())?
            .first()
            .map(|(score, _)| *score))
    }

    fn find_pins(
        &self,
        searcher: &Searcher,
        text: &str,
        filter: Option<&dyn Query>,
    ) -> Result<Vec<(DocAddress, ArxivId)>, SearchError> {
        let mut pins: Vec<(DocAddress, ArxivId)> = Vec::new();
        let text = text.trim();
        if text.is_empty() || text.len() > MAX_QUERY_BYTES {
            return Ok(pins);
        }
        let restricted = |q: Box<dyn Query>| restrict(q, filter.map(|f| f.box_clone()));
        if let Ok(vid) = VersionedId::parse(text) {
            let q = restricted(Box::new(TermQuery::new(
                self.id_term(&vid.id),
                IndexRecordOption::Basic,
            )));
            if let Some((_, addr)) = searcher
                .search(&*q, &TopDocs::with_limit(1).order_by_score())?
                .into_iter()
                .next()
            {
                pins.push((addr, vid.id));
            }
        }
        let wanted = normalize_title(text);
        if !wanted.is_empty() {
            let q = restricted(Box::new(TermQuery::new(
                Term::from_field_u64(self.fields.title_key, title_key(text)),
                IndexRecordOption::Basic,
            )));
            let candidates = searcher.search(&*q, &TopDocs::with_limit(4).order_by_score())?;
            for (_, addr) in candidates {
                let doc: TantivyDocument = searcher.doc(addr)?;
                if normalize_title(first_str(&doc, self.fields.title)) != wanted {
                    continue; // a hash collision
                }
                if pins.iter().any(|(a, _)| *a == addr) {
                    continue;
                }
                let id = parse_stored_id(first_str(&doc, self.fields.id))?;
                pins.push((addr, id));
                break;
            }
        }
        Ok(pins)
    }

    fn find(&self, searcher: &Searcher, id: &ArxivId) -> Result<Option<DocAddress>, SearchError> {
        // The postings of the id term, read directly: a collector's set-up cost more than
        // the lookup itself, and highlighting does one lookup per hit.
        let term = self.id_term(id);
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let index = segment.inverted_index(self.fields.id)?;
            let Some(mut postings) = index
                .read_postings(&term, IndexRecordOption::Basic)
                .map_err(|e| SearchError::Index(format!("cannot read the id index: {e}")))?
            else {
                continue;
            };
            let alive = segment.alive_bitset();
            let mut doc = postings.doc();
            while doc != tantivy::TERMINATED {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    let ord = u32::try_from(ord)
                        .map_err(|_| SearchError::Index("too many segments".into()))?;
                    return Ok(Some(DocAddress::new(ord, doc)));
                }
                doc = postings.advance();
            }
        }
        Ok(None)
    }

    fn load_stored(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
    ) -> Result<StoredPaper, SearchError> {
        self.stored_from_doc(&searcher.doc(addr)?)
    }

    fn stored_from_doc(&self, doc: &TantivyDocument) -> Result<StoredPaper, SearchError> {
        let f = &self.fields;
        let all = |field| {
            doc.get_all(field)
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect::<Vec<_>>()
        };
        Ok(StoredPaper {
            id: parse_stored_id(first_str(doc, f.id))?,
            title: first_str(doc, f.title).to_string(),
            abstract_text: first_str(doc, f.abstract_text).to_string(),
            authors: all(f.authors),
            categories: all(f.category_codes),
            date: doc
                .get_first(f.date)
                .and_then(|v| v.as_datetime())
                .and_then(|d| ChronoDateTime::from_timestamp(d.into_timestamp_secs(), 0)),
            upvotes: doc
                .get_first(f.upvotes)
                .and_then(|v| v.as_u64())
                .map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX)),
        })
    }

    /// The arXiv ids of documents (decoded once per segment, see [`ids`]).
    fn ids_of(
        &self,
        searcher: &Searcher,
        addrs: impl IntoIterator<Item = DocAddress>,
    ) -> Result<Vec<ArxivId>, SearchError> {
        let mut segments: HashMap<u32, ids::SegmentIds> = HashMap::new();
        let mut out = Vec::new();
        for addr in addrs {
            let segment = match segments.get(&addr.segment_ord) {
                Some(s) => s,
                None => {
                    let s = self.ids.of(searcher.segment_reader(addr.segment_ord))?;
                    segments.entry(addr.segment_ord).or_insert(s)
                }
            };
            let id = segment
                .get(addr.doc_id as usize)
                .and_then(Option::as_ref)
                .ok_or_else(|| SearchError::Index(format!("document {addr:?} has no id")))?;
            out.push(id.clone());
        }
        Ok(out)
    }

    fn document(&self, paper: &Paper, upvotes: u32) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::new();
        doc.add_text(f.id, paper.id.as_str());
        doc.add_text(f.title, &paper.title);
        doc.add_text(f.abstract_text, &paper.abstract_text);
        doc.add_text(f.text, &paper.title);
        doc.add_text(f.text, &paper.abstract_text);
        for author in &paper.authors {
            doc.add_text(f.authors, &author.name);
        }
        let mut cat_terms: Vec<&str> = Vec::new();
        for cat in &paper.categories {
            doc.add_text(f.category_codes, cat.as_str());
            for term in [cat.as_str(), cat.archive()] {
                if !cat_terms.contains(&term) {
                    cat_terms.push(term);
                }
            }
        }
        for term in cat_terms {
            doc.add_text(f.categories, term);
        }
        if let Some(date) = paper_date(paper) {
            doc.add_date(f.date, date);
        }
        doc.add_u64(f.upvotes, u64::from(upvotes));
        doc.add_u64(f.title_key, title_key(&paper.title));
        doc
    }

    fn id_term(&self, id: &ArxivId) -> Term {
        Term::from_field_text(self.fields.id, id.as_str())
    }

    fn lock_writer(&self) -> Result<std::sync::MutexGuard<'_, Writer>, SearchError> {
        self.writer
            .lock()
            .map_err(|_| SearchError::Index("index writer lock poisoned by a panic".into()))
    }

    /// The tantivy index, for callers that need more than this API (space usage, segments).
    pub fn tantivy_index(&self) -> &Index {
        &self.index
    }
}

/// The key of an id in [`Writer::staged`].
fn id_hash(id: &ArxivId) -> u64 {
    FxBuildHasher.hash_one(id.as_str())
}

/// The date a paper is indexed under: when v1 was published, else its listing day.
fn paper_date(paper: &Paper) -> Option<DateTime> {
    paper
        .published
        .map(|d| DateTime::from_timestamp_secs(d.timestamp()))
        .or_else(|| paper.listing_date.map(query::day_start))
}

fn first_str(doc: &TantivyDocument, field: Field) -> &str {
    doc.get_first(field).and_then(|v| v.as_str()).unwrap_or("")
}

/// Segments (id, documents) split into at most `groups` groups of near-equal documents:
/// the largest first, each to the lightest group so far. Merge time follows the documents,
/// so the merges of the groups end at about the same time.
fn balanced_groups<T: Clone>(segments: &[(T, u32)], groups: usize) -> Vec<Vec<T>> {
    let mut order: Vec<&(T, u32)> = segments.iter().collect();
    order.sort_by_key(|(_, docs)| std::cmp::Reverse(*docs));
    let mut out: Vec<(u64, Vec<T>)> = vec![(0, Vec::new()); groups.clamp(1, segments.len().max(1))];
    for (id, docs) in order {
        let lightest = out
            .iter_mut()
            .min_by_key(|(total, _)| *total)
            .expect("at least one group");
        lightest.0 += u64::from(*docs);
        lightest.1.push(id.clone());
    }
    out.into_iter()
        .map(|(_, ids)| ids)
        .filter(|ids| !ids.is_empty())
        .collect()
}

/// Settings of a new index. Document-store blocks of 4 KiB hold two or three papers:
/// highlighting reads 20 random papers a search, and with tantivy's 16 KiB default each read
/// decompressed a dozen papers it did not need.
fn index_settings() -> tantivy::IndexSettings {
    tantivy::IndexSettings {
        docstore_blocksize: 4096,
        ..tantivy::IndexSettings::default()
    }
}

fn parse_stored_id(s: &str) -> Result<ArxivId, SearchError> {
    ArxivId::parse(s).map_err(|e| SearchError::Index(format!("stored id {s:?} is invalid: {e}")))
}

fn read_seq(index: &Index) -> Result<i64, SearchError> {
    let metas = index.load_metas()?;
    Ok(metas
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str::<CommitPayload>(p).ok())
        .map_or(0, |p| p.seq))
}

fn read_marker(path: &Path) -> Option<u32> {
    let text = fs::read_to_string(path).ok()?;
    serde_json::from_str::<Marker>(&text)
        .ok()
        .map(|m| m.schema_version)
}

fn write_marker(path: &Path) -> Result<(), SearchError> {
    let json = serde_json::to_string(&Marker {
        schema_version: SCHEMA_VERSION,
    })
    .map_err(|e| SearchError::Index(e.to_string()))?;
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, json).map_err(|e| io_error(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

/// Removes everything in `dir` (the index's own directory).
fn wipe_dir(dir: &Path) -> Result<(), SearchError> {
    let entries = fs::read_dir(dir).map_err(|e| io_error(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| io_error(dir, e))?.path();
        let removed = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        removed.map_err(|e| io_error(&path, e))?;
    }
    Ok(())
}

fn io_error(path: &Path, source: std::io::Error) -> SearchError {
    SearchError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Segments (name, documents), groups asked, groups expected.
    type Case = (&'static [(char, u32)], usize, &'static [&'static [char]]);

    #[test]
    fn segments_split_into_balanced_groups() {
        let cases: &[Case] = &[
            (&[], 2, &[]),
            (&[('a', 5)], 2, &[&['a']]),
            (&[('a', 5), ('b', 5)], 1, &[&['a', 'b']]),
            (
                &[('a', 10), ('b', 6), ('c', 5), ('d', 1)],
                2,
                &[&['a', 'd'], &['b', 'c']],
            ),
            (&[('a', 1), ('b', 1), ('c', 1)], 0, &[&['a', 'b', 'c']]),
            (
                &[('a', 3), ('b', 2), ('c', 2)],
                5,
                &[&['a'], &['b'], &['c']],
            ),
        ];
        for (segments, groups, want) in cases {
            let got = balanced_groups(segments, *groups);
            let want: Vec<Vec<char>> = want.iter().map(|g| g.to_vec()).collect();
            assert_eq!(got, want, "{segments:?} into {groups}");
        }
    }

    /// Adds paper number `i` and commits it: a segment of its own.
    fn commit_paper(index: &Bm25Index, i: u32) {
        let id = ArxivId::parse(&format!("2501.{:05}", i + 1)).unwrap();
        index
            .upsert([(&Paper::new(id, "graph networks"), 0)])
            .unwrap();
        index.commit(i64::from(i) + 1).unwrap();
    }

    /// Paused, no commit starts a merge: ten commits leave ten segments. (Tantivy's default
    /// policy merges eight or more small segments in the background.)
    #[test]
    fn paused_merges_leave_every_commits_segment() {
        let index = Bm25Index::in_memory().unwrap();
        index.pause_merges(true).unwrap();
        assert!(index.merges_paused());
        (0..10).for_each(|i| commit_paper(&index, i));
        let segments = index.tantivy_index().searchable_segment_ids().unwrap();
        assert_eq!(segments.len(), 10);
        index.pause_merges(false).unwrap();
        assert!(!index.merges_paused());
        index.merge_segments(&Segments::default()).unwrap();
        assert_eq!(index.doc_count(), 10);
    }

    /// Segments from before a bulk build stay as they are; the build's own are merged.
    #[test]
    fn merging_leaves_the_kept_segments_alone() {
        let index = Bm25Index::in_memory().unwrap();
        index.pause_merges(true).unwrap();
        let add = |i| commit_paper(&index, i);
        (0..3).for_each(add);
        let before = index.segments().unwrap();
        assert_eq!(before.len(), 3);
        (3..9).for_each(add);
        index.merge_segments(&before).unwrap();
        let after = index.segments().unwrap();
        assert!(before.is_subset(&after), "{before:?} {after:?}");
        assert!(after.len() <= 3 + index.threads, "{} segments", after.len());
        assert_eq!(index.doc_count(), 9);
    }

    /// After merges and a garbage collection, the index directory holds the live segments'
    /// files only.
    #[test]
    fn merged_segments_leave_no_files_behind() {
        let dir = tempfile::tempdir().unwrap();
        let index = Bm25Index::open(dir.path()).unwrap();
        index.pause_merges(true).unwrap();
        (0..6).for_each(|i| commit_paper(&index, i));
        let on_disk = || -> HashSet<String> {
            fs::read_dir(dir.path())
                .unwrap()
                .filter_map(|e| {
                    let name = e.unwrap().file_name().into_string().unwrap();
                    let (stem, ext) = name.split_once('.')?;
                    (ext == "idx").then(|| stem.to_string())
                })
                .collect()
        };
        assert_eq!(on_disk().len(), 6);
        index.merge_segments(&Segments::default()).unwrap();
        index.collect_garbage().unwrap();
        let live: HashSet<String> = index
            .segments()
            .unwrap()
            .0
            .iter()
            .map(|id| id.uuid_string())
            .collect();
        assert!(live.len() <= index.threads);
        assert_eq!(on_disk(), live);
    }

    /// A bulk build ends with one segment per indexing thread, every paper still found.
    #[test]
    fn merging_leaves_one_segment_per_thread() {
        let index = Bm25Index::in_memory().unwrap();
        let mut papers = Vec::new();
        for (i, word) in ["alpha", "beta", "gamma", "delta", "epsilon"]
            .iter()
            .enumerate()
        {
            let id = ArxivId::parse(&format!("2501.0000{i}")).unwrap();
            let paper = Paper::new(id, &format!("{word} networks"));
            index.upsert([(&paper, 0)]).unwrap();
            index.commit(i as i64 + 1).unwrap();
            papers.push(paper);
        }
        let segments = || {
            index
                .tantivy_index()
                .searchable_segment_ids()
                .unwrap()
                .len()
        };
        assert!(segments() >= 3, "one commit a paper makes several segments");
        index.merge_segments(&Segments::default()).unwrap();
        assert!(segments() <= index.threads, "{} segments", segments());
        assert_eq!(index.doc_count(), 5);
        for paper in &papers {
            let word = paper.title.split(' ').next().unwrap();
            let found = index.ranked_ids(word, &Filters::default(), 5).unwrap();
            assert_eq!(found.len(), 1, "{word}");
            assert_eq!(found[0].0, paper.id);
        }
    }
}
