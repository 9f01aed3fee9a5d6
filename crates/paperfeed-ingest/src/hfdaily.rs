//! Hugging Face daily papers: which papers were featured on which day, by whom, with how many
//! upvotes.
//!
//! Two inputs are accepted, told apart by the first non-blank byte (`[` or `{`):
//! - the JSON **array** that `https://huggingface.co/api/daily_papers` returns (read with the
//!   field names of `huggingface_hub`'s `PaperInfo`): entries `{"paper": {"id", "authors":
//!   [{"_id", "name", "hidden"}], "publishedAt", "title", "summary", "upvotes",
//!   "discussionId", "githubRepo"?, "submittedOnDailyBy"?, ...}, "publishedAt", "title",
//!   "numComments", "submittedBy": {"_id", "name", "fullname", ...}, ...}`. The flat shape of
//!   `/api/papers/{id}` (paper fields at the top, `submittedOnDailyAt`) is read too, and so
//!   are several arrays one after another (daily responses appended to one file). Elements
//!   are split off the stream one at a time, so a broken element is one bad record.
//! - **JSON lines**, one such entry per line, or the thin `{"id", "hf_daily_date", "title",
//!   "first_author"}` lines of `featured-*.jsonl`.
//!
//! Each entry becomes [`Record::Featured`]: the paper (thin when the source is) and a
//! [`Submission`] whose `day` is the feed day as a UTC date, `submitted_by` the submitter's
//! `name` when it is a valid [`UserName`], and `external_upvotes` the paper's `upvotes`. A
//! `githubRepo` (or a `projectPage` that is a repository) becomes a code link.
//!
//! The feed day is `hf_daily_date` when given, else the date of `submittedOnDailyAt` (the
//! moment the paper entered the daily feed), else that of the entry's `publishedAt`. The last
//! one is what `huggingface_hub` reads as the submission time, but in real responses it is the
//! arXiv publication time (the paper page of 2407.13168 shows `publishedAt`
//! 2024-07-18T05:15:24Z and `submittedOnDailyAt` 2024-07-22), hence only a fallback. The
//! paper's `published` is the entry's `publishedAt`, else the paper's own (midnight-cut) one.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead};
use std::iter::FusedIterator;

use chrono::{DateTime, Utc};
use paperfeed_core::{Author, Paper, Submission, UserName, normalize_repo_url};
use serde::Deserialize;

use crate::jsonl::{
    DEFAULT_MAX_LINE_LEN, Item, LineParser, Lines, midnight, parse_day, parse_id, parse_timestamp,
};
use crate::{BadRecord, IngestError, Position, Record};

/// Reads a daily-papers JSON array or JSON lines; `source` names the input in errors.
pub fn read<R: BufRead>(reader: R, source: impl Into<String>) -> HfDaily<R> {
    HfDaily {
        state: State::Start {
            reader,
            source: source.into(),
        },
    }
}

/// Parses one entry (an array element or a line) into a [`Record::Featured`].
pub fn parse_entry(json: &[u8]) -> Result<Record, String> {
    let entry: Entry<'_> =
        serde_json::from_slice(json).map_err(|e| format!("invalid JSON: {e}"))?;
    entry.into_record()
}

/// The record stream of [`read`]: array elements are at [`Position::Record`], lines at
/// [`Position::Line`].
pub struct HfDaily<R> {
    state: State<R>,
}

enum State<R> {
    Start { reader: R, source: String },
    Array(JsonArray<R>),
    Lines(Lines<R, HfParser>),
    Done,
}

impl<R> fmt::Debug for HfDaily<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Start { .. } => "start",
            State::Array(_) => "array",
            State::Lines(_) => "lines",
            State::Done => "done",
        };
        f.debug_struct("HfDaily").field("state", &state).finish()
    }
}

impl<R: BufRead> Iterator for HfDaily<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            let item = match &mut self.state {
                State::Start { .. } => {
                    if let State::Start { reader, source } =
                        std::mem::replace(&mut self.state, State::Done)
                    {
                        match sniff(reader, source) {
                            Ok(state) => self.state = state,
                            Err(e) => return Some(Err(e)),
                        }
                    }
                    continue;
                }
                State::Array(array) => array.next_element(),
                State::Lines(lines) => lines.next(),
                State::Done => return None,
            };
            if matches!(item, None | Some(Err(_))) {
                self.state = State::Done;
            }
            return item;
        }
    }
}

impl<R: BufRead> FusedIterator for HfDaily<R> {}

/// The [`LineParser`] for daily-papers JSON lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct HfParser;

impl LineParser for HfParser {
    fn parse_line(&mut self, line: &str) -> Result<Record, String> {
        parse_entry(line.as_bytes())
    }
}

/// Looks at the first non-blank byte and sets up the matching reader.
fn sniff<R: BufRead>(mut reader: R, source: String) -> Result<State<R>, IngestError> {
    let mut newlines = 0u64;
    let mut first_fill = true;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(IngestError::Io {
                    path: source,
                    source: e,
                });
            }
        };
        if buf.is_empty() {
            return Ok(State::Done);
        }
        let mut skip = 0;
        if first_fill && buf.starts_with(b"\xef\xbb\xbf") {
            skip = 3;
        }
        first_fill = false;
        while skip < buf.len() && buf[skip].is_ascii_whitespace() {
            newlines += u64::from(buf[skip] == b'\n');
            skip += 1;
        }
        let found = buf.get(skip).copied();
        reader.consume(skip);
        match found {
            Some(b'[') => return Ok(State::Array(JsonArray::new(reader, source))),
            // JSON lines, or something else that every line will then report as bad.
            Some(_) => {
                return Ok(State::Lines(
                    Lines::new(reader, source, HfParser).after_line(newlines),
                ));
            }
            None => {}
        }
    }
}

/// Splits a stream of JSON arrays into their elements without parsing them, by tracking
/// strings and bracket depth, so each element is parsed (and may fail) on its own.
struct JsonArray<R> {
    reader: R,
    source: String,
    element: Vec<u8>,
    /// Elements seen so far, for positions.
    index: u64,
    /// Bracket depth inside the current element.
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Between arrays: before the first `[` or after a `]`.
    outside: bool,
    /// The current element went over the size limit and is being skipped.
    overflow: bool,
    /// Nothing more will be read.
    finished: bool,
}

enum Step {
    /// An element ended.
    Element,
    /// The input ended.
    End,
    /// Something other than `[` between arrays.
    Garbage(u8),
}

impl<R: BufRead> JsonArray<R> {
    fn new(reader: R, source: String) -> Self {
        JsonArray {
            reader,
            source,
            element: Vec::new(),
            index: 0,
            depth: 0,
            in_string: false,
            escaped: false,
            outside: true,
            overflow: false,
            finished: false,
        }
    }

    fn next_element(&mut self) -> Option<Item> {
        if self.finished {
            return None;
        }
        loop {
            let step = match self.scan() {
                Ok(step) => step,
                Err(e) => {
                    return Some(Err(IngestError::Io {
                        path: self.source.clone(),
                        source: e,
                    }));
                }
            };
            let content = self.element.trim_ascii();
            let end = matches!(step, Step::End);
            match step {
                Step::Garbage(b) => {
                    self.index += 1;
                    let position = Position::Record(self.index);
                    // Nothing after this can be trusted to be split correctly.
                    self.finished = true;
                    let reason = format!("unexpected {:?} after a JSON array", char::from(b));
                    return Some(Ok((position, Err(BadRecord { position, reason }))));
                }
                Step::End if content.is_empty() && !self.overflow => return None,
                Step::Element | Step::End => {}
            }
            if content.is_empty() && !self.overflow {
                // `[]`, or a trailing comma before `]`.
                self.element.clear();
                continue;
            }
            self.index += 1;
            let position = Position::Record(self.index);
            let result = if self.overflow {
                Err(format!("record longer than {DEFAULT_MAX_LINE_LEN} bytes"))
            } else {
                parse_entry(content)
            };
            self.element.clear();
            self.overflow = false;
            // The input ended inside an array: this was its last (maybe cut) element.
            self.finished |= end;
            let record = result.map_err(|reason| BadRecord { position, reason });
            return Some(Ok((position, record)));
        }
    }

    /// Reads until the current element ends, the input ends, or junk follows an array.
    fn scan(&mut self) -> io::Result<Step> {
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok(Step::End);
            }
            let mut used = 0;
            let mut step = None;
            for &b in chunk {
                used += 1;
                if self.outside {
                    match b {
                        b'[' => self.outside = false,
                        b if b.is_ascii_whitespace() => {}
                        b => {
                            step = Some(Step::Garbage(b));
                            break;
                        }
                    }
                    continue;
                }
                if self.in_string {
                    if self.escaped {
                        self.escaped = false;
                    } else if b == b'\\' {
                        self.escaped = true;
                    } else if b == b'"' {
                        self.in_string = false;
                    }
                } else {
                    match b {
                        b'"' => self.in_string = true,
                        b'{' | b'[' => self.depth += 1,
                        b']' if self.depth == 0 => {
                            self.outside = true;
                            step = Some(Step::Element);
                            break;
                        }
                        b',' if self.depth == 0 => {
                            step = Some(Step::Element);
                            break;
                        }
                        // A stray `}` stays in the element, whose parse then fails.
                        b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                        _ => {}
                    }
                }
                if self.element.len() < DEFAULT_MAX_LINE_LEN {
                    self.element.push(b);
                } else {
                    self.overflow = true;
                }
            }
            self.reader.consume(used);
            if let Some(step) = step {
                return Ok(step);
            }
        }
    }
}

/// A daily-papers entry, a flat paper object, or a `featured-*.jsonl` line: every field any of
/// them has. In an entry, `paper` holds the paper's fields and the entry adds feed fields;
/// the flat shape has the paper's fields at the top.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    #[serde(borrow, default)]
    paper: Option<Box<Entry<'a>>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    title: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    summary: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    authors: Option<Vec<HfAuthor<'a>>>,
    #[serde(borrow, default)]
    published_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    submitted_on_daily_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    submitted_by: Option<HfUser<'a>>,
    #[serde(borrow, default)]
    submitted_on_daily_by: Option<HfUser<'a>>,
    #[serde(default)]
    upvotes: Option<f64>,
    #[serde(borrow, default)]
    github_repo: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    project_page: Option<Cow<'a, str>>,
    #[serde(rename = "hf_daily_date", borrow, default)]
    hf_daily_date: Option<Cow<'a, str>>,
    #[serde(rename = "first_author", borrow, default)]
    first_author: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct HfAuthor<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct HfUser<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    /// Some user objects carry the handle as `user`.
    #[serde(borrow, default)]
    user: Option<Cow<'a, str>>,
}

fn non_empty<'s>(s: &'s Option<Cow<'_, str>>) -> Option<&'s str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl<'a> Entry<'a> {
    fn into_record(self) -> Result<Record, String> {
        // `paper` fields first, then the entry's own (the flat shape has only those).
        let inner = self.paper.as_deref();
        let pick = |f: for<'r> fn(&'r Entry<'a>) -> Option<&'r str>| {
            inner.and_then(f).or_else(|| f(&self))
        };

        let id = parse_id(pick(|e| non_empty(&e.id)))?;
        let mut paper = Paper::new(id, pick(|e| non_empty(&e.title)).unwrap_or(""));
        paper.abstract_text = pick(|e| non_empty(&e.summary)).unwrap_or("").to_string();
        let authors = inner
            .and_then(|p| p.authors.as_ref())
            .or(self.authors.as_ref());
        paper.authors = match authors {
            Some(list) => list
                .iter()
                .filter_map(|a| non_empty(&a.name))
                .map(Author::new)
                .collect(),
            None => non_empty(&self.first_author)
                .map(Author::new)
                .into_iter()
                .collect(),
        };
        // The entry's own `publishedAt` has the real time; the paper's is cut to midnight.
        let published = non_empty(&self.published_at)
            .or_else(|| inner.and_then(|p| non_empty(&p.published_at)));
        paper.published = parse_timestamp(published)?;
        paper.code_links = [
            pick(|e| non_empty(&e.github_repo)),
            pick(|e| non_empty(&e.project_page)),
        ]
        .into_iter()
        .flatten()
        .filter_map(normalize_repo_url)
        .collect();
        let paper = Box::new(paper.finish().map_err(|e| e.to_string())?);

        // `submittedOnDailyAt` is when the paper entered the feed. `publishedAt` is the arXiv
        // publication, which `huggingface_hub` also reads as the submission time, so it is the
        // last resort.
        let feed_time = pick(|e| non_empty(&e.submitted_on_daily_at)).or(match inner {
            Some(_) => non_empty(&self.published_at),
            None => None,
        });
        let at: Option<DateTime<Utc>> = parse_timestamp(feed_time)?;
        let day = match (parse_day(non_empty(&self.hf_daily_date))?, at) {
            // An explicit day wins over one derived from a timestamp.
            (Some(day), _) => day,
            (None, Some(at)) => at.date_naive(),
            (None, None) => {
                return Err(
                    "no feed day (publishedAt, submittedOnDailyAt or hf_daily_date)".into(),
                );
            }
        };
        let submitter = self
            .submitted_by
            .as_ref()
            .or_else(|| inner.and_then(|p| p.submitted_on_daily_by.as_ref()))
            .or(self.submitted_on_daily_by.as_ref());
        let submitted_by = submitter
            .and_then(|u| non_empty(&u.name).or_else(|| non_empty(&u.user)))
            .and_then(|name| UserName::parse(name).ok());
        let upvotes = inner
            .and_then(|p| p.upvotes)
            .or(self.upvotes)
            .unwrap_or(0.0);
        let submission = Submission {
            paper: paper.id.clone(),
            day,
            submitted_by,
            at: at.unwrap_or_else(|| midnight(day)),
            // Saturating: counts are never negative or fractional in practice.
            external_upvotes: if upvotes.is_finite() && upvotes > 0.0 {
                upvotes.min(f64::from(u32::MAX)) as u32
            } else {
                0
            },
        };
        Ok(Record::Featured { paper, submission })
    }
}
