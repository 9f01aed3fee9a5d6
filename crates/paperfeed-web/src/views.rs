//! What a list of papers shows of each one (as on the Daily Papers page): title, the start
//! of the abstract, the number of authors and their names, the date, the upvotes and a code
//! link. Plain strings here; the templates escape them.

use paperfeed_core::Paper;
use paperfeed_store::FeedItem;

use crate::service::paper_date;

/// Characters of the abstract a list shows.
const ABSTRACT_START: usize = 300;
/// Author names a list shows before "and N more".
const AUTHORS_SHOWN: usize = 5;

/// One paper in a list.
#[derive(Debug, Clone)]
pub struct PaperCard {
    /// Canonical id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The engine's highlighted title (already escaped HTML), for search results.
    pub title_html: Option<String>,
    /// The start of the abstract.
    pub abstract_start: String,
    /// The engine's highlighted snippet (already escaped HTML), for search results.
    pub snippet_html: Option<String>,
    /// How many authors.
    pub n_authors: usize,
    /// The first few names.
    pub authors: Vec<String>,
    /// How many names are not shown.
    pub more_authors: usize,
    /// `Mar 26, 2025`.
    pub date: String,
    /// Upvotes.
    pub upvotes: u32,
    /// Whether the viewer upvoted it.
    pub voted: bool,
    /// The first code repository.
    pub code_link: Option<String>,
    /// Category codes, primary first.
    pub categories: Vec<String>,
}

impl PaperCard {
    /// A card for `paper`.
    pub fn new(paper: &Paper, upvotes: u32, voted: bool) -> Self {
        let n = paper.authors.len();
        PaperCard {
            id: paper.id.to_string(),
            title: paper.title.clone(),
            title_html: None,
            abstract_start: truncate(&paper.abstract_text, ABSTRACT_START),
            snippet_html: None,
            n_authors: n,
            authors: paper
                .authors
                .iter()
                .take(AUTHORS_SHOWN)
                .map(|a| a.name.clone())
                .collect(),
            more_authors: n.saturating_sub(AUTHORS_SHOWN),
            date: paper_date(paper)
                .map(|d| d.format("%b %-d, %Y").to_string())
                .unwrap_or_default(),
            upvotes,
            voted,
            code_link: paper.code_links.first().cloned(),
            categories: paper.categories.iter().map(|c| c.to_string()).collect(),
        }
    }

    /// Cards for feed entries, with the viewer's votes.
    pub fn from_feed(items: &[FeedItem], voted: &[bool]) -> Vec<Self> {
        items
            .iter()
            .enumerate()
            .map(|(i, it)| {
                PaperCard::new(
                    &it.paper,
                    it.upvotes,
                    voted.get(i).copied().unwrap_or(false),
                )
            })
            .collect()
    }

    /// `6 authors`, `1 author`.
    pub fn authors_label(&self) -> String {
        match self.n_authors {
            1 => "1 author".to_string(),
            n => format!("{n} authors"),
        }
    }
}

/// The first `max` characters, cut at a word boundary, with an ellipsis when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    let at_word = match cut.rfind(char::is_whitespace) {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use paperfeed_core::{ArxivId, Author};

    #[test]
    fn truncation_keeps_words_and_multibyte_text() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("one two three four", 12), "one two…");
        let s = "é".repeat(50);
        let t = truncate(&s, 10);
        assert_eq!(t.chars().count(), 11);
        assert!(t.ends_with('…'));
    }

    #[test]
    fn cards_count_and_list_authors() {
        let mut p = Paper::new(ArxivId::parse("2503.12067").unwrap(), "T");
        p.authors = (0..7).map(|i| Author::new(&format!("A{i}"))).collect();
        p.code_links = vec!["https://github.com/a/b".into()];
        p.listing_date = chrono::NaiveDate::from_ymd_opt(2025, 3, 26);
        let c = PaperCard::new(&p, 3, true);
        assert_eq!(c.authors_label(), "7 authors");
        assert_eq!(c.authors.len(), 5);
        assert_eq!(c.more_authors, 2);
        assert_eq!(c.date, "Mar 26, 2025");
        assert_eq!(c.code_link.as_deref(), Some("https://github.com/a/b"));
        p.authors.truncate(1);
        assert_eq!(PaperCard::new(&p, 0, false).authors_label(), "1 author");
    }
}
