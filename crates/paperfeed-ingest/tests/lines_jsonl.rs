//! paperfeed JSON lines and the arXiv listing / API dump shapes, on real samples, and the
//! lossless export → import round trip.

use std::io::Cursor;
use std::path::Path;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use paperfeed_core::{ArxivId, Author, Category, Paper, Submission, UserName, Version};
use paperfeed_ingest::input::{Compression, open_input};
use paperfeed_ingest::{Record, jsonl};
use proptest::prelude::*;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/jsonl/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Every record of a fixture; panics on a bad record or a broken input.
fn read_fixture(name: &str) -> Vec<Paper> {
    let input = open_input(Path::new(&fixture(name))).unwrap();
    assert_eq!(input.compression(), Compression::Zstd);
    jsonl::read(input, name)
        .map(|item| match item.unwrap() {
            (_, Ok(Record::Paper(p))) => *p,
            (pos, Ok(other)) => panic!("{pos}: unexpected {other:?}"),
            (_, Err(bad)) => panic!("real line rejected: {bad}"),
        })
        .collect()
}

fn cats(p: &Paper) -> Vec<&str> {
    p.categories.iter().map(Category::as_str).collect()
}

#[test]
fn real_listing_sample_parses() {
    let papers = read_fixture("listings-sample-2000.jsonl.zst");
    assert_eq!(papers.len(), 2000);
    let first = &papers[0];
    assert_eq!(first.id.as_str(), "2503.12067");
    assert_eq!(
        first.title,
        "A Comprehensive Survey on Knowledge Distillation"
    );
    assert_eq!(first.authors.len(), 11);
    assert_eq!(first.authors[0].name, "Amir M. Mansourian");
    assert_eq!(first.listing_date, NaiveDate::from_ymd_opt(2025, 3, 18));
    assert_eq!(
        first.comment.as_deref(),
        Some("47 pages, 10 figures, 13 tables")
    );
    assert_eq!(
        first.code_links,
        ["https://github.com/IPL-Sharif/KD_Survey"]
    );
    assert!(first.abstract_text.starts_with("Deep Neural Networks (DNNs) have achieved notable performance in the fields of computer vision"));
    assert!(
        papers
            .iter()
            .all(|p| p.listing_date.is_some() && p.version == 0)
    );
    // MSC / ACM classes mixed into the category lists are dropped, real codes kept.
    assert!(papers.iter().all(|p| !p.categories.is_empty()));
}

#[test]
fn real_api_records_parse() {
    let papers = read_fixture("api-records-300.jsonl.zst");
    assert_eq!(papers.len(), 300);
    let p = &papers[0];
    assert_eq!(p.id.as_str(), "2312.00690");
    assert_eq!(cats(p), ["cs.CV"]);
    assert_eq!(
        p.published,
        Some(Utc.with_ymd_and_hms(2023, 12, 1, 0, 0, 0).unwrap())
    );
    assert_eq!(
        p.updated,
        Some(Utc.with_ymd_and_hms(2024, 6, 25, 0, 0, 0).unwrap())
    );
    assert!(
        p.dois.is_empty() && p.journal_ref.is_none(),
        "empty strings are absent"
    );
    assert!(
        p.code_links.is_empty(),
        "a github.io page is not a repository"
    );
    assert!(papers.iter().all(|p| p.published.is_some()));
    let with_doi = papers.iter().filter(|p| !p.dois.is_empty()).count();
    assert!(with_doi > 0, "some records carry a DOI");
}

#[test]
fn export_then_import_is_lossless_on_the_real_listing_sample() {
    let papers = read_fixture("listings-sample-2000.jsonl.zst");
    let mut out = Vec::new();
    for p in &papers {
        jsonl::write_line(&mut out, p, None).unwrap();
    }
    let back: Vec<Paper> = jsonl::read(Cursor::new(out), "export")
        .map(|item| match item.unwrap() {
            (_, Ok(Record::Paper(p))) => *p,
            (pos, other) => panic!("{pos}: {other:?}"),
        })
        .collect();
    assert_eq!(back.len(), papers.len());
    for (a, b) in papers.iter().zip(&back) {
        assert_eq!(a, b);
    }
}

fn arb_id() -> impl Strategy<Value = ArxivId> {
    let new =
        (15u32..=26, 1u32..=12, 0u32..100_000).prop_map(|(y, m, n)| format!("{y:02}{m:02}.{n:05}"));
    let old = (
        prop::sample::select(vec!["hep-th", "math", "cond-mat", "astro-ph", "quant-ph"]),
        92u32..=99,
        1u32..=12,
        0u32..1000,
    )
        .prop_map(|(a, y, m, n)| format!("{a}/{y:02}{m:02}{n:03}"));
    prop_oneof![new, old].prop_map(|s| ArxivId::parse(&s).unwrap())
}

fn arb_time() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..4_000_000_000, 0u32..1_000_000_000)
        .prop_map(|(s, ns)| Utc.timestamp_opt(s, ns).single().unwrap())
}

fn arb_text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("(\\PC|\\n|\\t| ){{0,{max}}}")).unwrap()
}

fn arb_opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(arb_text(40))
}

prop_compose! {
    fn arb_paper()(
        id in arb_id(),
        version in 0u32..4,
        versions in prop::collection::btree_map(1u32..6, (arb_time(), proptest::option::of("[0-9]{1,4}kb")), 0..4),
        title in arb_text(80),
        abstract_text in arb_text(300),
        authors in prop::collection::vec(("\\PC{0,30}", prop::collection::vec("\\PC{1,20}", 0..2)), 0..5),
        categories in prop::sample::subsequence(vec!["cs.CL", "cs.LG", "hep-th", "math.CO", "q-bio.NC", "cond-mat.mes-hall"], 0..4),
        published in proptest::option::of(arb_time()),
        updated in proptest::option::of(arb_time()),
        listing_date in proptest::option::of((2000i32..2030, 1u32..=12, 1u32..=28)),
        (comment, journal_ref, report_no, license, submitter) in (arb_opt_text(), arb_opt_text(), arb_opt_text(), arb_opt_text(), arb_opt_text()),
        dois in prop::collection::vec("10\\.[0-9]{4}/[A-Za-z0-9.;,]{1,12}", 0..3),
        code_links in prop::collection::vec("https://github\\.com/[a-z]{1,6}/[a-z]{1,6}", 0..3),
    ) -> Paper {
        Paper {
            id,
            version,
            versions: versions
                .into_iter()
                .map(|(version, (date, size))| Version { version, date, size })
                .collect(),
            title,
            abstract_text,
            authors: authors
                .into_iter()
                .map(|(name, affiliations)| Author { name, affiliations })
                .collect(),
            categories: categories.into_iter().map(|c| Category::parse(c).unwrap()).collect(),
            published,
            updated,
            listing_date: listing_date.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
            comment,
            journal_ref,
            dois,
            report_no,
            license,
            submitter,
            code_links,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn paper_to_line_to_paper_is_identity(
        paper in arb_paper(),
        submission in proptest::option::of((
            (2020i32..2030, 1u32..=12, 1u32..=28),
            proptest::option::of("[a-z][a-z0-9_-]{0,20}"),
            arb_time(),
            any::<u32>(),
        )),
    ) {
        // Only finished papers: that is what every parser hands out.
        let Ok(paper) = paper.finish() else { return Err(TestCaseError::reject("no title")) };
        let submission = submission.map(|((y, m, d), by, at, votes)| Submission {
            paper: paper.id.clone(),
            day: NaiveDate::from_ymd_opt(y, m, d).unwrap(),
            submitted_by: by.map(|n| UserName::parse(&n).unwrap()),
            at,
            external_upvotes: votes,
        });
        let mut line = Vec::new();
        jsonl::write_line(&mut line, &paper, submission.as_ref()).unwrap();
        prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        let text = std::str::from_utf8(&line).unwrap();
        match (jsonl::parse_line(text), submission) {
            (Ok(Record::Paper(back)), None) => prop_assert_eq!(*back, paper),
            (Ok(Record::Featured { paper: back, submission: s }), Some(want)) => {
                prop_assert_eq!(*back, paper);
                prop_assert_eq!(s, want);
            }
            (other, _) => prop_assert!(false, "{:?} from {}", other, text),
        }
    }
}
