//! Highlighted HTML for titles and abstract snippets.
//!
//! Abstracts hold raw `<`, `>`, `&` and LaTeX, and titles are whatever submitters typed, so
//! every byte of text is escaped here and the `<mark>` tags are the only markup produced.
//! Highlights come from a [`Marker`] as byte ranges.

use std::ops::Range;

use super::snippet::Marker;

/// Opening tag around a matched word.
pub const MARK_OPEN: &str = "<mark>";
/// Closing tag around a matched word.
pub const MARK_CLOSE: &str = "</mark>";
/// Longest abstract snippet, in characters (before escaping).
pub const SNIPPET_CHARS: usize = 220;

const ELLIPSIS: &str = "…";

/// Appends `text` to `out` with `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

/// `text` escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    escape_into(&mut out, text);
    out
}

/// Renders `text` with the byte `ranges` wrapped in `<mark>` and everything else escaped.
/// Ranges may overlap, touch, be unsorted or fall outside `text`; ranges that do not sit on
/// character boundaries are dropped rather than trusted.
pub fn render_marked(text: &str, ranges: &[Range<usize>]) -> String {
    let mut spans: Vec<Range<usize>> = ranges
        .iter()
        .filter(|r| {
            r.start < r.end
                && r.end <= text.len()
                && text.is_char_boundary(r.start)
                && text.is_char_boundary(r.end)
        })
        .cloned()
        .collect();
    spans.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for r in spans {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    let mut out = String::with_capacity(text.len() + merged.len() * 13 + 16);
    let mut at = 0;
    for r in merged {
        escape_into(&mut out, &text[at..r.start]);
        out.push_str(MARK_OPEN);
        escape_into(&mut out, &text[r.clone()]);
        out.push_str(MARK_CLOSE);
        at = r.end;
    }
    escape_into(&mut out, &text[at..]);
    out
}

/// The whole title with the query's title terms marked.
pub(crate) fn title_html(title: &str, marker: &mut Marker) -> String {
    // One fragment as long as the title, so mark offsets are offsets into the title.
    match marker.best_fragment(title, title.len() + 1) {
        Some(f) if f.range.start == 0 => render_marked(title, &f.marks),
        _ => escape(title),
    }
}

/// The best-matching stretch of the abstract with the query's abstract terms marked, or its
/// beginning when no term matched there (the paper matched on title or authors).
pub(crate) fn abstract_html(text: &str, marker: &mut Marker) -> String {
    let Some(fragment) = marker.best_fragment(text, SNIPPET_CHARS) else {
        return leading_excerpt(text, SNIPPET_CHARS);
    };
    let range = fragment.range;
    let mut out = String::new();
    if range.start > 0 {
        out.push_str(ELLIPSIS);
    }
    out.push_str(&render_marked(&text[range.clone()], &fragment.marks));
    if range.end < text.len() {
        out.push_str(ELLIPSIS);
    }
    out
}

/// The first `max_chars` characters of `text`, cut at a word boundary, escaped.
pub(crate) fn leading_excerpt(text: &str, max_chars: usize) -> String {
    let end = text
        .char_indices()
        .nth(max_chars)
        .map_or(text.len(), |(i, _)| i);
    if end == text.len() {
        return escape(text);
    }
    let cut = text[..end]
        .rfind(char::is_whitespace)
        .filter(|&i| i > 0)
        .unwrap_or(end);
    let mut out = escape(text[..cut].trim_end());
    out.push_str(ELLIPSIS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    // One-element lists of highlight ranges are table rows, not ranges meant as a Vec.
    #[allow(clippy::single_range_in_vec_init)]
    fn escapes_everything_but_marks() {
        let cases: &[(&str, &[Range<usize>], &str)] = &[
            ("a<b>&c", &[], "a&lt;b&gt;&amp;c"),
            (
                "<script>x</script>",
                &[8..9],
                "&lt;script&gt;<mark>x</mark>&lt;/script&gt;",
            ),
            (
                "say \"hi\" 'x'",
                &[0..3],
                "<mark>say</mark> &quot;hi&quot; &#39;x&#39;",
            ),
            // overlapping, touching and unsorted ranges merge
            ("abcdef", &[3..5, 0..2, 1..3], "<mark>abcde</mark>f"),
            ("ab cd", &[3..5, 0..2], "<mark>ab</mark> <mark>cd</mark>"),
            // out of bounds and inside a multi-byte char: dropped
            ("é<", &[1..2, 0..9], "é&lt;"),
            ("", &[0..1], ""),
        ];
        for (text, ranges, want) in cases {
            assert_eq!(render_marked(text, ranges), *want, "{text:?} {ranges:?}");
        }
    }

    #[test]
    fn leading_excerpt_cuts_at_words() {
        assert_eq!(leading_excerpt("short & sweet", 50), "short &amp; sweet");
        assert_eq!(leading_excerpt("one two three", 9), "one two…");
        assert_eq!(leading_excerpt("abcdefghij", 4), "abcd…");
    }

    /// Removes the marks and unescapes: what is left must be the input, so nothing was lost
    /// and no markup other than `<mark>` was emitted.
    fn strip(html: &str) -> String {
        html.replace(MARK_OPEN, "")
            .replace(MARK_CLOSE, "")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    proptest! {
        #[test]
        fn render_round_trips(text in "\\PC{0,40}", ranges in proptest::collection::vec((0usize..50, 0usize..50), 0..5)) {
            let ranges: Vec<Range<usize>> = ranges.into_iter().map(|(a, b)| a..b).collect();
            let html = render_marked(&text, &ranges);
            prop_assert_eq!(strip(&html), text);
            let without_marks = html.replace(MARK_OPEN, "").replace(MARK_CLOSE, "");
            prop_assert!(!without_marks.contains('<') && !without_marks.contains('>'));
        }
    }
}
