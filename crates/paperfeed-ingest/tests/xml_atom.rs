//! The arXiv API Atom parser on every real sample: the 2016 shape (inline namespaces) and the
//! 2026 recordings (namespaces on the root, wrapped in arxiv.py's JSON recordings).

mod harvest_server;

use chrono::{DateTime, Utc};
use harvest_server::{fixture, recorded};
use paperfeed_core::{Category, Paper};
use paperfeed_ingest::atom::{AtomFeed, parse_feed};
use paperfeed_ingest::{IngestError, Record};

fn feed(body: &str) -> AtomFeed {
    parse_feed(body).unwrap_or_else(|e| panic!("feed does not parse: {e}"))
}

fn papers(feed: &AtomFeed) -> Vec<&Paper> {
    feed.entries
        .iter()
        .map(|r| match r {
            Ok(Record::Paper(p)) => p.as_ref(),
            other => panic!("expected a paper, got {other:?}"),
        })
        .collect()
}

fn cats(p: &Paper) -> Vec<&str> {
    p.categories.iter().map(Category::as_str).collect()
}

fn names(p: &Paper) -> Vec<&str> {
    p.authors.iter().map(|a| a.name.as_str()).collect()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test timestamp")
        .with_timezone(&Utc)
}

#[test]
fn legacy_id_list() {
    let f = feed(&fixture("atom/2016/id_list_1111.2011v2.xml"));
    assert_eq!(
        (f.total_results, f.start_index, f.items_per_page),
        (Some(1), Some(0), Some(10))
    );
    assert_eq!(f.updated, Some(utc("2016-10-09T04:00:00Z")));
    let p = papers(&f)[0];
    assert_eq!(p.id.as_str(), "1111.2011");
    assert_eq!(p.version, 2);
    assert_eq!(
        p.title,
        "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    );
    assert_eq!(
        names(p),
        ["James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic"]
    );
    assert_eq!(p.published, Some(utc("2011-11-08T18:48:36Z")));
    assert_eq!(p.updated, Some(utc("2012-04-02T12:38:54Z")));
    let versions: Vec<_> = p.versions.iter().map(|v| (v.version, v.date)).collect();
    assert_eq!(
        versions,
        [
            (1, utc("2011-11-08T18:48:36Z")),
            (2, utc("2012-04-02T12:38:54Z"))
        ]
    );
    assert_eq!(p.dois, ["10.1103/PhysRevB.85.115117"]);
    assert_eq!(
        p.comment.as_deref(),
        Some("8 pages, 3 figures. Published version")
    );
    assert_eq!(
        p.journal_ref.as_deref(),
        Some("Phys. Rev. B 85, 115117 (2012)")
    );
    assert_eq!(cats(p), ["cond-mat.str-el", "cond-mat.stat-mech"]);
    assert!(
        p.abstract_text
            .starts_with("Theoretical description of anisotropic systems")
    );
}

#[test]
fn legacy_searches() {
    let cases = [
        ("search_query_1.xml", 2, 2),
        ("search_query_2.xml", 1, 1),
        ("search_query_3.xml", 24, 10),
        ("search_query_4.xml", 31, 10),
    ];
    for (file, total, entries) in cases {
        let f = feed(&fixture(&format!("atom/2016/{file}")));
        assert_eq!(f.total_results, Some(total), "{file}");
        assert_eq!(papers(&f).len(), entries, "{file}");
        for p in papers(&f) {
            // `au:del_maestro` matches both spellings of the name.
            assert!(
                p.authors.iter().any(|a| a.name.ends_with("Del Maestro")),
                "{file}: {}",
                p.id
            );
            assert!(p.version >= 1 && p.published.is_some() && !p.categories.is_empty());
        }
    }
    let f = feed(&fixture("atom/2016/search_query_3.xml"));
    let ps = papers(&f);
    assert_eq!(ps[0].id.as_str(), "1201.4869");
    assert_eq!(cats(ps[0]), ["cond-mat.mes-hall", "cond-mat.other"]);
    assert_eq!(
        ps[0].journal_ref.as_deref(),
        Some("Int. J. Mod. Phys. B, 26, 1244002 (2012)")
    );
    assert_eq!(ps[1].id.as_str(), "cond-mat/0412498");
    assert_eq!(
        ps[1].title,
        "Thermal melting of density waves on the square lattice"
    );
    assert!(
        ps[1]
            .abstract_text
            .contains("\"p x p\" density wave ordering")
    );
    assert!(
        ps[1].abstract_text.contains("(p >= 3, integer)"),
        "entities decoded"
    );
}

#[test]
fn current_search_page() {
    let (url, status, body) = recorded("q_testing_s0_m10_bc5a6c384fe9.json");
    assert!(url.contains("search_query=testing") && status == 200);
    let f = feed(&body);
    assert_eq!(
        (f.total_results, f.start_index, f.items_per_page),
        (Some(214_881), Some(0), Some(10))
    );
    let ps = papers(&f);
    assert_eq!(ps.len(), 10);
    let first = ps[0];
    assert_eq!(first.id.as_str(), "2202.12139");
    assert_eq!(first.version, 1);
    assert_eq!(
        first.title,
        "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    );
    assert_eq!(cats(first), ["cs.SE", "cs.LG"]);
    assert_eq!(
        names(first),
        ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"]
    );
    assert_eq!(first.dois, ["10.1109/ICSTW55395.2022.00035"]);
    assert_eq!(
        first.comment.as_deref(),
        Some("Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022")
    );
    assert_eq!(first.published, Some(utc("2022-02-24T15:05:19Z")));
}

#[test]
fn current_second_page_with_unicode_restored() {
    let (_, _, body) = recorded("q_testing_s10_m10_34e56e15aaac.json");
    let f = feed(&body);
    assert_eq!(f.start_index, Some(10));
    let ps = papers(&f);
    assert_eq!(ps.len(), 10);
    let hyp = ps[0];
    assert_eq!(hyp.id.as_str(), "2403.16981");
    assert_eq!(hyp.version, 2);
    assert_eq!(hyp.versions.len(), 2);
    assert_eq!(hyp.updated, Some(utc("2025-05-24T05:50:33Z")));
    assert!(
        hyp.abstract_text.contains("type-I error at most $α$"),
        "{}",
        hyp.abstract_text
    );
}

#[test]
fn current_id_lookups() {
    let (_, _, body) = recorded("id_1605.08386_s0_m100_199195aa31ad.json");
    let f = feed(&body);
    let p = papers(&f)[0];
    assert_eq!(p.title, "Heat-bath random walks with Markov bases");
    assert_eq!(cats(p), ["math.CO", "math.ST"]);
    assert_eq!(p.comment.as_deref(), Some("20 pages, 3 figures"));
    assert_eq!(names(p), ["Caprice Stanley", "Tobias Windisch"]);

    let (_, _, body) = recorded("id_2104.12255v1_s0_m100_6ae69987ffe1.json");
    let f = feed(&body);
    let p = papers(&f)[0];
    // A real title that is just "0".
    assert_eq!(p.title, "0");
    assert_eq!((p.id.as_str(), p.version), ("2104.12255", 1));
    assert_eq!(p.versions.len(), 1);
    assert_eq!(cats(p), ["cs.CR"]);

    let (_, _, body) = recorded("id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json");
    let f = feed(&body);
    assert_eq!(f.total_results, Some(1));
    let p = papers(&f)[0];
    assert_eq!(p.id.as_str(), "1707.08567");
    assert_eq!(p.authors.len(), 34);
    assert!(p.authors.iter().any(|a| a.name == "Dirk Wübben"));
    assert_eq!(p.authors[4].name, "Peter H. N. de With");
}

#[test]
fn old_style_id_with_affiliations() {
    let (_, _, body) = recorded("id_astro-ph_0601001_s0_m100_3150dca9dc76.json");
    let f = feed(&body);
    let p = papers(&f)[0];
    assert_eq!(p.id.as_str(), "astro-ph/0601001");
    assert_eq!(p.version, 1);
    assert_eq!(cats(p), ["astro-ph"]);
    assert_eq!(p.journal_ref.as_deref(), Some("ActaAstron.56:1-50,2006"));
    let with_affiliation: Vec<_> = p
        .authors
        .iter()
        .map(|a| (a.name.as_str(), a.affiliations.join("; ")))
        .collect();
    assert_eq!(
        with_affiliation,
        [
            ("Andrew Gould", "Ohio State".to_string()),
            ("Susan Dorsher", "Ohio State".to_string()),
            ("B. Scott Gaudi", "CfA".to_string()),
            (
                "Andrzej Udalski",
                "Warsaw University Observatory".to_string()
            ),
        ]
    );
    assert!(p.abstract_text.contains("Gould & Morgan (2003)"));
    assert!(p.abstract_text.contains("V_max<17.5"));
}

#[test]
fn zero_results() {
    let (_, status, body) = recorded("id_0000.0000_s0_m100_8b51d9633a68.json");
    assert_eq!(status, 200);
    let f = feed(&body);
    assert_eq!(
        (f.total_results, f.start_index, f.items_per_page),
        (Some(0), Some(0), Some(100))
    );
    assert!(f.entries.is_empty());
}

#[test]
fn error_feed_is_a_typed_error() {
    let (_, status, body) = recorded("id_abc_s0_m100_b79c8dcf6bc3.json");
    assert_eq!(status, 400);
    match parse_feed(&body) {
        Err(IngestError::ArxivApi { message }) => {
            assert_eq!(message, "incorrect id format for abc")
        }
        other => panic!("expected the API error, got {other:?}"),
    }
}

#[test]
fn both_shapes_read_the_same_fields() {
    // The extension elements, declared inline (2016) or on the root (2026), must be found
    // alike: one parsed value per element in the body.
    for body in [
        fixture("atom/2016/search_query_3.xml"),
        fixture("atom/2016/search_query_4.xml"),
        recorded("q_testing_s0_m10_bc5a6c384fe9.json").2,
        recorded("q_testing_s10_m10_34e56e15aaac.json").2,
    ] {
        let f = feed(&body);
        let ps = papers(&f);
        let count = |element: &str| body.matches(&format!("<arxiv:{element}")).count();
        assert_eq!(
            ps.iter().filter(|p| p.comment.is_some()).count(),
            count("comment")
        );
        assert_eq!(
            ps.iter().filter(|p| p.journal_ref.is_some()).count(),
            count("journal_ref")
        );
        assert_eq!(ps.iter().map(|p| p.dois.len()).sum::<usize>(), count("doi"));
        assert_eq!(ps.len(), count("primary_category"));
        assert!(count("comment") > 0 && count("doi") > 0);
    }
}
