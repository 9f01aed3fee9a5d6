//! RSS 2.0 and Atom feeds of the daily papers, trending and any search, for feed readers.
//!
//! - `/feeds/daily.{rss,atom}`: the submissions of the last days up to the latest feed day,
//!   newest first.
//! - `/feeds/trending.{rss,atom}`: the trending list.
//! - `/feeds/search.{rss,atom}?q=…`: a search (the same parameters as `/search`).
//!
//! Links are absolute, built from the request's `Host` (and `X-Forwarded-Proto` behind a
//! proxy), since feed readers resolve nothing relative. Text goes in as text: the crates
//! escape it, so an abstract's `<`, `>` and `&` stay characters.

use std::collections::BTreeMap;

use atom_syndication as atom;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use paperfeed_core::Paper;
use paperfeed_store::FeedSort;
use rss::extension::dublincore::DublinCoreExtensionBuilder;

use crate::error::WebError;
use crate::params::Params;
use crate::service::{self, SearchForm, paper_date};
use crate::state::AppState;

/// Entries per feed.
const FEED_ITEMS: u64 = 100;

/// One entry, whichever feed it is in.
#[derive(Debug)]
struct Entry {
    paper: Paper,
    /// When it entered the feed (or the paper's date).
    at: DateTime<Utc>,
}

/// A feed before it is written in one format.
#[derive(Debug)]
struct FeedDoc {
    title: String,
    description: String,
    /// The page this feed mirrors (absolute).
    page: String,
    /// The feed's own URL (absolute).
    self_url: String,
    entries: Vec<Entry>,
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

fn rss_of(doc: &FeedDoc, base: &str) -> String {
    let items: Vec<rss::Item> = doc
        .entries
        .iter()
        .map(|e| {
            let link = format!("{base}/papers/{}", e.paper.id);
            let creators: Vec<String> = e.paper.authors.iter().map(|a| a.name.clone()).collect();
            rss::ItemBuilder::default()
                .title(Some(e.paper.title.clone()))
                .link(Some(link.clone()))
                .description(Some(e.paper.abstract_text.clone()))
                .guid(Some(
                    rss::GuidBuilder::default()
                        .value(link)
                        .permalink(true)
                        .build(),
                ))
                .pub_date(Some(e.at.to_rfc2822()))
                .categories(
                    e.paper
                        .categories
                        .iter()
                        .map(|c| rss::CategoryBuilder::default().name(c.to_string()).build())
                        .collect::<Vec<_>>(),
                )
                .dublin_core_ext(Some(
                    DublinCoreExtensionBuilder::default()
                        .creators(creators)
                        .build(),
                ))
                .build()
        })
        .collect();
    let mut namespaces = BTreeMap::new();
    namespaces.insert(
        "dc".to_string(),
        rss::extension::dublincore::NAMESPACE.to_string(),
    );
    namespaces.insert(
        "atom".to_string(),
        "http://www.w3.org/2005/Atom".to_string(),
    );
    let atom_ext = rss::extension::atom::AtomExtension {
        links: vec![atom::Link {
            href: doc.self_url.clone(),
            rel: "self".to_string(),
            mime_type: Some("application/rss+xml".to_string()),
            ..Default::default()
        }],
    };
    rss::ChannelBuilder::default()
        .title(doc.title.clone())
        .link(doc.page.clone())
        .description(doc.description.clone())
        .generator(Some("paperfeed".to_string()))
        .last_build_date(Some(Utc::now().to_rfc2822()))
        .namespaces(namespaces)
        .atom_ext(Some(atom_ext))
        .items(items)
        .build()
        .to_string()
}

fn atom_of(doc: &FeedDoc, base: &str) -> String {
    let updated = doc
        .entries
        .iter()
        .map(|e| e.at)
        .max()
        .unwrap_or_else(Utc::now);
    let entries: Vec<atom::Entry> = doc
        .entries
        .iter()
        .map(|e| {
            let link = format!("{base}/papers/{}", e.paper.id);
            atom::EntryBuilder::default()
                .id(link.clone())
                .title(atom::Text::plain(e.paper.title.clone()))
                .updated(e.at.fixed_offset())
                .published(paper_date(&e.paper).map(|d| d.fixed_offset()))
                .authors(
                    e.paper
                        .authors
                        .iter()
                        .map(|a| atom::PersonBuilder::default().name(a.name.clone()).build())
                        .collect::<Vec<_>>(),
                )
                .links(vec![
                    atom::LinkBuilder::default()
                        .href(link)
                        .rel("alternate")
                        .build(),
                    atom::LinkBuilder::default()
                        .href(e.paper.id.pdf_url())
                        .rel("related")
                        .mime_type(Some("application/pdf".to_string()))
                        .title(Some("PDF".to_string()))
                        .build(),
                ])
                .categories(
                    e.paper
                        .categories
                        .iter()
                        .map(|c| atom::CategoryBuilder::default().term(c.to_string()).build())
                        .collect::<Vec<_>>(),
                )
                .summary(Some(atom::Text::plain(e.paper.abstract_text.clone())))
                .build()
        })
        .collect();
    atom::FeedBuilder::default()
        .id(doc.self_url.clone())
        .title(atom::Text::plain(doc.title.clone()))
        .subtitle(Some(atom::Text::plain(doc.description.clone())))
        .updated(updated.fixed_offset())
        .links(vec![
            atom::LinkBuilder::default()
                .href(doc.self_url.clone())
                .rel("self")
                .mime_type(Some("application/atom+xml".to_string()))
                .build(),
            atom::LinkBuilder::default()
                .href(doc.page.clone())
                .rel("alternate")
                .mime_type(Some("text/html".to_string()))
                .build(),
        ])
        .generator(Some(atom::Generator {
            value: "paperfeed".to_string(),
            ..Default::default()
        }))
        .entries(entries)
        .build()
        .to_string()
}

async fn build(
    state: &AppState,
    which: &str,
    params: &Params,
    base: &str,
) -> Result<FeedDoc, WebError> {
    let site = &state.config.site_name;
    match which {
        "daily" => {
            let latest = service::latest_day(state).await?;
            let days = u64::from(state.config.trending_days.max(1) - 1);
            let from = latest - chrono::Days::new(days);
            let items = service::feed(
                state,
                from,
                latest,
                None,
                FeedSort::PublishedAt,
                0,
                FEED_ITEMS,
            )
            .await?;
            Ok(FeedDoc {
                title: format!("{site}: daily papers"),
                description: "Papers submitted to the daily feed, newest first".to_string(),
                page: format!("{base}/"),
                self_url: String::new(),
                entries: items
                    .into_iter()
                    .map(|i| Entry {
                        at: i.submission.at,
                        paper: i.paper,
                    })
                    .collect(),
            })
        }
        "trending" => {
            let items = service::trending(state, None, None, 0, FEED_ITEMS).await?;
            Ok(FeedDoc {
                title: format!("{site}: trending papers"),
                description: "Upvotes weighed against age".to_string(),
                page: format!("{base}/trending"),
                self_url: String::new(),
                entries: items
                    .into_iter()
                    .map(|i| Entry {
                        at: i.submission.at,
                        paper: i.paper,
                    })
                    .collect(),
            })
        }
        "search" => {
            let form = SearchForm::from_params(params, 50, FEED_ITEMS as usize)?;
            if form.q.is_empty() && form.categories.is_empty() {
                return Err(WebError::param(
                    "q",
                    "a search feed needs a query or a category",
                ));
            }
            let found = service::search(state, &form, false).await?;
            let mut entries = Vec::with_capacity(found.results.hits.len());
            for hit in &found.results.hits {
                if let Some(p) = found.papers.get(&hit.id) {
                    entries.push(Entry {
                        at: paper_date(p).unwrap_or_else(Utc::now),
                        paper: p.clone(),
                    });
                }
            }
            let mut page_query = form_urlencoded::Serializer::new(String::new());
            page_query.append_pair("q", &form.q);
            if !form.categories.is_empty() {
                page_query.append_pair("category", &form.categories.join(","));
            }
            Ok(FeedDoc {
                title: format!("{site}: search for {}", form.q),
                description: format!("Papers matching {:?} ({} search)", form.q, form.mode),
                page: format!("{base}/search?{}", page_query.finish()),
                self_url: String::new(),
                entries,
            })
        }
        other => Err(WebError::NotFound(format!("no feed named {other}"))),
    }
}

/// `GET /feeds/{name}.{rss|atom}`.
pub async fn feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, WebError> {
    let Some((which, format)) = file.rsplit_once('.') else {
        return Err(WebError::NotFound(format!("no feed {file}")));
    };
    if format != "rss" && format != "atom" {
        return Err(WebError::NotFound(format!(
            "no feed {file}: use .rss or .atom"
        )));
    }
    let params = Params::from_query(q.as_deref());
    let base = base_url(&headers);
    let mut doc = build(&state, which, &params, &base).await?;
    doc.self_url = match q.as_deref() {
        Some(q) if !q.is_empty() => format!("{base}/feeds/{file}?{q}"),
        _ => format!("{base}/feeds/{file}"),
    };
    let (body, mime) = if format == "rss" {
        (rss_of(&doc, &base), "application/rss+xml; charset=utf-8")
    } else {
        (atom_of(&doc, &base), "application/atom+xml; charset=utf-8")
    };
    Ok(([(CONTENT_TYPE, mime)], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use paperfeed_core::{ArxivId, Author};

    fn doc() -> FeedDoc {
        let mut p = Paper::new(
            ArxivId::parse("2503.12067").unwrap(),
            "Bounds for <i>x</i> & y",
        );
        p.authors = vec![Author::new("Ana Lee")];
        p.abstract_text = "We show $a<b$ & $c>d$.".into();
        FeedDoc {
            title: "t".into(),
            description: "d".into(),
            page: "http://h/".into(),
            self_url: "http://h/feeds/daily.rss".into(),
            entries: vec![Entry {
                paper: p,
                at: DateTime::parse_from_rfc3339("2025-03-26T10:00:00Z")
                    .unwrap()
                    .to_utc(),
            }],
        }
    }

    #[test]
    fn feeds_escape_text_and_round_trip_through_their_parsers() {
        let rss_text = rss_of(&doc(), "http://h");
        assert!(
            rss_text.contains("&lt;i&gt;x&lt;/i&gt; &amp; y"),
            "{rss_text}"
        );
        let back: rss::Channel = rss_text.parse().unwrap();
        assert_eq!(back.items()[0].title(), Some("Bounds for <i>x</i> & y"));
        assert_eq!(back.items()[0].link(), Some("http://h/papers/2503.12067"));
        let atom_text = atom_of(&doc(), "http://h");
        let back: atom::Feed = atom_text.parse().unwrap();
        assert_eq!(back.entries()[0].title().value, "Bounds for <i>x</i> & y");
        assert_eq!(back.entries()[0].authors()[0].name(), "Ana Lee");
    }

    #[test]
    fn base_url_rejects_odd_hosts() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert_eq!(base_url(&h), "http://127.0.0.1:8080");
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(base_url(&h), "https://127.0.0.1:8080");
        h.insert(HOST, HeaderValue::from_static("evil\"><script>"));
        assert_eq!(base_url(&h), "https://localhost");
    }
}
