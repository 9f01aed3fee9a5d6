//! The engine's compact table of what filters and sorts need of every indexed paper (date,
//! upvotes, category terms), so dense candidates can be filtered and sorted without reading
//! the keyword index's documents. It is read from the BM25 index's fast fields and postings on
//! open and kept current as papers are indexed. A paper is in the table exactly when it is in
//! the BM25 index, so a vector of a deleted or not yet indexed paper is never returned.

use std::collections::HashMap;

use chrono::NaiveDate;
use paperfeed_core::{ArxivId, Category, Paper};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocSet, IndexReader, TERMINATED};

use crate::SearchError;
use crate::bm25::{self, Filters};
use crate::vector::{CatMask, MAX_CATEGORY_TERMS, SlotFilter, SlotTag};

/// Paper metadata by id, with interned category terms.
#[derive(Debug, Default)]
pub(crate) struct PaperTable {
    tags: HashMap<ArxivId, SlotTag>,
    terms: HashMap<String, usize>,
}

impl PaperTable {
    /// Reads every live document of the index behind `reader`.
    pub(crate) fn from_index(reader: &IndexReader) -> Result<Self, SearchError> {
        let searcher = reader.searcher();
        let schema = searcher.schema();
        let cat_field = schema
            .get_field(bm25::CATEGORIES)
            .map_err(|e| SearchError::Index(e.to_string()))?;
        let mut table = PaperTable::default();
        let mut buf = String::new();
        for segment in searcher.segment_readers() {
            let alive = segment.alive_bitset();
            let is_alive = |doc: u32| alive.is_none_or(|a| a.is_alive(doc));
            let fast = segment.fast_fields();
            let ids = fast
                .str(bm25::ID)?
                .ok_or_else(|| SearchError::Index("id fast field missing".into()))?;
            let dates = fast.date(bm25::DATE)?;
            let votes = fast.u64(bm25::UPVOTES)?;
            // Category terms per document of this segment, from the postings.
            let mut cats: Vec<CatMask> = vec![CatMask::default(); segment.max_doc() as usize];
            let inverted = segment.inverted_index(cat_field)?;
            let mut stream = inverted.terms().stream().map_err(index_io)?;
            while stream.advance() {
                let Ok(term) = std::str::from_utf8(stream.key()) else {
                    continue;
                };
                let bit = table.intern(term);
                let mut postings = inverted
                    .read_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)
                    .map_err(index_io)?;
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    if let (Some(mask), Some(bit)) = (cats.get_mut(doc as usize), bit) {
                        mask.insert(bit);
                    }
                    doc = postings.advance();
                }
            }
            for doc in 0..segment.max_doc() {
                if !is_alive(doc) {
                    continue;
                }
                let Some(ord) = ids.term_ords(doc).next() else {
                    continue;
                };
                buf.clear();
                ids.ord_to_str(ord, &mut buf)
                    .map_err(|e| SearchError::Index(e.to_string()))?;
                let Ok(id) = ArxivId::parse(&buf) else {
                    continue;
                };
                let tag = SlotTag {
                    known: true,
                    date: dates.first(doc).map(|d| d.into_timestamp_secs()),
                    upvotes: votes
                        .first(doc)
                        .map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX)),
                    cats: cats[doc as usize],
                };
                table.tags.insert(id, tag);
            }
        }
        Ok(table)
    }

    /// The number for a category term, `None` beyond [`MAX_CATEGORY_TERMS`] distinct terms.
    fn intern(&mut self, term: &str) -> Option<usize> {
        if let Some(&bit) = self.terms.get(term) {
            return Some(bit);
        }
        let bit = self.terms.len();
        if bit >= MAX_CATEGORY_TERMS {
            tracing::warn!(
                term,
                "too many distinct categories; this one cannot filter semantic results"
            );
            return None;
        }
        self.terms.insert(term.to_string(), bit);
        Some(bit)
    }

    /// Records (or replaces) a paper as it is indexed; returns its tag.
    pub(crate) fn upsert(&mut self, paper: &Paper, upvotes: u32) -> SlotTag {
        let mut cats = CatMask::default();
        for cat in &paper.categories {
            for term in [cat.as_str(), cat.archive()] {
                if let Some(bit) = self.intern(&term.to_lowercase()) {
                    cats.insert(bit);
                }
            }
        }
        let tag = SlotTag {
            known: true,
            date: paper_date(paper),
            upvotes,
            cats,
        };
        self.tags.insert(paper.id.clone(), tag);
        tag
    }

    /// Forgets a deleted paper.
    pub(crate) fn remove(&mut self, id: &ArxivId) {
        self.tags.remove(id);
    }

    /// The tag of an indexed paper.
    pub(crate) fn get(&self, id: &ArxivId) -> Option<SlotTag> {
        self.tags.get(id).copied()
    }

    /// Indexed papers.
    pub(crate) fn len(&self) -> usize {
        self.tags.len()
    }

    /// The dense counterpart of `filters`, with the keyword index's validation and meaning:
    /// dates in `[from 00:00, to+1 00:00)` UTC, any of the categories (codes or archives).
    pub(crate) fn slot_filter(&self, filters: &Filters) -> Result<SlotFilter, SearchError> {
        if let (Some(from), Some(to)) = (filters.from, filters.to)
            && from > to
        {
            return Err(SearchError::Query(format!(
                "date range is empty: from {from} is after to {to}"
            )));
        }
        let date = if filters.from.is_some() || filters.to.is_some() {
            let lo = filters.from.map_or(i64::MIN, day_start);
            let hi = filters
                .to
                .and_then(|d| d.succ_opt())
                .map_or(i64::MAX, day_start);
            Some((lo, hi))
        } else {
            None
        };
        let cats = if filters.categories.is_empty() {
            None
        } else {
            let mut mask = CatMask::default();
            for code in &filters.categories {
                let cat = Category::parse(code).map_err(|_| {
                    SearchError::Query(format!(
                        "not an arXiv category: {:?}",
                        code.chars().take(40).collect::<String>()
                    ))
                })?;
                // A term no paper has matches nothing: leave it out of the mask.
                if let Some(&bit) = self.terms.get(&cat.as_str().to_lowercase()) {
                    mask.insert(bit);
                }
            }
            Some(mask)
        };
        Ok(SlotFilter { date, cats })
    }
}

/// The date a paper is indexed under, as the BM25 index has it: when v1 was published, else
/// its listing day at midnight UTC.
pub(crate) fn paper_date(paper: &Paper) -> Option<i64> {
    paper
        .published
        .map(|d| d.timestamp())
        .or_else(|| paper.listing_date.map(day_start))
}

fn index_io(e: std::io::Error) -> SearchError {
    SearchError::Index(e.to_string())
}

fn day_start(day: NaiveDate) -> i64 {
    day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()
}
