//! The questions pages, API and feeds all ask: which papers are in a feed, which are
//! trending, what a search finds. Each is a few store or engine calls with no per-paper
//! queries, so a page costs the same whatever it lists.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use paperfeed_core::{ArxivId, Paper, UserName, trending_score};
use paperfeed_search::bm25::{SearchRequest, Sort};
use paperfeed_search::engine::{EngineRequest, EngineResults, SearchMode};
use paperfeed_store::{FeedItem, FeedQuery, FeedSort};

use crate::auth::Viewer;
use crate::error::WebError;
use crate::params::Params;
use crate::state::AppState;

/// Most feed entries one page or API call returns.
pub const MAX_LIMIT: u64 = 100;
/// Entries per page when not asked.
pub const DEFAULT_LIMIT: u64 = 50;
/// Submissions trending ranks at most (the most upvoted of the window).
const TRENDING_POOL: u64 = 2000;

/// The latest day with papers, or today when every feed is empty.
pub async fn latest_day(state: &AppState) -> Result<NaiveDate, WebError> {
    Ok(state
        .store
        .latest_feed_day()
        .await?
        .unwrap_or_else(|| Utc::now().date_naive()))
}

/// Feed entries of `[from, to]`.
pub async fn feed(
    state: &AppState,
    from: NaiveDate,
    to: NaiveDate,
    submitter: Option<UserName>,
    sort: FeedSort,
    offset: u64,
    limit: u64,
) -> Result<Vec<FeedItem>, WebError> {
    Ok(state
        .store
        .feed(&FeedQuery {
            from,
            to,
            submitter,
            sort,
            offset,
            limit,
        })
        .await?)
}

/// Trending entries of `[from, to]` (by default the configured window before the latest
/// feed day), best first.
///
/// Ages are counted from the end of the latest feed day or from now, whichever is earlier,
/// so that on a live instance this is ordinary "hot" ranking and on a frozen corpus (the
/// demo) the ordering is still the one its last day had.
pub async fn trending(
    state: &AppState,
    range: Option<(NaiveDate, NaiveDate)>,
    submitter: Option<UserName>,
    offset: u64,
    limit: u64,
) -> Result<Vec<FeedItem>, WebError> {
    let latest = latest_day(state).await?;
    let (from, to) = range.unwrap_or_else(|| {
        let days = u64::from(state.config.trending_days.max(1) - 1);
        (latest - chrono::Days::new(days), latest)
    });
    let pool = feed(
        state,
        from,
        to,
        submitter,
        FeedSort::Upvotes,
        0,
        TRENDING_POOL,
    )
    .await?;
    let end_of_latest = latest
        .succ_opt()
        .unwrap_or(latest)
        .and_time(NaiveTime::MIN)
        .and_utc();
    let reference = Utc::now().min(end_of_latest);
    let mut scored: Vec<(f64, FeedItem)> = pool
        .into_iter()
        .map(|item| {
            let age = (reference - item.submission.at).num_seconds() as f64 / 3600.0;
            (
                trending_score(item.upvotes, age, state.config.trending),
                item,
            )
        })
        .collect();
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| b.1.submission.at.cmp(&a.1.submission.at))
            .then_with(|| a.1.paper.id.cmp(&b.1.paper.id))
    });
    Ok(scored
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|(_, item)| item)
        .collect())
}

/// Which of `ids` the viewer has upvoted (all false for visitors).
pub async fn voted(
    state: &AppState,
    viewer: &Viewer,
    ids: &[ArxivId],
) -> Result<Vec<bool>, WebError> {
    match &viewer.user {
        Some(u) if !ids.is_empty() => Ok(state.store.voted(&u.name, ids).await?),
        _ => Ok(vec![false; ids.len()]),
    }
}

/// A search as the page, the API and the feeds accept it.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchForm {
    /// The query.
    pub q: String,
    /// The mode.
    pub mode: SearchMode,
    /// Papers dated on or after.
    pub from: Option<NaiveDate>,
    /// Papers dated on or before.
    pub to: Option<NaiveDate>,
    /// Categories or archives.
    pub categories: Vec<String>,
    /// Order.
    pub sort: Sort,
    /// Page size.
    pub limit: usize,
    /// Results skipped.
    pub offset: usize,
}

impl SearchForm {
    /// Reads `q`, `mode`, `from`, `to`, `category`, `sort`, `limit` and `offset` (or the
    /// page number `p`, counted from 0 as on Hugging Face).
    pub fn from_params(
        p: &Params,
        default_limit: usize,
        max_limit: usize,
    ) -> Result<Self, WebError> {
        let mode = match p.get("mode") {
            Some(m) => m
                .parse::<SearchMode>()
                .map_err(|_| WebError::param("mode", "expected bm25, semantic or hybrid"))?,
            None => SearchMode::Hybrid,
        };
        let sort = match p.get("sort").map(str::to_ascii_lowercase).as_deref() {
            None | Some("relevance") => Sort::Relevance,
            Some("date") => Sort::Date,
            Some("votes" | "upvotes") => Sort::Votes,
            Some(_) => return Err(WebError::param("sort", "expected relevance, date or votes")),
        };
        let limit = p.int("limit", 1, max_limit)?.unwrap_or(default_limit);
        let max_offset = paperfeed_search::bm25::MAX_OFFSET;
        let offset = match (
            p.int::<usize>("offset", 0, max_offset)?,
            p.int::<usize>("p", 0, max_offset)?,
        ) {
            (Some(o), _) => o,
            (None, Some(page)) => page.saturating_mul(limit),
            (None, None) => 0,
        };
        if offset > max_offset {
            return Err(WebError::param(
                "p",
                format!("pages end at result {max_offset}"),
            ));
        }
        let (from, to) = (p.date("from")?, p.date("to")?);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(WebError::param("from", "must not be after to"));
        }
        let categories = p.list("category");
        for c in &categories {
            if !c
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
            {
                return Err(WebError::param(
                    "category",
                    format!(
                        "{:?} is not a category such as cs.CL or cs",
                        crate::params::shorten(c)
                    ),
                ));
            }
        }
        Ok(SearchForm {
            q: p.get("q").unwrap_or("").to_string(),
            mode,
            from,
            to,
            categories,
            sort,
            limit,
            offset,
        })
    }
}

/// A page of search results with the papers behind them.
#[derive(Debug)]
pub struct Found {
    /// The engine's answer.
    pub results: EngineResults,
    /// The papers, by id.
    pub papers: HashMap<ArxivId, Paper>,
    /// Upvotes of each hit, in hit order.
    pub upvotes: Vec<u32>,
}

fn engine_request(form: &SearchForm, snippets: bool) -> EngineRequest {
    EngineRequest {
        mode: form.mode,
        request: SearchRequest {
            query: form.q.clone(),
            from: form.from,
            to: form.to,
            categories: form.categories.clone(),
            sort: form.sort,
            limit: form.limit,
            offset: form.offset,
            snippets,
            stored: false,
        },
    }
}

/// Runs a search (see [`AppState::on_engine`]) and loads the hits' papers and votes (two
/// queries).
pub async fn search(
    state: &AppState,
    form: &SearchForm,
    snippets: bool,
) -> Result<Found, WebError> {
    let request = engine_request(form, snippets);
    let light = state.engine.is_light(&request);
    let results = state
        .on_engine(light, move |e| e.search(&request))
        .await??;
    let ids: Vec<ArxivId> = results.hits.iter().map(|h| h.id.clone()).collect();
    let papers = state.store.get_papers(&ids).await?;
    let upvotes = state.store.upvotes(&ids).await?;
    Ok(Found {
        results,
        papers: papers.into_iter().map(|p| (p.id.clone(), p)).collect(),
        upvotes,
    })
}

/// Runs a search (see [`AppState::on_engine`]) and lists the hits from what the index stores
/// of them (title, authors, categories, date, upvotes), without asking the store: the JSON
/// API's path, whose figures follow the store within one pass of the index job.
pub async fn search_index(
    state: &AppState,
    form: &SearchForm,
    snippets: bool,
) -> Result<EngineResults, WebError> {
    let mut request = engine_request(form, snippets);
    request.request.stored = true;
    let light = state.engine.is_light(&request);
    Ok(state
        .on_engine(light, move |e| e.search(&request))
        .await??)
}

/// Papers like `id`, best first, with their upvotes.
pub async fn similar(
    state: &AppState,
    id: &ArxivId,
    limit: usize,
) -> Result<Vec<(Paper, f32, u32)>, WebError> {
    let target = id.clone();
    let found = state
        // Heavy: without vectors it falls back to a BM25 query of a whole abstract.
        .on_engine(false, move |e| e.similar(&target, limit))
        .await??;
    let ids: Vec<ArxivId> = found.iter().map(|(i, _)| i.clone()).collect();
    let papers: HashMap<ArxivId, Paper> = state
        .store
        .get_papers(&ids)
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let upvotes = state.store.upvotes(&ids).await?;
    let mut out = Vec::with_capacity(found.len());
    for ((pid, score), votes) in found.into_iter().zip(upvotes) {
        if let Some(p) = papers.get(&pid) {
            out.push((p.clone(), score, votes));
        }
    }
    Ok(out)
}

/// When a paper appeared: its first version, else its listing day.
pub fn paper_date(p: &Paper) -> Option<DateTime<Utc>> {
    p.published
        .or_else(|| p.listing_date.map(|d| d.and_time(NaiveTime::MIN).and_utc()))
}
