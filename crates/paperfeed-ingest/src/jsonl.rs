//! JSON lines: the generic line reader every line-oriented format uses, and paperfeed's own
//! export format together with the other arXiv JSON-lines shapes it meets.
//!
//! [`Lines`] turns a [`BufRead`] into `(position, Result<Record, BadRecord>)` items. A line that
//! cannot become a record (broken JSON, invalid UTF-8, an id that is not an arXiv id, an
//! impossible date, no title, a line longer than the limit) is a [`BadRecord`] and reading goes
//! on; only an I/O error of the underlying reader ends the stream, as an `Err(IngestError)`
//! item. So the item type is a nested `Result`: the outer one is "input broken", the inner one
//! "this record is bad".
//!
//! [`JsonlParser`] reads, detected per line from the fields present:
//! - paperfeed's own format, written by [`write_line`]: the serde form of
//!   [`paperfeed_core::Paper`] (authors as objects, RFC 3339 timestamps), plus an optional
//!   `"submission"` holding a [`paperfeed_core::Submission`], which makes the line a
//!   [`Record::Featured`]. Writing then reading is lossless.
//! - arXiv listing dumps (`listings-*.jsonl`): `id, title, authors: [string], categories:
//!   [string], abstract, comment, listing_date`.
//! - arXiv API dumps (`api-records-*.jsonl`): `id, title, authors: [string], abstract,
//!   categories, primary_category, published: "2023-12-01", updated, comment, doi,
//!   journal_ref`, where empty strings mean absent.
//!
//! Entries of a category list that are not arXiv category codes are skipped rather than failing
//! the record: scraped listings put MSC and ACM classes there (`"68T45"`, `"I.2.7; I.2.6"`;
//! 2.2% of the 75k listing sample).

use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::iter::FusedIterator;

use chrono::{DateTime, NaiveDate, Utc};
use paperfeed_core::{ArxivId, Author, Category, Paper, Submission, ValidationError, Version};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::{BadRecord, IngestError, Position, Record};

/// One item of a record stream: `Err` when the input itself broke (an I/O or decompression
/// error, after which the stream ends), otherwise the record's position and either the record
/// or why it was skipped.
pub type Item = Result<(Position, Result<Record, BadRecord>), IngestError>;

/// Longest line accepted by default (16 MiB). Real records are a few KiB; anything near this is
/// a file without newlines, which must not be read into memory whole.
pub const DEFAULT_MAX_LINE_LEN: usize = 16 << 20;

/// Turns one non-blank line of text into a record, or a one-line reason why not.
pub trait LineParser {
    /// Parses `line` (trimmed, valid UTF-8, not empty).
    fn parse_line(&mut self, line: &str) -> Result<Record, String>;
}

/// A line-by-line record reader over any [`BufRead`]; see the [module docs](self).
///
/// The line buffer is reused, so reading costs no allocation per line beyond what the parser
/// makes.
pub struct Lines<R, P> {
    reader: R,
    parser: P,
    source: String,
    buf: Vec<u8>,
    line: u64,
    max_line_len: usize,
    done: bool,
}

impl<R, P> fmt::Debug for Lines<R, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines")
            .field("source", &self.source)
            .field("line", &self.line)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead, P: LineParser> Lines<R, P> {
    /// Reads `reader` with `parser`; `source` names the input in errors (a path, `-`).
    pub fn new(reader: R, source: impl Into<String>, parser: P) -> Self {
        Lines {
            reader,
            parser,
            source: source.into(),
            buf: Vec::with_capacity(64 * 1024),
            line: 0,
            max_line_len: DEFAULT_MAX_LINE_LEN,
            done: false,
        }
    }

    /// Sets the longest line accepted (excluding the newline); longer lines are skipped as bad
    /// records without being held in memory.
    pub fn with_max_line_len(mut self, max: usize) -> Self {
        self.max_line_len = max.max(1);
        self
    }

    /// Continues the line count after `n` lines a caller has already consumed (blank ones a
    /// format sniffer skipped), so positions stay true to the file.
    pub(crate) fn after_line(mut self, n: u64) -> Self {
        self.line = n;
        self
    }

    /// Lines read so far, blank ones included.
    pub fn lines_read(&self) -> u64 {
        self.line
    }

    fn io_error(&mut self, source: io::Error) -> Option<Item> {
        self.done = true;
        Some(Err(IngestError::Io {
            path: self.source.clone(),
            source,
        }))
    }
}

impl<R: BufRead, P: LineParser> Iterator for Lines<R, P> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        if self.done {
            return None;
        }
        loop {
            self.buf.clear();
            // One byte over the limit tells a line of exactly `max` bytes plus newline from a
            // longer one.
            let limit = self.max_line_len as u64 + 1;
            let n = match (&mut self.reader)
                .take(limit)
                .read_until(b'\n', &mut self.buf)
            {
                Ok(n) => n,
                Err(e) => return self.io_error(e),
            };
            if n == 0 {
                self.done = true;
                return None;
            }
            self.line += 1;
            let position = Position::Line(self.line);
            let bad = |reason: String| Some(Ok((position, Err(BadRecord { position, reason }))));
            if n as u64 == limit && self.buf.last() != Some(&b'\n') {
                if let Err(e) = self.reader.skip_until(b'\n') {
                    return self.io_error(e);
                }
                return bad(format!("line longer than {} bytes", self.max_line_len));
            }
            let mut bytes = self.buf.trim_ascii();
            if self.line == 1 {
                bytes = bytes
                    .strip_prefix(b"\xef\xbb\xbf")
                    .unwrap_or(bytes)
                    .trim_ascii();
            }
            if bytes.is_empty() {
                continue;
            }
            let text = match std::str::from_utf8(bytes) {
                Ok(text) => text,
                Err(e) => return bad(format!("invalid UTF-8 at byte {}", e.valid_up_to())),
            };
            let record = self
                .parser
                .parse_line(text)
                .map_err(|reason| BadRecord { position, reason });
            return Some(Ok((position, record)));
        }
    }
}

impl<R: BufRead, P: LineParser> FusedIterator for Lines<R, P> {}

/// Reads paperfeed JSON lines and the listing / API dump shapes; see the [module docs](self).
pub fn read<R: BufRead>(reader: R, source: impl Into<String>) -> Lines<R, JsonlParser> {
    Lines::new(reader, source, JsonlParser)
}

/// The [`LineParser`] for paperfeed JSON lines and the listing / API dump shapes.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonlParser;

impl LineParser for JsonlParser {
    fn parse_line(&mut self, line: &str) -> Result<Record, String> {
        parse_line(line)
    }
}

/// Parses one line of any of the shapes in the [module docs](self).
pub fn parse_line(line: &str) -> Result<Record, String> {
    let raw: RawLine<'_> = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    raw.into_record()
}

/// Writes `paper` (and the feed `submission`, if any) as one line of paperfeed's own format.
/// [`parse_line`] reads it back to an equal [`Paper`] and [`Submission`]. Pass a buffered writer:
/// this makes many small writes.
pub fn write_line<W: Write>(
    mut w: W,
    paper: &Paper,
    submission: Option<&Submission>,
) -> io::Result<()> {
    #[derive(Serialize)]
    struct Line<'a> {
        #[serde(flatten)]
        paper: &'a Paper,
        #[serde(skip_serializing_if = "Option::is_none")]
        submission: Option<&'a Submission>,
    }
    serde_json::to_writer(&mut w, &Line { paper, submission })?;
    w.write_all(b"\n")
}

/// A string that borrows from the line unless it had escapes.
#[derive(Deserialize)]
#[serde(transparent)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

/// Every field of every shape; which ones are present says which shape the line is.
#[derive(Deserialize)]
struct RawLine<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    versions: Option<Vec<Version>>,
    #[serde(borrow, default)]
    title: Option<Cow<'a, str>>,
    #[serde(rename = "abstract", borrow, default)]
    abstract_text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    authors: Option<Vec<AuthorEntry<'a>>>,
    #[serde(borrow, default)]
    categories: Option<Vec<Str<'a>>>,
    #[serde(borrow, default)]
    primary_category: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    published: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    updated: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    listing_date: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    comment: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    journal_ref: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    doi: Option<Cow<'a, str>>,
    #[serde(default)]
    dois: Option<Vec<String>>,
    #[serde(borrow, default)]
    report_no: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    license: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    submitter: Option<Cow<'a, str>>,
    #[serde(default)]
    code_links: Option<Vec<String>>,
    #[serde(default)]
    submission: Option<Submission>,
}

impl RawLine<'_> {
    fn into_record(self) -> Result<Record, String> {
        let id = parse_id(self.id.as_deref())?;
        let mut paper = Paper::new(id, self.title.as_deref().unwrap_or(""));
        paper.version = self.version.unwrap_or(0);
        paper.versions = self.versions.unwrap_or_default();
        paper.abstract_text = self.abstract_text.map(Cow::into_owned).unwrap_or_default();
        paper.authors = self
            .authors
            .unwrap_or_default()
            .into_iter()
            .map(AuthorEntry::into_author)
            .collect();
        paper.categories = lenient_categories(
            self.primary_category
                .as_deref()
                .into_iter()
                .chain(self.categories.iter().flatten().map(|c| &*c.0)),
        );
        paper.published = parse_timestamp(self.published.as_deref())?;
        paper.updated = parse_timestamp(self.updated.as_deref())?;
        paper.listing_date = parse_day(self.listing_date.as_deref())?;
        paper.comment = self.comment.map(Cow::into_owned);
        paper.journal_ref = self.journal_ref.map(Cow::into_owned);
        paper.dois = self.dois.unwrap_or_default();
        paper.dois.extend(self.doi.map(Cow::into_owned));
        paper.report_no = self.report_no.map(Cow::into_owned);
        paper.license = self.license.map(Cow::into_owned);
        paper.submitter = self.submitter.map(Cow::into_owned);
        paper.code_links = self.code_links.unwrap_or_default();
        let paper = Box::new(paper.finish().map_err(|e| e.to_string())?);
        match self.submission {
            None => Ok(Record::Paper(paper)),
            Some(submission) if submission.paper == paper.id => {
                Ok(Record::Featured { paper, submission })
            }
            Some(submission) => Err(format!(
                "submission is for {}, not {}",
                submission.paper, paper.id
            )),
        }
    }
}

/// An author written as a plain name (dump shapes) or as an [`Author`] object (own format).
enum AuthorEntry<'a> {
    Name(Cow<'a, str>),
    Full(Author),
}

impl AuthorEntry<'_> {
    fn into_author(self) -> Author {
        match self {
            AuthorEntry::Name(name) => Author::new(&name),
            // Already clean: cleaning again could alter a name that legitimately keeps a
            // backslash or brace, and the own format must read back exactly.
            AuthorEntry::Full(author) => author,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for AuthorEntry<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntryVisitor;

        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = AuthorEntry<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an author name or an author object")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(AuthorEntry::Name(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AuthorEntry::Name(Cow::Owned(v.to_string())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(AuthorEntry::Name(Cow::Owned(v)))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Author::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(AuthorEntry::Full)
            }
        }

        d.deserialize_any(EntryVisitor)
    }
}

/// The id of a record, or why there is none.
pub(crate) fn parse_id(id: Option<&str>) -> Result<ArxivId, String> {
    match id.map(str::trim) {
        None | Some("") => Err("missing id".to_string()),
        Some(id) => ArxivId::parse(id).map_err(|e| e.to_string()),
    }
}

/// Valid arXiv category codes from a list, in order, without duplicates; other entries
/// (MSC/ACM classes, free text) are dropped.
pub(crate) fn lenient_categories<'s>(codes: impl Iterator<Item = &'s str>) -> Vec<Category> {
    let mut out: Vec<Category> = Vec::new();
    for code in codes {
        if let Ok(c) = Category::parse(code)
            && !out.contains(&c)
        {
            out.push(c);
        }
    }
    out
}

/// A calendar day `YYYY-MM-DD`; empty means absent.
pub(crate) fn parse_day(s: Option<&str>) -> Result<Option<NaiveDate>, String> {
    match s.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| bad_date(s)),
    }
}

/// An RFC 3339 timestamp, or a bare day (taken as midnight UTC); empty means absent.
pub(crate) fn parse_timestamp(s: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    match s.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.len() == 10 => Ok(parse_day(Some(s))?.map(midnight)),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| bad_date(s)),
    }
}

/// The start of `day` in UTC.
pub(crate) fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

pub(crate) fn bad_date(s: &str) -> String {
    ValidationError::Date(s.chars().take(40).collect()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::io::Cursor;

    fn paper_of(record: Record) -> Paper {
        match record {
            Record::Paper(p) => *p,
            other => panic!("expected a paper, got {other:?}"),
        }
    }

    #[test]
    fn listing_shape() {
        let line = r#"{"id": "2503.12174", "title": "DPCS: Path Tracing-Based Differentiable Projector-Camera Systems", "authors": ["Jijiang Li", "Qingyue Deng"], "categories": ["cs.GR", "cs.CV", "68T45", "I.4.8; I.2.10"], "abstract": "Projector-camera systems\nsimulation. Code: https://github.com/a/b", "comment": null, "listing_date": "2025-03-18"}"#;
        let p = paper_of(parse_line(line).unwrap());
        assert_eq!(p.id.as_str(), "2503.12174");
        assert_eq!(p.version, 0);
        let cats: Vec<_> = p.categories.iter().map(Category::as_str).collect();
        assert_eq!(cats, ["cs.GR", "cs.CV"]);
        assert_eq!(p.authors[1].name, "Qingyue Deng");
        assert_eq!(
            p.abstract_text,
            "Projector-camera systems simulation. Code: https://github.com/a/b"
        );
        assert_eq!(p.listing_date, NaiveDate::from_ymd_opt(2025, 3, 18));
        assert_eq!(p.comment, None);
        assert_eq!(p.code_links, ["https://github.com/a/b"]);
    }

    #[test]
    fn api_shape_empty_strings_are_absent_and_primary_goes_first() {
        let line = r#"{"id": "2312.00451", "title": "FSGS", "authors": ["Zehao Zhu"], "abstract": "x", "categories": ["cs.GR", "cs.CV"], "primary_category": "cs.CV", "published": "2023-12-01", "updated": "2024-06-16", "comment": "", "doi": "", "journal_ref": ""}"#;
        let p = paper_of(parse_line(line).unwrap());
        let cats: Vec<_> = p.categories.iter().map(Category::as_str).collect();
        assert_eq!(cats, ["cs.CV", "cs.GR"]);
        assert_eq!(
            p.published,
            Some(Utc.with_ymd_and_hms(2023, 12, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(
            p.updated,
            Some(Utc.with_ymd_and_hms(2024, 6, 16, 0, 0, 0).unwrap())
        );
        assert_eq!((p.comment, p.journal_ref), (None, None));
        assert!(p.dois.is_empty());
    }

    #[test]
    fn bad_lines_have_one_line_reasons() {
        let cases: &[(&str, &str)] = &[
            (r#"{"id": "2503.12174", "title": "T""#, "invalid JSON"),
            (r#"{"title": "T"}"#, "missing id"),
            (r#"{"id": "", "title": "T"}"#, "missing id"),
            (
                r#"{"id": "not-an-id", "title": "T"}"#,
                "not an arXiv identifier",
            ),
            (
                r#"{"id": "2503.12174", "title": "T", "listing_date": "2025-02-30"}"#,
                "invalid date \"2025-02-30\"",
            ),
            (
                r#"{"id": "2503.12174", "title": "T", "published": "yesterday"}"#,
                "invalid date",
            ),
            (r#"{"id": "2503.12174", "title": "   "}"#, "missing title"),
            (r#"{"id": "2503.12174"}"#, "missing title"),
            (
                r#"{"id": "2503.12174", "title": "T", "authors": [1]}"#,
                "invalid JSON",
            ),
            (r#"[1, 2]"#, "invalid JSON"),
        ];
        for (line, want) in cases {
            let reason = parse_line(line).unwrap_err();
            assert!(
                reason.contains(want),
                "{line}: {reason:?} should mention {want:?}"
            );
            assert!(!reason.contains('\n'), "{reason:?} is one line");
        }
    }

    #[test]
    fn own_format_round_trip_with_submission() {
        let mut p = Paper::new(ArxivId::parse("hep-th/9901001").unwrap(), "T");
        p.authors = vec![Author::new("C. Bal\\'azs").with_affiliations(["MSU"])];
        p.versions = vec![Version {
            version: 1,
            date: Utc.with_ymd_and_hms(1999, 1, 1, 10, 0, 0).unwrap(),
            size: Some("11kb".into()),
        }];
        let p = p.finish().unwrap();
        let s = Submission {
            paper: p.id.clone(),
            day: NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
            submitted_by: Some(paperfeed_core::UserName::parse("ak").unwrap()),
            at: Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
            external_upvotes: 7,
        };
        let mut out = Vec::new();
        write_line(&mut out, &p, Some(&s)).unwrap();
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        let line = std::str::from_utf8(&out).unwrap();
        match parse_line(line).unwrap() {
            Record::Featured { paper, submission } => {
                assert_eq!(*paper, p);
                assert_eq!(submission, s);
            }
            other => panic!("{other:?}"),
        }
        // A submission for another paper is refused.
        let wrong = line.replace("\"paper\":\"hep-th/9901001\"", "\"paper\":\"2501.00001\"");
        assert!(
            parse_line(&wrong)
                .unwrap_err()
                .contains("submission is for 2501.00001")
        );
    }

    /// Yields its lines, then fails like a disk or a truncated download would.
    struct FailAfter(Cursor<Vec<u8>>);

    impl Read for FailAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "truncated")),
                n => Ok(n),
            }
        }
    }

    impl BufRead for FailAfter {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            if self.0.position() as usize >= self.0.get_ref().len() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "truncated"));
            }
            self.0.fill_buf()
        }

        fn consume(&mut self, amt: usize) {
            self.0.consume(amt);
        }
    }

    fn outcomes<R: BufRead>(lines: Lines<R, JsonlParser>) -> Vec<Result<(u64, bool), String>> {
        lines
            .map(|item| match item {
                Ok((Position::Line(n), rec)) => Ok((n, rec.is_ok())),
                Ok((pos, _)) => panic!("line reader gave {pos}"),
                Err(e) => Err(e.to_string()),
            })
            .collect()
    }

    const GOOD: &str = r#"{"id":"2503.12174","title":"T"}"#;

    #[test]
    fn stream_skips_blank_lines_and_keeps_going_after_bad_ones() {
        let mut text = Vec::new();
        text.extend_from_slice(b"\xef\xbb\xbf");
        text.extend_from_slice(GOOD.as_bytes());
        text.extend_from_slice(b"\r\n\n   \t\n{broken\n");
        text.extend_from_slice(b"{\"id\":\"2503.12174\",\"title\":\"caf\xe9\"}\n");
        text.extend_from_slice(GOOD.as_bytes()); // no final newline
        let got = outcomes(read(Cursor::new(text), "mem"));
        assert_eq!(
            got,
            vec![Ok((1, true)), Ok((4, false)), Ok((5, false)), Ok((6, true))]
        );
    }

    #[test]
    fn invalid_utf8_is_a_bad_record_not_an_abort() {
        let text = b"{\"id\":\"2503.12174\",\"title\":\"caf\xe9\"}\n".to_vec();
        let (pos, rec) = read(Cursor::new(text), "mem").next().unwrap().unwrap();
        assert_eq!(pos, Position::Line(1));
        assert_eq!(rec.unwrap_err().reason, "invalid UTF-8 at byte 31");
    }

    #[test]
    fn overlong_line_is_skipped_without_losing_the_next() {
        let text = format!(
            "{{\"id\":\"2503.12174\",\"title\":\"{}\"}}\n{GOOD}\n",
            "x".repeat(100)
        );
        let lines = read(Cursor::new(text.into_bytes()), "mem").with_max_line_len(64);
        let items: Vec<_> = lines.map(Result::unwrap).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0].1.as_ref().unwrap_err().reason,
            "line longer than 64 bytes"
        );
        assert!(items[1].1.is_ok());
        assert_eq!(items[1].0, Position::Line(2));
    }

    #[test]
    fn io_error_ends_the_stream_after_the_records_before_it() {
        let text = format!("{GOOD}\n{GOOD}\n{GOOD}");
        let mut lines = read(FailAfter(Cursor::new(text.into_bytes())), "cut.jsonl");
        let got: Vec<_> = lines.by_ref().collect();
        assert_eq!(got.len(), 3, "two full lines, then the error: {got:?}");
        assert!(got[0].is_ok() && got[1].is_ok());
        match &got[2] {
            Err(e) => assert!(e.to_string().starts_with("cannot read cut.jsonl")),
            Ok(item) => panic!("{item:?}"),
        }
        assert!(lines.next().is_none());
    }

    #[test]
    fn timestamps_and_days() {
        let t = |s| parse_timestamp(Some(s));
        assert_eq!(
            t("2023-12-01").unwrap(),
            Some(Utc.with_ymd_and_hms(2023, 12, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(
            t("2023-12-01T10:11:12Z").unwrap(),
            Some(Utc.with_ymd_and_hms(2023, 12, 1, 10, 11, 12).unwrap())
        );
        assert_eq!(
            t("2023-12-01T10:11:12+02:00").unwrap(),
            Some(Utc.with_ymd_and_hms(2023, 12, 1, 8, 11, 12).unwrap())
        );
        assert_eq!(t(" ").unwrap(), None);
        for bad in [
            "2025-02-30",
            "2023-13-01",
            "2023-12-01T25:00:00Z",
            "12/01/2023",
        ] {
            assert!(t(bad).is_err(), "{bad}");
        }
    }
}
