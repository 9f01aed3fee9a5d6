//! Incremental, resumable OAI-PMH harvesting.
//!
//! A harvest walks one `ListRecords` list page by page. After each page the caller's
//! `on_page` receives the page's papers, deletions and bad records together with the
//! [`HarvestState`] to save; the next request is made only once `on_page` has succeeded. A
//! caller that stores a page and its state in one transaction therefore never loses or
//! repeats a page, wherever the process is killed:
//!
//! - state with a resumption token: the next run continues the list with that token;
//! - no token: the next run starts a new list `from` the last datestamp harvested (or the
//!   caller's `from`, whichever is later), so it asks only for what changed since;
//! - `noRecordsMatch`: nothing new, the harvest is finished;
//! - `badResumptionToken` (tokens expire): the list is started again from where it began.
//!
//! `from` is inclusive and datestamps are days, so a new list repeats the last day harvested.
//! That is deliberate: records stamped later on that same day would otherwise be missed, and
//! storing a paper twice is harmless ([`paperfeed_core::Paper::merge`] is idempotent).

use chrono::NaiveDate;
use paperfeed_core::{ArxivId, Paper};
use serde::{Deserialize, Serialize};

use crate::http::{PoliteClient, url_with_query};
use crate::oai::{self, MetadataFormat, OaiErrorCode, OaiResponse};
use crate::{BadRecord, IngestError, Record};

/// arXiv's OAI-PMH endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://oaipmh.arxiv.org/oai";

/// How often one run restarts an expired list before giving up.
const MAX_RESTARTS: u32 = 3;

/// What to harvest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarvestParams {
    /// The OAI-PMH base URL.
    pub endpoint: String,
    /// A set such as `cs` or `physics:hep-th`; `None` for everything.
    pub set: Option<String>,
    /// The metadata format.
    pub format: MetadataFormat,
    /// Harvest nothing older than this datestamp.
    pub from: Option<NaiveDate>,
    /// Harvest nothing newer than this datestamp.
    pub until: Option<NaiveDate>,
}

impl Default for HarvestParams {
    fn default() -> Self {
        HarvestParams {
            endpoint: DEFAULT_ENDPOINT.to_string(),
            set: None,
            format: MetadataFormat::default(),
            from: None,
            until: None,
        }
    }
}

/// Where a harvest stands; save it with the records of the page it came with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HarvestState {
    /// The token of the list in progress, if a list is in progress.
    pub resumption_token: Option<String>,
    /// The `from` the list in progress was started with, to restart it if its token expires.
    pub list_from: Option<NaiveDate>,
    /// The latest datestamp seen; after a completed list, where the next list starts.
    pub last_datestamp: Option<NaiveDate>,
}

/// One page of a harvest, handed to `on_page`.
#[derive(Debug, Clone, PartialEq)]
pub struct HarvestBatch {
    /// The papers of the page.
    pub papers: Vec<Paper>,
    /// Papers the repository reports deleted.
    pub deleted: Vec<ArxivId>,
    /// Records that could not be read, with their position in the page.
    pub bad: Vec<BadRecord>,
    /// The state to save together with this page.
    pub state: HarvestState,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HarvestSummary {
    /// Pages received and accepted by `on_page`.
    pub pages: u64,
    /// Papers in them.
    pub papers: u64,
    /// Deletions in them.
    pub deleted: u64,
    /// Bad records in them.
    pub bad: u64,
    /// Lists restarted because their token had expired.
    pub restarts: u32,
}

/// Harvests OAI-PMH lists through a [`PoliteClient`].
#[derive(Debug, Clone)]
pub struct Harvester {
    client: PoliteClient,
}

impl Harvester {
    /// A harvester that fetches through `client`.
    pub fn new(client: PoliteClient) -> Self {
        Harvester { client }
    }

    /// The URL of the next request for `state`, and the `from` of the list it belongs to.
    pub fn next_request(
        params: &HarvestParams,
        state: &HarvestState,
    ) -> (String, Option<NaiveDate>) {
        if let Some(token) = &state.resumption_token {
            // A resumption request carries the token and nothing else (OAI-PMH 2.0, 3.5).
            let url = url_with_query(
                &params.endpoint,
                &[("verb", "ListRecords"), ("resumptionToken", token)],
            );
            return (url, state.list_from);
        }
        let from = match (state.last_datestamp, params.from) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        (Self::list_url(params, from), from)
    }

    fn list_url(params: &HarvestParams, from: Option<NaiveDate>) -> String {
        let from = from.map(|d| d.format("%Y-%m-%d").to_string());
        let until = params.until.map(|d| d.format("%Y-%m-%d").to_string());
        let mut query: Vec<(&str, &str)> = vec![
            ("verb", "ListRecords"),
            ("metadataPrefix", params.format.prefix()),
        ];
        if let Some(set) = &params.set {
            query.push(("set", set));
        }
        if let Some(from) = &from {
            query.push(("from", from));
        }
        if let Some(until) = &until {
            query.push(("until", until));
        }
        url_with_query(&params.endpoint, &query)
    }

    /// Harvests from `state` until the list is complete, calling `on_page` after each page.
    ///
    /// Returns when the list is complete or nothing new matched; the last state handed to
    /// `on_page` is then the one to start the next run from. An error from `on_page` stops the
    /// harvest at once and is returned; so is a fetch or OAI error, after the client's retries.
    pub fn run<E, F>(
        &self,
        params: &HarvestParams,
        state: HarvestState,
        mut on_page: F,
    ) -> Result<HarvestSummary, E>
    where
        E: From<IngestError>,
        F: FnMut(HarvestBatch) -> Result<(), E>,
    {
        let mut state = state;
        let mut summary = HarvestSummary::default();
        loop {
            let (url, list_from) = Self::next_request(params, &state);
            let body = self.client.get(&url)?;
            let page = match oai::parse_response(&body) {
                Ok(OaiResponse::Page(page)) => page,
                Ok(OaiResponse::NoRecords { response_date }) => {
                    let finished = HarvestState {
                        resumption_token: None,
                        list_from: None,
                        last_datestamp: state
                            .last_datestamp
                            .or_else(|| response_day(response_date, params.until)),
                    };
                    if finished != state {
                        on_page(HarvestBatch {
                            papers: Vec::new(),
                            deleted: Vec::new(),
                            bad: Vec::new(),
                            state: finished,
                        })?;
                    }
                    return Ok(summary);
                }
                Err(IngestError::Oai {
                    code: OaiErrorCode::BadResumptionToken,
                    message,
                }) if state.resumption_token.is_some() && summary.restarts < MAX_RESTARTS => {
                    tracing::warn!(
                        "resumption token rejected ({message}); restarting the list from {:?}",
                        state.list_from
                    );
                    summary.restarts += 1;
                    // Restart from where the list began, not from `last_datestamp`: the pages
                    // still missing may hold records older than the ones already seen.
                    state.resumption_token = None;
                    state.last_datestamp = match (state.list_from, params.from) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    state.list_from = state.last_datestamp;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };

            let seen = [state.last_datestamp, page.latest_datestamp()]
                .into_iter()
                .flatten()
                .max();
            let next = match &page.resumption {
                Some(token) => HarvestState {
                    resumption_token: Some(token.token.clone()),
                    list_from,
                    last_datestamp: seen,
                },
                None => HarvestState {
                    resumption_token: None,
                    list_from: None,
                    last_datestamp: seen.or_else(|| response_day(page.response_date, params.until)),
                },
            };
            let mut batch = HarvestBatch {
                papers: Vec::new(),
                deleted: Vec::new(),
                bad: Vec::new(),
                state: next.clone(),
            };
            for record in page.records {
                match record {
                    Ok(Record::Paper(p)) => batch.papers.push(*p),
                    Ok(Record::Featured { paper, .. }) => batch.papers.push(*paper),
                    Ok(Record::Deleted { id, .. }) => batch.deleted.push(id),
                    Err(bad) => batch.bad.push(bad),
                }
            }
            let counts = (batch.papers.len(), batch.deleted.len(), batch.bad.len());
            on_page(batch)?;
            summary.pages += 1;
            summary.papers += counts.0 as u64;
            summary.deleted += counts.1 as u64;
            summary.bad += counts.2 as u64;
            tracing::info!(
                "harvested page {}: {} papers, {} deleted, {} bad",
                summary.pages,
                counts.0,
                counts.1,
                counts.2
            );
            state = next;
            if state.resumption_token.is_none() {
                return Ok(summary);
            }
        }
    }
}

/// The day a list with no datestamps covers up to: the response's day, or `until` if the
/// list was cut off earlier (records after `until` are still to be harvested).
fn response_day(
    response_date: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<NaiveDate>,
) -> Option<NaiveDate> {
    let day = response_date.map(|d| d.date_naive());
    match (day, until) {
        (Some(d), Some(u)) => Some(d.min(u)),
        (d, u) => d.or(u),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn next_request_follows_the_state() {
        let params = HarvestParams {
            endpoint: "http://127.0.0.1:1/oai".into(),
            set: Some("physics:hep-th".into()),
            from: Some(day(2024, 1, 1)),
            until: Some(day(2024, 2, 1)),
            ..HarvestParams::default()
        };
        let cases = [
            (
                HarvestState::default(),
                "http://127.0.0.1:1/oai?verb=ListRecords&metadataPrefix=arXivRaw&set=physics%3Ahep-th&from=2024-01-01&until=2024-02-01",
                Some(day(2024, 1, 1)),
            ),
            (
                HarvestState {
                    last_datestamp: Some(day(2024, 1, 20)),
                    ..HarvestState::default()
                },
                "http://127.0.0.1:1/oai?verb=ListRecords&metadataPrefix=arXivRaw&set=physics%3Ahep-th&from=2024-01-20&until=2024-02-01",
                Some(day(2024, 1, 20)),
            ),
            (
                // The caller's `from` is later than the saved state: it wins.
                HarvestState {
                    last_datestamp: Some(day(2023, 6, 1)),
                    ..HarvestState::default()
                },
                "http://127.0.0.1:1/oai?verb=ListRecords&metadataPrefix=arXivRaw&set=physics%3Ahep-th&from=2024-01-01&until=2024-02-01",
                Some(day(2024, 1, 1)),
            ),
            (
                HarvestState {
                    resumption_token: Some("726959|1001".into()),
                    list_from: Some(day(2024, 1, 5)),
                    last_datestamp: Some(day(2024, 1, 9)),
                },
                "http://127.0.0.1:1/oai?verb=ListRecords&resumptionToken=726959%7C1001",
                Some(day(2024, 1, 5)),
            ),
        ];
        for (state, url, from) in cases {
            assert_eq!(
                Harvester::next_request(&params, &state),
                (url.to_string(), from),
                "{state:?}"
            );
        }
    }

    #[test]
    fn an_empty_list_covers_up_to_the_response_day_or_until() {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let cases = [
            (Some("2015-06-23T13:28:30Z"), None, Some(day(2015, 6, 23))),
            (
                Some("2015-06-23T13:28:30Z"),
                Some(day(2015, 1, 1)),
                Some(day(2015, 1, 1)),
            ),
            (
                Some("2015-06-23T13:28:30Z"),
                Some(day(2016, 1, 1)),
                Some(day(2015, 6, 23)),
            ),
            (None, Some(day(2015, 1, 1)), Some(day(2015, 1, 1))),
            (None, None, None),
        ];
        for (date, until, want) in cases {
            assert_eq!(
                response_day(date.map(at), until),
                want,
                "{date:?} {until:?}"
            );
        }
    }

    #[test]
    fn state_round_trips_through_json() {
        let state = HarvestState {
            resumption_token: Some("6960524|1001".into()),
            list_from: Some(day(2024, 1, 25)),
            last_datestamp: Some(day(2024, 1, 26)),
        };
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<HarvestState>(&json).unwrap(), state);
    }
}
