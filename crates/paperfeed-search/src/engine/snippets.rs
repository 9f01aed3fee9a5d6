//! Highlighted titles and abstract snippets for hits the BM25 search did not render (semantic
//! and fused hits), in the same markup as [`crate::bm25`]'s: the query's words in `<mark>`,
//! every other byte escaped, the best-matching stretch of the abstract or its beginning.

use std::ops::Range;

use tantivy::query::QueryParser;
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, Searcher};

use crate::SearchError;
use crate::bm25::{self, escape, render_marked};

/// Longest abstract snippet in characters, as the BM25 index renders them.
const SNIPPET_CHARS: usize = 220;
/// Longest query text highlighted (a pasted abstract is plenty).
const MAX_QUERY_BYTES: usize = 4096;
const ELLIPSIS: &str = "…";

/// Renders titles and snippets for one query.
pub(crate) struct Highlighter {
    title: SnippetGenerator,
    abstract_text: SnippetGenerator,
}

impl Highlighter {
    pub(crate) fn new(
        index: &Index,
        searcher: &Searcher,
        query: &str,
    ) -> Result<Self, SearchError> {
        let schema = index.schema();
        let field = |name: &str| {
            schema
                .get_field(name)
                .map_err(|e| SearchError::Index(e.to_string()))
        };
        let (title, abstract_text) = (field(bm25::TITLE)?, field(bm25::ABSTRACT)?);
        let parser = QueryParser::for_index(index, vec![title, abstract_text]);
        let (query, _errors) = parser.parse_query_lenient(clip(query, MAX_QUERY_BYTES));
        Ok(Highlighter {
            title: SnippetGenerator::create(searcher, &*query, title)?,
            abstract_text: SnippetGenerator::create(searcher, &*query, abstract_text)?,
        })
    }

    /// The whole title with the query's words marked.
    pub(crate) fn title(&mut self, title: &str) -> String {
        // One fragment as long as the title, so highlight offsets are offsets into it.
        self.title.set_max_num_chars(title.len() + 1);
        let snippet = self.title.snippet(title);
        if snippet.fragment_range().start != 0 {
            return escape(title);
        }
        render_marked(title, snippet.highlighted())
    }

    /// The best-matching stretch of the abstract, or its beginning when no word matches.
    pub(crate) fn abstract_snippet(&mut self, text: &str) -> String {
        self.abstract_text.set_max_num_chars(SNIPPET_CHARS);
        let snippet = self.abstract_text.snippet(text);
        let range: Range<usize> = snippet.fragment_range();
        let Some(fragment) = text.get(range.clone()) else {
            return leading_excerpt(text, SNIPPET_CHARS);
        };
        if snippet.highlighted().is_empty() {
            return leading_excerpt(text, SNIPPET_CHARS);
        }
        let mut out = String::new();
        if range.start > 0 {
            out.push_str(ELLIPSIS);
        }
        out.push_str(&render_marked(fragment, snippet.highlighted()));
        if range.end < text.len() {
            out.push_str(ELLIPSIS);
        }
        out
    }
}

/// The first `max_chars` characters of `text`, cut at a word boundary, escaped.
fn leading_excerpt(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    let end = text.char_indices().nth(max_chars).map(|(i, _)| i);
    match end {
        None => escape(text),
        Some(end) => {
            let cut = text[..end]
                .rfind(char::is_whitespace)
                .filter(|&c| c > 0)
                .unwrap_or(end);
            let mut out = escape(text[..cut].trim_end());
            out.push_str(ELLIPSIS);
            out
        }
    }
}

fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_excerpt_escapes_and_cuts_at_words() {
        assert_eq!(leading_excerpt("a <b> & c", 100), "a &lt;b&gt; &amp; c");
        let long = "word ".repeat(100);
        let out = leading_excerpt(&long, 12);
        assert_eq!(out, "word word…");
        assert_eq!(leading_excerpt("ééééé", 2), "éé…");
    }

    #[test]
    fn clip_respects_char_boundaries() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("abc", 10), "abc");
    }
}
