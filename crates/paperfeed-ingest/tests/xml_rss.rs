//! The rss.arxiv.org parser on hand-written feeds that follow arXiv's RSS specification and
//! carry real papers of the cs.CV listing of 2025-03-18 (see `tests/fixtures/rss/README.md`).

mod harvest_server;

use chrono::NaiveDate;
use harvest_server::fixture;
use paperfeed_core::Category;
use paperfeed_ingest::IngestError;
use paperfeed_ingest::rss::{AnnounceType, RssFeed, RssItem, parse_feed};

fn items(feed: &RssFeed) -> Vec<&RssItem> {
    feed.items
        .iter()
        .map(|r| r.as_ref().unwrap_or_else(|bad| panic!("bad item: {bad}")))
        .collect()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test day")
}

#[test]
fn rss_2_listing() {
    let feed = parse_feed(&fixture("rss/cs.CV-2025-03-18.rss.xml")).unwrap();
    assert_eq!(feed.title.as_deref(), Some("cs.CV updates on arXiv.org"));
    assert_eq!(feed.announced, Some(day("2025-03-18")));
    let all = items(&feed);
    let kinds: Vec<_> = all
        .iter()
        .map(|i| (i.paper.id.as_str(), i.announce_type))
        .collect();
    assert_eq!(
        kinds,
        [
            ("2503.12067", Some(AnnounceType::New)),
            ("2503.12559", Some(AnnounceType::New)),
            ("2503.12174", Some(AnnounceType::Cross)),
            ("2312.00846", Some(AnnounceType::Replace)),
        ]
    );

    let survey = all[0];
    assert_eq!(
        survey.paper.title,
        "A Comprehensive Survey on Knowledge Distillation"
    );
    assert_eq!(survey.paper.version, 1);
    assert_eq!(survey.announced, Some(day("2025-03-18")));
    assert_eq!(survey.paper.listing_date, Some(day("2025-03-18")));
    assert_eq!(survey.paper.authors.len(), 11);
    assert_eq!(survey.paper.authors[0].name, "Amir M. Mansourian");
    assert_eq!(survey.paper.authors[10].name, "Shohreh Kasaei");
    assert!(
        survey
            .paper
            .abstract_text
            .starts_with("Deep Neural Networks (DNNs) have achieved")
    );
    assert!(!survey.paper.abstract_text.contains("Announce Type"));
    assert_eq!(
        survey.paper.license.as_deref(),
        Some("http://arxiv.org/licenses/nonexclusive-distrib/1.0/")
    );

    let cats: Vec<_> = all[1]
        .paper
        .categories
        .iter()
        .map(Category::as_str)
        .collect();
    assert_eq!(cats, ["cs.CV", "cs.CL", "cs.MM"]);

    // A cross-listing keeps its own primary category first.
    let cross = all[2];
    let cats: Vec<_> = cross
        .paper
        .categories
        .iter()
        .map(Category::as_str)
        .collect();
    assert_eq!(cats, ["cs.GR", "cs.CV"]);
    assert_eq!(cross.paper.listing_date, Some(day("2025-03-18")));

    // A replacement is announced today but was first listed long ago.
    let replaced = all[3];
    assert_eq!(replaced.paper.version, 2);
    assert_eq!(replaced.announced, Some(day("2025-03-18")));
    assert_eq!(replaced.paper.listing_date, None);
    assert_eq!(
        replaced.paper.title,
        "NeuSG: Neural Implicit Surface Reconstruction with 3D Gaussian Splatting Guidance"
    );

    let new: Vec<_> = all
        .iter()
        .filter(|i| i.is_new())
        .map(|i| i.paper.id.as_str())
        .collect();
    assert_eq!(new, ["2503.12067", "2503.12559"]);
}

#[test]
fn atom_variant_reads_the_same_papers() {
    let rss = parse_feed(&fixture("rss/cs.CV-2025-03-18.rss.xml")).unwrap();
    let atom = parse_feed(&fixture("rss/cs.CV-2025-03-18.atom.xml")).unwrap();
    assert_eq!(atom.title, rss.title);
    assert_eq!(atom.announced, Some(day("2025-03-18")));
    assert_eq!(atom.items, rss.items);
}

#[test]
fn bad_items_are_skipped_in_place() {
    let body = r#"<rss version="2.0" xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<pubDate>Tue, 18 Mar 2025 00:00:00 -0400</pubDate>
<item><title>No identifier</title><description>arXiv:2503.12067v1 Announce Type: new
Abstract: x</description></item>
<item><title>Bad date</title><guid>oai:arXiv.org:2503.12067v1</guid><pubDate>Tue, 31 Apr 2025 00:00:00 -0400</pubDate></item>
<item><title>From link only, type from the description</title><link>https://arxiv.org/abs/2503.12559</link>
<description>arXiv:2503.12559v1 Announce Type: cross
Abstract: Long videos.</description><dc:creator>Xiao Wang, Qingyi Si</dc:creator></item>
</channel></rss>"#;
    let feed = parse_feed(body).unwrap();
    let reasons: Vec<_> = feed
        .items
        .iter()
        .filter_map(|i| i.as_ref().err().map(|b| b.to_string()))
        .collect();
    assert_eq!(
        reasons,
        [
            "record 1: item without identifier or link",
            "record 2: invalid date \"Tue, 31 Apr 2025 00:00:00 -0400\"",
        ]
    );
    let ok = feed.items[2].as_ref().unwrap();
    assert_eq!(ok.paper.id.as_str(), "2503.12559");
    assert_eq!(ok.paper.version, 0, "the link carries no version");
    assert_eq!(ok.announce_type, Some(AnnounceType::Cross));
    assert_eq!(ok.announced, Some(day("2025-03-18")), "the channel's day");
    assert_eq!(ok.paper.abstract_text, "Long videos.");
    assert_eq!(ok.paper.authors.len(), 2);
}

#[test]
fn other_documents_are_rejected() {
    for body in ["<html/>", "<rss version=\"2.0\"/>"] {
        assert!(
            matches!(
                parse_feed(body),
                Err(IngestError::UnexpectedDocument { .. })
            ),
            "{body}"
        );
    }
    assert!(matches!(
        parse_feed("<rss><channel>"),
        Err(IngestError::Xml { .. })
    ));
}
