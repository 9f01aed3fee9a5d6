//! Shared helpers of the integration tests: the real 2,000-paper listing sample as
//! [`Paper`]s, and stores in temporary directories.

#![allow(dead_code)] // each test binary uses its own subset

use std::io::BufRead;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use paperfeed_core::{ArxivId, Author, Category, Paper};
use paperfeed_store::SqliteStore;
use serde::Deserialize;
use tempfile::TempDir;

/// One line of the listings sample (see `tests/fixtures/README.md`).
#[derive(Debug, Deserialize)]
struct Listing {
    id: String,
    title: String,
    authors: Vec<String>,
    categories: Vec<String>,
    #[serde(rename = "abstract")]
    abstract_text: String,
    comment: Option<String>,
    listing_date: NaiveDate,
}

impl Listing {
    /// A minimal stand-in for the ingest crate's parser: the fields map one to one.
    fn into_paper(self) -> Paper {
        let mut p = Paper::new(ArxivId::parse(&self.id).expect("fixture id"), &self.title);
        p.authors = self.authors.iter().map(|a| Author::new(a)).collect();
        p.categories = arxiv_categories(&self.categories);
        p.abstract_text = self.abstract_text;
        p.comment = self.comment;
        p.listing_date = Some(self.listing_date);
        p.finish().expect("fixture paper")
    }
}

/// The arXiv categories of a listing. The source also puts ACM and MSC classes there
/// (`I.2.7`, `68T50`); those are not arXiv categories and are dropped.
pub fn arxiv_categories(codes: &[String]) -> Vec<Category> {
    let mut out: Vec<Category> = Vec::new();
    for c in codes.iter().filter_map(|c| Category::parse(c).ok()) {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

pub fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/listings-sample-2000.jsonl.zst")
}

/// The 2,000 real papers of the listing sample, in file order.
pub fn sample_papers() -> Vec<Paper> {
    let file = std::fs::File::open(fixture_path()).expect("fixture");
    let reader = std::io::BufReader::new(zstd::Decoder::new(file).expect("zstd"));
    reader
        .lines()
        .map(|line| {
            let line = line.expect("fixture line");
            serde_json::from_str::<Listing>(&line)
                .expect("fixture record")
                .into_paper()
        })
        .collect()
}

/// A store in a fresh temporary directory (kept alive by the returned guard).
pub async fn temp_store() -> (TempDir, SqliteStore) {
    let dir = TempDir::new().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("paperfeed.db"))
        .await
        .expect("open store");
    (dir, store)
}

/// A synthetic paper for version-ordering tests, where real records would only add noise.
pub fn paper(id: &str, version: u32, title: &str) -> Paper {
    let mut p = Paper::new(ArxivId::parse(id).expect("test id"), title);
    p.version = version;
    p
}

pub fn id(s: &str) -> ArxivId {
    ArxivId::parse(s).expect("test id")
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}
