//! No parser panics on any input: truncated, spliced and garbled versions of every real
//! sample go through all three XML parsers, and whatever they accept is a finished paper.

mod harvest_server;

use std::sync::OnceLock;

use harvest_server::{fixture, recorded};
use paperfeed_ingest::{Record, atom, oai, rss};
use proptest::prelude::*;

fn samples() -> &'static [String] {
    static SAMPLES: OnceLock<Vec<String>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let mut out: Vec<String> = [
            "oai/arxiv/arxiv-physics-hep-ex.xml",
            "oai/arxiv/arxiv-single.xml",
            "oai/arxiv/sample_arxiv_record1.xml",
            "oai/arxivraw/GetRecordResponse.xml",
            "oai/arxivraw/ListRecordsResponse.xml",
            "oai/oai_dc/test_arxiv_data.xml",
            "oai/errors/arxiv/ErrorResponseNoRecordsMatch.xml",
            "oai/errors/spec/idDoesNotExist.xml",
            "atom/2016/id_list_1111.2011v2.xml",
            "atom/2016/search_query_1.xml",
            "rss/cs.CV-2025-03-18.rss.xml",
            "rss/cs.CV-2025-03-18.atom.xml",
        ]
        .iter()
        .map(|p| fixture(p))
        .collect();
        for name in [
            "id_astro-ph_0601001_s0_m100_3150dca9dc76.json",
            "id_abc_s0_m100_b79c8dcf6bc3.json",
            "id_2104.12255v1_s0_m100_6ae69987ffe1.json",
        ] {
            out.push(recorded(name).2);
        }
        out
    })
}

/// Feeds `input` to every parser; every paper that comes out must already be finished.
fn parse_all(input: &str) {
    let check = |r: &Result<Record, paperfeed_ingest::BadRecord>| {
        if let Ok(Record::Paper(p)) = r {
            assert_eq!(p.clone().finish().as_ref(), Ok(p.as_ref()));
        }
    };
    if let Ok(oai::OaiResponse::Page(page)) = oai::parse_response(input) {
        page.records.iter().for_each(check);
        assert_eq!(page.records.len(), page.datestamps.len());
    }
    if let Ok(feed) = atom::parse_feed(input) {
        feed.entries.iter().for_each(check);
    }
    if let Ok(feed) = rss::parse_feed(input) {
        for item in feed.items.into_iter().flatten() {
            check(&Ok(item.into_record()));
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[derive(Debug, Clone)]
enum Damage {
    Truncate(usize),
    Delete(usize, usize),
    Insert(usize, String),
    Duplicate(usize, usize),
    /// Text right after a `>`, which keeps most documents well-formed, so the damage reaches
    /// the record-level code instead of stopping at the XML parser.
    TextAfterTag(usize, String),
}

fn apply(s: &str, damage: &Damage) -> String {
    let at = |frac: usize| floor_char_boundary(s, s.len() * frac / 10_000);
    match damage {
        Damage::Truncate(a) => s[..at(*a)].to_string(),
        Damage::Delete(a, len) => {
            let start = at(*a);
            let end = floor_char_boundary(s, start + len);
            format!("{}{}", &s[..start], &s[end..])
        }
        Damage::Insert(a, text) => {
            let i = at(*a);
            format!("{}{}{}", &s[..i], text, &s[i..])
        }
        Damage::Duplicate(a, len) => {
            let start = at(*a);
            let end = floor_char_boundary(s, start + len);
            format!("{}{}{}", &s[..end], &s[start..end], &s[end..])
        }
        Damage::TextAfterTag(a, text) => {
            let tags: Vec<usize> = s.match_indices('>').map(|(i, _)| i + 1).collect();
            match tags.get(a % tags.len().max(1)) {
                Some(&i) => format!("{}{}{}", &s[..i], text, &s[i..]),
                None => s.to_string(),
            }
        }
    }
}

fn damage() -> impl Strategy<Value = Damage> {
    let pos = 0usize..10_000;
    prop_oneof![
        pos.clone().prop_map(Damage::Truncate),
        (pos.clone(), 1usize..200).prop_map(|(a, l)| Damage::Delete(a, l)),
        (
            pos.clone(),
            prop_oneof![
                "\\PC{0,20}",
                Just("<".to_string()),
                Just("</record>".to_string()),
                Just("<record>".to_string()),
                Just("&amp;".to_string()),
                Just("&bogus;".to_string()),
                Just("<![CDATA[".to_string()),
                Just("<error code=\"badVerb\">x</error>".to_string()),
                Just("<datestamp>9999-99-99</datestamp>".to_string()),
                Just("<id>http://arxiv.org/abs/2501.1v0</id>".to_string()),
                Just("<version version=\"v0\"><date>x</date></version>".to_string()),
            ]
        )
            .prop_map(|(a, t)| Damage::Insert(a, t)),
        (pos.clone(), 1usize..2000).prop_map(|(a, l)| Damage::Duplicate(a, l)),
        (
            pos,
            prop_oneof![
                "[^<&]{0,30}",
                Just("2025-02-30".to_string()),
                Just("v0".to_string()),
                Just("oai:arXiv.org:".to_string()),
                Just("http://arxiv.org/abs/".to_string()),
                Just("Mon, 31 Feb 2025 00:00:00 GMT".to_string()),
                Just("12345678901234567890".to_string()),
            ]
        )
            .prop_map(|(a, t)| Damage::TextAfterTag(a, t)),
    ]
}

#[test]
fn every_prefix_of_one_sample() {
    let s = &fixture("oai/arxivraw/GetRecordResponse.xml");
    for i in (0..=s.len()).filter(|i| s.is_char_boundary(*i)) {
        parse_all(&s[..i]);
    }
}

/// Every element's text of a real page, in turn, gets an impossible date in front: the page
/// still parses, and the record it hit is reported or read, never a panic.
#[test]
fn text_damage_reaches_the_records() {
    for path in [
        "oai/arxivraw/ListRecordsResponse.xml",
        "oai/oai_dc/test_arxiv_data.xml",
    ] {
        let s = fixture(path);
        let tags = s.matches('>').count();
        let mut pages = 0;
        let mut bad = 0;
        for n in 0..tags {
            let damaged = apply(&s, &Damage::TextAfterTag(n, "2025-02-30 ".to_string()));
            parse_all(&damaged);
            if let Ok(oai::OaiResponse::Page(page)) = oai::parse_response(&damaged) {
                pages += 1;
                bad += page.records.iter().filter(|r| r.is_err()).count();
            }
        }
        // Text before the root element is not XML; everywhere else the page survives.
        assert!(pages >= tags - 2, "{path}: {pages} of {tags} pages parsed");
        assert!(bad > 0, "{path}: no damage reached a record");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn damaged_samples_never_panic(which in 0usize..15, hits in proptest::collection::vec(damage(), 1..4)) {
        let samples = samples();
        let mut s = samples[which % samples.len()].clone();
        for d in &hits {
            s = apply(&s, d);
        }
        parse_all(&s);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        parse_all(&s);
    }
}
