//! Turning what users type into tantivy queries.
//!
//! Plain text (no field prefixes, quotes, brackets or operators; most queries, and every
//! long query-by-example) becomes one flat union of boosted terms over title, abstract and
//! authors, a [`TermUnion`], which ranks faster than tantivy's scorers would (see
//! [`super::union`]). Text with syntax goes through tantivy's [`QueryParser`] leniently, so
//! a stray quote or bracket never fails a search; when leniency leaves nothing to search
//! for, the words are searched as plain text.

use std::collections::HashMap;
use std::ops::Bound;

use chrono::NaiveDate;
use paperfeed_core::Category;
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, Occur, Query, QueryParser, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DateTime, Term};
use tantivy::{Index, Searcher};

use super::schema::{self, Fields};
use super::union::TermUnion;
use crate::SearchError;

/// Longest query text searched; the rest is ignored (a pasted paper is plenty).
pub const MAX_QUERY_BYTES: usize = 16 * 1024;
/// Most distinct words of one field a plain-text query searches for.
pub const MAX_QUERY_TERMS: usize = 512;
/// Queries of more words than this are pasted text (an abstract), searched as plain words
/// whatever punctuation they contain.
pub const LONG_QUERY_WORDS: usize = 40;
/// In queries of more words than this, quotation marks are quotation, not phrase syntax:
/// people describe what they want in sentences that quote titles and terms ("type correct").
/// Measured on CACM's ad-hoc queries: 0.530 nDCG@10 read as words, 0.522 as phrases.
pub const QUOTATION_WORDS: usize = 12;

/// A query word found in more than this share of titles and abstracts is a topic word, not
/// a name: a plain query does not look for it among authors. Without this, "large language
/// model reasoning benchmark" ranked first a paper by an author named Model, whose name is
/// rare among authors (a huge author-field IDF) and irrelevant; surnames (li, wang, hinton)
/// are far below 0.5% of abstracts. `au:` still matches any word.
pub const TOPIC_WORD_SHARE: f64 = 0.005;

/// How much a match in each field counts: the BM25 scores of the fields are multiplied by
/// these and summed. A weight of 0 leaves the field out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldWeights {
    /// Title and abstract as one field.
    pub text: f32,
    /// Title, on top of its share of `text`.
    pub title: f32,
    /// Abstract, on top of its share of `text` (both are the `abs` field, so this adds to
    /// `text`).
    pub abstract_text: f32,
    /// Author names.
    pub authors: f32,
}

/// The weights of the two kinds of query, chosen by measuring nDCG@10 with
/// `examples/bm25_eval.rs` (numbers on the dev splits, tantivy 0.27):
///
/// - typed queries ([`Bm25Index::search`](super::Bm25Index::search),
///   [`Bm25Index::ranked_ids`](super::Bm25Index::ranked_ids)), measured on CACM's ad-hoc
///   queries: `text` alone scores 0.530; adding the title at 0.25, 0.5 or 1 scores 0.507,
///   0.497, 0.468, and separate title and abstract fields (2:1) 0.460. The title is already
///   part of `text`, so an exact title still ranks its paper first (and is pinned).
/// - query-by-example ([`Bm25Index::similar`](super::Bm25Index::similar)), measured on
///   CSFCube (a paper's title and abstract as the query): `text` alone scores 0.501, with the
///   title at 0.5 0.529, at 1 0.544 (bm25s: 0.508).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// For typed queries.
    pub query: FieldWeights,
    /// For similar-by-text.
    pub similar: FieldWeights,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            query: FieldWeights {
                text: 1.0,
                title: 0.0,
                abstract_text: 0.0,
                authors: 1.0,
            },
            similar: FieldWeights {
                text: 1.0,
                title: 1.0,
                abstract_text: 0.0,
                authors: 0.0,
            },
        }
    }
}

/// Restrictions on which papers match, whatever the query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Earliest date (inclusive) of the paper's date (published, else listing date).
    pub from: Option<NaiveDate>,
    /// Latest date (inclusive).
    pub to: Option<NaiveDate>,
    /// Category codes or archives (`cs.CL`, `cs`), any of which must match; empty: any.
    pub categories: Vec<String>,
}

impl Filters {
    /// True when nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.from.is_none() && self.to.is_none() && self.categories.is_empty()
    }
}

/// What a user's text becomes.
pub(crate) enum UserQuery {
    /// Plain words (most queries): a flat union of terms, ranked by [`TermUnion::top`].
    Terms(TermUnion),
    /// Text with syntax (fields, phrases, operators), or no text: a tantivy query.
    Parsed(Box<dyn Query>),
}

impl UserQuery {
    /// The query as tantivy's.
    pub(crate) fn query(&self) -> Box<dyn Query> {
        match self {
            UserQuery::Terms(union) => union.query(),
            UserQuery::Parsed(query) => query.box_clone(),
        }
    }
}

/// Builds queries for one index.
pub(crate) struct QueryBuilder {
    fields: Fields,
    weights: Weights,
    parser: QueryParser,
    english: TextAnalyzer,
    names: TextAnalyzer,
    /// Fast fields of the schema: the only ones `field:*` (exists) works on.
    known_fields: Vec<String>,
}

impl std::fmt::Debug for QueryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryBuilder")
            .field("weights", &self.weights)
            .finish_non_exhaustive()
    }
}

impl QueryBuilder {
    pub(crate) fn new(index: &Index, fields: Fields, weights: Weights) -> Self {
        // `abs` holds title and abstract, so the abstract's own weight goes to it.
        let typed = weights.query;
        let weighted = [
            (fields.text, typed.text + typed.abstract_text),
            (fields.title, typed.title),
            (fields.authors, typed.authors),
        ];
        let defaults: Vec<Field> = weighted
            .iter()
            .filter(|(_, w)| *w > 0.0)
            .map(|(f, _)| *f)
            .collect();
        let mut parser = QueryParser::for_index(index, defaults);
        for (field, weight) in weighted {
            if weight > 0.0 {
                parser.set_field_boost(field, weight);
            }
        }
        QueryBuilder {
            fields,
            weights,
            parser,
            english: schema::english_analyzer(),
            names: schema::name_analyzer(),
            known_fields: index
                .schema()
                .fields()
                .filter(|(_, entry)| entry.is_fast())
                .map(|(_, entry)| entry.name().to_string())
                .collect(),
        }
    }

    pub(crate) fn weights(&self) -> Weights {
        self.weights
    }

    /// The query for what a user typed. Empty text matches every paper. `searcher` tells
    /// names from topic words (see [`TOPIC_WORD_SHARE`]).
    pub(crate) fn user_query(&self, text: &str, searcher: &Searcher) -> UserQuery {
        let text = clip(text);
        if text.trim().is_empty() {
            return UserQuery::Parsed(Box::new(AllQuery));
        }
        let words = text.split_whitespace().count();
        if words > LONG_QUERY_WORDS {
            // Pasted text (a paper's title and abstract): weighted like similar-by-text,
            // which measured best for it (CSFCube nDCG@10 0.544 against 0.501).
            return UserQuery::Terms(self.plain_text(text, self.weights.similar, Some(searcher)));
        }
        if !has_syntax(text, words > QUOTATION_WORDS) {
            return UserQuery::Terms(self.plain_text(text, self.weights.query, Some(searcher)));
        }
        let unquoted;
        let text = if words > QUOTATION_WORDS {
            unquoted = text.replace('"', " ");
            unquoted.as_str()
        } else {
            text
        };
        let text = without_unknown_exists(text, &self.known_fields);
        let (query, _errors) = self.parser.parse_query_lenient(&text);
        let mut terms = 0usize;
        query.query_terms(&mut |_, _| terms += 1);
        if terms == 0 {
            // Leniency dropped everything (`((`, `ti:`, `AND OR`): search the words.
            return UserQuery::Terms(self.plain_text(&text, self.weights.query, Some(searcher)));
        }
        UserQuery::Parsed(query)
    }

    /// The query for text to find papers similar to (a title and abstract).
    pub(crate) fn similar_text(&self, text: &str) -> TermUnion {
        self.plain_text(text, self.weights.similar, None)
    }

    /// A flat disjunction of the text's words over the weighted fields, each word weighted by
    /// how often it occurs in the text, so a pasted abstract weighs its own key terms.
    fn plain_text(
        &self,
        text: &str,
        weights: FieldWeights,
        searcher: Option<&Searcher>,
    ) -> TermUnion {
        let text = clip(text);
        let mut union = TermUnion::default();
        let english = counted_terms(&mut self.english.clone(), text);
        for (term, count) in &english {
            let qtf = *count as f32;
            for (field, weight) in [
                (self.fields.text, weights.text + weights.abstract_text),
                (self.fields.title, weights.title),
            ] {
                if weight > 0.0 {
                    union.push(Term::from_field_text(field, term), weight * qtf);
                }
            }
        }
        if weights.authors > 0.0 {
            for (term, count) in counted_terms(&mut self.names.clone(), text) {
                if searcher.is_some_and(|s| self.is_topic_word(s, &term)) {
                    continue;
                }
                union.push(
                    Term::from_field_text(self.fields.authors, &term),
                    weights.authors * count as f32,
                );
            }
        }
        union
    }

    /// True when `name_token` (a lowercased word of the query, as the author field holds
    /// it) is a topic word rather than a name: its stem is in more than
    /// [`TOPIC_WORD_SHARE`] of the papers' titles and abstracts.
    fn is_topic_word(&self, searcher: &Searcher, name_token: &str) -> bool {
        let docs = searcher.num_docs();
        if docs == 0 {
            return false;
        }
        let mut english = self.english.clone();
        let mut stream = english.token_stream(name_token);
        let Some(stem) = stream.next().map(|t| t.text.clone()) else {
            // A stop word: never a name worth matching on its own.
            return true;
        };
        let df = searcher
            .doc_freq(&Term::from_field_text(self.fields.text, &stem))
            .unwrap_or(0);
        df as f64 > docs as f64 * TOPIC_WORD_SHARE
    }

    /// The query matching papers that pass `filters`, scoring zero, or `None` when there is
    /// nothing to filter.
    pub(crate) fn filter_query(
        &self,
        filters: &Filters,
    ) -> Result<Option<Box<dyn Query>>, SearchError> {
        if let (Some(from), Some(to)) = (filters.from, filters.to)
            && from > to
        {
            return Err(SearchError::Query(format!(
                "date range is empty: from {from} is after to {to}"
            )));
        }
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if filters.from.is_some() || filters.to.is_some() {
            let lower = match filters.from {
                Some(d) => Bound::Included(self.date_term(d)),
                None => Bound::Unbounded,
            };
            let upper = match filters.to.and_then(|d| d.succ_opt()) {
                Some(next) => Bound::Excluded(self.date_term(next)),
                None => Bound::Unbounded,
            };
            must.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        if !filters.categories.is_empty() {
            let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for code in &filters.categories {
                let cat = Category::parse(code).map_err(|_| {
                    SearchError::Query(format!("not an arXiv category: {:?}", clip_chars(code, 40)))
                })?;
                let term =
                    Term::from_field_text(self.fields.categories, &cat.as_str().to_lowercase());
                any.push((
                    Occur::Should,
                    Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                ));
            }
            must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if must.is_empty() {
            return Ok(None);
        }
        Ok(Some(Box::new(ConstScoreQuery::new(
            Box::new(BooleanQuery::new(must)),
            0.0,
        ))))
    }

    fn date_term(&self, day: NaiveDate) -> Term {
        Term::from_field_date(self.fields.date, day_start(day))
    }
}

/// `main` restricted to `filter` (which scores zero), or `main` alone.
pub(crate) fn restrict(main: Box<dyn Query>, filter: Option<Box<dyn Query>>) -> Box<dyn Query> {
    match filter {
        None => main,
        Some(filter) => Box::new(BooleanQuery::new(vec![
            (Occur::Must, main),
            (Occur::Must, filter),
        ])),
    }
}

/// Midnight UTC at the start of `day`.
pub(crate) fn day_start(day: NaiveDate) -> DateTime {
    DateTime::from_timestamp_secs(day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp())
}

/// Distinct terms of `text` under `analyzer`, with their counts, in first-seen order.
fn counted_terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(String, usize)> {
    let mut order: Vec<(String, usize)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        if let Some(&i) = index.get(&token.text) {
            order[i].1 += 1;
        } else if order.len() < MAX_QUERY_TERMS {
            index.insert(token.text.clone(), order.len());
            order.push((token.text.clone(), 1));
        }
    }
    order
}

/// Field names users may prefix a word with.
const QUERY_FIELDS: &[&str] = &[
    schema::TITLE,
    schema::ABSTRACT,
    schema::AUTHORS,
    schema::CATEGORIES,
    schema::ID,
    schema::DATE,
];

/// True when `text` uses query syntax: a known field prefix, a boost, `+`/`-` before a
/// word, the `AND`/`OR`/`NOT` operators, or quotes (unless `quotes_are_prose`). Colons after
/// other words (`BERT: Pre-training`), hyphens inside or between words, and brackets alone
/// (which only group optional words) are plain text.
/// `text` with the colon of every `field:*` whose field is not a fast field turned into a
/// space. The lenient parser drops unknown fields everywhere else, but keeps `field:*` as an
/// exists-query that then fails at search time on an unknown or non-fast field (found by
/// `tests/bm25_fuzz.rs`: `A:*"0`; `ti:*` too).
fn without_unknown_exists<'a>(text: &'a str, known: &[String]) -> std::borrow::Cow<'a, str> {
    let bytes = text.as_bytes();
    // `field:*`, and `field: *`: the parser skips spaces after the colon (found by the same
    // fuzz test: `a: *'"a`).
    let exists: Vec<usize> = text
        .match_indices(':')
        .map(|(at, _)| at)
        .filter(|&at| bytes[at + 1..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'*'))
        .collect();
    if exists.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for at in exists {
        let start = bytes[..at]
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.'))
            .map_or(0, |p| p + 1);
        if !known.iter().any(|k| k == &text[start..at]) {
            out.replace_range(at..at + 1, " ");
        }
    }
    std::borrow::Cow::Owned(out)
}

pub(crate) fn has_syntax(text: &str, quotes_are_prose: bool) -> bool {
    if text.contains('^') || (!quotes_are_prose && text.contains('"')) {
        return true;
    }
    text.split_whitespace().any(|word| {
        let word = word.trim_start_matches('(');
        let prefixed = word
            .strip_prefix(['+', '-'])
            .and_then(|rest| rest.chars().next())
            .is_some_and(|c| c.is_alphanumeric() || c == '"' || c == '(');
        matches!(word, "AND" | "OR" | "NOT" | "&&" | "||")
            || prefixed
            || word
                .split_once(':')
                .is_some_and(|(field, _)| QUERY_FIELDS.contains(&field))
    })
}

/// The title as compared for exact-title pinning: lowercased, whitespace collapsed, trailing
/// full stop dropped.
pub(crate) fn normalize_title(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    for word in title.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    while out.ends_with('.') {
        out.pop();
    }
    out
}

/// 64-bit FNV-1a of the normalised title. Stable across builds and platforms (unlike std's
/// hasher), which matters because it is stored in the index.
pub(crate) fn title_key(title: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in normalize_title(title).bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// `text` cut to [`MAX_QUERY_BYTES`] at a character boundary.
fn clip(text: &str) -> &str {
    if text.len() <= MAX_QUERY_BYTES {
        return text;
    }
    let mut end = MAX_QUERY_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn clip_chars(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exists_queries_only_on_fast_fields() {
        let fast = vec!["date".to_string(), "id".to_string()];
        let cases = [
            ("A:*\"0", "A *\"0"),
            ("ti:* diffusion", "ti * diffusion"),
            ("date:* x", "date:* x"),
            ("no colon star", "no colon star"),
            ("a:* id:*", "a * id:*"),
            ("a: *'\"a", "a  *'\"a"),
            ("ti:\t * x", "ti \t * x"),
            ("date: *", "date: *"),
            ("BERT: pre-training", "BERT: pre-training"),
        ];
        for (text, want) in cases {
            assert_eq!(without_unknown_exists(text, &fast), want, "{text}");
        }
    }

    #[test]
    fn syntax_detection() {
        let cases = [
            ("graph neural networks", false),
            (
                "BERT: Pre-training of Deep Bidirectional Transformers",
                false,
            ),
            ("state-of-the-art C++ compilers", false),
            ("ti:transformer", true),
            ("au:lecun cat:cs.LG", true),
            ("\"graph neural network\"", true),
            ("diffusion AND video", true),
            ("diffusion -video", true),
            ("+diffusion", true),
            ("(a OR b)", true),
            ("(ti:a b)", true),
            ("TSS (Time Sharing System), an operating system", false),
            ("transformer^2 model", true),
            ("Re: unknown:prefix", false),
            ("distributed algorithms - concurrent programs", false),
            ("a + b", false),
        ];
        for (text, want) in cases {
            assert_eq!(has_syntax(text, false), want, "{text:?}");
        }
        // In long prose, quotes are quotation; operators still count.
        assert!(!has_syntax("when is it \"type correct\"", true));
        assert!(has_syntax("when is it \"type correct\" -java", true));
    }

    #[test]
    fn title_normalisation() {
        let cases = [
            ("Attention Is All You Need", "attention is all you need"),
            (
                "  Attention   is all\nyou need. ",
                "attention is all you need",
            ),
            ("ÉCOLE Normale", "école normale"),
        ];
        for (a, b) in cases {
            assert_eq!(normalize_title(a), b);
        }
        assert_eq!(
            title_key("Attention Is All You Need"),
            title_key(" attention is  ALL you need.")
        );
        assert_ne!(
            title_key("Attention Is All You Need"),
            title_key("Attention Is All You Want")
        );
        // FNV-1a of the empty string is the offset basis: the constant is what it claims.
        assert_eq!(title_key(""), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn clip_respects_char_boundaries() {
        let long = "é".repeat(MAX_QUERY_BYTES);
        let clipped = clip(&long);
        assert!(clipped.len() <= MAX_QUERY_BYTES);
        assert!(clipped.chars().all(|c| c == 'é'));
        assert_eq!(clip("short"), "short");
    }

    #[test]
    fn counted_terms_counts_and_caps() {
        let mut en = schema::english_analyzer();
        assert_eq!(
            counted_terms(&mut en, "networks of networks, the network"),
            [("network".to_string(), 3)]
        );
        let many: String = (0..MAX_QUERY_TERMS + 10)
            .map(|i| format!("w{i} "))
            .collect();
        assert_eq!(counted_terms(&mut en, &many).len(), MAX_QUERY_TERMS);
    }
}
