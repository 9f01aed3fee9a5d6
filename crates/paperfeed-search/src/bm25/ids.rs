//! The arXiv id of every document, per segment, decoded once when a searcher generation is
//! opened (a tantivy [`Warmer`]) instead of on every search.
//!
//! Why: a hybrid search turns its top 100 BM25 hits into ids; reading each from the id
//! column's dictionary (`ord_to_term` walks an sstable block) took 8-11% of the CPU under the
//! search API's load test. A segment's ids cost about 35 bytes a document (2.6 MB for the
//! 74,728-paper corpus) and are decoded in one pass over the dictionary, in order.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use paperfeed_core::ArxivId;
use tantivy::index::SegmentId;
use tantivy::{Searcher, SearcherGeneration, SegmentReader, TantivyError, Warmer};

use super::{ID, parse_stored_id};
use crate::SearchError;

/// Ids of one segment's documents by doc id (`None` for a document without one, which the
/// index never writes but a damaged segment could hold).
pub(super) type SegmentIds = Arc<[Option<ArxivId>]>;

/// Decoded ids of the segments of the live searcher generations.
#[derive(Debug, Default)]
pub(super) struct IdCache {
    segments: RwLock<HashMap<SegmentId, SegmentIds>>,
}

impl IdCache {
    /// The ids of `segment`, decoded now if no warming did it.
    pub(super) fn of(&self, segment: &SegmentReader) -> Result<SegmentIds, SearchError> {
        let key = segment.segment_id();
        if let Some(ids) = self.read().get(&key) {
            return Ok(ids.clone());
        }
        let ids = decode(segment)?;
        self.write().insert(key, ids.clone());
        Ok(ids)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<SegmentId, SegmentIds>> {
        self.segments.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<SegmentId, SegmentIds>> {
        self.segments.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Warmer for IdCache {
    fn warm(&self, searcher: &Searcher) -> tantivy::Result<()> {
        for segment in searcher.segment_readers() {
            if !self.read().contains_key(&segment.segment_id()) {
                let ids =
                    decode(segment).map_err(|e| TantivyError::InternalError(e.to_string()))?;
                self.write().insert(segment.segment_id(), ids);
            }
        }
        Ok(())
    }

    fn garbage_collect(&self, live_generations: &[&SearcherGeneration]) {
        let live: HashSet<SegmentId> = live_generations
            .iter()
            .flat_map(|g| g.segments().keys().copied())
            .collect();
        self.write().retain(|id, _| live.contains(id));
    }
}

/// Every document's id in `segment`, read from the id column: the dictionary in ord order,
/// then each document's ord.
fn decode(segment: &SegmentReader) -> Result<SegmentIds, SearchError> {
    let column = segment
        .fast_fields()
        .str(ID)?
        .ok_or_else(|| SearchError::Index("id fast field missing".into()))?;
    let mut by_ord: Vec<ArxivId> = Vec::with_capacity(column.num_terms());
    let mut terms = column
        .dictionary()
        .stream()
        .map_err(|e| SearchError::Index(e.to_string()))?;
    while terms.advance() {
        let key = std::str::from_utf8(terms.key())
            .map_err(|_| SearchError::Index("id column holds a non-UTF-8 term".into()))?;
        by_ord.push(parse_stored_id(key)?);
    }
    Ok((0..segment.max_doc())
        .map(|doc| {
            column
                .term_ords(doc)
                .next()
                .and_then(|ord| by_ord.get(usize::try_from(ord).ok()?).cloned())
        })
        .collect())
}
