//! Finding a query's terms in a shown text: the best fragment of an abstract, the matches
//! in a title.
//!
//! tantivy's `SnippetGenerator` copies every word into a token, runs the whole English
//! analyzer over it and looks it up again after lowercasing: under load that was most of the
//! highlighting cost, itself a quarter of a hybrid search's CPU time. Here words are cut
//! without copying, and only the few that can stem to a query term (see [`StemGate`]) go
//! through the analyzer. Fragments are chosen as tantivy chooses them: windows of at most
//! `max_bytes` that start at a word, scored by the weights of the terms they hold, the
//! earliest of the best.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use tantivy::tokenizer::TextAnalyzer;

use super::schema::{self, MAX_TOKEN_BYTES, StemGate};

/// Marks the words of a text that analyze to one of a query's terms.
pub(crate) struct Marker {
    /// Analyzed term → weight when choosing a fragment (rarer terms weigh more).
    terms: BTreeMap<String, f32>,
    gate: StemGate,
    english: TextAnalyzer,
    /// Words let through the gate, analyzed: a query's hits share much of their wording.
    seen: HashMap<String, Option<f32>>,
}

/// A stretch of text and the query terms in it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fragment {
    /// Byte range in the text.
    pub range: Range<usize>,
    /// Matched words, as byte ranges relative to `range.start`.
    pub marks: Vec<Range<usize>>,
    score: f32,
}

impl Marker {
    /// A marker for `terms` (analyzed by the English analyzer) and their weights.
    pub(crate) fn new(terms: BTreeMap<String, f32>) -> Self {
        let gate = StemGate::for_terms(terms.keys().map(String::as_str));
        Marker {
            terms,
            gate,
            english: schema::english_analyzer(),
            seen: HashMap::new(),
        }
    }

    /// The weight of the term `word` analyzes to, if that is a query term.
    fn weight(&mut self, word: &str) -> Option<f32> {
        if !self.gate.lets_through(word) {
            return None;
        }
        if let Some(&known) = self.seen.get(word) {
            return known;
        }
        let mut weight = None;
        let mut stream = self.english.token_stream(word);
        while stream.advance() {
            if let Some(&w) = self.terms.get(&stream.token().text) {
                weight = Some(w);
                break;
            }
        }
        self.seen.insert(word.to_string(), weight);
        weight
    }

    /// The best window of at most `max_bytes` bytes holding query terms, if any word of
    /// `text` is one.
    pub(crate) fn best_fragment(&mut self, text: &str, max_bytes: usize) -> Option<Fragment> {
        let mut best: Option<Fragment> = None;
        let mut current = Fragment {
            range: 0..0,
            marks: Vec::new(),
            score: 0.0,
        };
        for word in Words::new(text) {
            if word.end - current.range.start > max_bytes {
                let next = Fragment {
                    range: word.start..word.start,
                    marks: Vec::new(),
                    score: 0.0,
                };
                keep_better(&mut best, std::mem::replace(&mut current, next));
            }
            current.range.end = word.end;
            if let Some(w) = self.weight(&text[word.clone()]) {
                current.score += w;
                current.marks.push(word);
            }
        }
        keep_better(&mut best, current);
        let mut best = best?;
        let start = best.range.start;
        for m in &mut best.marks {
            *m = m.start - start..m.end - start;
        }
        Some(best)
    }
}

/// Keeps `candidate` if it scores higher than `best` (on a tie the earlier one stays).
fn keep_better(best: &mut Option<Fragment>, candidate: Fragment) {
    if candidate.score > 0.0 && best.as_ref().is_none_or(|b| candidate.score > b.score) {
        *best = Some(candidate);
    }
}

/// The byte ranges of the words the English analyzer sees, before lowercasing: runs of
/// letters and digits (tantivy's `SimpleTokenizer`) of two characters or more and fewer
/// than [`MAX_TOKEN_BYTES`] bytes.
struct Words<'a> {
    text: &'a str,
    /// Byte offset of the next character to look at.
    at: usize,
}

impl<'a> Words<'a> {
    fn new(text: &'a str) -> Self {
        Words { text, at: 0 }
    }
}

impl Iterator for Words<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let bytes = self.text.as_bytes();
        loop {
            let start = self.skip(bytes, false)?;
            let end = self.skip(bytes, true).unwrap_or(bytes.len());
            let len = end - start;
            if len < MAX_TOKEN_BYTES && (len >= 8 || self.text[start..end].chars().count() >= 2) {
                return Some(start..end);
            }
        }
    }
}

impl Words<'_> {
    /// Moves past characters that are (`inside`) or are not letters and digits, returning
    /// the offset of the first one that is not, if any. ASCII is checked byte by byte:
    /// abstracts are almost all ASCII, and decoding every character was most of the cost.
    fn skip(&mut self, bytes: &[u8], inside: bool) -> Option<usize> {
        while self.at < bytes.len() {
            let b = bytes[self.at];
            let (alnum, width) = if b.is_ascii() {
                (b.is_ascii_alphanumeric(), 1)
            } else {
                let c = self.text[self.at..].chars().next()?;
                (c.is_alphanumeric(), c.len_utf8())
            };
            if alnum != inside {
                return Some(self.at);
            }
            self.at += width;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::TokenStream;

    fn marker(terms: &[(&str, f32)]) -> Marker {
        Marker::new(terms.iter().map(|(t, w)| (t.to_string(), *w)).collect())
    }

    /// The words are exactly the tokens the English analyzer's first filters keep.
    #[test]
    fn words_are_the_analyzers_words() {
        let fixture = include_str!("../../tests/fixtures/bm25/listings-151.jsonl");
        let mut raw = TextAnalyzer::builder(tantivy::tokenizer::SimpleTokenizer::default())
            .filter(tantivy::tokenizer::RemoveLongFilter::limit(MAX_TOKEN_BYTES))
            .filter(schema::MinCharsFilter(2))
            .build();
        let extra = "a b é ég x2 e.g. ΣΑΣ naïve 3D";
        for text in fixture.lines().chain([extra, "", "  ", "ab"]) {
            let mut want = Vec::new();
            let mut stream = raw.token_stream(text);
            while stream.advance() {
                want.push(stream.token().offset_from..stream.token().offset_to);
            }
            assert_eq!(Words::new(text).collect::<Vec<_>>(), want, "{text:?}");
        }
    }

    #[test]
    fn marks_the_words_that_stem_to_a_term() {
        let mut m = marker(&[("network", 1.0), ("die", 0.5)]);
        let text = "Dying networks, the Network of cats and dice";
        let f = m.best_fragment(text, text.len() + 1).unwrap();
        assert_eq!(f.range, 0..text.len());
        let marked: Vec<&str> = f.marks.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(marked, ["Dying", "networks", "Network"]);
        assert_eq!(marker(&[("zebra", 1.0)]).best_fragment(text, 100), None);
        assert_eq!(marker(&[]).best_fragment(text, 100), None);
    }

    #[test]
    fn picks_the_heaviest_window_and_the_earliest_of_equals() {
        let text = "alpha beta gamma delta alpha epsilon gamma alpha";
        // 16-byte windows: "alpha beta gamma", "delta alpha", "epsilon gamma", "alpha".
        let mut m = marker(&[("alpha", 1.0), ("gamma", 0.25)]);
        let f = m.best_fragment(text, 16).unwrap();
        assert_eq!(&text[f.range.clone()], "alpha beta gamma");
        assert_eq!(f.marks, [0..5, 11..16]);
        let mut m = marker(&[("gamma", 1.0)]);
        let f = m.best_fragment(text, 16).unwrap();
        assert_eq!(&text[f.range.clone()], "alpha beta gamma");
        let mut m = marker(&[("epsilon", 1.0)]);
        let f = m.best_fragment(text, 16).unwrap();
        assert_eq!(&text[f.range.clone()], "epsilon gamma");
        assert_eq!(f.marks, vec![0..7]);
    }
}
