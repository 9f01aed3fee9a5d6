//! The HTML site: daily, weekly and monthly feeds, trending, search, paper pages,
//! submitting, upvoting and accounts. Server-rendered with askama (escaping on); htmx only
//! makes upvotes update in place, and every form also works without JavaScript.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{HOST, LOCATION, REFERER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use chrono::{Days, Months, NaiveDate, Utc};
use paperfeed_core::{ArxivId, Submission, User, UserName, VersionedId};
use paperfeed_search::bm25::Sort;
use paperfeed_search::engine::SearchMode;
use paperfeed_store::FeedSort;

use crate::auth::{self, AuthVia, CSRF_HEADER, SESSION_COOKIE, Viewer};
use crate::error::{PageError, WebError};
use crate::params::{Params, month_label, parse_day, parse_month, parse_week, week_label};
use crate::service::{self, DEFAULT_LIMIT, SearchForm};
use crate::state::AppState;
use crate::views::PaperCard;

type PageResult = Result<Response, PageError>;

/// A `<link rel="alternate">` to a feed.
#[derive(Debug, Clone)]
pub struct FeedLink {
    /// MIME type.
    pub mime: &'static str,
    /// Title.
    pub title: String,
    /// URL (site-relative).
    pub href: String,
}

impl FeedLink {
    fn pair(title: &str, base: &str, query: &str) -> Vec<FeedLink> {
        vec![
            FeedLink {
                mime: "application/rss+xml",
                title: format!("{title} (RSS)"),
                href: format!("{base}.rss{query}"),
            },
            FeedLink {
                mime: "application/atom+xml",
                title: format!("{title} (Atom)"),
                href: format!("{base}.atom{query}"),
            },
        ]
    }
}

/// What every page's frame needs.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Site name.
    pub site: String,
    /// Page title.
    pub title: String,
    /// The signed-in user's name.
    pub user: Option<String>,
    /// CSRF token for the forms.
    pub csrf: String,
    /// Feeds to link.
    pub feeds: Vec<FeedLink>,
    /// This page's path, for "log in and come back".
    pub path: String,
    /// The header search box's value.
    pub q: String,
}

impl Layout {
    fn new(state: &AppState, viewer: &Viewer, title: impl Into<String>, uri: &Uri) -> Self {
        Layout {
            site: state.config.site_name.clone(),
            title: title.into(),
            user: viewer.user.as_ref().map(|u| u.display_name.clone()),
            csrf: viewer.csrf.clone(),
            feeds: FeedLink::pair("Daily papers", "/feeds/daily", ""),
            path: uri
                .path_and_query()
                .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
            q: String::new(),
        }
    }
}

/// A previous/next link.
#[derive(Debug, Clone)]
pub struct NavLink {
    /// Text.
    pub label: String,
    /// Target.
    pub href: String,
}

/// A day/week/month tab.
#[derive(Debug, Clone)]
pub struct Tab {
    /// Text.
    pub label: &'static str,
    /// Target.
    pub href: String,
    /// The current view.
    pub active: bool,
}

#[derive(Template)]
#[template(path = "feed.html")]
struct FeedPage {
    layout: Layout,
    heading: String,
    subtitle: String,
    prev: Option<NavLink>,
    next: Option<NavLink>,
    tabs: Vec<Tab>,
    cards: Vec<PaperCard>,
    more_href: Option<String>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    modes: Vec<(&'static str, bool)>,
    sorts: Vec<(&'static str, bool)>,
    from: String,
    to: String,
    category: String,
    searched: bool,
    summary: String,
    incomplete_note: Option<String>,
    cards: Vec<PaperCard>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Template)]
#[template(path = "paper.html")]
struct PaperPage {
    layout: Layout,
    id: String,
    version: u32,
    title: String,
    /// (name, search query for the name).
    authors: Vec<(String, String)>,
    categories: Vec<String>,
    date: String,
    submitted: Option<String>,
    upvotes: u32,
    voted: bool,
    abs_url: String,
    pdf_url: String,
    code_links: Vec<String>,
    paragraphs: Vec<String>,
    comment: Option<String>,
    journal_ref: Option<String>,
    dois: Vec<String>,
    report_no: Option<String>,
    license: Option<String>,
    similar: Vec<PaperCard>,
}

/// One input of a form page.
#[derive(Debug, Clone)]
pub struct Field {
    label: &'static str,
    name: &'static str,
    kind: &'static str,
    value: String,
    autocomplete: &'static str,
    required: bool,
}

/// A link under a form.
#[derive(Debug, Clone)]
pub struct Aside {
    label: &'static str,
    href: String,
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    layout: Layout,
    heading: &'static str,
    intro: Option<&'static str>,
    error: Option<String>,
    notice: Option<String>,
    action: &'static str,
    next: Option<String>,
    fields: Vec<Field>,
    submit: &'static str,
    aside: Option<Aside>,
}

#[derive(Template)]
#[template(path = "vote.html")]
struct VoteFragment {
    id: String,
    upvotes: u32,
    voted: bool,
    csrf: String,
}

/// The error page.
#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    layout: Layout,
    status: String,
    message: String,
}

impl ErrorPage {
    /// An error page for `status`.
    pub fn new(status: StatusCode, message: String) -> Self {
        let status = format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
        ErrorPage {
            layout: Layout {
                site: "paperfeed".to_string(),
                title: status.clone(),
                user: None,
                csrf: String::new(),
                feeds: Vec::new(),
                path: "/".to_string(),
                q: String::new(),
            },
            status,
            message,
        }
    }

    /// The page, or the bare message if rendering fails.
    pub fn render_or_plain(&self) -> String {
        self.render().unwrap_or_else(|_| self.message.clone())
    }
}

fn html<T: Template>(page: &T) -> PageResult {
    Ok(Html(page.render()?).into_response())
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// Keeps a post-login destination on this site (`/x`, never `//evil` or a full URL).
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

fn page_of(p: &Params) -> Result<u64, WebError> {
    Ok(p.int::<u64>("p", 0, 10_000)?.unwrap_or(0))
}

fn long_day(d: NaiveDate) -> String {
    d.format("%A, %B %-d, %Y").to_string()
}

fn tabs(day: NaiveDate, active: &str) -> Vec<Tab> {
    vec![
        Tab {
            label: "Day",
            href: format!("/papers/date/{day}"),
            active: active == "day",
        },
        Tab {
            label: "Week",
            href: format!("/papers/week/{}", week_label(day)),
            active: active == "week",
        },
        Tab {
            label: "Month",
            href: format!("/papers/month/{}", month_label(day)),
            active: active == "month",
        },
    ]
}

/// The feed of one range as a page; `page` counts from 0.
#[allow(clippy::too_many_arguments)]
async fn feed_page(
    state: &AppState,
    viewer: &Viewer,
    uri: &Uri,
    title: String,
    (from, to): (NaiveDate, NaiveDate),
    page: u64,
    prev: Option<NavLink>,
    next: Option<NavLink>,
    tabs: Vec<Tab>,
) -> PageResult {
    let limit = DEFAULT_LIMIT;
    let mut items = service::feed(
        state,
        from,
        to,
        None,
        FeedSort::Upvotes,
        page * limit,
        limit + 1,
    )
    .await?;
    let more = items.len() as u64 > limit;
    items.truncate(limit as usize);
    let ids: Vec<ArxivId> = items.iter().map(|i| i.paper.id.clone()).collect();
    let voted = service::voted(state, viewer, &ids).await?;
    let n = items.len() as u64 + page * limit;
    let subtitle = match (n, more) {
        (0, _) => "No papers".to_string(),
        (1, false) => "1 paper, most upvoted first".to_string(),
        (n, false) => format!("{n} papers, most upvoted first"),
        (n, true) => format!("{n}+ papers, most upvoted first"),
    };
    let mut layout = Layout::new(state, viewer, title.clone(), uri);
    if from == to {
        layout.title = format!("Daily papers · {}", from.format("%b %-d, %Y"));
    }
    html(&FeedPage {
        layout,
        heading: title,
        subtitle,
        prev,
        next,
        tabs,
        cards: PaperCard::from_feed(&items, &voted),
        more_href: more.then(|| format!("{}?p={}", uri.path(), page + 1)),
    })
}

async fn day_view(
    state: &AppState,
    viewer: &Viewer,
    uri: &Uri,
    day: NaiveDate,
    page: u64,
) -> PageResult {
    let (before, after) = state.store.adjacent_feed_days(day).await?;
    let nav = |d: Option<NaiveDate>| {
        d.map(|d| NavLink {
            label: d.format("%b %-d").to_string(),
            href: format!("/papers/date/{d}"),
        })
    };
    feed_page(
        state,
        viewer,
        uri,
        format!("Daily Papers — {}", long_day(day)),
        (day, day),
        page,
        nav(before),
        nav(after),
        tabs(day, "day"),
    )
    .await
}

/// `/`: the latest day with papers.
pub async fn home(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> PageResult {
    let day = service::latest_day(&state).await?;
    let page = page_of(&Params::from_query(q.as_deref()))?;
    day_view(&state, &viewer, &uri, day, page).await
}

/// `/papers/date/{YYYY-MM-DD}`.
pub async fn day(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(day): Path<String>,
    RawQuery(q): RawQuery,
) -> PageResult {
    let day = parse_day("date", &day)?;
    let page = page_of(&Params::from_query(q.as_deref()))?;
    day_view(&state, &viewer, &uri, day, page).await
}

/// `/papers/week/{YYYY-Www}`.
pub async fn week(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(week): Path<String>,
    RawQuery(q): RawQuery,
) -> PageResult {
    let (mon, sun) = parse_week(&week)?;
    let page = page_of(&Params::from_query(q.as_deref()))?;
    let link = |d: Option<NaiveDate>| {
        d.map(|d| {
            let w = week_label(d);
            NavLink {
                label: w.clone(),
                href: format!("/papers/week/{w}"),
            }
        })
    };
    feed_page(
        &state,
        &viewer,
        &uri,
        format!(
            "Week {} — {} to {}",
            week_label(mon),
            mon.format("%b %-d"),
            sun.format("%b %-d, %Y")
        ),
        (mon, sun),
        page,
        link(mon.checked_sub_days(Days::new(7))),
        link(mon.checked_add_days(Days::new(7))),
        tabs(mon, "week"),
    )
    .await
}

/// `/papers/month/{YYYY-MM}`.
pub async fn month(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(month): Path<String>,
    RawQuery(q): RawQuery,
) -> PageResult {
    let (first, last) = parse_month(&month)?;
    let page = page_of(&Params::from_query(q.as_deref()))?;
    let link = |d: Option<NaiveDate>| {
        d.map(|d| NavLink {
            label: d.format("%B %Y").to_string(),
            href: format!("/papers/month/{}", month_label(d)),
        })
    };
    feed_page(
        &state,
        &viewer,
        &uri,
        format!("Papers of {}", first.format("%B %Y")),
        (first, last),
        page,
        link(first.checked_sub_months(Months::new(1))),
        link(first.checked_add_months(Months::new(1))),
        tabs(first, "month"),
    )
    .await
}

/// `/trending`.
pub async fn trending(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> PageResult {
    let page = page_of(&Params::from_query(q.as_deref()))?;
    let limit = DEFAULT_LIMIT;
    let mut items = service::trending(&state, None, None, page * limit, limit + 1).await?;
    let more = items.len() as u64 > limit;
    items.truncate(limit as usize);
    let ids: Vec<ArxivId> = items.iter().map(|i| i.paper.id.clone()).collect();
    let voted = service::voted(&state, &viewer, &ids).await?;
    let mut layout = Layout::new(&state, &viewer, "Trending papers", &uri);
    layout.feeds = FeedLink::pair("Trending papers", "/feeds/trending", "");
    html(&FeedPage {
        layout,
        heading: "Trending papers".to_string(),
        subtitle: format!(
            "Upvotes weighed against age, over the last {} days of submissions",
            state.config.trending_days
        ),
        prev: None,
        next: None,
        tabs: Vec::new(),
        cards: PaperCard::from_feed(&items, &voted),
        more_href: more.then(|| format!("/trending?p={}", page + 1)),
    })
}

fn query_string(pairs: &[(&str, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

/// `/search?q=&mode=&from=&to=&category=&sort=&p=`.
pub async fn search(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> PageResult {
    let params = Params::from_query(q.as_deref());
    let form = SearchForm::from_params(&params, 20, 100)?;
    let searched = !form.q.is_empty()
        || !form.categories.is_empty()
        || form.from.is_some()
        || form.to.is_some();
    let mut cards = Vec::new();
    let mut summary = String::new();
    let mut incomplete_note = None;
    let mut next_href = None;
    let mut prev_href = None;
    let link_pairs = |offset: usize| {
        vec![
            ("q", form.q.clone()),
            ("mode", form.mode.to_string()),
            ("sort", sort_name(form.sort).to_string()),
            ("from", form.from.map(|d| d.to_string()).unwrap_or_default()),
            ("to", form.to.map(|d| d.to_string()).unwrap_or_default()),
            ("category", form.categories.join(",")),
            (
                "offset",
                if offset > 0 {
                    offset.to_string()
                } else {
                    String::new()
                },
            ),
        ]
    };
    if searched {
        let found = service::search(&state, &form, true).await?;
        let ids: Vec<ArxivId> = found.results.hits.iter().map(|h| h.id.clone()).collect();
        let voted = service::voted(&state, &viewer, &ids).await?;
        for (i, hit) in found.results.hits.iter().enumerate() {
            let Some(paper) = found.papers.get(&hit.id) else {
                continue;
            };
            let mut card = PaperCard::new(
                paper,
                found.upvotes.get(i).copied().unwrap_or(0),
                voted.get(i).copied().unwrap_or(false),
            );
            card.title_html = hit.title_html.clone();
            card.snippet_html = hit.snippet_html.clone();
            cards.push(card);
        }
        let total = found.results.total;
        summary = match total {
            0 => "No results".to_string(),
            1 => "1 result".to_string(),
            n => format!(
                "Results {}–{} of {n} ({})",
                form.offset + 1,
                form.offset + cards.len(),
                form.mode
            ),
        };
        if form.mode != SearchMode::Bm25 && !found.results.semantic_complete {
            let c = state.engine.coverage();
            incomplete_note = Some(format!(
                "Semantic results are incomplete: {} of {} papers have been embedded so far; the rest are found by keywords only until the embedding job catches up.",
                c.vectors, c.papers
            ));
        }
        if form.offset + form.limit < total {
            next_href = Some(format!(
                "/search?{}",
                query_string(&link_pairs(form.offset + form.limit))
            ));
        }
        if form.offset > 0 {
            prev_href = Some(format!(
                "/search?{}",
                query_string(&link_pairs(form.offset.saturating_sub(form.limit)))
            ));
        }
    }
    let title = if form.q.is_empty() {
        "Search".to_string()
    } else {
        format!("{} — search", form.q)
    };
    let mut layout = Layout::new(&state, &viewer, title, &uri);
    layout.q = form.q.clone();
    if searched {
        let feed_query = format!("?{}", query_string(&link_pairs(0)));
        layout.feeds = FeedLink::pair(&format!("Search: {}", form.q), "/feeds/search", &feed_query);
    }
    html(&SearchPage {
        layout,
        q: form.q.clone(),
        modes: SearchMode::ALL
            .iter()
            .map(|m| (m.as_str(), *m == form.mode))
            .collect(),
        sorts: [Sort::Relevance, Sort::Date, Sort::Votes]
            .iter()
            .map(|s| (sort_name(*s), *s == form.sort))
            .collect(),
        from: form.from.map(|d| d.to_string()).unwrap_or_default(),
        to: form.to.map(|d| d.to_string()).unwrap_or_default(),
        category: form.categories.join(","),
        searched,
        summary,
        incomplete_note,
        cards,
        prev_href,
        next_href,
    })
}

fn sort_name(s: Sort) -> &'static str {
    match s {
        Sort::Relevance => "relevance",
        Sort::Date => "date",
        Sort::Votes => "votes",
    }
}

/// Parses the id part of `/papers/{id}` (old-style ids contain a slash).
pub fn parse_paper_id(raw: &str) -> Result<ArxivId, WebError> {
    VersionedId::parse(raw)
        .map(|v| v.id)
        .map_err(|e| WebError::BadRequest {
            code: "invalid_id",
            message: e.to_string(),
        })
}

/// `GET /papers/{id}` and `GET /papers/{id}.md`.
pub async fn paper_get(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(rest): Path<String>,
) -> PageResult {
    if let Some(id) = rest.strip_suffix(".md") {
        return Ok(crate::api::paper_markdown(&state, id).await.into_response());
    }
    let id = parse_paper_id(&rest)?;
    paper_page(&state, &viewer, &uri, &id).await
}

async fn paper_page(state: &AppState, viewer: &Viewer, uri: &Uri, id: &ArxivId) -> PageResult {
    let Some(paper) = state.store.get_paper(id).await? else {
        return Err(WebError::NotFound(format!(
            "paper {id} is not here; submit it to fetch it from arXiv"
        ))
        .into());
    };
    let ids = [paper.id.clone()];
    let upvotes = state
        .store
        .upvotes(&ids)
        .await?
        .first()
        .copied()
        .unwrap_or(0);
    let voted = service::voted(state, viewer, &ids)
        .await?
        .first()
        .copied()
        .unwrap_or(false);
    let submission = state.store.submission(id).await?;
    let similar = service::similar(state, id, 5).await?;
    let similar_ids: Vec<ArxivId> = similar.iter().map(|(p, _, _)| p.id.clone()).collect();
    let similar_voted = service::voted(state, viewer, &similar_ids).await?;
    let similar = similar
        .iter()
        .zip(similar_voted)
        .map(|((p, _, votes), v)| PaperCard::new(p, *votes, v))
        .collect();
    let submitted = submission.map(|s| submitted_line(&s));
    html(&PaperPage {
        layout: Layout::new(state, viewer, paper.title.clone(), uri),
        id: paper.id.to_string(),
        version: paper.version,
        title: paper.title.clone(),
        authors: paper
            .authors
            .iter()
            .map(|a| (a.name.clone(), format!("au:\"{}\"", a.name)))
            .collect(),
        categories: paper.categories.iter().map(|c| c.to_string()).collect(),
        date: service::paper_date(&paper)
            .map(|d| d.format("%b %-d, %Y").to_string())
            .unwrap_or_default(),
        submitted,
        upvotes,
        voted,
        abs_url: paper.id.abs_url(),
        pdf_url: paper.id.pdf_url(),
        code_links: paper.code_links.clone(),
        paragraphs: paper
            .abstract_text
            .split("\n\n")
            .map(str::to_string)
            .collect(),
        comment: paper.comment.clone(),
        journal_ref: paper.journal_ref.clone(),
        dois: paper.dois.clone(),
        report_no: paper.report_no.clone(),
        license: paper.license.clone(),
        similar,
    })
}

fn submitted_line(s: &Submission) -> String {
    let who = s.submitted_by.as_ref().map_or_else(
        || "automatically from the arXiv listing".to_string(),
        |u| format!("by {u}"),
    );
    format!("In the feed of {} ({})", s.day.format("%b %-d, %Y"), who)
}

fn is_htmx(headers: &HeaderMap) -> bool {
    headers.get("hx-request").is_some()
}

/// Where a no-JavaScript form post goes back to: the referring page of this site.
fn back_to(headers: &HeaderMap, fallback: &str) -> String {
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let referer = headers.get(REFERER).and_then(|h| h.to_str().ok());
    if let (Some(host), Some(r)) = (host, referer) {
        for scheme in ["http://", "https://"] {
            if let Some(rest) = r.strip_prefix(scheme)
                && let Some(path) = rest.strip_prefix(host)
                && path.starts_with('/')
            {
                return local_path(Some(path));
            }
        }
    }
    fallback.to_string()
}

/// `POST /papers/{id}/vote`: toggles the viewer's upvote (field `up`: 1 or 0).
pub async fn paper_post(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(rest): Path<String>,
    body: Bytes,
) -> PageResult {
    let Some(raw_id) = rest.strip_suffix("/vote") else {
        return Err(WebError::MethodNotAllowed.into());
    };
    let id = parse_paper_id(raw_id)?;
    let form = Params::parse(&body);
    let paper_path = format!("/papers/{id}");
    if viewer.user.is_none() {
        let login = format!(
            "/login?next={}",
            form_urlencoded::byte_serialize(paper_path.as_bytes()).collect::<String>()
        );
        if is_htmx(&headers) {
            let mut r = StatusCode::NO_CONTENT.into_response();
            if let Ok(v) = HeaderValue::from_str(&login) {
                r.headers_mut().insert("hx-redirect", v);
            }
            return Ok(r);
        }
        return Ok(redirect(&login));
    }
    let submitted = form
        .get("csrf")
        .or_else(|| headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()));
    viewer.check_csrf(submitted)?;
    let user = viewer.require()?;
    let up = form.get("up") != Some("0");
    let upvotes = state.store.set_vote(&user.name, &id, up).await?;
    if is_htmx(&headers) {
        return html(&VoteFragment {
            id: id.to_string(),
            upvotes,
            voted: up,
            csrf: viewer.csrf.clone(),
        });
    }
    Ok(redirect(&back_to(&headers, &paper_path)))
}

fn submit_form(
    layout: Layout,
    error: Option<String>,
    notice: Option<String>,
    value: String,
) -> FormPage {
    FormPage {
        layout,
        heading: "Submit a paper",
        intro: Some(
            "Paste an arXiv id or link. The paper is fetched from arXiv if it is not here yet and appears in today's feed.",
        ),
        error,
        notice,
        action: "/submit",
        next: None,
        fields: vec![Field {
            label: "arXiv id or URL",
            name: "paper",
            kind: "text",
            value,
            autocomplete: "off",
            required: true,
        }],
        submit: "Submit",
        aside: None,
    }
}

/// `GET /submit`.
pub async fn submit_get(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> PageResult {
    if viewer.user.is_none() {
        return Ok(redirect("/login?next=%2Fsubmit"));
    }
    html(&submit_form(
        Layout::new(&state, &viewer, "Submit a paper", &uri),
        None,
        None,
        String::new(),
    ))
}

/// `POST /submit`: puts a paper (from the store, else fetched from arXiv) in today's feed.
pub async fn submit_post(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    body: Bytes,
) -> PageResult {
    let form = Params::parse(&body);
    viewer.check_csrf(form.get("csrf"))?;
    let user = viewer.require()?.clone();
    let raw = form.get("paper").unwrap_or("").to_string();
    let layout = || Layout::new(&state, &viewer, "Submit a paper", &uri);
    let vid = match VersionedId::parse(&raw) {
        Ok(v) => v,
        Err(e) => {
            let mut r = html(&submit_form(
                layout(),
                Some(e.to_string()),
                None,
                raw.clone(),
            ))?;
            *r.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(r);
        }
    };
    match submit_paper(&state, &user, &vid).await {
        Ok(_) => Ok(redirect(&format!("/papers/{}", vid.id))),
        Err(e @ (WebError::NotFound(_) | WebError::Upstream(_))) => {
            let status = e.status();
            let mut r = html(&submit_form(layout(), Some(e.to_string()), None, raw))?;
            *r.status_mut() = status;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

/// Submits a paper to today's feed for `user`: from the store, else fetched from arXiv and
/// stored first. Returns whether it was new to the feeds (a paper already in a feed stays on
/// its first day).
pub async fn submit_paper(
    state: &AppState,
    user: &User,
    vid: &VersionedId,
) -> Result<bool, WebError> {
    if state.store.get_paper(&vid.id).await?.is_none() {
        let Some(paper) = state.fetcher.fetch(vid).await? else {
            return Err(WebError::NotFound(format!("arXiv has no paper {}", vid.id)));
        };
        state.store.upsert_papers(vec![paper]).await?;
    }
    let now = Utc::now();
    let new = state
        .store
        .add_submissions(vec![Submission {
            paper: vid.id.clone(),
            day: now.date_naive(),
            submitted_by: Some(user.name.clone()),
            at: now,
            external_upvotes: 0,
        }])
        .await?;
    Ok(new > 0)
}

fn login_form(layout: Layout, error: Option<String>, next: String, name: String) -> FormPage {
    FormPage {
        layout,
        heading: "Log in",
        intro: None,
        error,
        notice: None,
        action: "/login",
        next: Some(next),
        fields: vec![
            Field {
                label: "Username",
                name: "username",
                kind: "text",
                value: name,
                autocomplete: "username",
                required: true,
            },
            Field {
                label: "Password",
                name: "password",
                kind: "password",
                value: String::new(),
                autocomplete: "current-password",
                required: true,
            },
        ],
        submit: "Log in",
        aside: Some(Aside {
            label: "No account yet? Sign up",
            href: "/signup".to_string(),
        }),
    }
}

fn signup_form(layout: Layout, error: Option<String>, name: String, display: String) -> FormPage {
    FormPage {
        layout,
        heading: "Sign up",
        intro: Some(
            "Pick a username (letters, digits, - and _) and a password of at least 8 characters.",
        ),
        error,
        notice: None,
        action: "/signup",
        next: None,
        fields: vec![
            Field {
                label: "Username",
                name: "username",
                kind: "text",
                value: name,
                autocomplete: "username",
                required: true,
            },
            Field {
                label: "Display name (optional)",
                name: "display_name",
                kind: "text",
                value: display,
                autocomplete: "name",
                required: false,
            },
            Field {
                label: "Password",
                name: "password",
                kind: "password",
                value: String::new(),
                autocomplete: "new-password",
                required: true,
            },
        ],
        submit: "Create account",
        aside: Some(Aside {
            label: "Already have an account? Log in",
            href: "/login".to_string(),
        }),
    }
}

/// `GET /login`.
pub async fn login_get(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> PageResult {
    let next = local_path(Params::from_query(q.as_deref()).get("next"));
    html(&login_form(
        Layout::new(&state, &viewer, "Log in", &uri),
        None,
        next,
        String::new(),
    ))
}

fn with_session_cookie(mut r: Response, state: &AppState, token: &str) -> Response {
    let max_age = state.config.session_lifetime.as_secs();
    r.headers_mut().append(
        SET_COOKIE,
        auth::set_cookie(SESSION_COOKIE, token, max_age, state.config.secure_cookies),
    );
    r
}

/// `POST /login`.
pub async fn login_post(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    body: Bytes,
) -> PageResult {
    let form = Params::parse(&body);
    viewer.check_csrf(form.get("csrf"))?;
    let next = local_path(form.get("next"));
    let name = form.get("username").unwrap_or("").to_string();
    let password = form.raw("password").unwrap_or("").to_string();
    match authenticate(&state, &name, password).await? {
        Some(user) => {
            let token = auth::start_session(&state, &user).await?;
            Ok(with_session_cookie(redirect(&next), &state, &token))
        }
        None => {
            let layout = Layout::new(&state, &viewer, "Log in", &uri);
            let mut r = html(&login_form(
                layout,
                Some("Wrong username or password.".to_string()),
                next,
                name,
            ))?;
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            Ok(r)
        }
    }
}

/// The user if `name` and `password` match an account.
pub async fn authenticate(
    state: &AppState,
    name: &str,
    password: String,
) -> Result<Option<User>, WebError> {
    let found = match UserName::parse(name) {
        Ok(n) => state.store.user_credentials(&n).await?,
        Err(_) => None,
    };
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), Some(h)),
        None => (None, None),
    };
    let ok = auth::verify_password(password, hash).await?;
    Ok(user.filter(|_| ok))
}

/// `GET /signup`.
pub async fn signup_get(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> PageResult {
    html(&signup_form(
        Layout::new(&state, &viewer, "Sign up", &uri),
        None,
        String::new(),
        String::new(),
    ))
}

/// `POST /signup`: creates the account and logs in.
pub async fn signup_post(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    body: Bytes,
) -> PageResult {
    let form = Params::parse(&body);
    viewer.check_csrf(form.get("csrf"))?;
    let raw_name = form.get("username").unwrap_or("").to_string();
    let display = form.get("display_name").unwrap_or("").to_string();
    let password = form.raw("password").unwrap_or("").to_string();
    match create_account(&state, &raw_name, &display, password).await {
        Ok(user) => {
            let token = auth::start_session(&state, &user).await?;
            Ok(with_session_cookie(redirect("/"), &state, &token))
        }
        Err(e @ (WebError::BadRequest { .. } | WebError::Conflict(_))) => {
            let status = e.status();
            let layout = Layout::new(&state, &viewer, "Sign up", &uri);
            let mut r = html(&signup_form(layout, Some(e.to_string()), raw_name, display))?;
            *r.status_mut() = status;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

/// Validates and creates an account.
pub async fn create_account(
    state: &AppState,
    name: &str,
    display: &str,
    password: String,
) -> Result<User, WebError> {
    let name = UserName::parse(name).map_err(|_| {
        WebError::param(
            "username",
            "use 1 to 39 letters, digits, - or _, not starting with -",
        )
    })?;
    auth::check_new_password(&password)?;
    let display = paperfeed_core::text::collapse_whitespace(display);
    if display.chars().count() > 80 {
        return Err(WebError::param("display_name", "use at most 80 characters"));
    }
    let user = User {
        display_name: if display.is_empty() {
            name.to_string()
        } else {
            display
        },
        name,
        created: Utc::now(),
    };
    let hash = auth::hash_password(password).await?;
    state.store.create_user(&user, &hash).await?;
    Ok(user)
}

/// `POST /logout`.
pub async fn logout_post(State(state): State<AppState>, viewer: Viewer, body: Bytes) -> PageResult {
    let form = Params::parse(&body);
    viewer.check_csrf(form.get("csrf"))?;
    if viewer.via == AuthVia::Cookie
        && let Some(h) = &viewer.session_hash
    {
        state.store.delete_session(h).await?;
    }
    let mut r = redirect("/");
    r.headers_mut().append(
        SET_COOKIE,
        auth::set_cookie(SESSION_COOKIE, "", 0, state.config.secure_cookies),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_destinations_stay_on_the_site() {
        assert_eq!(local_path(Some("/papers/2501.00001")), "/papers/2501.00001");
        for evil in ["//evil.example", "https://evil.example/", "/\\evil", "evil"] {
            assert_eq!(local_path(Some(evil)), "/", "{evil}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn referer_is_followed_only_on_this_host() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        h.insert(
            REFERER,
            HeaderValue::from_static("http://127.0.0.1:8080/search?q=x"),
        );
        assert_eq!(back_to(&h, "/f"), "/search?q=x");
        h.insert(REFERER, HeaderValue::from_static("http://evil.example/x"));
        assert_eq!(back_to(&h, "/f"), "/f");
    }
}
