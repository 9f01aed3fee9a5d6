//! Whitespace normalisation for metadata text.
//!
//! arXiv hard-wraps titles and abstracts (`\n  ` inside a title, `\n` every ~80 columns in an
//! abstract). Stored text is unwrapped so that display, snippets and search see sentences;
//! paragraph breaks in abstracts survive as a blank line (`\n\n`). Every function here is idempotent,
//! so normalising already-normalised text (a re-import of an export) changes nothing.

/// Collapses every run of whitespace (including newlines) to one space and trims.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Unwraps an abstract: lines are joined with spaces, while a blank line or a line that starts
/// with indentation (arXiv's paragraph convention) starts a new paragraph. Paragraphs are
/// separated by a blank line, which this function reads back as a paragraph break.
pub fn normalize_abstract(s: &str) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, line) in s.trim().lines().enumerate() {
        let starts_paragraph = i > 0 && (line.trim().is_empty() || line.starts_with([' ', '\t']));
        if starts_paragraph && !current.is_empty() {
            paragraphs.push(std::mem::take(&mut current));
        }
        for word in line.split_whitespace() {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs.join("\n\n")
}

/// Empty or whitespace-only strings become `None`; the rest is trimmed and collapsed.
pub fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(collapse_whitespace).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unwraps_real_abstract() {
        let raw = "  We study the\nproblem of X.\n  In a second paragraph\nwe do Y.\n";
        assert_eq!(
            normalize_abstract(raw),
            "We study the problem of X.\n\nIn a second paragraph we do Y."
        );
    }

    #[test]
    fn hard_wrapped_title() {
        assert_eq!(
            collapse_whitespace(
                "Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies"
            ),
            "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
        );
    }

    proptest! {
        #[test]
        fn abstract_normalisation_is_idempotent(s in "[a-z \\n\\t.]{0,200}") {
            let once = normalize_abstract(&s);
            prop_assert_eq!(normalize_abstract(&once), once.clone());
        }

        #[test]
        fn collapse_is_idempotent(s in "\\PC{0,100}") {
            let once = collapse_whitespace(&s);
            prop_assert_eq!(collapse_whitespace(&once), once.clone());
        }
    }
}
