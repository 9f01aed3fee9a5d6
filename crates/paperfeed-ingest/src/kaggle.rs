//! The Kaggle arXiv dataset (`arxiv-metadata-oai-snapshot.json`), streamed line by line.
//!
//! Each line is one paper with the keys `id, submitter, authors, title, comments, journal-ref,
//! doi, report-no, categories, license, abstract, versions, update_date, authors_parsed`,
//! any of which but `id` may be `null`. The mapping:
//! - authors come from `authors_parsed` (`[family, given, suffix, affiliation...]`, already
//!   LaTeX-decoded by Kaggle) when it is there, else from the `authors` string;
//! - `versions` (`{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}`) become the
//!   version history, from which [`Paper::finish`] derives `version`, `published` and
//!   `updated`; `update_date` is used as `updated` only when there are no version dates;
//! - `categories` is arXiv's space-separated list, primary first.

use std::borrow::Cow;
use std::io::BufRead;

use chrono::{DateTime, Utc};
use paperfeed_core::{
    Author, Paper, Version, parse_author_list, parse_categories, parse_version_label,
};
use serde::Deserialize;

use crate::Record;
use crate::jsonl::{LineParser, Lines, bad_date, midnight, parse_day, parse_id};

/// Reads a Kaggle snapshot; `source` names the input in errors.
pub fn read<R: BufRead>(reader: R, source: impl Into<String>) -> Lines<R, KaggleParser> {
    Lines::new(reader, source, KaggleParser)
}

/// The [`LineParser`] for Kaggle snapshot lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct KaggleParser;

impl LineParser for KaggleParser {
    fn parse_line(&mut self, line: &str) -> Result<Record, String> {
        parse_line(line).map(|p| Record::Paper(Box::new(p)))
    }
}

#[derive(Deserialize)]
struct KaggleLine<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    submitter: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    authors: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    title: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    comments: Option<Cow<'a, str>>,
    #[serde(rename = "journal-ref", borrow, default)]
    journal_ref: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    doi: Option<Cow<'a, str>>,
    #[serde(rename = "report-no", borrow, default)]
    report_no: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    categories: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    license: Option<Cow<'a, str>>,
    #[serde(rename = "abstract", borrow, default)]
    abstract_text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    versions: Option<Vec<KaggleVersion<'a>>>,
    #[serde(borrow, default)]
    update_date: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    authors_parsed: Option<Vec<Vec<Option<Part<'a>>>>>,
}

#[derive(Deserialize)]
struct KaggleVersion<'a> {
    #[serde(borrow)]
    version: Cow<'a, str>,
    #[serde(borrow)]
    created: Cow<'a, str>,
}

/// One part of an `authors_parsed` entry.
#[derive(Deserialize)]
#[serde(transparent)]
struct Part<'a>(#[serde(borrow)] Cow<'a, str>);

/// Parses one snapshot line into a finished [`Paper`], or says why it cannot be one.
pub fn parse_line(line: &str) -> Result<Paper, String> {
    let raw: KaggleLine<'_> =
        serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let id = parse_id(raw.id.as_deref())?;
    let mut paper = Paper::new(id, raw.title.as_deref().unwrap_or(""));
    paper.abstract_text = raw.abstract_text.map(Cow::into_owned).unwrap_or_default();
    paper.authors = match raw.authors_parsed {
        Some(parsed) if !parsed.is_empty() => {
            parsed.iter().map(|parts| from_parts(parts)).collect()
        }
        _ => parse_author_list(raw.authors.as_deref().unwrap_or("")),
    };
    if let Some(cats) = raw.categories.as_deref() {
        paper.categories = parse_categories([cats]).map_err(|e| e.to_string())?;
    }
    for v in raw.versions.unwrap_or_default() {
        paper.versions.push(Version {
            version: parse_version_label(&v.version).map_err(|e| e.to_string())?,
            date: parse_rfc2822(&v.created)?,
            size: None,
        });
    }
    // Checked even when the versions make it unused: an impossible date marks a broken line.
    let update_date = parse_day(raw.update_date.as_deref())?;
    if paper.versions.is_empty() {
        paper.updated = update_date.map(midnight);
    }
    paper.submitter = raw.submitter.map(Cow::into_owned);
    paper.comment = raw.comments.map(Cow::into_owned);
    paper.journal_ref = raw.journal_ref.map(Cow::into_owned);
    paper.dois.extend(raw.doi.map(Cow::into_owned));
    paper.report_no = raw.report_no.map(Cow::into_owned);
    paper.license = raw.license.map(Cow::into_owned);
    paper.finish().map_err(|e| e.to_string())
}

/// `[family, given, suffix, affiliation...]`, any of which may be missing or `null`.
fn from_parts(parts: &[Option<Part<'_>>]) -> Author {
    let part = |i: usize| parts.get(i).and_then(|p| p.as_ref()).map_or("", |p| &*p.0);
    Author::from_parts(part(0), part(1), part(2))
        .with_affiliations(parts.iter().skip(3).flatten().map(|p| &*p.0))
}

/// An RFC 2822 date. The optional day-of-week is dropped first: chrono checks it against the
/// date, and a wrong weekday is no reason to lose a paper.
fn parse_rfc2822(s: &str) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    let t = match t.split_once(',') {
        Some((day, rest)) if day.len() == 3 && day.bytes().all(|b| b.is_ascii_alphabetic()) => rest,
        _ => t,
    };
    DateTime::parse_from_rfc2822(t.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad_date(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const FIRST: &str = r#"{"id":"0704.0001","submitter":"Pavel Nadolsky","authors":"C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan","title":"Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies","comments":"37 pages, 15 figures; published version","journal-ref":"Phys.Rev.D76:013009,2007","doi":"10.1103/PhysRevD.76.013009","report-no":"ANL-HEP-PR-07-12","categories":"hep-ph","license":null,"abstract":"  A fully differential calculation.\n","versions":[{"version":"v1","created":"Mon, 2 Apr 2007 19:18:42 GMT"},{"version":"v2","created":"Tue, 24 Jul 2007 20:10:27 GMT"}],"update_date":"2008-11-26","authors_parsed":[["Balázs","C.",""],["Berger","E. L.",""],["Nadolsky","P. M.",""],["Yuan","C. -P.",""]]}"#;

    #[test]
    fn maps_every_field() {
        let p = parse_line(FIRST).unwrap();
        assert_eq!(
            p.title,
            "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
        );
        assert_eq!(p.version, 2);
        assert_eq!(
            p.published,
            Some(Utc.with_ymd_and_hms(2007, 4, 2, 19, 18, 42).unwrap())
        );
        assert_eq!(
            p.updated,
            Some(Utc.with_ymd_and_hms(2007, 7, 24, 20, 10, 27).unwrap())
        );
        assert_eq!(p.authors[0].name, "C. Balázs");
        assert_eq!(p.submitter.as_deref(), Some("Pavel Nadolsky"));
        assert_eq!(p.dois, ["10.1103/PhysRevD.76.013009"]);
        assert_eq!(p.report_no.as_deref(), Some("ANL-HEP-PR-07-12"));
        assert_eq!(p.license, None);
        assert_eq!(p.abstract_text, "A fully differential calculation.");
    }

    #[test]
    fn falls_back_to_the_author_string_and_to_update_date() {
        let line = r#"{"id":"0704.0001","title":"T","authors":"C. Bal\\'azs (MSU), E. L. Berger","versions":[],"update_date":"2008-11-26","authors_parsed":[]}"#;
        let p = parse_line(line).unwrap();
        let names: Vec<_> = p.authors.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["C. Balázs", "E. L. Berger"]);
        assert_eq!(p.authors[0].affiliations, ["MSU"]);
        assert_eq!(
            p.updated,
            Some(Utc.with_ymd_and_hms(2008, 11, 26, 0, 0, 0).unwrap())
        );
        assert_eq!(p.published, None);
        assert_eq!(p.version, 0);
    }

    #[test]
    fn authors_parsed_suffix_and_affiliation() {
        let line = r#"{"id":"0704.0009","title":"T","authors_parsed":[["Evans","Neal J.","II"],["Iliev","Bozhidar Z.","","Institute for Nuclear Research,\n  Sofia"],["Solo",null]]}"#;
        let p = parse_line(line).unwrap();
        assert_eq!(p.authors[0].name, "Neal J. Evans II");
        assert_eq!(p.authors[1].name, "Bozhidar Z. Iliev");
        assert_eq!(
            p.authors[1].affiliations,
            ["Institute for Nuclear Research, Sofia"]
        );
        assert_eq!(p.authors[2].name, "Solo");
    }

    #[test]
    fn rfc2822_dates_with_and_without_a_weekday() {
        let want = Utc.with_ymd_and_hms(2007, 4, 2, 19, 18, 42).unwrap();
        for s in [
            "Mon, 2 Apr 2007 19:18:42 GMT",
            "2 Apr 2007 19:18:42 GMT",
            // 2007-04-02 was a Monday; a wrong weekday is no reason to drop the paper.
            "Tue, 2 Apr 2007 19:18:42 GMT",
            " Mon, 2 Apr 2007 21:18:42 +0200 ",
        ] {
            assert_eq!(parse_rfc2822(s), Ok(want), "{s:?}");
        }
        assert!(parse_rfc2822("Mon, 31 Apr 2007 19:18:42 GMT").is_err());
    }

    #[test]
    fn bad_lines() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"id":"0704.0001","title":"T","versions":[{"version":"v1","created":"Mon, 30 Feb 2007 19:18:42 GMT"}]}"#,
                "invalid date",
            ),
            (
                r#"{"id":"0704.0001","title":"T","versions":[{"version":"v1","created":"yesterday"}]}"#,
                "invalid date \"yesterday\"",
            ),
            (
                r#"{"id":"0704.0001","title":"T","update_date":"2025-02-30"}"#,
                "invalid date \"2025-02-30\"",
            ),
            (
                r#"{"id":"0704.0001","title":"T","versions":[{"version":"v0","created":"Mon, 2 Apr 2007 19:18:42 GMT"}]}"#,
                "invalid version",
            ),
            (
                r#"{"id":"0704.0001","title":"T","categories":"hep-ph CS.CL"}"#,
                "invalid category",
            ),
            (r#"{"id":null,"title":"T"}"#, "missing id"),
            (
                r#"{"id":"0713.0001","title":"T"}"#,
                "not an arXiv identifier",
            ),
            (r#"{"id":"0704.0001","title":null}"#, "missing title"),
            (
                r#"{"id":"0704.0001","title":"T","versions":"v1"}"#,
                "invalid JSON",
            ),
        ];
        for (line, want) in cases {
            let reason = parse_line(line).unwrap_err();
            assert!(
                reason.contains(want),
                "{line}: {reason:?} should mention {want:?}"
            );
        }
    }
}
