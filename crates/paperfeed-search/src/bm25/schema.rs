//! The index layout: field names (they double as the query syntax users type), the text
//! analyzers, and the schema version that decides when an on-disk index must be rebuilt.

use rustc_hash::FxHashMap;
use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, INDEXED, IndexRecordOption, STORED, Schema,
    TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
    Token, TokenFilter, TokenStream, Tokenizer, TokenizerManager,
};

/// Bump whenever the schema, an analyzer, or what a field holds changes: an index written
/// with another version is wiped and must be fed again.
pub const SCHEMA_VERSION: u32 = 7;

/// Field name of the canonical arXiv id (raw, stored, fast). `id:2501.12345` works.
pub const ID: &str = "id";
/// Title field name, as typed in queries (`ti:transformer`).
pub const TITLE: &str = "ti";
/// Title and abstract as one text, the main field of every query (`abs:"graph neural
/// network"`). Typed `abs:` therefore also matches title words: indexing the abstract a
/// second time on its own doubled indexing time for that distinction.
pub const ABSTRACT: &str = "abs";
/// The abstract as written, stored only (snippets, [`super::StoredPaper`]).
pub const ABSTRACT_STORED: &str = "abstract";
/// Authors field name (`au:lecun`).
pub const AUTHORS: &str = "au";
/// Categories field name (`cat:cs.CL`, and archive-level `cat:cs`).
pub const CATEGORIES: &str = "cat";
/// Date field name: published date, else listing date (fast, indexed, for ranges and sort).
pub const DATE: &str = "date";
/// Upvotes field name (fast, for sort by votes).
pub const UPVOTES: &str = "upvotes";
/// Hash of the normalised title, for exact-title pinning.
pub const TITLE_KEY: &str = "title_key";
/// The paper's own category codes, stored only (`cat` also indexes archives).
pub const CATEGORY_CODES: &str = "categories";

/// Analyzer of title and abstract: English stop words and Snowball stemming.
pub(crate) const EN_ANALYZER: &str = "pf_en";
/// Analyzer of author names: no stemming, no stop words (`Will`, `An` are names).
pub(crate) const NAME_ANALYZER: &str = "pf_name";
/// Analyzer of category codes: the whole code, lowercased, so `cat:cs.cl` works too.
pub(crate) const CODE_ANALYZER: &str = "pf_code";

/// Tokens longer than this are dropped (base64 blobs, long URLs, LaTeX soup).
pub(crate) const MAX_TOKEN_BYTES: usize = 40;

/// Lucene's English stop words, the list bm25s uses too: a longer list removes words
/// ("system", "use") that carry meaning in paper titles.
const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
];

/// Every field of the schema, resolved once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub id: Field,
    pub title: Field,
    /// The abstract as written (stored, not indexed).
    pub abstract_text: Field,
    /// Title and abstract, indexed with positions (the `abs` field).
    pub text: Field,
    pub authors: Field,
    pub categories: Field,
    pub date: Field,
    pub upvotes: Field,
    pub title_key: Field,
    pub category_codes: Field,
}

/// Builds the schema and its fields.
pub(crate) fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let id = b.add_text_field(
        ID,
        TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_fieldnorms(false)
                    .set_index_option(IndexRecordOption::Basic),
            )
            .set_stored()
            .set_fast("raw"),
    );
    let positions = |tokenizer: &str| {
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions)
    };
    let title = b.add_text_field(
        TITLE,
        TextOptions::default()
            .set_indexing_options(positions(EN_ANALYZER))
            .set_stored(),
    );
    // One BM25 field over title and abstract, as bm25s indexes them: documents without an
    // abstract (or with a short one) keep their title's words weighty. Positions make
    // phrases work; the title is indexed again on its own (`ti`) because it is short.
    let text = b.add_text_field(
        ABSTRACT,
        TextOptions::default().set_indexing_options(positions(EN_ANALYZER)),
    );
    let abstract_text = b.add_text_field(ABSTRACT_STORED, STORED);
    let authors = b.add_text_field(
        AUTHORS,
        TextOptions::default()
            .set_indexing_options(positions(NAME_ANALYZER))
            .set_stored(),
    );
    let categories = b.add_text_field(
        CATEGORIES,
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(CODE_ANALYZER)
                .set_fieldnorms(false)
                .set_index_option(IndexRecordOption::Basic),
        ),
    );
    let category_codes = b.add_text_field(CATEGORY_CODES, STORED);
    let date = b.add_date_field(
        DATE,
        DateOptions::default()
            .set_indexed()
            .set_fast()
            .set_stored()
            .set_precision(DateTimePrecision::Seconds),
    );
    let upvotes = b.add_u64_field(UPVOTES, tantivy::schema::FAST | STORED);
    let title_key = b.add_u64_field(TITLE_KEY, INDEXED);
    let fields = Fields {
        id,
        title,
        abstract_text,
        text,
        authors,
        categories,
        date,
        upvotes,
        title_key,
        category_codes,
    };
    (b.build(), fields)
}

/// The English analyzer: words of letters and digits, at least two characters long,
/// lowercased, stop words removed, Snowball (Porter2) stemmed.
pub(crate) fn english_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(MinCharsFilter(2))
        .filter(LowerCaser)
        .filter(MemoStemmer::english())
        .build()
}

/// Words a [`MemoStemmer`] remembers before it starts afresh: a few megabytes, and more than
/// the distinct words of most segments.
const MEMO_WORDS: usize = 50_000;

/// Porter2 stemming (tantivy's [`Stemmer`]) that remembers each word's stem, and removes
/// stop words.
///
/// Why: Snowball stemming was a fifth of the indexing CPU time on the 74,728-paper corpus,
/// and words follow Zipf's law: a few thousand distinct words make most of any abstract.
/// A lookup in the memo costs a hash of a short string. Each clone starts with an empty
/// memo, so every indexing thread (and every query) has its own, without locks; the
/// stems are those of [`Stemmer`] itself, which computes each one the first time.
///
/// Stop words go in the memo with an empty stem, so the one lookup also tells them: a
/// `StopWordFilter` before it looked every word up in a set of its own.
pub(crate) struct MemoStemmer {
    /// Word -> stem; empty for a stop word.
    memo: FxHashMap<String, String>,
    /// Words remembered before the memo starts afresh.
    capacity: usize,
    /// Removed, not stemmed.
    stop_words: &'static [&'static str],
    /// Tantivy's stemmer over one whole word.
    stemmer: TextAnalyzer,
}

impl MemoStemmer {
    pub(crate) fn english() -> Self {
        Self::with_capacity(MEMO_WORDS, ENGLISH_STOP_WORDS)
    }

    fn with_capacity(capacity: usize, stop_words: &'static [&'static str]) -> Self {
        MemoStemmer {
            memo: FxHashMap::default(),
            capacity,
            stop_words,
            stemmer: TextAnalyzer::builder(RawTokenizer::default())
                .filter(Stemmer::new(Language::English))
                .build(),
        }
    }

    /// Replaces `word` by its stem: one hash lookup when remembered. False for a stop word.
    fn stem_in_place(&mut self, word: &mut String) -> bool {
        if let Some(stem) = self.memo.get(word.as_str()) {
            if stem.is_empty() {
                return false;
            }
            if stem != word {
                word.clear();
                word.push_str(stem);
            }
            return true;
        }
        if self.memo.len() >= self.capacity {
            self.memo.clear();
        }
        // Remembered the first time it is met: seeding every clone with the whole list
        // cost a query 33 allocations per analyzer, 9% of a BM25 search.
        if self.stop_words.contains(&word.as_str()) {
            self.memo.insert(word.clone(), String::new());
            return false;
        }
        let stem = match self.stemmer.token_stream(word).next() {
            Some(token) if !token.text.is_empty() => token.text.clone(),
            _ => word.clone(),
        };
        let seen = std::mem::replace(word, stem);
        self.memo.insert(seen, word.clone());
        true
    }
}

impl Clone for MemoStemmer {
    fn clone(&self) -> Self {
        MemoStemmer {
            memo: FxHashMap::default(),
            capacity: self.capacity,
            stop_words: self.stop_words,
            stemmer: self.stemmer.clone(),
        }
    }
}

impl TokenFilter for MemoStemmer {
    type Tokenizer<T: Tokenizer> = MemoStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, inner: T) -> MemoStemmerFilter<T> {
        MemoStemmerFilter {
            stemmer: self,
            inner,
        }
    }
}

/// [`MemoStemmer`] applied to a tokenizer.
#[derive(Clone)]
pub(crate) struct MemoStemmerFilter<T> {
    stemmer: MemoStemmer,
    inner: T,
}

impl<T: Tokenizer> Tokenizer for MemoStemmerFilter<T> {
    type TokenStream<'a> = MemoStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        MemoStemmerStream {
            stemmer: &mut self.stemmer,
            tail: self.inner.token_stream(text),
        }
    }
}

/// The token stream of [`MemoStemmerFilter`].
pub(crate) struct MemoStemmerStream<'a, S> {
    stemmer: &'a mut MemoStemmer,
    tail: S,
}

impl<S: TokenStream> TokenStream for MemoStemmerStream<'_, S> {
    fn advance(&mut self) -> bool {
        while self.tail.advance() {
            if self.stemmer.stem_in_place(&mut self.tail.token_mut().text) {
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// Tells which words can stem to one of a set of terms, before they are analyzed.
///
/// Why: highlighting reads every shown abstract, and lowercasing, stop-word lookups and
/// stemming of each word were a fifth of a hybrid search's CPU time under load, though only
/// words that can become a query term matter. Porter2 only rewrites a word's suffix and
/// keeps at least two letters, so a word's stem starts with its first two letters
/// (lowercased), except for the exceptions `dying`, `lying` and `tying` (`die`, `lie`,
/// `tie`): a word is let through when its first two letters (or, for `dy`, `ly`, `ty`, those
/// with `i`) begin some term.
#[derive(Clone, Debug)]
pub(crate) struct StemGate {
    /// First two characters of each term, sorted.
    prefixes: Vec<[char; 2]>,
}

impl StemGate {
    /// A gate for words that can stem to one of `terms` (stemmed, lowercase).
    pub(crate) fn for_terms<'a>(terms: impl IntoIterator<Item = &'a str>) -> Self {
        let mut prefixes: Vec<[char; 2]> = terms.into_iter().filter_map(first_two).collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        StemGate { prefixes }
    }

    /// Whether `word` (as cut from the text, any case) may analyze to one of the terms.
    pub(crate) fn lets_through(&self, word: &str) -> bool {
        let Some(two) = first_two(word) else {
            // One-letter words are not stemmed, and terms have two letters at least.
            return false;
        };
        if !(two[0].is_ascii() && two[1].is_ascii()) {
            // Non-ASCII case mapping depends on context (a final sigma); such words are rare
            // enough to go the whole way.
            return true;
        }
        let mut two = two.map(|c| c.to_ascii_lowercase());
        if self.prefixes.contains(&two) {
            return true;
        }
        if matches!(two, ['d' | 'l' | 't', 'y']) {
            two[1] = 'i';
            return self.prefixes.contains(&two);
        }
        false
    }
}

fn first_two(word: &str) -> Option<[char; 2]> {
    let mut chars = word.chars();
    Some([chars.next()?, chars.next()?])
}

/// The author-name analyzer: words lowercased, nothing removed.
pub(crate) fn name_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .build()
}

/// The category-code analyzer: one token per value, lowercased.
pub(crate) fn code_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .build()
}

/// Drops tokens of fewer than `.0` characters. Single letters and digits (variable names,
/// list markers, the `e` and `g` of "e.g.") match too much to rank by: keeping them cost
/// 0.02 nDCG@10 on CACM, as it does bm25s (whose tokenizer is `\w\w+`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct MinCharsFilter(pub usize);

impl TokenFilter for MinCharsFilter {
    type Tokenizer<T: Tokenizer> = MinCharsTokenizer<T>;

    fn transform<T: Tokenizer>(self, inner: T) -> MinCharsTokenizer<T> {
        MinCharsTokenizer { min: self.0, inner }
    }
}

/// [`MinCharsFilter`] applied to a tokenizer.
#[derive(Clone, Debug)]
pub(crate) struct MinCharsTokenizer<T> {
    min: usize,
    inner: T,
}

impl<T: Tokenizer> Tokenizer for MinCharsTokenizer<T> {
    type TokenStream<'a> = MinCharsStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        MinCharsStream {
            min: self.min,
            tail: self.inner.token_stream(text),
        }
    }
}

/// The token stream of [`MinCharsTokenizer`].
#[derive(Debug)]
pub(crate) struct MinCharsStream<S> {
    min: usize,
    tail: S,
}

impl<S: TokenStream> TokenStream for MinCharsStream<S> {
    fn advance(&mut self) -> bool {
        while self.tail.advance() {
            let text = &self.tail.token().text;
            // Byte length bounds the char count from above: a cheap accept for long words;
            // the others are counted only up to `min`.
            if text.len() >= self.min * 4
                || (text.len() >= self.min && text.chars().nth(self.min.max(1) - 1).is_some())
            {
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// Registers the analyzers the schema names; tokenizers are not persisted with an index,
/// so this runs on every open.
pub(crate) fn register_analyzers(manager: &TokenizerManager) {
    manager.register(EN_ANALYZER, english_analyzer());
    manager.register(NAME_ANALYZER, name_analyzer());
    manager.register(CODE_ANALYZER, code_analyzer());
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::StopWordFilter;

    /// Splits `text` into the index terms of the English analyzer.
    fn english_terms(text: &str) -> Vec<String> {
        analyze(&mut english_analyzer(), text)
    }

    /// Splits `text` into the terms of `analyzer`.
    fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(text);
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }

    #[test]
    fn english_analyzer_stems_and_drops_stop_words() {
        let long = "x".repeat(50);
        let cases: &[(&str, &[&str])] = &[
            ("Graph Neural Networks", &["graph", "neural", "network"]),
            ("The state of the art", &["state", "art"]),
            ("Learning to rank", &["learn", "rank"]),
            ("BERT: pre-training", &["bert", "pre", "train"]),
            // single characters go, two stay; characters, not bytes, are counted
            ("a b c 3 x2 e.g. é ég", &["x2", "ég"]),
            (long.as_str(), &[]),
        ];
        for (input, want) in cases {
            assert_eq!(english_terms(input), *want, "{input:?}");
        }
    }

    /// The gate's premise, checked on every word of 151 real abstracts and on Porter2's
    /// exceptional forms: a word's stem begins with what the gate looks for.
    #[test]
    fn stem_gate_lets_through_every_word_that_stems_to_a_term() {
        let fixture = include_str!("../../tests/fixtures/bm25/listings-151.jsonl");
        let mut words: Vec<String> = fixture
            .split(|c: char| !c.is_alphanumeric())
            .map(str::to_string)
            .collect();
        words.extend(
            "dying lying tying skies skis idly gently ugly early only singly news atlas bias \
             cosmos andes howe generously succeeded proceeding ies ied tied cries sky Dying \
             LYING Networks ΣΑΣ Éclair"
                .split_whitespace()
                .map(String::from),
        );
        words.sort();
        words.dedup();
        let mut checked = 0;
        for word in &words {
            let terms = english_terms(word);
            let [term] = terms.as_slice() else {
                continue; // a stop word, a single letter or a word split in two
            };
            assert!(
                StemGate::for_terms([term.as_str()]).lets_through(word),
                "{word:?} stems to {term:?}, which the gate does not expect"
            );
            checked += 1;
        }
        assert!(checked > 3000, "only {checked} words checked");
        assert!(!StemGate::for_terms(["network"]).lets_through("the"));
    }

    /// The memo changes nothing: every word of 151 real abstracts gets tantivy's own stem,
    /// whether remembered, computed, or computed again after the memo started afresh.
    #[test]
    fn memo_stemmer_gives_the_stemmers_stems() {
        let fixture = include_str!("../../tests/fixtures/bm25/listings-151.jsonl");
        let chain = |stemmer: Option<MemoStemmer>| {
            let builder = TextAnalyzer::builder(SimpleTokenizer::default()).filter(LowerCaser);
            match stemmer {
                Some(memo) => builder.filter(memo).build(),
                None => builder.filter(Stemmer::new(Language::English)).build(),
            }
        };
        let want = analyze(&mut chain(None), fixture);
        assert!(want.len() > 20_000, "{} words", want.len());
        for capacity in [1, 100, MEMO_WORDS] {
            let mut memo = chain(Some(MemoStemmer::with_capacity(capacity, &[])));
            // Twice: the second pass reads the memo.
            assert_eq!(analyze(&mut memo, fixture), want, "capacity {capacity}");
            assert_eq!(analyze(&mut memo, fixture), want, "capacity {capacity}");
        }
    }

    /// The English analyzer gives the tokens (text, position, offsets) of tantivy's own
    /// filters in a row: length limits, lowercasing, a stop-word filter and the stemmer,
    /// over 151 real abstracts, with the memo empty, warm and starting afresh.
    #[test]
    fn english_analyzer_gives_tantivys_filters_tokens() {
        let fixture = include_str!("../../tests/fixtures/bm25/listings-151.jsonl");
        let tokens = |analyzer: &mut TextAnalyzer| {
            let mut out = Vec::new();
            let mut stream = analyzer.token_stream(fixture);
            while let Some(t) = stream.next() {
                out.push((t.text.clone(), t.position, t.offset_from, t.offset_to));
            }
            out
        };
        let builder = || {
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
                .filter(MinCharsFilter(2))
                .filter(LowerCaser)
        };
        let want = tokens(
            &mut builder()
                .filter(StopWordFilter::remove(
                    ENGLISH_STOP_WORDS.iter().map(|w| (*w).to_string()),
                ))
                .filter(Stemmer::new(Language::English))
                .build(),
        );
        assert!(want.iter().any(|t| t.0 == "network"));
        let mut english = english_analyzer();
        assert_eq!(tokens(&mut english), want);
        assert_eq!(tokens(&mut english), want, "memo warm");
        let mut tiny = builder()
            .filter(MemoStemmer::with_capacity(1, ENGLISH_STOP_WORDS))
            .build();
        assert_eq!(tokens(&mut tiny), want, "memo starting afresh");
    }

    #[test]
    fn min_chars_counts_characters_not_bytes() {
        let mut two = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(MinCharsFilter(2))
            .build();
        assert_eq!(
            analyze(&mut two, "a é ab éé x1 日 日本"),
            ["ab", "éé", "x1", "日本"]
        );
    }

    #[test]
    fn name_analyzer_keeps_every_word() {
        assert_eq!(
            analyze(&mut name_analyzer(), "Will An, Yann LeCun"),
            ["will", "an", "yann", "lecun"]
        );
    }

    #[test]
    fn code_analyzer_keeps_the_code_whole() {
        assert_eq!(
            analyze(&mut code_analyzer(), "cond-mat.mes-hall"),
            ["cond-mat.mes-hall"]
        );
        assert_eq!(analyze(&mut code_analyzer(), "cs.CL"), ["cs.cl"]);
    }
}
