//! arXiv API responses (`export.arxiv.org/api/query`): Atom feeds with OpenSearch totals.
//!
//! Two shapes are in the wild and both are read by [`parse_feed`]: the pre-2025 one, which
//! declares the `opensearch:` and `arxiv:` namespaces inline on every element, and the current
//! one, which declares them on the root. Namespaces are resolved, so prefixes do not matter.
//!
//! Each entry becomes a [`Record::Paper`]: the entry id (`http://arxiv.org/abs/2104.12255v1`)
//! gives the identifier and the version, `published` is v1's submission time and `updated`
//! the returned version's, `arxiv:primary_category` comes first among the categories, and
//! authors keep their `arxiv:affiliation`s. The API reports a bad request as a feed with one
//! entry titled `Error`; that becomes [`IngestError::ArxivApi`] with the entry's summary.

use chrono::{DateTime, Utc};
use paperfeed_core::{Author, Category, Paper, Version, VersionedId};
use roxmltree::Node;

use crate::oai::xml;
use crate::{BadRecord, IngestError, Position, Record};

/// The Atom namespace.
pub const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
/// The OpenSearch 1.1 namespace (`totalResults`, `startIndex`, `itemsPerPage`).
pub const OPENSEARCH_NS: &str = "http://a9.com/-/spec/opensearch/1.1/";
/// arXiv's Atom extension namespace (`arxiv:comment`, `arxiv:primary_category`, ...).
pub const ARXIV_ATOM_NS: &str = "http://arxiv.org/schemas/atom";

/// One page of arXiv API results.
#[derive(Debug, Clone, PartialEq)]
pub struct AtomFeed {
    /// When the feed was produced.
    pub updated: Option<DateTime<Utc>>,
    /// How many results the query has in all.
    pub total_results: Option<u64>,
    /// The 0-based index of this page's first result.
    pub start_index: Option<u64>,
    /// The page size that was asked for.
    pub items_per_page: Option<u64>,
    /// The entries in feed order.
    pub entries: Vec<Result<Record, BadRecord>>,
}

/// Parses an arXiv API Atom feed.
///
/// Fails for XML that is not well-formed, a document that is not an Atom feed, and the API's
/// error feed ([`IngestError::ArxivApi`]).
pub fn parse_feed(body: &str) -> Result<AtomFeed, IngestError> {
    let doc = xml::parse(body, "arXiv API feed")?;
    let root = doc.root_element();
    if !xml::is(root, ATOM_NS, "feed") {
        return Err(IngestError::UnexpectedDocument {
            expected: "an Atom feed",
            found: root.tag_name().name().to_string(),
        });
    }
    let number = |name: &str| {
        xml::child_text(root, OPENSEARCH_NS, name).and_then(|s| s.trim().parse::<u64>().ok())
    };
    let mut feed = AtomFeed {
        updated: xml::child_text(root, ATOM_NS, "updated")
            .and_then(|s| xml::parse_timestamp(&s).ok()),
        total_results: number("totalResults"),
        start_index: number("startIndex"),
        items_per_page: number("itemsPerPage"),
        entries: Vec::new(),
    };
    for (i, entry) in xml::children(root, ATOM_NS, "entry").enumerate() {
        if let Some(message) = error_entry(entry) {
            return Err(IngestError::ArxivApi { message });
        }
        let position = Position::Record(i as u64 + 1);
        feed.entries.push(
            parse_entry(entry)
                .map(|p| Record::Paper(Box::new(p)))
                .map_err(|reason| BadRecord { position, reason }),
        );
    }
    Ok(feed)
}

/// The message of an API error entry (`<id>https://arxiv.org/api/errors#...</id>`).
fn error_entry(entry: Node<'_, '_>) -> Option<String> {
    let id = xml::child_text(entry, ATOM_NS, "id")?;
    if !id.contains("/api/errors") {
        return None;
    }
    let message = xml::child_text(entry, ATOM_NS, "summary")
        .or_else(|| id.split_once('#').map(|(_, frag)| frag.replace('_', " ")))
        .unwrap_or(id);
    Some(message)
}

fn parse_entry(entry: Node<'_, '_>) -> Result<Paper, String> {
    let raw_id = xml::child_text(entry, ATOM_NS, "id").ok_or("entry without id")?;
    let vid = VersionedId::parse(&raw_id).map_err(|e| e.to_string())?;
    let title = xml::child_text(entry, ATOM_NS, "title").unwrap_or_default();
    let mut paper = Paper::new(vid.id, &title);
    paper.abstract_text = xml::child_text(entry, ATOM_NS, "summary").unwrap_or_default();
    let time = |name| {
        xml::child_text(entry, ATOM_NS, name)
            .map(|s| xml::parse_timestamp(&s))
            .transpose()
    };
    paper.published = time("published")?;
    paper.updated = time("updated")?;
    if let Some(v) = vid.version {
        // `published` is when v1 was submitted and `updated` when the returned version was.
        paper.version = v;
        if let Some(date) = paper.published {
            paper.versions.push(Version {
                version: 1,
                date,
                size: None,
            });
        }
        if let (true, Some(date)) = (v > 1, paper.updated) {
            paper.versions.push(Version {
                version: v,
                date,
                size: None,
            });
        }
    }
    paper.authors = xml::children(entry, ATOM_NS, "author")
        .map(|a| {
            Author::new(&xml::child_text(a, ATOM_NS, "name").unwrap_or_default())
                .with_affiliations(xml::children(a, ARXIV_ATOM_NS, "affiliation").map(xml::text))
        })
        .collect();
    let primary = xml::child(entry, ARXIV_ATOM_NS, "primary_category");
    let terms = primary
        .into_iter()
        .chain(xml::children(entry, ATOM_NS, "category"))
        .filter_map(|c| c.attribute("term"));
    for term in terms {
        // The API has listed ACM and MSC classes as categories (`I.2.6`, `68T05`); they are
        // not arXiv categories and do not cost the entry.
        match Category::parse(term) {
            Ok(c) if !paper.categories.contains(&c) => paper.categories.push(c),
            Ok(_) => {}
            Err(e) => tracing::debug!("{raw_id}: skipping category: {e}"),
        }
    }
    paper.comment = xml::child_text(entry, ARXIV_ATOM_NS, "comment");
    paper.journal_ref = xml::child_text(entry, ARXIV_ATOM_NS, "journal_ref");
    paper.dois = xml::children(entry, ARXIV_ATOM_NS, "doi")
        .map(xml::text)
        .collect();
    if paper.dois.is_empty() {
        paper.dois = xml::children(entry, ATOM_NS, "link")
            .filter(|l| l.attribute("title") == Some("doi"))
            .filter_map(|l| l.attribute("href"))
            .filter_map(|href| href.split_once("doi.org/").map(|(_, doi)| doi.to_string()))
            .collect();
    }
    paper.finish().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <entry>
    <id>http://arxiv.org/abs/1111.2011v2</id>
    <updated>2012-04-02T12:38:54Z</updated>
    <published>2011-11-08T18:48:36Z</published>
    <title>Quantum Criticality</title>
    <summary>S</summary>
    <author><name>James M. Murray</name></author>
    <link title="doi" href="http://dx.doi.org/10.1103/PhysRevB.85.115117" rel="related"/>
    <arxiv:primary_category term="cond-mat.str-el"/>
    <category term="cond-mat.stat-mech"/>
    <category term="cond-mat.str-el"/>
    <category term="I.2.6"/>
  </entry>
</feed>"#;

    fn only_paper(feed: AtomFeed) -> Paper {
        match feed.entries.into_iter().next() {
            Some(Ok(Record::Paper(p))) => *p,
            other => panic!("expected a paper, got {other:?}"),
        }
    }

    #[test]
    fn versions_from_id_and_dates() {
        let p = only_paper(parse_feed(ENTRY).unwrap());
        assert_eq!(p.version, 2);
        assert_eq!(p.versions.len(), 2);
        assert_eq!(p.versions[0].version, 1);
        assert_eq!(p.versions[0].date.to_rfc3339(), "2011-11-08T18:48:36+00:00");
        assert_eq!(p.versions[1].date.to_rfc3339(), "2012-04-02T12:38:54+00:00");
        assert_eq!(p.published, Some(p.versions[0].date));
        assert_eq!(p.updated, Some(p.versions[1].date));
    }

    #[test]
    fn primary_first_and_acm_classes_skipped() {
        let p = only_paper(parse_feed(ENTRY).unwrap());
        let cats: Vec<_> = p.categories.iter().map(Category::as_str).collect();
        assert_eq!(cats, ["cond-mat.str-el", "cond-mat.stat-mech"]);
    }

    #[test]
    fn doi_from_link_when_no_element() {
        let p = only_paper(parse_feed(ENTRY).unwrap());
        assert_eq!(p.dois, ["10.1103/PhysRevB.85.115117"]);
    }

    #[test]
    fn bad_entries_are_reported_in_place() {
        let cases = [
            (
                "<id>http://arxiv.org/abs/not-an-id</id><title>T</title>",
                "not an arXiv identifier",
            ),
            ("<title>T</title>", "entry without id"),
            (
                "<id>http://arxiv.org/abs/2501.12345v1</id><title> </title>",
                "missing title",
            ),
            (
                "<id>http://arxiv.org/abs/2501.12345v1</id><title>T</title><published>2025-02-30T00:00:00Z</published>",
                "invalid date",
            ),
        ];
        for (inner, reason) in cases {
            let body = format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry>{inner}</entry><entry><id>http://arxiv.org/abs/2501.00001v1</id><title>Fine</title></entry></feed>"#
            );
            let feed = parse_feed(&body).unwrap();
            let bad = feed.entries[0].as_ref().expect_err(inner);
            assert_eq!(bad.position, Position::Record(1));
            assert!(bad.reason.contains(reason), "{inner}: {}", bad.reason);
            assert!(feed.entries[1].is_ok());
        }
    }

    #[test]
    fn not_a_feed() {
        assert!(matches!(
            parse_feed("<rss version=\"2.0\"/>"),
            Err(IngestError::UnexpectedDocument { .. })
        ));
        assert!(matches!(parse_feed(""), Err(IngestError::Xml { .. })));
    }
}
