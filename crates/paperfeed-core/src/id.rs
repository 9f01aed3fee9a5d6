//! arXiv identifiers in both numbering schemes.
//!
//! arXiv has used two schemes: the old `archive/YYMMNNN` one (1991 to March 2007, e.g.
//! `hep-th/9901001`, sometimes written with a subject class as `math.GT/0309136`) and the
//! new `YYMM.NNNN` / `YYMM.NNNNN` one (April 2007 on; five digits from January 2015). Either
//! may carry a version suffix `vN`. People paste identifiers in many shapes (`arXiv:` prefixes,
//! abs/pdf/html URLs, OAI identifiers), so [`VersionedId::parse`] accepts all of them and
//! produces one canonical form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::IdError;

/// The identity of a paper across all its versions, in canonical form: `2501.12345` or
/// `hep-th/9901001` (old-style identifiers lose their subject class, which arXiv does not
/// treat as part of the identifier).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArxivId(Box<str>);

/// An identifier as written, with its optional version: `2501.12345v3`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VersionedId {
    /// The paper.
    pub id: ArxivId,
    /// The version asked for, if any (always at least 1).
    pub version: Option<u32>,
}

impl ArxivId {
    /// Parses any accepted spelling and drops the version, if one was given.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        VersionedId::parse(input).map(|v| v.id)
    }

    /// The canonical identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for old-style `archive/YYMMNNN` identifiers.
    pub fn is_old_style(&self) -> bool {
        self.0.contains('/')
    }

    /// The year and month the identifier was assigned in (from its `YYMM` digits).
    pub fn year_month(&self) -> (i32, u32) {
        let digits = match self.0.split_once('/') {
            Some((_, n)) => &n[..4],
            None => &self.0[..4],
        };
        let yy: i32 = digits[..2].parse().unwrap_or(0);
        let mm: u32 = digits[2..4].parse().unwrap_or(0);
        let year = if yy >= 91 { 1900 + yy } else { 2000 + yy };
        (year, mm)
    }

    /// `https://arxiv.org/abs/<id>`.
    pub fn abs_url(&self) -> String {
        format!("https://arxiv.org/abs/{}", self.0)
    }

    /// `https://arxiv.org/pdf/<id>`.
    pub fn pdf_url(&self) -> String {
        format!("https://arxiv.org/pdf/{}", self.0)
    }
}

impl VersionedId {
    /// Parses `2501.12345`, `2501.12345v3`, `arXiv:2501.12345`, `hep-th/9901001v2`,
    /// `math.GT/0309136`, `oai:arXiv.org:2501.12345`, and arxiv.org / export.arxiv.org
    /// `abs`, `pdf` and `html` URLs (with or without `.pdf`, query or fragment), as well as
    /// Hugging Face paper URLs (`huggingface.co/papers/<id>`).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(IdError::Empty);
        }
        let bare = strip_wrappers(trimmed);
        parse_bare(bare).ok_or_else(|| IdError::Invalid(truncate_for_error(trimmed)))
    }
}

fn truncate_for_error(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// Removes URL, `arXiv:` and OAI wrappers, leaving `2501.12345v2` or `hep-th/9901001`.
fn strip_wrappers(s: &str) -> &str {
    let mut s = s;
    // URLs: keep the path after the route segment.
    for scheme in ["https://", "http://"] {
        if let Some(rest) = strip_prefix_ci(s, scheme) {
            s = rest;
            break;
        }
    }
    for host in [
        "www.arxiv.org/",
        "export.arxiv.org/",
        "arxiv.org/",
        "huggingface.co/",
        "hf.co/",
    ] {
        if let Some(rest) = strip_prefix_ci(s, host) {
            s = rest;
            for route in ["abs/", "pdf/", "html/", "format/", "papers/", "ps/"] {
                if let Some(rest) = s.strip_prefix(route) {
                    s = rest;
                    break;
                }
            }
            // Drop query and fragment, a trailing slash and a `.pdf` suffix.
            if let Some(i) = s.find(['?', '#']) {
                s = &s[..i];
            }
            s = s.trim_end_matches('/');
            if let Some(rest) = s.strip_suffix(".pdf") {
                s = rest;
            }
            break;
        }
    }
    if let Some(rest) = strip_prefix_ci(s, "oai:arxiv.org:") {
        s = rest;
    }
    if let Some(rest) = strip_prefix_ci(s, "arxiv:") {
        s = rest.trim_start();
    }
    s
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn split_version(s: &str) -> Option<(&str, Option<u32>)> {
    match s.rfind(['v', 'V']) {
        Some(i) if i > 0 && s[i + 1..].bytes().all(|b| b.is_ascii_digit()) => {
            let digits = &s[i + 1..];
            if digits.is_empty() || digits.len() > 4 {
                return None;
            }
            let v: u32 = digits.parse().ok()?;
            if v == 0 {
                return None;
            }
            Some((&s[..i], Some(v)))
        }
        _ => Some((s, None)),
    }
}

fn valid_month(mm: &str) -> bool {
    matches!(mm.parse::<u32>(), Ok(1..=12))
}

fn parse_bare(s: &str) -> Option<VersionedId> {
    let (base, version) = split_version(s)?;
    let canonical = if let Some((archive, number)) = base.split_once('/') {
        parse_old(archive, number)?
    } else {
        parse_new(base)?
    };
    Some(VersionedId {
        id: ArxivId(canonical.into_boxed_str()),
        version,
    })
}

/// `YYMM.NNNN` (2007-04 to 2014-12) or `YYMM.NNNNN` (2015-01 on).
fn parse_new(base: &str) -> Option<String> {
    let (yymm, number) = base.split_once('.')?;
    if yymm.len() != 4 || !yymm.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !valid_month(&yymm[2..]) {
        return None;
    }
    let yy: u32 = yymm[..2].parse().ok()?;
    let ym: u32 = yymm.parse().ok()?;
    if ym < 704 {
        return None;
    }
    let want = if yy >= 15 { 5 } else { 4 };
    if number.len() != want {
        return None;
    }
    Some(base.to_string())
}

/// `archive(.SC)?/YYMMNNN`, 1991-08 to 2007-03.
fn parse_old(archive: &str, number: &str) -> Option<String> {
    let archive_main = match archive.split_once('.') {
        Some((main, class)) => {
            // A subject class is letters only (GT, CO, atom-ph is not a class).
            if class.is_empty() || !class.bytes().all(|b| b.is_ascii_alphabetic()) {
                return None;
            }
            main
        }
        None => archive,
    };
    if archive_main.len() < 2
        || !archive_main
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-')
        || archive_main.starts_with('-')
        || archive_main.ends_with('-')
    {
        return None;
    }
    if number.len() != 7 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !valid_month(&number[2..4]) {
        return None;
    }
    let yy: u32 = number[..2].parse().ok()?;
    let ym: u32 = number[..4].parse().ok()?;
    let in_range = (yy >= 91 && ym >= 9108) || ym <= 703;
    if !in_range {
        return None;
    }
    Some(format!("{}/{}", archive_main.to_ascii_lowercase(), number))
}

impl fmt::Display for ArxivId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ArxivId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArxivId({})", self.0)
    }
}

impl fmt::Display for VersionedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Some(v) => write!(f, "{}v{}", self.id, v),
            None => write!(f, "{}", self.id),
        }
    }
}

impl FromStr for ArxivId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ArxivId::parse(s)
    }
}

impl FromStr for VersionedId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VersionedId::parse(s)
    }
}

impl AsRef<str> for ArxivId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for ArxivId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ArxivId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ArxivId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepted_spellings() {
        let cases: &[(&str, &str, Option<u32>)] = &[
            ("2501.12345", "2501.12345", None),
            ("2501.12345v3", "2501.12345", Some(3)),
            ("arXiv:2501.12345", "2501.12345", None),
            ("ARXIV: 2501.12345v12", "2501.12345", Some(12)),
            ("  arxiv:2501.12345v1 ", "2501.12345", Some(1)),
            ("0704.0001", "0704.0001", None),
            ("1412.9999v2", "1412.9999", Some(2)),
            ("hep-th/9901001", "hep-th/9901001", None),
            ("hep-th/9901001v2", "hep-th/9901001", Some(2)),
            ("math.GT/0309136", "math/0309136", None),
            ("astro-ph/0601001", "astro-ph/0601001", None),
            ("HEP-TH/9901001", "hep-th/9901001", None),
            ("oai:arXiv.org:2501.12345", "2501.12345", None),
            ("oai:arXiv.org:hep-th/9901001", "hep-th/9901001", None),
            ("https://arxiv.org/abs/2501.12345", "2501.12345", None),
            ("https://arxiv.org/abs/2501.12345v2", "2501.12345", Some(2)),
            (
                "http://arxiv.org/abs/hep-th/9901001v1",
                "hep-th/9901001",
                Some(1),
            ),
            ("https://arxiv.org/pdf/2501.12345", "2501.12345", None),
            (
                "https://arxiv.org/pdf/2501.12345v4.pdf",
                "2501.12345",
                Some(4),
            ),
            ("https://arxiv.org/pdf/2501.12345.pdf", "2501.12345", None),
            (
                "https://export.arxiv.org/abs/2501.12345?context=cs",
                "2501.12345",
                None,
            ),
            ("https://www.arxiv.org/abs/2501.12345/", "2501.12345", None),
            (
                "https://arxiv.org/html/2501.12345v1#S2",
                "2501.12345",
                Some(1),
            ),
            (
                "https://huggingface.co/papers/2501.12345",
                "2501.12345",
                None,
            ),
        ];
        for (input, id, version) in cases {
            let parsed =
                VersionedId::parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
            assert_eq!(parsed.id.as_str(), *id, "id of {input:?}");
            assert_eq!(parsed.version, *version, "version of {input:?}");
        }
    }

    #[test]
    fn rejected_spellings() {
        let cases = [
            "",
            "   ",
            "2501.1234",      // 2015+ needs five digits
            "1401.12345",     // before 2015 four digits
            "0703.0001",      // new scheme started in 2007-04
            "2513.12345",     // month 13
            "2500.12345",     // month 0
            "0000.0000",      // arXiv accepts the shape, but there is no month 0
            "2501.12345v0",   // versions start at 1
            "2501.12345v",    // dangling v
            "2501.123a5",     // non-digit
            "hep-th/990100",  // six digits
            "hep-th/0801001", // old scheme ended 2007-03
            "hep-th/9013001", // month 13
            "x/9901001",      // archive too short
            "not an id",
            "abc",
            "https://example.com/abs/2501.12345",
            "10.48550/arXiv.2501.12345x",
        ];
        for input in cases {
            assert!(
                VersionedId::parse(input).is_err(),
                "{input:?} should be rejected"
            );
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["2501.12345v3", "hep-th/9901001v2", "0704.0001"] {
            assert_eq!(VersionedId::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn year_month() {
        assert_eq!(
            ArxivId::parse("2501.12345").unwrap().year_month(),
            (2025, 1)
        );
        assert_eq!(
            ArxivId::parse("hep-th/9901001").unwrap().year_month(),
            (1999, 1)
        );
        assert_eq!(
            ArxivId::parse("math/0309136").unwrap().year_month(),
            (2003, 9)
        );
    }

    #[test]
    fn serde_validates() {
        let ok: ArxivId = serde_json::from_str("\"arXiv:2501.12345v2\"").unwrap();
        assert_eq!(ok.as_str(), "2501.12345");
        assert!(serde_json::from_str::<ArxivId>("\"nope\"").is_err());
    }

    proptest! {
        #[test]
        fn new_scheme_round_trip(yy in 15u32..=99, mm in 1u32..=12, n in 0u32..100_000, v in proptest::option::of(1u32..50)) {
            let base = format!("{yy:02}{mm:02}.{n:05}");
            let input = match v { Some(v) => format!("{base}v{v}"), None => base.clone() };
            let parsed = VersionedId::parse(&input).unwrap();
            prop_assert_eq!(parsed.id.as_str(), base.as_str());
            prop_assert_eq!(parsed.version, v);
            // Every wrapper gives the same answer.
            for wrapped in [format!("arXiv:{input}"), format!("https://arxiv.org/abs/{input}"), format!("https://arxiv.org/pdf/{input}.pdf")] {
                prop_assert_eq!(VersionedId::parse(&wrapped).unwrap(), parsed.clone());
            }
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = VersionedId::parse(&s);
        }
    }
}
