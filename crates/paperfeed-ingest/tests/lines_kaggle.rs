//! The Kaggle reader on the real first 200 lines of `arxiv-metadata-oai-snapshot.json`.

use std::io::Write;
use std::path::Path;

use chrono::{TimeZone, Utc};
use paperfeed_core::{Category, Paper};
use paperfeed_ingest::input::{Compression, open_input};
use paperfeed_ingest::{Position, Record, kaggle};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/kaggle/arxiv-metadata-oai-snapshot.json"
);

fn papers(path: &Path) -> Vec<Paper> {
    let input = open_input(path).unwrap();
    let name = input.name().to_string();
    kaggle::read(input, name)
        .map(|item| {
            let (position, record) = item.expect("input readable");
            match record {
                Ok(Record::Paper(p)) => *p,
                Ok(other) => panic!("{position}: unexpected {other:?}"),
                Err(bad) => panic!("real line rejected: {bad}"),
            }
        })
        .collect()
}

fn find<'a>(papers: &'a [Paper], id: &str) -> &'a Paper {
    papers
        .iter()
        .find(|p| p.id.as_str() == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

fn names(p: &Paper) -> Vec<&str> {
    p.authors.iter().map(|a| a.name.as_str()).collect()
}

#[test]
fn every_real_line_parses() {
    let papers = papers(Path::new(SAMPLE));
    assert_eq!(papers.len(), 200);
    assert_eq!(papers[0].id.as_str(), "0704.0001");
    assert!(
        papers
            .iter()
            .all(|p| !p.categories.is_empty() && !p.versions.is_empty())
    );
}

#[test]
fn first_paper_field_by_field() {
    let papers = papers(Path::new(SAMPLE));
    let p = find(&papers, "0704.0001");
    assert_eq!(
        p.title,
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    );
    // From authors_parsed, where Kaggle already decoded `Bal\'azs`; its own spelling of
    // Yuan's initials is kept.
    assert_eq!(
        names(p),
        ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    );
    assert_eq!(p.version, 2);
    let dates: Vec<_> = p.versions.iter().map(|v| (v.version, v.date)).collect();
    assert_eq!(
        dates,
        [
            (1, Utc.with_ymd_and_hms(2007, 4, 2, 19, 18, 42).unwrap()),
            (2, Utc.with_ymd_and_hms(2007, 7, 24, 20, 10, 27).unwrap()),
        ]
    );
    assert_eq!(p.published, Some(dates[0].1));
    // The version dates win over `update_date` (2008-11-26).
    assert_eq!(p.updated, Some(dates[1].1));
    assert_eq!(p.categories, [Category::parse("hep-ph").unwrap()]);
    assert_eq!(
        p.comment.as_deref(),
        Some("37 pages, 15 figures; published version")
    );
    assert_eq!(p.journal_ref.as_deref(), Some("Phys.Rev.D76:013009,2007"));
    assert_eq!(p.dois, ["10.1103/PhysRevD.76.013009"]);
    assert_eq!(p.report_no.as_deref(), Some("ANL-HEP-PR-07-12"));
    assert_eq!(p.submitter.as_deref(), Some("Pavel Nadolsky"));
    assert_eq!(p.license, None, "null licence");
    assert!(p.abstract_text.starts_with(
        "A fully differential calculation in perturbative quantum chromodynamics is presented"
    ));
    assert!(!p.abstract_text.contains('\n'));
}

#[test]
fn suffix_affiliations_and_nulls() {
    let papers = papers(Path::new(SAMPLE));
    let evans = find(&papers, "0704.0009");
    assert!(
        names(evans).contains(&"Neal J. Evans II"),
        "{:?}",
        names(evans)
    );

    let iliev = find(&papers, "0704.0066");
    assert_eq!(iliev.authors[0].name, "Bozhidar Z. Iliev");
    assert_eq!(
        iliev.authors[0].affiliations,
        [
            "Institute for Nuclear Research and Nuclear Energy, Bulgarian Academy of Sciences, Sofia, Bulgaria"
        ]
    );

    let licensed = find(&papers, "0704.0002");
    assert_eq!(
        licensed.license.as_deref(),
        Some("http://arxiv.org/licenses/nonexclusive-distrib/1.0/")
    );
    assert_eq!(licensed.journal_ref, None, "null journal-ref");
    assert!(licensed.dois.is_empty(), "null doi");
    assert_eq!(licensed.report_no, None, "null report-no");

    let with_umlaut = find(&papers, "0704.0163");
    assert_eq!(with_umlaut.authors[1].name, "Franz Gähler");
}

#[test]
fn gzipped_snapshot_with_a_broken_line_in_the_middle() {
    let text = std::fs::read_to_string(SAMPLE).unwrap();
    let mut lines: Vec<&str> = text.lines().take(5).collect();
    lines.insert(2, r#"{"id":"0704.0003","title":"cut off"#);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.json.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(lines.join("\n").as_bytes()).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();

    let input = open_input(&path).unwrap();
    assert_eq!(input.compression(), Compression::Gzip);
    let outcomes: Vec<(Position, bool)> = kaggle::read(input, "snapshot.json.gz")
        .map(|item| {
            let (pos, rec) = item.unwrap();
            (pos, rec.is_ok())
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (Position::Line(1), true),
            (Position::Line(2), true),
            (Position::Line(3), false),
            (Position::Line(4), true),
            (Position::Line(5), true),
            (Position::Line(6), true),
        ]
    );
}
