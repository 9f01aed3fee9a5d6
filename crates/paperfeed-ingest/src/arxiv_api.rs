//! Fetching papers from the arXiv API (`export.arxiv.org/api/query`) by identifier or by
//! query, through the shared [`PoliteClient`] (so the API's one-request-every-three-seconds
//! rule holds across the whole process, together with the OAI harvester).
//!
//! [`ArxivApi::fetch_ids`] asks for at most 100 identifiers per request; [`ArxivApi::search`]
//! pages with `start`/`max_results` until it has what was asked for or the query's
//! `totalResults` is reached. Entries the parser cannot read are logged and skipped. The API's
//! error feed (HTTP 400 with an entry titled `Error`) becomes [`IngestError::ArxivApi`].

use paperfeed_core::{Paper, VersionedId};

use crate::atom::{self, AtomFeed};
use crate::http::{PoliteClient, url_with_query};
use crate::{IngestError, Record};

/// The arXiv API endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://export.arxiv.org/api/query";

/// The most identifiers one `id_list` request carries.
pub const MAX_IDS_PER_REQUEST: usize = 100;

/// A client of the arXiv API.
#[derive(Debug, Clone)]
pub struct ArxivApi {
    client: PoliteClient,
    endpoint: String,
    page_size: usize,
}

impl ArxivApi {
    /// A client of the public endpoint, fetching through `client`.
    pub fn new(client: PoliteClient) -> Self {
        ArxivApi {
            client,
            endpoint: DEFAULT_ENDPOINT.to_string(),
            page_size: 100,
        }
    }

    /// Uses another endpoint (a mirror, or a local server in tests).
    pub fn with_endpoint(mut self, endpoint: &str) -> Self {
        self.endpoint = endpoint.to_string();
        self
    }

    /// Sets how many results [`ArxivApi::search`] asks for per request (1 to 2000; arXiv
    /// suggests small pages).
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.clamp(1, 2000);
        self
    }

    /// The papers with these identifiers, in the API's order. A versioned identifier asks for
    /// that version. Identifiers arXiv does not know are missing from the result.
    pub fn fetch_ids(&self, ids: &[VersionedId]) -> Result<Vec<Paper>, IngestError> {
        let mut papers = Vec::with_capacity(ids.len());
        for batch in ids.chunks(MAX_IDS_PER_REQUEST) {
            let list = batch
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let max = batch.len().to_string();
            let url = url_with_query(
                &self.endpoint,
                &[("id_list", &list), ("start", "0"), ("max_results", &max)],
            );
            papers.extend(papers_of(self.fetch(&url)?));
        }
        Ok(papers)
    }

    /// Up to `max_results` papers matching an arXiv API query (`ti:transformer AND cat:cs.CL`),
    /// in the API's order.
    pub fn search(&self, query: &str, max_results: usize) -> Result<Vec<Paper>, IngestError> {
        let mut papers = Vec::new();
        let mut start = 0usize;
        while papers.len() < max_results {
            let want = (max_results - papers.len()).min(self.page_size);
            let (s, m) = (start.to_string(), want.to_string());
            let url = url_with_query(
                &self.endpoint,
                &[("search_query", query), ("start", &s), ("max_results", &m)],
            );
            let feed = self.fetch(&url)?;
            let total = feed.total_results;
            let returned = feed.entries.len();
            papers.extend(papers_of(feed));
            start += returned;
            // An empty page ends the search even below `totalResults`: the API is known to
            // return short or empty pages, and asking again would loop.
            if returned == 0 || total.is_some_and(|t| start as u64 >= t) {
                break;
            }
        }
        papers.truncate(max_results);
        Ok(papers)
    }

    fn fetch(&self, url: &str) -> Result<AtomFeed, IngestError> {
        match self.client.get(url) {
            Ok(body) => atom::parse_feed(&body),
            // The API explains a bad request in an Atom error feed with status 400.
            Err(IngestError::HttpStatus { status, body, url }) => match atom::parse_feed(&body) {
                Err(api @ IngestError::ArxivApi { .. }) => Err(api),
                _ => Err(IngestError::HttpStatus { url, status, body }),
            },
            Err(e) => Err(e),
        }
    }
}

fn papers_of(feed: AtomFeed) -> impl Iterator<Item = Paper> {
    feed.entries.into_iter().filter_map(|entry| match entry {
        Ok(Record::Paper(p)) => Some(*p),
        Ok(_) => None,
        Err(bad) => {
            tracing::warn!("skipping arXiv API entry: {bad}");
            None
        }
    })
}
