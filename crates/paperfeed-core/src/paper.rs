//! The paper record every source is turned into, and how two records of one paper merge.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::author::Author;
use crate::codelinks::extract_code_links;
use crate::error::ValidationError;
use crate::id::ArxivId;
use crate::text::{collapse_whitespace, normalize_abstract};

/// An arXiv category such as `cs.CL` or `hep-th`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category(Box<str>);

impl Category {
    /// Validates `archive` or `archive.SUBJECT` (`cs.CL`, `hep-th`, `physics.atom-ph`,
    /// `cond-mat.mes-hall`, `q-bio.NC`).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let s = s.trim();
        let bad = || ValidationError::Category(s.chars().take(60).collect());
        let (archive, subject) = match s.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let archive_ok = archive.len() >= 2
            && archive
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase())
            && archive.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
        let subject_ok = subject.is_none_or(|sub| {
            !sub.is_empty()
                && sub.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && sub.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
        });
        if archive_ok && subject_ok {
            Ok(Category(s.into()))
        } else {
            Err(bad())
        }
    }

    /// The category code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The archive part: `cs` for `cs.CL`.
    pub fn archive(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Category({})", self.0)
    }
}

impl Serialize for Category {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Category::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Parses a category list (a space-separated string or individual codes), primary first,
/// duplicates removed.
pub fn parse_categories<'a, I>(codes: I) -> Result<Vec<Category>, ValidationError>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut out: Vec<Category> = Vec::new();
    for code in codes.into_iter().flat_map(str::split_whitespace) {
        let c = Category::parse(code)?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// One version of a paper as arXiv announced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// 1 for `v1`.
    pub version: u32,
    /// When this version was submitted.
    pub date: DateTime<Utc>,
    /// Size as arXiv reports it (`"11kb"`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
}

/// Parses `"v3"` (or `"3"`).
pub fn parse_version_label(s: &str) -> Result<u32, ValidationError> {
    let t = s.trim();
    let digits = t.strip_prefix(['v', 'V']).unwrap_or(t);
    match digits.parse::<u32>() {
        Ok(v) if v >= 1 => Ok(v),
        _ => Err(ValidationError::Version(t.chars().take(20).collect())),
    }
}

/// A paper's metadata, whatever source it came from.
///
/// `version` is the latest version this record knows of (0 when the source does not say, as
/// daily listings don't). A record with a higher version replaces a lower one in the store;
/// see [`Paper::merge`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paper {
    /// The identifier, without version.
    pub id: ArxivId,
    /// Latest known version, 0 if unknown.
    #[serde(default)]
    pub version: u32,
    /// Every version with its date, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<Version>,
    /// Title, unwrapped.
    pub title: String,
    /// Abstract, unwrapped; paragraphs separated by a blank line.
    #[serde(rename = "abstract", default)]
    pub abstract_text: String,
    /// Authors in the paper's order.
    #[serde(default)]
    pub authors: Vec<Author>,
    /// Categories, primary first.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// When v1 was submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<Utc>>,
    /// When the latest version was submitted (or the metadata last changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
    /// The day of the arXiv listing where the paper first appeared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_date: Option<NaiveDate>,
    /// The author's comment (`"12 pages, 3 figures"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Journal reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_ref: Option<String>,
    /// DOIs (arXivRaw can list several).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dois: Vec<String>,
    /// Report number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_no: Option<String>,
    /// Licence URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Who submitted the paper to arXiv, when the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitter: Option<String>,
    /// Code repositories (GitHub, GitLab), normalised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_links: Vec<String>,
}

impl Paper {
    /// A paper with only the required fields; the rest default to empty.
    pub fn new(id: ArxivId, title: &str) -> Self {
        Paper {
            id,
            version: 0,
            versions: Vec::new(),
            title: collapse_whitespace(title),
            abstract_text: String::new(),
            authors: Vec::new(),
            categories: Vec::new(),
            published: None,
            updated: None,
            listing_date: None,
            comment: None,
            journal_ref: None,
            dois: Vec::new(),
            report_no: None,
            license: None,
            submitter: None,
            code_links: Vec::new(),
        }
    }

    /// The primary category, if any.
    pub fn primary_category(&self) -> Option<&Category> {
        self.categories.first()
    }

    /// Normalises text fields, sorts versions, derives `version`, `published` and `updated`
    /// from the version history where they are missing, finds code links, and checks the
    /// record is usable. Idempotent. Parsers call it last.
    pub fn finish(mut self) -> Result<Self, ValidationError> {
        self.title = collapse_whitespace(&self.title);
        if self.title.is_empty() {
            return Err(ValidationError::MissingTitle);
        }
        self.abstract_text = normalize_abstract(&self.abstract_text);
        for field in [
            &mut self.comment,
            &mut self.journal_ref,
            &mut self.report_no,
            &mut self.license,
            &mut self.submitter,
        ] {
            *field = field
                .as_deref()
                .map(collapse_whitespace)
                .filter(|s| !s.is_empty());
        }
        self.authors.retain(|a| !a.name.is_empty());
        let mut dois: Vec<String> = Vec::new();
        for d in self.dois.iter().flat_map(|d| d.split_whitespace()) {
            let d = d.trim_end_matches([',', ';']);
            if !d.is_empty() && !dois.iter().any(|x| x.eq_ignore_ascii_case(d)) {
                dois.push(d.to_string());
            }
        }
        self.dois = dois;
        self.versions.sort_by_key(|v| v.version);
        self.versions.dedup_by_key(|v| v.version);
        if let Some(last) = self.versions.last() {
            self.version = self.version.max(last.version);
            if self.updated.is_none() {
                self.updated = Some(last.date);
            }
        }
        if let Some(first) = self.versions.iter().find(|v| v.version == 1) {
            self.published = Some(self.published.map_or(first.date, |p| p.min(first.date)));
        }
        let mut links = std::mem::take(&mut self.code_links);
        links.extend(extract_code_links(
            [Some(self.abstract_text.as_str()), self.comment.as_deref()]
                .into_iter()
                .flatten(),
        ));
        self.code_links = dedup_links(links);
        Ok(self)
    }

    /// Combines what the store holds (`self`) with a newly read record of the same paper.
    ///
    /// The newer version wins: if `incoming` has a higher version its metadata replaces ours;
    /// if it has a lower one, it only fills fields the stored record lacks (a listing date, a
    /// comment) and adds to the version history, so an old snapshot never rolls back a field
    /// that a newer version set. Equal
    /// versions take the incoming non-empty fields, because the same version seen again is
    /// the fresher view of it. Version histories are always united.
    pub fn merge(self, incoming: Paper) -> Paper {
        debug_assert_eq!(self.id, incoming.id);
        let (mut base, other) = if incoming.version >= self.version {
            (incoming, self)
        } else {
            (self, incoming)
        };
        // `base` is the record whose fields win; fill what it lacks from `other`.
        if base.abstract_text.is_empty() {
            base.abstract_text = other.abstract_text;
        }
        // Some sources list only the first author (Hugging Face featured lists); at equal
        // versions a shorter list is a thinner view of the same submission, not a change.
        if base.authors.is_empty()
            || (base.version == other.version && other.authors.len() > base.authors.len())
        {
            base.authors = other.authors;
        }
        if base.categories.is_empty() {
            base.categories = other.categories;
        }
        base.published = match (base.published, other.published) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if base.updated.is_none() {
            base.updated = other.updated;
        }
        base.listing_date = match (base.listing_date, other.listing_date) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        base.comment = base.comment.or(other.comment);
        base.journal_ref = base.journal_ref.or(other.journal_ref);
        if base.dois.is_empty() {
            base.dois = other.dois;
        }
        base.report_no = base.report_no.or(other.report_no);
        base.license = base.license.or(other.license);
        base.submitter = base.submitter.or(other.submitter);
        for v in other.versions {
            if !base.versions.iter().any(|x| x.version == v.version) {
                base.versions.push(v);
            }
        }
        base.versions.sort_by_key(|v| v.version);
        let mut links = base.code_links;
        links.extend(other.code_links);
        base.code_links = dedup_links(links);
        base
    }
}

fn dedup_links(links: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(links.len());
    for l in links {
        if !out.iter().any(|x| x.eq_ignore_ascii_case(&l)) {
            out.push(l);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn paper(id: &str, version: u32, title: &str) -> Paper {
        let mut p = Paper::new(ArxivId::parse(id).unwrap(), title);
        p.version = version;
        p
    }

    fn date(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    #[test]
    fn categories() {
        for ok in [
            "cs.CL",
            "hep-th",
            "physics.atom-ph",
            "cond-mat.mes-hall",
            "q-bio.NC",
            "math-ph",
            "stat.ML",
        ] {
            assert_eq!(Category::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "", "c", "CS.CL", "cs.", "cs.C L", "cs..CL", "1cs.CL", "cs.CL;",
        ] {
            assert!(Category::parse(bad).is_err(), "{bad:?}");
        }
        let cats = parse_categories(["hep-ph math.CO", "hep-ph"]).unwrap();
        assert_eq!(
            cats.iter().map(Category::as_str).collect::<Vec<_>>(),
            ["hep-ph", "math.CO"]
        );
        assert_eq!(Category::parse("cs.CL").unwrap().archive(), "cs");
    }

    #[test]
    fn version_labels() {
        assert_eq!(parse_version_label("v3").unwrap(), 3);
        assert_eq!(parse_version_label("12").unwrap(), 12);
        assert!(parse_version_label("v0").is_err());
        assert!(parse_version_label("x").is_err());
    }

    #[test]
    fn finish_derives_versions_and_links() {
        let mut p = paper("2501.12345", 0, "  A\n  title ");
        p.abstract_text = "Code at\nhttps://github.com/a/b.".into();
        p.versions = vec![
            Version {
                version: 2,
                date: date(2025, 2, 1),
                size: None,
            },
            Version {
                version: 1,
                date: date(2025, 1, 20),
                size: Some("10kb".into()),
            },
        ];
        p.dois = vec!["10.1/x 10.2/y".into()];
        let p = p.finish().unwrap();
        assert_eq!(p.title, "A title");
        assert_eq!(p.version, 2);
        assert_eq!(p.published, Some(date(2025, 1, 20)));
        assert_eq!(p.updated, Some(date(2025, 2, 1)));
        assert_eq!(p.code_links, vec!["https://github.com/a/b"]);
        assert_eq!(p.dois, vec!["10.1/x", "10.2/y"]);
        assert_eq!(p.versions[0].version, 1);
        // idempotent
        assert_eq!(p.clone().finish().unwrap(), p);
    }

    #[test]
    fn finish_rejects_missing_title() {
        assert_eq!(
            paper("2501.12345", 1, "  ").finish(),
            Err(ValidationError::MissingTitle)
        );
    }

    #[test]
    fn newer_version_wins_never_the_reverse() {
        let mut v1 = paper("2501.12345", 1, "Old title");
        v1.listing_date = NaiveDate::from_ymd_opt(2025, 1, 21);
        v1.versions = vec![Version {
            version: 1,
            date: date(2025, 1, 20),
            size: None,
        }];
        let mut v2 = paper("2501.12345", 2, "New title");
        v2.versions = vec![
            Version {
                version: 1,
                date: date(2025, 1, 20),
                size: None,
            },
            Version {
                version: 2,
                date: date(2025, 3, 1),
                size: None,
            },
        ];
        let forward = v1.clone().merge(v2.clone());
        assert_eq!(forward.title, "New title");
        assert_eq!(forward.version, 2);
        assert_eq!(forward.listing_date, NaiveDate::from_ymd_opt(2025, 1, 21));
        let backward = v2.clone().merge(v1.clone());
        assert_eq!(backward.title, "New title");
        assert_eq!(backward.version, 2);
        assert_eq!(backward, forward);
    }

    #[test]
    fn merge_is_idempotent() {
        let mut p = paper("2501.12345", 3, "T");
        p.abstract_text = "abs".into();
        p.comment = Some("c".into());
        assert_eq!(p.clone().merge(p.clone()), p);
    }

    #[test]
    fn unknown_version_fills_gaps_only() {
        let mut kaggle = paper("2501.12345", 2, "Kaggle title");
        kaggle.comment = None;
        let mut listing = paper("2501.12345", 0, "Listing title");
        listing.listing_date = NaiveDate::from_ymd_opt(2025, 1, 21);
        listing.comment = Some("5 pages".into());
        let merged = kaggle.merge(listing);
        assert_eq!(merged.title, "Kaggle title");
        assert_eq!(merged.listing_date, NaiveDate::from_ymd_opt(2025, 1, 21));
        assert_eq!(merged.comment.as_deref(), Some("5 pages"));
    }

    #[test]
    fn thin_featured_record_keeps_full_author_list() {
        let mut full = paper("2501.12345", 0, "T");
        full.authors = vec![
            Author::new("A One"),
            Author::new("B Two"),
            Author::new("C Three"),
        ];
        full.abstract_text = "Full abstract.".into();
        let mut thin = paper("2501.12345", 0, "T");
        thin.authors = vec![Author::new("A One")];
        let merged = full.clone().merge(thin.clone());
        assert_eq!(merged.authors.len(), 3);
        assert_eq!(merged.abstract_text, "Full abstract.");
        assert_eq!(thin.merge(full).authors.len(), 3);
    }

    #[test]
    fn json_round_trip() {
        let mut p = paper("hep-th/9901001", 2, "T");
        p.categories = parse_categories(["hep-th"]).unwrap();
        p.authors = vec![Author::new("A. B")];
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"abstract\""));
        let back: Paper = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }
}
