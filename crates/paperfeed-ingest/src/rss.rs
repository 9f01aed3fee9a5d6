//! rss.arxiv.org listing feeds: the papers of one announcement day in one or more
//! categories, as RSS 2.0 (`/rss/cs.CL`) or Atom (`/atom/cs.CL`).
//!
//! Each item names its paper with a versioned OAI identifier (`oai:arXiv.org:2501.12345v1`),
//! says why it is in today's listing with `arxiv:announce_type` (`new`, `cross`, `replace`,
//! `replace-cross`), and repeats that in its description, which reads
//! `arXiv:2501.12345v1 Announce Type: new \nAbstract: ...`. Authors are one comma-separated
//! `dc:creator`. The announcement day is the item's `pubDate` in arXiv's own time zone.
//!
//! [`parse_feed`] keeps the announce type beside each paper ([`RssItem`]) so a caller can
//! admit only `new` papers to a feed. The announcement day becomes the paper's
//! `listing_date` only when it is the paper's first appearance (`new`, or `cross` of v1);
//! a replacement is announced long after the paper was first listed.

use std::fmt;

use chrono::{DateTime, NaiveDate};
use paperfeed_core::{Paper, VersionedId, parse_author_list};
use roxmltree::Node;

use crate::atom::{ARXIV_ATOM_NS, ATOM_NS};
use crate::oai::{self, DC_NS, xml};
use crate::{BadRecord, IngestError, Position, Record};

/// Why an item is in the day's listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnnounceType {
    /// A new submission in this category.
    New,
    /// A new cross-listing from another category.
    Cross,
    /// A new version of a paper in this category.
    Replace,
    /// A new version of a paper cross-listed to this category.
    ReplaceCross,
}

impl AnnounceType {
    /// Reads `new`, `cross`, `replace` or `replace-cross`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "new" => Some(AnnounceType::New),
            "cross" => Some(AnnounceType::Cross),
            "replace" => Some(AnnounceType::Replace),
            "replace-cross" => Some(AnnounceType::ReplaceCross),
            _ => None,
        }
    }

    /// The feed's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AnnounceType::New => "new",
            AnnounceType::Cross => "cross",
            AnnounceType::Replace => "replace",
            AnnounceType::ReplaceCross => "replace-cross",
        }
    }
}

impl fmt::Display for AnnounceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One paper of a listing feed.
#[derive(Debug, Clone, PartialEq)]
pub struct RssItem {
    /// The paper as the feed describes it (version from the item's identifier).
    pub paper: Paper,
    /// Why it is listed; `None` if the item does not say.
    pub announce_type: Option<AnnounceType>,
    /// The announcement day.
    pub announced: Option<NaiveDate>,
}

impl RssItem {
    /// True for a new submission, the only kind a daily feed of new papers admits.
    pub fn is_new(&self) -> bool {
        self.announce_type == Some(AnnounceType::New)
    }

    /// The paper as a [`Record`].
    pub fn into_record(self) -> Record {
        Record::Paper(Box::new(self.paper))
    }
}

/// A parsed listing feed.
#[derive(Debug, Clone, PartialEq)]
pub struct RssFeed {
    /// The channel title, e.g. `cs.CL updates on arXiv.org`.
    pub title: Option<String>,
    /// The feed's announcement day (channel `pubDate`, or Atom `updated`).
    pub announced: Option<NaiveDate>,
    /// The items in feed order.
    pub items: Vec<Result<RssItem, BadRecord>>,
}

/// Parses an rss.arxiv.org feed, RSS 2.0 or Atom.
pub fn parse_feed(body: &str) -> Result<RssFeed, IngestError> {
    let doc = xml::parse(body, "arXiv listing feed")?;
    let root = doc.root_element();
    if xml::is(root, "", "rss") {
        let channel = xml::child(root, "", "channel").ok_or(IngestError::UnexpectedDocument {
            expected: "an RSS channel",
            found: "rss".to_string(),
        })?;
        let announced = xml::child_text(channel, "", "pubDate").and_then(|s| rss_day(&s).ok());
        let items = xml::children(channel, "", "item")
            .enumerate()
            .map(|(i, item)| {
                rss_item(item, announced).map_err(|reason| BadRecord {
                    position: Position::Record(i as u64 + 1),
                    reason,
                })
            })
            .collect();
        Ok(RssFeed {
            title: xml::child_text(channel, "", "title"),
            announced,
            items,
        })
    } else if xml::is(root, ATOM_NS, "feed") {
        let announced = xml::child_text(root, ATOM_NS, "updated").and_then(|s| atom_day(&s).ok());
        let items = xml::children(root, ATOM_NS, "entry")
            .enumerate()
            .map(|(i, entry)| {
                atom_entry(entry, announced).map_err(|reason| BadRecord {
                    position: Position::Record(i as u64 + 1),
                    reason,
                })
            })
            .collect();
        Ok(RssFeed {
            title: xml::child_text(root, ATOM_NS, "title"),
            announced,
            items,
        })
    } else {
        Err(IngestError::UnexpectedDocument {
            expected: "an RSS 2.0 or Atom feed",
            found: root.tag_name().name().to_string(),
        })
    }
}

/// The day of an RFC 2822 date in its own zone: `Mon, 13 Jan 2025 00:00:00 -0500` is the
/// 13th, although it is already 05:00 UTC.
fn rss_day(s: &str) -> Result<NaiveDate, String> {
    DateTime::parse_from_rfc2822(s.trim())
        .map(|d| d.date_naive())
        .map_err(|_| {
            format!(
                "invalid date {:?}",
                s.trim().chars().take(60).collect::<String>()
            )
        })
}

/// The day of an RFC 3339 date in its own zone.
fn atom_day(s: &str) -> Result<NaiveDate, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|d| d.date_naive())
        .map_err(|_| {
            format!(
                "invalid date {:?}",
                s.trim().chars().take(60).collect::<String>()
            )
        })
}

/// Splits `arXiv:2501.12345v1 Announce Type: new \nAbstract: text` into the announce type
/// and the abstract. A description without the prefix is all abstract.
fn split_description(desc: &str) -> (Option<AnnounceType>, &str) {
    let desc = desc.trim();
    if !desc.starts_with("arXiv:") {
        return (None, desc);
    }
    let (head, abstract_text) = match desc.split_once("Abstract:") {
        Some((head, rest)) => (head, rest.trim()),
        None => (desc, ""),
    };
    let announce = head
        .split_once("Announce Type:")
        .and_then(|(_, t)| t.split_whitespace().next())
        .and_then(AnnounceType::parse);
    (announce, abstract_text)
}

/// The fields both feed shapes share, from an item or entry.
struct Fields<'a> {
    identifier: Option<String>,
    link: Option<String>,
    title: String,
    description: String,
    categories: Vec<&'a str>,
    day: Option<Result<NaiveDate, String>>,
}

fn build(
    node: Node<'_, '_>,
    f: Fields<'_>,
    feed_day: Option<NaiveDate>,
) -> Result<RssItem, String> {
    let source = f
        .identifier
        .or(f.link)
        .ok_or("item without identifier or link")?;
    let vid = VersionedId::parse(&source).map_err(|e| e.to_string())?;
    let announced = f.day.transpose()?.or(feed_day);
    let (from_description, abstract_text) = split_description(&f.description);
    let announce_type = xml::child_text(node, ARXIV_ATOM_NS, "announce_type")
        .and_then(|t| AnnounceType::parse(&t))
        .or(from_description);

    let mut paper = Paper::new(vid.id, &f.title);
    paper.version = vid.version.unwrap_or(0);
    paper.abstract_text = abstract_text.to_string();
    paper.categories = oai::categories(Some(&f.categories.join(" ")));
    let creators: Vec<String> = xml::children(node, DC_NS, "creator")
        .map(xml::text)
        .collect();
    paper.authors = parse_author_list(&creators.join(", "));
    if paper.authors.is_empty() {
        paper.authors = xml::children(node, ATOM_NS, "author")
            .filter_map(|a| xml::child_text(a, ATOM_NS, "name"))
            .flat_map(|n| parse_author_list(&n))
            .collect();
    }
    paper.license = xml::child_text(node, DC_NS, "rights");
    paper.journal_ref = xml::child_text(node, ARXIV_ATOM_NS, "journal_reference");
    paper.dois = xml::child_text(node, ARXIV_ATOM_NS, "DOI")
        .into_iter()
        .collect();
    let first_appearance = match announce_type {
        Some(AnnounceType::New) => true,
        Some(AnnounceType::Cross) => vid.version == Some(1),
        _ => false,
    };
    if first_appearance {
        paper.listing_date = announced;
    }
    let paper = paper.finish().map_err(|e| e.to_string())?;
    Ok(RssItem {
        paper,
        announce_type,
        announced,
    })
}

fn rss_item(item: Node<'_, '_>, feed_day: Option<NaiveDate>) -> Result<RssItem, String> {
    let fields = Fields {
        identifier: xml::child_text(item, "", "guid"),
        link: xml::child_text(item, "", "link"),
        title: xml::child_text(item, "", "title").unwrap_or_default(),
        description: xml::child_text(item, "", "description").unwrap_or_default(),
        categories: xml::children(item, "", "category")
            .filter_map(|c| c.text())
            .collect(),
        day: xml::child_text(item, "", "pubDate").map(|s| rss_day(&s)),
    };
    build(item, fields, feed_day)
}

fn atom_entry(entry: Node<'_, '_>, feed_day: Option<NaiveDate>) -> Result<RssItem, String> {
    let link = xml::children(entry, ATOM_NS, "link")
        .find(|l| l.attribute("rel").is_none_or(|r| r == "alternate"))
        .and_then(|l| l.attribute("href"))
        .map(str::to_string);
    let day = xml::child_text(entry, ATOM_NS, "published")
        .or_else(|| xml::child_text(entry, ATOM_NS, "updated"))
        .map(|s| atom_day(&s));
    let fields = Fields {
        identifier: xml::child_text(entry, ATOM_NS, "id"),
        link,
        title: xml::child_text(entry, ATOM_NS, "title").unwrap_or_default(),
        description: xml::child_text(entry, ATOM_NS, "summary").unwrap_or_default(),
        categories: xml::children(entry, ATOM_NS, "category")
            .filter_map(|c| c.attribute("term"))
            .collect(),
        day,
    };
    build(entry, fields, feed_day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_split() {
        let cases: &[(&str, Option<AnnounceType>, &str)] = &[
            (
                "arXiv:2501.12345v1 Announce Type: new \nAbstract: We study X.",
                Some(AnnounceType::New),
                "We study X.",
            ),
            (
                "arXiv:2501.12345v3 Announce Type: replace-cross \nAbstract: Y",
                Some(AnnounceType::ReplaceCross),
                "Y",
            ),
            (
                "arXiv:2501.12345v1 Announce Type: new",
                Some(AnnounceType::New),
                "",
            ),
            (
                "arXiv:2501.12345v1 Announce Type: odd \nAbstract: Z",
                None,
                "Z",
            ),
            (
                "Just an abstract: with a colon.",
                None,
                "Just an abstract: with a colon.",
            ),
            ("", None, ""),
        ];
        for (desc, kind, abs) in cases {
            assert_eq!(split_description(desc), (*kind, *abs), "{desc:?}");
        }
    }

    #[test]
    fn announce_types_round_trip() {
        for t in [
            AnnounceType::New,
            AnnounceType::Cross,
            AnnounceType::Replace,
            AnnounceType::ReplaceCross,
        ] {
            assert_eq!(AnnounceType::parse(t.as_str()), Some(t));
        }
        assert_eq!(AnnounceType::parse("NEW"), Some(AnnounceType::New));
        assert_eq!(AnnounceType::parse("withdrawn"), None);
    }

    #[test]
    fn announcement_day_is_arxivs_local_day() {
        assert_eq!(
            rss_day("Mon, 13 Jan 2025 00:00:00 -0500"),
            Ok(NaiveDate::from_ymd_opt(2025, 1, 13).unwrap())
        );
        assert_eq!(
            atom_day("2025-01-13T00:00:00-05:00"),
            Ok(NaiveDate::from_ymd_opt(2025, 1, 13).unwrap())
        );
        assert!(rss_day("Mon, 30 Feb 2025 00:00:00 -0500").is_err());
    }

    #[test]
    fn listing_date_only_on_first_appearance() {
        let item = |kind: &str, version: u32| {
            format!(
                r#"<rss version="2.0" xmlns:arxiv="http://arxiv.org/schemas/atom"><channel><item>
<title>T</title><guid>oai:arXiv.org:2501.12345v{version}</guid>
<pubDate>Mon, 13 Jan 2025 00:00:00 -0500</pubDate>
<arxiv:announce_type>{kind}</arxiv:announce_type></item></channel></rss>"#
            )
        };
        let day = NaiveDate::from_ymd_opt(2025, 1, 13);
        for (kind, version, want) in [
            ("new", 1, day),
            ("cross", 1, day),
            ("cross", 2, None),
            ("replace", 2, None),
            ("replace-cross", 3, None),
        ] {
            let feed = parse_feed(&item(kind, version)).unwrap();
            let it = feed.items[0].as_ref().unwrap();
            assert_eq!(it.paper.listing_date, want, "{kind} v{version}");
            assert_eq!(it.announced, day);
            assert_eq!(it.paper.version, version);
        }
    }
}
