//! Incremental harvesting against a local OAI-PMH server that serves real arXiv pages:
//! page 1 is the real arXivRaw `ListRecordsResponse.xml` (token `726959|1001`); page 2 is the
//! real `GetRecordResponse.xml` record inside the same real envelope, without a token. A
//! harvest stopped after page 1 resumes with page 2 only, and every record is stored once.

mod harvest_server;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::NaiveDate;
use harvest_server::{Reply, Seen, TestServer, fixture, test_client};
use paperfeed_ingest::IngestError;
use paperfeed_ingest::harvest::{HarvestBatch, HarvestParams, HarvestState, Harvester};
use paperfeed_ingest::oai::MetadataFormat;

const TOKEN: &str = "726959|1001";

#[derive(Debug)]
enum TestError {
    Ingest(IngestError),
    /// The process "dies" while storing a page.
    Crash,
}

impl From<IngestError> for TestError {
    fn from(e: IngestError) -> Self {
        TestError::Ingest(e)
    }
}

fn page_1() -> String {
    fixture("oai/arxivraw/ListRecordsResponse.xml")
}

/// The real ListRecords envelope around the real GetRecord record, and no token: the last page.
fn page_2() -> String {
    let list = page_1();
    let head_end = list.find("<ListRecords>").expect("envelope") + "<ListRecords>".len();
    let get = fixture("oai/arxivraw/GetRecordResponse.xml");
    let start = get.find("<record>").expect("record");
    let end = get.find("</record>").expect("record end") + "</record>".len();
    format!(
        "{}\n{}\n</ListRecords>\n</OAI-PMH>\n",
        &list[..head_end],
        &get[start..end]
    )
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test day")
}

/// A stand-in for the database: papers by id (with how often each was stored) and the saved
/// state, updated together as one transaction would.
#[derive(Default)]
struct Store {
    stored: BTreeMap<String, u32>,
    state: HarvestState,
    batches: u32,
}

impl Store {
    fn commit(&mut self, batch: HarvestBatch) {
        for p in batch.papers {
            *self.stored.entry(p.id.to_string()).or_default() += 1;
        }
        self.state = batch.state;
        self.batches += 1;
    }
}

fn oai_server() -> TestServer {
    TestServer::start(|seen: &Seen, _| {
        match (
            seen.param("verb").as_deref(),
            seen.param("resumptionToken").as_deref(),
        ) {
            (Some("ListRecords"), Some(TOKEN)) => Reply::ok(page_2()),
            (Some("ListRecords"), Some(_)) => Reply::ok(fixture(
                "oai/errors/arxiv/ErrorResponseBadResumptionToken.xml",
            )),
            (Some("ListRecords"), None) if seen.param("from").as_deref() == Some("2014-12-22") => {
                Reply::ok(fixture("oai/errors/arxiv/ErrorResponseNoRecordsMatch.xml"))
            }
            (Some("ListRecords"), None) => Reply::ok(page_1()),
            _ => Reply::ok(fixture("oai/errors/arxiv/ErrorResponseBadVerb.xml")),
        }
    })
}

fn params(server: &TestServer) -> HarvestParams {
    HarvestParams {
        endpoint: format!("{}/oai", server.base),
        set: Some("physics".into()),
        format: MetadataFormat::ArxivRaw,
        from: Some(day("2014-10-01")),
        until: None,
    }
}

#[test]
fn stopped_after_page_one_resumes_with_page_two_only() {
    let server = oai_server();
    let harvester = Harvester::new(test_client(Duration::from_millis(50)));
    let params = params(&server);
    let store = Mutex::new(Store::default());

    // Run 1 dies while storing page 2.
    let mut calls = 0;
    let first = harvester.run(&params, HarvestState::default(), |batch| {
        calls += 1;
        if calls == 2 {
            return Err(TestError::Crash);
        }
        store.lock().unwrap().commit(batch);
        Ok(())
    });
    assert!(matches!(first, Err(TestError::Crash)), "{first:?}");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].param("verb").as_deref(), Some("ListRecords"));
    assert_eq!(seen[0].param("metadataPrefix").as_deref(), Some("arXivRaw"));
    assert_eq!(seen[0].param("set").as_deref(), Some("physics"));
    assert_eq!(seen[0].param("from").as_deref(), Some("2014-10-01"));
    assert_eq!(seen[0].param("until"), None);
    // A resumption request carries the token and nothing else.
    assert_eq!(
        seen[1].target,
        "/oai?verb=ListRecords&resumptionToken=726959%7C1001"
    );
    {
        let s = store.lock().unwrap();
        assert_eq!(s.stored.len(), 6);
        assert_eq!(
            s.state,
            HarvestState {
                resumption_token: Some(TOKEN.into()),
                list_from: Some(day("2014-10-01")),
                last_datestamp: Some(day("2014-12-22")),
            }
        );
    }

    // Run 2 starts from the saved state: only page 2 is asked for.
    let saved = store.lock().unwrap().state.clone();
    let summary = harvester
        .run::<TestError, _>(&params, saved, |batch| {
            store.lock().unwrap().commit(batch);
            Ok(())
        })
        .unwrap();
    assert_eq!(
        (summary.pages, summary.papers, summary.deleted, summary.bad),
        (1, 1, 0, 0)
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[2].target,
        "/oai?verb=ListRecords&resumptionToken=726959%7C1001"
    );

    let s = store.lock().unwrap();
    let ids: Vec<_> = s.stored.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "0704.0471",
            "0704.0716",
            "0704.0874",
            "0704.1109",
            "0704.1114",
            "0704.1586",
            "1302.2146"
        ]
    );
    assert!(
        s.stored.values().all(|n| *n == 1),
        "every record exactly once: {:?}",
        s.stored
    );
    assert_eq!(
        s.state,
        HarvestState {
            resumption_token: None,
            list_from: None,
            last_datestamp: Some(day("2014-12-22"))
        }
    );
    let finished = s.state.clone();
    let batches = s.batches;
    drop(s);

    // Run 3: a new list from the last datestamp; nothing new, nothing stored, state kept.
    let summary = harvester
        .run::<TestError, _>(&params, finished, |batch| {
            store.lock().unwrap().commit(batch);
            Ok(())
        })
        .unwrap();
    assert_eq!(summary.pages, 0);
    let seen = server.requests();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[3].param("from").as_deref(), Some("2014-12-22"));
    assert_eq!(seen[3].param("resumptionToken"), None);
    assert_eq!(store.lock().unwrap().batches, batches);
}

#[test]
fn an_expired_token_restarts_the_list_where_it_began() {
    let server = oai_server();
    let harvester = Harvester::new(test_client(Duration::from_millis(50)));
    let params = params(&server);
    let mut store = Store::default();
    let state = HarvestState {
        resumption_token: Some("expired|9".into()),
        list_from: Some(day("2014-10-01")),
        last_datestamp: Some(day("2014-11-30")),
    };
    let summary = harvester
        .run::<TestError, _>(&params, state, |batch| {
            store.commit(batch);
            Ok(())
        })
        .unwrap();
    assert_eq!(summary.restarts, 1);
    let seen = server.requests();
    let targets: Vec<_> = seen.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "/oai?verb=ListRecords&resumptionToken=expired%7C9",
            "/oai?verb=ListRecords&metadataPrefix=arXivRaw&set=physics&from=2014-10-01",
            "/oai?verb=ListRecords&resumptionToken=726959%7C1001",
        ]
    );
    assert_eq!(store.stored.len(), 7);
    assert_eq!(store.state.resumption_token, None);
    assert_eq!(store.state.last_datestamp, Some(day("2014-12-22")));
}

#[test]
fn nothing_new_on_a_first_harvest_records_the_response_day() {
    let server = TestServer::start(|_, _| {
        Reply::ok(fixture("oai/errors/arxiv/ErrorResponseNoRecordsMatch.xml"))
    });
    let harvester = Harvester::new(test_client(Duration::from_millis(50)));
    let mut batches = Vec::new();
    let params = HarvestParams {
        endpoint: server.base.clone(),
        ..HarvestParams::default()
    };
    let summary = harvester
        .run::<TestError, _>(&params, HarvestState::default(), |b| {
            batches.push(b);
            Ok(())
        })
        .unwrap();
    assert_eq!(summary.pages, 0);
    assert_eq!(batches.len(), 1);
    assert!(batches[0].papers.is_empty());
    assert_eq!(batches[0].state.last_datestamp, Some(day("2015-06-23")));
}

#[test]
fn oai_errors_stop_the_harvest() {
    let server = TestServer::start(|_, _| {
        Reply::ok(fixture("oai/errors/arxiv/ErrorResponseBadArgument.xml"))
    });
    let harvester = Harvester::new(test_client(Duration::from_millis(50)));
    let params = HarvestParams {
        endpoint: server.base.clone(),
        ..HarvestParams::default()
    };
    let err = harvester
        .run::<TestError, _>(&params, HarvestState::default(), |_| Ok(()))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            TestError::Ingest(IngestError::Oai {
                code: paperfeed_ingest::oai::OaiErrorCode::BadArgument,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1);
}
