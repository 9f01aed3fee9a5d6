//! The arXiv API client against a local server that answers with the recorded 2026 bodies of
//! arxiv.py's test suite, routed by the same query parameters the recordings were made with.

mod harvest_server;

use std::time::Duration;

use harvest_server::{Reply, Seen, TestServer, recorded, test_client};
use paperfeed_core::VersionedId;
use paperfeed_ingest::IngestError;
use paperfeed_ingest::arxiv_api::ArxivApi;

const RECORDINGS: &[&str] = &[
    "id_0000.0000_s0_m100_8b51d9633a68.json",
    "id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json",
    "id_1605.08386_s0_m100_199195aa31ad.json",
    "id_2104.12255v1_s0_m100_6ae69987ffe1.json",
    "id_abc_s0_m100_b79c8dcf6bc3.json",
    "id_astro-ph_0601001_s0_m100_3150dca9dc76.json",
    "q_testing_s0_m10_bc5a6c384fe9.json",
    "q_testing_s10_m10_34e56e15aaac.json",
];

/// The recording whose `id_list`, `search_query` and `start` match the request; an id list
/// nothing was recorded for gets the real zero-result feed.
fn route(seen: &Seen) -> Reply {
    let key = |s: &Seen| {
        let param = |name| s.param(name).filter(|v| !v.is_empty());
        (param("id_list"), param("search_query"), param("start"))
    };
    for name in RECORDINGS {
        let (url, status, body) = recorded(name);
        let target = url.split_once(".org").map_or(url.as_str(), |(_, t)| t);
        let recording = Seen {
            target: target.to_string(),
            ..seen.clone()
        };
        if key(&recording) == key(seen) {
            return Reply::status(status, body);
        }
    }
    Reply::ok(recorded("id_0000.0000_s0_m100_8b51d9633a68.json").2)
}

fn api(server: &TestServer) -> ArxivApi {
    ArxivApi::new(test_client(Duration::from_millis(30)))
        .with_endpoint(&format!("{}/api/query", server.base))
}

fn ids(list: &[&str]) -> Vec<VersionedId> {
    list.iter()
        .map(|s| VersionedId::parse(s).expect("test id"))
        .collect()
}

#[test]
fn fetches_by_id() {
    let server = TestServer::start(|s, _| route(s));
    let api = api(&server);

    let papers = api.fetch_ids(&ids(&["1605.08386"])).unwrap();
    assert_eq!(papers.len(), 1);
    assert_eq!(papers[0].title, "Heat-bath random walks with Markov bases");

    let papers = api.fetch_ids(&ids(&["2104.12255v1"])).unwrap();
    assert_eq!(
        (
            papers[0].id.as_str(),
            papers[0].version,
            papers[0].title.as_str()
        ),
        ("2104.12255", 1, "0")
    );

    let papers = api.fetch_ids(&ids(&["astro-ph/0601001"])).unwrap();
    assert_eq!(
        papers[0].authors[3].affiliations,
        ["Warsaw University Observatory"]
    );

    // Not in the recordings: the real zero-result feed comes back, and no paper.
    assert!(api.fetch_ids(&ids(&["2501.00001"])).unwrap().is_empty());
    assert!(api.fetch_ids(&[]).unwrap().is_empty());

    let seen = server.requests();
    assert_eq!(seen.len(), 4, "no request for an empty list");
    assert_eq!(
        seen[0].target,
        "/api/query?id_list=1605.08386&start=0&max_results=1"
    );
    assert_eq!(seen[1].param("id_list").as_deref(), Some("2104.12255v1"));
    assert_eq!(
        seen[2].target,
        "/api/query?id_list=astro-ph%2F0601001&start=0&max_results=1"
    );
}

#[test]
fn batches_at_most_one_hundred_ids() {
    let server = TestServer::start(|s, _| route(s));
    let many: Vec<String> = (1..=250).map(|n| format!("2501.{n:05}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let papers = api(&server).fetch_ids(&ids(&refs)).unwrap();
    assert!(papers.is_empty());
    let seen = server.requests();
    let sizes: Vec<usize> = seen
        .iter()
        .map(|s| s.param("id_list").unwrap_or_default().split(',').count())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    let max: Vec<_> = seen
        .iter()
        .map(|s| s.param("max_results").unwrap_or_default())
        .collect();
    assert_eq!(max, ["100", "100", "50"]);
    let all: Vec<String> = seen
        .iter()
        .flat_map(|s| {
            s.param("id_list")
                .unwrap_or_default()
                .split(',')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(all, many);
}

#[test]
fn search_pages_until_enough() {
    let server = TestServer::start(|s, _| route(s));
    let papers = api(&server)
        .with_page_size(10)
        .search("testing", 20)
        .unwrap();
    assert_eq!(papers.len(), 20);
    assert_eq!(papers[0].id.as_str(), "2202.12139");
    assert_eq!(papers[10].id.as_str(), "2403.16981");
    let seen = server.requests();
    let pages: Vec<_> = seen
        .iter()
        .map(|s| {
            (
                s.param("search_query"),
                s.param("start"),
                s.param("max_results"),
            )
        })
        .collect();
    let want = |start: &str| {
        (
            Some("testing".to_string()),
            Some(start.to_string()),
            Some("10".to_string()),
        )
    };
    assert_eq!(pages, [want("0"), want("10")]);

    // Fewer wanted than a page: one request for just that many.
    let papers = api(&server)
        .with_page_size(10)
        .search("testing", 10)
        .unwrap();
    assert_eq!(papers.len(), 10);
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn search_stops_at_total_results() {
    // A query with 1 result in all: asking for 50 makes one request.
    let server =
        TestServer::start(|_, _| Reply::ok(recorded("id_1605.08386_s0_m100_199195aa31ad.json").2));
    let papers = api(&server).search("ti:heat-bath", 50).unwrap();
    assert_eq!(papers.len(), 1);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn api_error_feed_is_a_typed_error() {
    let server = TestServer::start(|s, _| route(s));
    // `abc` was recorded as an id list; send it as one through a raw query.
    let api = api(&server).with_endpoint(&format!("{}/api/query?id_list=abc", server.base));
    match api.search("", 5) {
        Err(IngestError::ArxivApi { message }) => {
            assert_eq!(message, "incorrect id format for abc")
        }
        other => panic!("{other:?}"),
    }
    // A 400 is permanent: no retry.
    assert_eq!(server.requests().len(), 1);
}
