//! The JSON API: the Hugging Face Papers API's paths, parameters and field names (so the
//! `huggingface_hub` client works against paperfeed unchanged), paperfeed's own search,
//! similar-paper and vote endpoints, and the OpenAPI document generated from these handlers.
//!
//! Hugging Face-compatible:
//! - `GET /api/daily_papers?date|week|month&submitter&sort=publishedAt|trending&p&limit`
//! - `GET /api/papers/{id}` (any id spelling), `GET /api/papers/search?q&limit`
//! - `GET /papers/{id}.md`
//!
//! paperfeed's own: `GET /api/search`, `GET /api/papers/{id}/similar`,
//! `POST|DELETE /api/papers/{id}/vote`, `POST /api/papers/submit`, `POST /api/auth/token`,
//! `GET /api/openapi.json`.
//!
//! A `limit` above the maximum is a 400, never silently capped.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use paperfeed_core::{ArxivId, Paper, Submission, User, UserName, VersionedId};
use paperfeed_store::{FeedItem, FeedSort};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::auth::{CSRF_HEADER, Viewer};
use crate::error::{ErrorBody, ErrorDetail, WebError};
use crate::pages::{authenticate, parse_paper_id, submit_paper};
use crate::params::{Params, parse_day, parse_month, parse_week};
use crate::service::{self, DEFAULT_LIMIT, MAX_LIMIT, SearchForm, paper_date};
use crate::state::AppState;

type ApiResult<T> = Result<Json<T>, WebError>;

/// An author as Hugging Face lists them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HfAuthor {
    /// Name.
    pub name: String,
    /// Whether the author is hidden (never, here).
    pub hidden: bool,
}

/// A user as Hugging Face describes one (the fields `huggingface_hub`'s `User` reads).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HfUser {
    /// Id (the handle).
    #[serde(rename = "_id")]
    pub id: String,
    /// Handle.
    pub user: String,
    /// Display name.
    pub fullname: String,
    /// Avatar URL.
    pub avatar_url: String,
    /// Always false.
    pub is_pro: bool,
    /// Always `user`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl HfUser {
    fn new(name: &UserName, users: &HashMap<UserName, User>) -> Self {
        HfUser {
            id: name.to_string(),
            user: name.to_string(),
            fullname: users
                .get(name)
                .map_or_else(|| name.to_string(), |u| u.display_name.clone()),
            avatar_url: "/static/avatar.svg".to_string(),
            is_pro: false,
            kind: "user".to_string(),
        }
    }
}

/// A paper in Hugging Face's shape, plus paperfeed's own fields (categories, links).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HfPaper {
    /// arXiv id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Abstract.
    pub summary: String,
    /// Authors.
    pub authors: Vec<HfAuthor>,
    /// When v1 appeared on arXiv.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
    /// When it entered a daily feed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_on_daily_at: Option<DateTime<Utc>>,
    /// Who put it there (absent for automatic admission).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_on_daily_by: Option<HfUser>,
    /// Upvotes.
    pub upvotes: u32,
    /// Comments (none: paperfeed has no discussions).
    pub num_comments: u32,
    /// The first code repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_repo: Option<String>,
    /// Categories, primary first.
    pub categories: Vec<String>,
    /// Every code repository.
    pub code_links: Vec<String>,
    /// The arXiv abstract page.
    pub arxiv_url: String,
    /// The PDF.
    pub pdf_url: String,
    /// Author's comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Journal reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal_ref: Option<String>,
    /// DOIs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dois: Vec<String>,
}

impl HfPaper {
    fn new(
        p: &Paper,
        upvotes: u32,
        sub: Option<&Submission>,
        users: &HashMap<UserName, User>,
    ) -> Self {
        HfPaper {
            id: p.id.to_string(),
            title: p.title.clone(),
            summary: p.abstract_text.clone(),
            authors: p
                .authors
                .iter()
                .map(|a| HfAuthor {
                    name: a.name.clone(),
                    hidden: false,
                })
                .collect(),
            published_at: paper_date(p),
            submitted_on_daily_at: sub.map(|s| s.at),
            submitted_on_daily_by: sub
                .and_then(|s| s.submitted_by.as_ref())
                .map(|u| HfUser::new(u, users)),
            upvotes,
            num_comments: 0,
            github_repo: p.code_links.first().cloned(),
            categories: p.categories.iter().map(|c| c.to_string()).collect(),
            code_links: p.code_links.clone(),
            arxiv_url: p.id.abs_url(),
            pdf_url: p.id.pdf_url(),
            comment: p.comment.clone(),
            journal_ref: p.journal_ref.clone(),
            dois: p.dois.clone(),
        }
    }
}

/// One entry of the daily papers list (and of paper search results).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HfDailyPaper {
    /// The paper.
    pub paper: HfPaper,
    /// Title.
    pub title: String,
    /// Abstract.
    pub summary: String,
    /// When it entered the feed (the paper's own date for a paper in no feed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
    /// Who submitted it (absent for automatic admission).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_by: Option<HfUser>,
    /// Upvotes again (the client reads `paper.upvotes or upvotes`, so a paper without votes
    /// would come out as `None` without this).
    pub upvotes: u32,
    /// Comments (none).
    pub num_comments: u32,
    /// Whether an author took part in the discussion (never).
    pub is_author_participating: bool,
}

impl HfDailyPaper {
    fn new(
        p: &Paper,
        upvotes: u32,
        sub: Option<&Submission>,
        users: &HashMap<UserName, User>,
    ) -> Self {
        let paper = HfPaper::new(p, upvotes, sub, users);
        HfDailyPaper {
            title: paper.title.clone(),
            summary: paper.summary.clone(),
            published_at: sub.map(|s| s.at).or(paper.published_at),
            submitted_by: paper.submitted_on_daily_by.clone(),
            upvotes: paper.upvotes,
            paper,
            num_comments: 0,
            is_author_participating: false,
        }
    }
}

/// The accounts of the submitters of `subs`, in one query.
async fn submitters<'a>(
    state: &AppState,
    subs: impl Iterator<Item = &'a Submission>,
) -> Result<HashMap<UserName, User>, WebError> {
    let mut names: Vec<UserName> = subs.filter_map(|s| s.submitted_by.clone()).collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(state
        .store
        .users(&names)
        .await?
        .into_iter()
        .map(|u| (u.name.clone(), u))
        .collect())
}

async fn daily_entries(
    state: &AppState,
    items: &[FeedItem],
) -> Result<Vec<HfDailyPaper>, WebError> {
    let users = submitters(state, items.iter().map(|i| &i.submission)).await?;
    Ok(items
        .iter()
        .map(|i| HfDailyPaper::new(&i.paper, i.upvotes, Some(&i.submission), &users))
        .collect())
}

/// Feed days the "all days" queries span.
fn all_days() -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or_default(),
        NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default(),
    )
}

/// Daily papers, as `huggingface_hub.HfApi.list_daily_papers` asks for them.
#[utoipa::path(
    get,
    path = "/api/daily_papers",
    tag = "huggingface",
    params(
        ("date" = Option<String>, Query, description = "A day, YYYY-MM-DD (default: the latest day with papers)"),
        ("week" = Option<String>, Query, description = "An ISO week, YYYY-Www"),
        ("month" = Option<String>, Query, description = "A month, YYYY-MM"),
        ("submitter" = Option<String>, Query, description = "Only this user's submissions (all days unless a date, week or month is given)"),
        ("sort" = Option<String>, Query, description = "publishedAt (newest submission first, default) or trending"),
        ("p" = Option<u64>, Query, description = "Page, from 0"),
        ("limit" = Option<u64>, Query, description = "Entries per page, 1 to 100 (default 50)"),
    ),
    responses(
        (status = 200, description = "Feed entries", body = Vec<HfDailyPaper>),
        (status = 400, description = "A malformed parameter", body = ErrorBody),
    )
)]
pub async fn daily_papers(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Vec<HfDailyPaper>> {
    let p = Params::from_query(q.as_deref());
    let limit = p
        .int::<u64>("limit", 1, MAX_LIMIT)?
        .unwrap_or(DEFAULT_LIMIT);
    let page = p.int::<u64>("p", 0, 1_000_000)?.unwrap_or(0);
    let offset = page * limit;
    let submitter = p
        .get("submitter")
        .map(UserName::parse)
        .transpose()
        .map_err(|e| WebError::param("submitter", e))?;
    let trending = match p.get("sort") {
        None | Some("publishedAt") => false,
        Some("trending") => true,
        Some(_) => return Err(WebError::param("sort", "expected publishedAt or trending")),
    };
    let (date, week, month) = (p.get("date"), p.get("week"), p.get("month"));
    if [date, week, month].iter().filter(|x| x.is_some()).count() > 1 {
        return Err(WebError::param(
            "date",
            "give only one of date, week and month",
        ));
    }
    let range = match (date, week, month) {
        (Some(d), _, _) => {
            let d = parse_day("date", d)?;
            (d, d)
        }
        (_, Some(w), _) => parse_week(w)?,
        (_, _, Some(m)) => parse_month(m)?,
        _ if submitter.is_some() => all_days(),
        _ => {
            let d = service::latest_day(&state).await?;
            (d, d)
        }
    };
    let items = if trending {
        service::trending(&state, Some(range), submitter, offset, limit).await?
    } else {
        service::feed(
            &state,
            range.0,
            range.1,
            submitter,
            FeedSort::PublishedAt,
            offset,
            limit,
        )
        .await?
    };
    Ok(Json(daily_entries(&state, &items).await?))
}

/// One paper, as `HfApi.paper_info` reads it.
#[utoipa::path(
    get,
    path = "/api/papers/{id}",
    tag = "huggingface",
    params(("id" = String, Path, description = "arXiv id in any spelling (2501.12345v2, arXiv:…, hep-th/9901001)")),
    responses(
        (status = 200, description = "The paper", body = HfPaper),
        (status = 400, description = "Not an arXiv id", body = ErrorBody),
        (status = 404, description = "Unknown paper", body = ErrorBody),
    )
)]
pub async fn paper_info(state: &AppState, raw_id: &str) -> ApiResult<HfPaper> {
    let id = parse_paper_id(raw_id)?;
    let Some(paper) = state.store.get_paper(&id).await? else {
        return Err(WebError::NotFound(format!("unknown paper {id}")));
    };
    let ids = [id.clone()];
    let upvotes = state
        .store
        .upvotes(&ids)
        .await?
        .first()
        .copied()
        .unwrap_or(0);
    let sub = state.store.submission(&id).await?;
    let users = submitters(state, sub.iter()).await?;
    Ok(Json(HfPaper::new(&paper, upvotes, sub.as_ref(), &users)))
}

/// Paper search, as `HfApi.list_papers` asks for it (hybrid search).
#[utoipa::path(
    get,
    path = "/api/papers/search",
    tag = "huggingface",
    params(
        ("q" = Option<String>, Query, description = "The query"),
        ("limit" = Option<usize>, Query, description = "Results, 1 to 100 (default 50)"),
    ),
    responses(
        (status = 200, description = "Matching papers, best first", body = Vec<HfDailyPaper>),
        (status = 400, description = "A malformed parameter", body = ErrorBody),
    )
)]
pub async fn papers_search(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Vec<HfDailyPaper>> {
    let p = Params::from_query(q.as_deref());
    let limit = p
        .int::<usize>("limit", 1, MAX_LIMIT as usize)?
        .unwrap_or(DEFAULT_LIMIT as usize);
    let form = SearchForm {
        q: p.get("q").unwrap_or("").to_string(),
        limit,
        offset: 0,
        ..SearchForm::from_params(&Params::default(), limit, limit)?
    };
    let found = service::search(&state, &form, false).await?;
    let ids: Vec<ArxivId> = found.results.hits.iter().map(|h| h.id.clone()).collect();
    let subs = state.store.submissions(&ids).await?;
    let users = submitters(&state, subs.iter().flatten()).await?;
    Ok(Json(
        found
            .results
            .hits
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                let paper = found.papers.get(&h.id)?;
                let votes = found.upvotes.get(i).copied().unwrap_or(0);
                Some(HfDailyPaper::new(
                    paper,
                    votes,
                    subs.get(i).and_then(Option::as_ref),
                    &users,
                ))
            })
            .collect(),
    ))
}

/// One search hit.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    /// arXiv id.
    pub id: String,
    /// Score (BM25, cosine or fused, by mode).
    pub score: f32,
    /// True when the query named this paper by id or exact title.
    pub pinned: bool,
    /// Title.
    pub title: String,
    /// Title as HTML with the query's words in `<mark>` (everything else escaped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_html: Option<String>,
    /// Best-matching part of the abstract, HTML like `titleHtml`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet_html: Option<String>,
    /// Authors.
    pub authors: Vec<String>,
    /// Categories.
    pub categories: Vec<String>,
    /// When v1 appeared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
    /// Upvotes as the search index holds them: it follows votes within seconds.
    pub upvotes: u32,
    /// This paper's page.
    pub url: String,
}

/// A page of search results.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse {
    /// The query.
    pub query: String,
    /// bm25, semantic or hybrid.
    pub mode: String,
    /// Results in all.
    pub total: usize,
    /// Results skipped.
    pub offset: usize,
    /// Page size.
    pub limit: usize,
    /// False while the embedding job has not covered every paper: semantic and hybrid
    /// results are then right only for the papers embedded so far.
    pub semantic_complete: bool,
    /// This page.
    pub hits: Vec<SearchHit>,
}

/// paperfeed's search with every mode, filter, sort and paging parameter.
#[utoipa::path(
    get,
    path = "/api/search",
    tag = "paperfeed",
    params(
        ("q" = Option<String>, Query, description = "Words, \"phrases\", ti:, abs:, au:, cat:, or an arXiv id; empty lists papers newest first"),
        ("mode" = Option<String>, Query, description = "bm25, semantic or hybrid (default)"),
        ("from" = Option<String>, Query, description = "Papers dated on or after, YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "Papers dated on or before, YYYY-MM-DD"),
        ("category" = Option<String>, Query, description = "Categories or archives (cs.CL, cs); repeat or comma-separate for any of several"),
        ("sort" = Option<String>, Query, description = "relevance (default), date or votes"),
        ("limit" = Option<usize>, Query, description = "Results per page, 1 to 100 (default 20)"),
        ("offset" = Option<usize>, Query, description = "Results skipped"),
        ("p" = Option<usize>, Query, description = "Page from 0 (instead of offset)"),
        ("snippets" = Option<bool>, Query, description = "Highlighted title and snippet (default true)"),
    ),
    responses(
        (status = 200, description = "Results", body = SearchResponse),
        (status = 400, description = "A malformed parameter or query", body = ErrorBody),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<SearchResponse> {
    let p = Params::from_query(q.as_deref());
    let form = SearchForm::from_params(&p, 20, MAX_LIMIT as usize)?;
    let snippets = match p.get("snippets") {
        None | Some("true" | "1") => true,
        Some("false" | "0") => false,
        Some(_) => return Err(WebError::param("snippets", "expected true or false")),
    };
    let results = service::search_index(&state, &form, snippets).await?;
    let hits = results
        .hits
        .into_iter()
        .filter_map(|h| {
            let paper = h.paper?;
            Some(SearchHit {
                url: format!("/papers/{}", h.id),
                id: h.id.to_string(),
                score: h.score,
                pinned: h.pinned,
                title: paper.title,
                title_html: h.title_html,
                snippet_html: h.snippet_html,
                authors: paper.authors,
                categories: paper.categories,
                published_at: paper.date,
                upvotes: paper.upvotes,
            })
        })
        .collect();
    Ok(Json(SearchResponse {
        query: form.q.clone(),
        mode: results.mode.to_string(),
        total: results.total,
        offset: form.offset,
        limit: form.limit,
        semantic_complete: results.semantic_complete,
        hits,
    }))
}

/// A paper similar to another.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimilarPaper {
    /// arXiv id.
    pub id: String,
    /// Similarity (cosine of the vectors, or BM25 for papers without one).
    pub score: f32,
    /// Title.
    pub title: String,
    /// Upvotes.
    pub upvotes: u32,
    /// When v1 appeared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
}

/// Papers most similar to one paper.
#[utoipa::path(
    get,
    path = "/api/papers/{id}/similar",
    tag = "paperfeed",
    params(
        ("id" = String, Path, description = "arXiv id"),
        ("limit" = Option<usize>, Query, description = "1 to 100 (default 10)"),
    ),
    responses(
        (status = 200, description = "Most similar first", body = Vec<SimilarPaper>),
        (status = 400, description = "Not an id, or a bad limit", body = ErrorBody),
        (status = 404, description = "Unknown paper", body = ErrorBody),
    )
)]
pub async fn similar(state: &AppState, raw_id: &str, p: &Params) -> ApiResult<Vec<SimilarPaper>> {
    let id = parse_paper_id(raw_id)?;
    let limit = p
        .int::<usize>("limit", 1, MAX_LIMIT as usize)?
        .unwrap_or(10);
    if state.store.get_paper(&id).await?.is_none() {
        return Err(WebError::NotFound(format!("unknown paper {id}")));
    }
    let found = service::similar(state, &id, limit).await?;
    Ok(Json(
        found
            .into_iter()
            .map(|(paper, score, upvotes)| SimilarPaper {
                id: paper.id.to_string(),
                score,
                published_at: paper_date(&paper),
                title: paper.title,
                upvotes,
            })
            .collect(),
    ))
}

/// The result of a vote.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VoteResponse {
    /// arXiv id.
    pub id: String,
    /// The paper's upvotes now.
    pub upvotes: u32,
    /// Whether the caller's upvote is now recorded.
    pub upvoted: bool,
}

/// Upvotes (`POST`) or withdraws the upvote of (`DELETE`) a paper. Needs a session cookie
/// plus the `X-CSRF-Token` header, or an `Authorization: Bearer` token.
#[utoipa::path(
    post,
    path = "/api/papers/{id}/vote",
    tag = "paperfeed",
    params(("id" = String, Path, description = "arXiv id")),
    responses(
        (status = 200, description = "The new count", body = VoteResponse),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Cookie session without the CSRF header", body = ErrorBody),
        (status = 404, description = "Unknown paper", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn vote(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    raw_id: &str,
    up: bool,
) -> ApiResult<VoteResponse> {
    let id = parse_paper_id(raw_id)?;
    let user = viewer.require()?;
    viewer.check_csrf(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))?;
    let upvotes = state.store.set_vote(&user.name, &id, up).await?;
    Ok(Json(VoteResponse {
        id: id.to_string(),
        upvotes,
        upvoted: up,
    }))
}

/// `GET /api/papers/{*rest}`: a paper, or `…/similar`.
pub async fn paper_get(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = Params::from_query(q.as_deref());
    match rest.strip_suffix("/similar") {
        Some(id) => similar(&state, id, &p).await.into_response(),
        None => paper_info(&state, &rest).await.into_response(),
    }
}

/// `POST /api/papers/{id}/vote`.
pub async fn paper_post(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(rest): Path<String>,
) -> Response {
    match rest.strip_suffix("/vote") {
        Some(id) => vote(&state, &viewer, &headers, id, true)
            .await
            .into_response(),
        None => WebError::MethodNotAllowed.into_response(),
    }
}

/// `DELETE /api/papers/{id}/vote`.
pub async fn paper_delete(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(rest): Path<String>,
) -> Response {
    match rest.strip_suffix("/vote") {
        Some(id) => vote(&state, &viewer, &headers, id, false)
            .await
            .into_response(),
        None => WebError::MethodNotAllowed.into_response(),
    }
}

fn json_body<T: for<'de> Deserialize<'de>>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, WebError> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(WebError::BadRequest {
            code: "invalid_body",
            message: "send a JSON body with Content-Type: application/json".to_string(),
        });
    }
    serde_json::from_slice(body).map_err(|e| WebError::BadRequest {
        code: "invalid_body",
        message: format!("invalid JSON body: {e}"),
    })
}

/// What `POST /api/papers/submit` takes.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SubmitRequest {
    /// arXiv id or URL.
    pub id: String,
}

/// Puts a paper in today's feed (fetched from arXiv if it is not stored). Needs an account.
#[utoipa::path(
    post,
    path = "/api/papers/submit",
    tag = "paperfeed",
    request_body = SubmitRequest,
    responses(
        (status = 201, description = "Submitted", body = HfPaper),
        (status = 200, description = "Already in a feed (it keeps its day)", body = HfPaper),
        (status = 400, description = "Not an arXiv id", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 404, description = "arXiv has no such paper", body = ErrorBody),
        (status = 502, description = "arXiv could not be reached", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let user = viewer.require()?.clone();
    viewer.check_csrf(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))?;
    let req: SubmitRequest = json_body(&headers, &body)?;
    let vid = VersionedId::parse(&req.id).map_err(|e| WebError::BadRequest {
        code: "invalid_id",
        message: e.to_string(),
    })?;
    let new = submit_paper(&state, &user, &vid).await?;
    let Json(paper) = paper_info(&state, vid.id.as_str()).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(paper)).into_response())
}

/// What `POST /api/auth/token` takes.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Handle.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A bearer token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Exchanges a username and password for a bearer token (a session of its own).
#[utoipa::path(
    post,
    path = "/api/auth/token",
    tag = "paperfeed",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "A token", body = TokenResponse),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
    )
)]
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<TokenResponse> {
    let req: TokenRequest = json_body(&headers, &body)?;
    let Some(user) = authenticate(&state, &req.username, req.password).await? else {
        return Err(WebError::Unauthorized(
            "wrong username or password".to_string(),
        ));
    };
    let token = crate::auth::start_session(&state, &user).await?;
    let lifetime = chrono::Duration::from_std(state.config.session_lifetime)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(Json(TokenResponse {
        token,
        expires_at: Utc::now() + lifetime,
    }))
}

/// The paper as Markdown, as `HfApi.read_paper` reads it (`GET /papers/{id}.md`).
pub async fn paper_markdown(state: &AppState, raw_id: &str) -> Result<Response, WebError> {
    let id = parse_paper_id(raw_id)?;
    let Some(p) = state.store.get_paper(&id).await? else {
        return Err(WebError::NotFound(format!("unknown paper {id}")));
    };
    Ok((
        [(CONTENT_TYPE, "text/markdown; charset=utf-8")],
        markdown(&p),
    )
        .into_response())
}

/// Title, authors, links, abstract and code links as Markdown.
pub fn markdown(p: &Paper) -> String {
    let mut out = format!("# {}\n\n", p.title);
    if !p.authors.is_empty() {
        let names: Vec<&str> = p.authors.iter().map(|a| a.name.as_str()).collect();
        out.push_str(&format!("**Authors:** {}\n\n", names.join(", ")));
    }
    out.push_str(&format!(
        "**arXiv:** [{id}]({abs}) · [PDF]({pdf})",
        id = p.id,
        abs = p.id.abs_url(),
        pdf = p.id.pdf_url()
    ));
    if let Some(d) = paper_date(p) {
        out.push_str(&format!(" · Published {}", d.format("%Y-%m-%d")));
    }
    if !p.categories.is_empty() {
        let cats: Vec<&str> = p.categories.iter().map(|c| c.as_str()).collect();
        out.push_str(&format!(" · {}", cats.join(", ")));
    }
    out.push_str("\n\n");
    for doi in &p.dois {
        out.push_str(&format!("**DOI:** [{doi}](https://doi.org/{doi})\n\n"));
    }
    if let Some(j) = &p.journal_ref {
        out.push_str(&format!("**Journal reference:** {j}\n\n"));
    }
    if let Some(c) = &p.comment {
        out.push_str(&format!("**Comment:** {c}\n\n"));
    }
    out.push_str("## Abstract\n\n");
    out.push_str(&p.abstract_text);
    out.push('\n');
    if !p.code_links.is_empty() {
        out.push_str("\n## Code\n\n");
        for l in &p.code_links {
            out.push_str(&format!("- <{l}>\n"));
        }
    }
    out
}

/// The OpenAPI document of this API.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "paperfeed API",
        description = "Daily arXiv papers, trending, hybrid search and votes. The `huggingface` endpoints follow the Hugging Face Papers API."
    ),
    paths(daily_papers, paper_info, papers_search, search, similar, vote, submit, token),
    components(schemas(
        HfAuthor, HfUser, HfPaper, HfDailyPaper, SearchHit, SearchResponse, SimilarPaper,
        VoteResponse, SubmitRequest, TokenRequest, TokenResponse, ErrorBody, ErrorDetail
    )),
    modifiers(&Security),
    tags(
        (name = "huggingface", description = "Compatible with the Hugging Face Papers API"),
        (name = "paperfeed", description = "paperfeed's own endpoints"),
    )
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    Json(ApiDoc::openapi()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use paperfeed_core::Author;

    #[test]
    fn markdown_has_title_authors_links_and_code() {
        let mut p = Paper::new(ArxivId::parse("2503.12067").unwrap(), "A <Survey> & more");
        p.authors = vec![
            Author::new("Amir M. Mansourian"),
            Author::new("Rozhan Ahmadi"),
        ];
        p.abstract_text = "Deep networks with $x<y$.".into();
        p.code_links = vec!["https://github.com/a/b".into()];
        let md = markdown(&p);
        assert!(md.starts_with("# A <Survey> & more\n"));
        assert!(md.contains("**Authors:** Amir M. Mansourian, Rozhan Ahmadi"));
        assert!(md.contains("(https://arxiv.org/abs/2503.12067)"));
        assert!(md.contains("## Abstract\n\nDeep networks with $x<y$."));
        assert!(md.contains("- <https://github.com/a/b>"));
    }

    #[test]
    fn openapi_lists_every_endpoint() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for path in [
            "/api/daily_papers",
            "/api/papers/{id}",
            "/api/papers/search",
            "/api/search",
            "/api/papers/{id}/similar",
            "/api/papers/{id}/vote",
            "/api/papers/submit",
            "/api/auth/token",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} missing");
        }
    }
}
