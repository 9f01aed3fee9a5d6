//! Authors as an ordered list, from every shape arXiv metadata spells them in.
//!
//! - A single string, `"A. One, B. Two and C. Three"`, possibly with affiliations in
//!   parentheses (`"C. Bal\'azs (Michigan State), E. Berger"`): [`parse_author_list`].
//! - Kaggle's `authors_parsed`, `[["Bal\'azs", "C.", ""], ...]` (last, first, suffix):
//!   [`Author::from_parts`].
//! - One XML element per author (OAI `arXiv`, Atom): [`Author::new`].
//!
//! Every name goes through [`decode_latex`] and whitespace collapsing, so the same person
//! looks the same whichever source they came from.

use serde::{Deserialize, Serialize};

use crate::latex::decode_latex;
use crate::text::collapse_whitespace;

/// One author of a paper, in the order the paper lists them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Author {
    /// Display name, "Given Family Suffix", LaTeX decoded.
    pub name: String,
    /// Affiliations, when the source gives them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affiliations: Vec<String>,
}

impl Author {
    /// An author from a display name (LaTeX decoded, whitespace collapsed).
    pub fn new(name: &str) -> Self {
        Author {
            name: clean_name(name),
            affiliations: Vec::new(),
        }
    }

    /// An author from `[family, given, suffix]` parts as in Kaggle's `authors_parsed`.
    pub fn from_parts(family: &str, given: &str, suffix: &str) -> Self {
        let joined = [given, family, suffix]
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Author::new(&joined)
    }

    /// Adds affiliations, cleaned, skipping empty ones.
    pub fn with_affiliations<I, S>(mut self, affiliations: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.affiliations.extend(
            affiliations
                .into_iter()
                .map(|a| clean_name(a.as_ref()))
                .filter(|a| !a.is_empty()),
        );
        self
    }
}

fn clean_name(s: &str) -> String {
    let decoded = decode_latex(s);
    let collapsed = collapse_whitespace(&decoded);
    collapsed
        .trim_matches(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .to_string()
}

/// Suffixes that a comma separates from the name they belong to (`John Smith, Jr.`).
fn is_suffix(s: &str) -> bool {
    matches!(
        s.trim().trim_end_matches('.').to_ascii_lowercase().as_str(),
        "jr" | "sr" | "ii" | "iii" | "iv"
    )
}

/// Splits an author string at top-level commas, semicolons and the word `and`, keeping
/// parenthesised affiliations with their author.
pub fn parse_author_list(input: &str) -> Vec<Author> {
    let text = collapse_whitespace(input);
    let mut pieces: Vec<String> = Vec::new();
    let mut depth = 0i32;
    let mut brace = 0i32;
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '(' => depth += 1,
            ')' => depth = (depth - 1).max(0),
            '{' => brace += 1,
            '}' => brace = (brace - 1).max(0),
            _ => {}
        }
        let top = depth == 0 && brace == 0;
        if top && (c == ',' || c == ';') {
            pieces.push(std::mem::take(&mut current));
            i += 1;
            continue;
        }
        if top && c == ' ' && word_at(&chars, i + 1, "and") {
            pieces.push(std::mem::take(&mut current));
            i += 4; // " and"
            continue;
        }
        current.push(c);
        i += 1;
    }
    pieces.push(current);

    let mut authors: Vec<Author> = Vec::new();
    for piece in pieces {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        if is_suffix(piece)
            && let Some(last) = authors.last_mut()
        {
            last.name = format!("{} {}", last.name, piece.trim());
            continue;
        }
        let (name, affiliations) = split_affiliations(piece);
        let author = Author::new(&name).with_affiliations(affiliations);
        if !author.name.is_empty() {
            authors.push(author);
        }
    }
    authors
}

/// True when `word` stands at `chars[at..]` followed by a space or the end.
fn word_at(chars: &[char], at: usize, word: &str) -> bool {
    let w: Vec<char> = word.chars().collect();
    if at + w.len() > chars.len() {
        return false;
    }
    chars[at..at + w.len()] == w[..] && chars.get(at + w.len()).is_none_or(|c| *c == ' ')
}

/// `"C. Balazs (Michigan State U.; Argonne)"` → (`"C. Balazs"`, [`"Michigan State U."`, `"Argonne"`]).
fn split_affiliations(piece: &str) -> (String, Vec<String>) {
    let mut name = String::new();
    let mut affiliations = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in piece.chars() {
        match c {
            '(' => {
                if depth > 0 {
                    current.push(c);
                }
                depth += 1;
            }
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    affiliations.extend(
                        current
                            .split(';')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty()),
                    );
                    current.clear();
                } else {
                    current.push(c);
                }
            }
            _ if depth > 0 => current.push(c),
            _ => name.push(c),
        }
    }
    if depth > 0 {
        // An unclosed parenthesis: keep the text in the name rather than lose it.
        name.push('(');
        name.push_str(&current);
    }
    (name, affiliations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(input: &str) -> Vec<String> {
        parse_author_list(input)
            .into_iter()
            .map(|a| a.name)
            .collect()
    }

    #[test]
    fn splits_author_strings() {
        let cases: &[(&str, &[&str])] = &[
            ("A. One", &["A. One"]),
            ("A. One and B. Two", &["A. One", "B. Two"]),
            (
                "A. One, B. Two and C. Three",
                &["A. One", "B. Two", "C. Three"],
            ),
            (
                "A. One, B. Two, and C. Three",
                &["A. One", "B. Two", "C. Three"],
            ),
            (
                "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan",
                &["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"],
            ),
            ("John Smith, Jr., Mary Doe", &["John Smith Jr.", "Mary Doe"]),
            (
                "Alexander Andrews, Sandra Anderson",
                &["Alexander Andrews", "Sandra Anderson"],
            ),
            ("ATLAS Collaboration", &["ATLAS Collaboration"]),
            ("Anna Ng;  Bo Li", &["Anna Ng", "Bo Li"]),
            (
                "Louis-Philippe Morency and\n  Ruslan Salakhutdinov",
                &["Louis-Philippe Morency", "Ruslan Salakhutdinov"],
            ),
            ("", &[]),
        ];
        for (input, want) in cases {
            assert_eq!(names(input), *want, "authors of {input:?}");
        }
    }

    #[test]
    fn keeps_affiliations() {
        let authors =
            parse_author_list("A. One (MIT; Harvard, Cambridge), B. Two (Oxford) and C. Three");
        assert_eq!(authors.len(), 3);
        assert_eq!(authors[0].name, "A. One");
        assert_eq!(authors[0].affiliations, vec!["MIT", "Harvard, Cambridge"]);
        assert_eq!(authors[1].affiliations, vec!["Oxford"]);
        assert!(authors[2].affiliations.is_empty());
    }

    #[test]
    fn from_parts_orders_given_family_suffix() {
        assert_eq!(Author::from_parts("Bal\\'azs", "C.", "").name, "C. Balázs");
        assert_eq!(
            Author::from_parts("Evans", "Neal J.", "II").name,
            "Neal J. Evans II"
        );
        assert_eq!(
            Author::from_parts("Collaboration", "", "").name,
            "Collaboration"
        );
    }

    #[test]
    fn names_with_and_inside_are_not_split() {
        assert_eq!(names("Alexandra Anderson"), vec!["Alexandra Anderson"]);
        assert_eq!(
            names("Sandy Andrade, Ray Band"),
            vec!["Sandy Andrade", "Ray Band"]
        );
    }
}
