//! How domain values are written to and read from SQLite columns.
//!
//! Dates and timestamps are stored as fixed-width text so that SQLite's text order is time
//! order and the file stays readable with the `sqlite3` shell. Vectors are little-endian
//! `f32` blobs. Everything read back is checked: a bad value becomes
//! [`StoreError::Corrupt`], never a panic.

use chrono::{DateTime, NaiveDate, Utc};
use paperfeed_core::{ArxivId, Paper};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// Timestamp format: always nine fractional digits, so equal-width strings sort by time.
const TS_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.9fZ";
const DATE_FORMAT: &str = "%Y-%m-%d";

pub(crate) fn fmt_ts(t: &DateTime<Utc>) -> String {
    t.format(TS_FORMAT).to_string()
}

pub(crate) fn parse_ts(id: &str, s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(id, format!("bad timestamp {s:?}: {e}")))
}

pub(crate) fn fmt_date(d: &NaiveDate) -> String {
    d.format(DATE_FORMAT).to_string()
}

pub(crate) fn parse_date(id: &str, s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, DATE_FORMAT)
        .map_err(|e| corrupt(id, format!("bad date {s:?}: {e}")))
}

pub(crate) fn parse_id(s: &str) -> Result<ArxivId, StoreError> {
    ArxivId::parse(s).map_err(|e| corrupt(s, e.to_string()))
}

pub(crate) fn corrupt(id: &str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        id: id.to_string(),
        message: message.into(),
    }
}

/// The canonical stored form of a paper. Serialising a `Paper` cannot fail (plain data,
/// string keys), but the error is still mapped rather than unwrapped.
pub(crate) fn encode_paper(p: &Paper) -> Result<String, StoreError> {
    serde_json::to_string(p).map_err(|e| corrupt(p.id.as_str(), e.to_string()))
}

pub(crate) fn decode_paper(id: &str, doc: &str) -> Result<Paper, StoreError> {
    serde_json::from_str(doc).map_err(|e| corrupt(id, format!("bad paper JSON: {e}")))
}

/// A stable 64-bit hash of the text an embedding is computed from (title and abstract).
///
/// SHA-256 rather than `std`'s hasher because the value is persisted and must not change
/// between Rust releases; the separator keeps `("ab", "c")` and `("a", "bc")` apart.
pub(crate) fn text_hash(p: &Paper) -> i64 {
    let mut h = Sha256::new();
    h.update(p.title.as_bytes());
    h.update([0u8]);
    h.update(p.abstract_text.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(first)
}

/// A stable 64-bit hash of a paper's canonical JSON, to tell an unchanged re-imported
/// record without reading the stored one back.
pub(crate) fn doc_hash(doc: &str) -> i64 {
    let digest = Sha256::digest(doc.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(first)
}

/// Every category code between single spaces, so ` cs.CL ` is found with `instr()` and an
/// archive with ` cs.`.
pub(crate) fn categories_column(p: &Paper) -> String {
    let mut s = String::with_capacity(2 + p.categories.len() * 8);
    s.push(' ');
    for c in &p.categories {
        s.push_str(c.as_str());
        s.push(' ');
    }
    s
}

/// `instr()` patterns for a category filter: `cs.CL` matches that category, a bare archive
/// such as `cs` matches the archive itself and all of its subject classes.
pub(crate) fn category_patterns(wanted: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for code in wanted {
        let code = code.trim();
        if code.is_empty() || code.contains(char::is_whitespace) {
            continue;
        }
        out.push(format!(" {code} "));
        if !code.contains('.') {
            out.push(format!(" {code}."));
        }
    }
    out
}

pub(crate) fn encode_vector(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

pub(crate) fn decode_vector(id: &str, bytes: &[u8]) -> Result<Vec<f32>, StoreError> {
    if !bytes.len().is_multiple_of(4) {
        return Err(corrupt(
            id,
            format!("vector blob of {} bytes is not f32s", bytes.len()),
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Counts are stored as SQLite integers (i64); the API speaks u32/u64.
pub(crate) fn to_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Limits and offsets arrive as u32/u64; SQLite binds i64.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use paperfeed_core::parse_categories;
    use proptest::prelude::*;

    fn paper(title: &str, abstract_text: &str) -> Paper {
        let mut p = Paper::new(ArxivId::parse("2501.12345").unwrap(), title);
        p.abstract_text = abstract_text.to_string();
        p
    }

    #[test]
    fn timestamps_sort_as_text_in_time_order() {
        let times = [
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::nanoseconds(1),
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
                + chrono::Duration::milliseconds(500),
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 1).unwrap(),
            Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap(),
        ];
        let texts: Vec<String> = times.iter().map(fmt_ts).collect();
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(sorted, texts);
        for (t, s) in times.iter().zip(&texts) {
            assert_eq!(&parse_ts("x", s).unwrap(), t, "{s}");
        }
    }

    #[test]
    fn bad_stored_values_are_corrupt_not_panics() {
        for bad in ["", "2025-13-01", "yesterday"] {
            assert!(matches!(
                parse_date("x", bad),
                Err(StoreError::Corrupt { .. })
            ));
            assert!(matches!(
                parse_ts("x", bad),
                Err(StoreError::Corrupt { .. })
            ));
        }
        assert!(matches!(
            decode_vector("x", &[0, 0, 0]),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            decode_paper("x", "{"),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(parse_id("nope"), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn text_hash_tracks_title_and_abstract_only() {
        let a = paper("Title", "Abstract");
        let mut same_text = a.clone();
        same_text.comment = Some("12 pages".into());
        same_text.version = 3;
        assert_eq!(text_hash(&a), text_hash(&same_text));
        assert_ne!(text_hash(&a), text_hash(&paper("Title 2", "Abstract")));
        assert_ne!(text_hash(&a), text_hash(&paper("Title", "Abstract.")));
        // The separator keeps the two fields apart.
        assert_ne!(text_hash(&paper("ab", "c")), text_hash(&paper("a", "bc")));
    }

    #[test]
    fn text_hash_is_stable_across_builds() {
        // Persisted values: a change here silently marks every embedding stale.
        assert_eq!(text_hash(&paper("Title", "Abstract")), {
            let d = Sha256::digest(b"Title\0Abstract");
            i64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
        });
    }

    #[test]
    fn category_column_and_patterns() {
        let mut p = paper("T", "");
        p.categories = parse_categories(["cs.CL cs.LG math-ph"]).unwrap();
        let col = categories_column(&p);
        assert_eq!(col, " cs.CL cs.LG math-ph ");
        let matches = |wanted: &[&str]| {
            let wanted: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
            category_patterns(&wanted)
                .iter()
                .any(|pat| col.contains(pat.as_str()))
        };
        let cases: &[(&[&str], bool)] = &[
            (&["cs.CL"], true),
            (&["cs.LG"], true),
            (&["cs.C"], false),
            (&["cs.CLX"], false),
            (&["cs"], true),
            (&["math"], false), // math-ph is its own archive
            (&["math-ph"], true),
            (&["stat.ML", "math-ph"], true),
            (&["stat.ML"], false),
            (&[" ", ""], false),
            (&[], false),
        ];
        for (wanted, expect) in cases {
            assert_eq!(matches(wanted), *expect, "{wanted:?}");
        }
    }

    proptest! {
        #[test]
        fn vectors_round_trip(v in proptest::collection::vec(any::<f32>(), 0..64)) {
            let back = decode_vector("x", &encode_vector(&v)).unwrap();
            prop_assert_eq!(back.len(), v.len());
            for (a, b) in back.iter().zip(&v) {
                prop_assert_eq!(a.to_bits(), b.to_bits());
            }
        }

        #[test]
        fn dates_round_trip(days in 0i64..200_000) {
            let d = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(days);
            prop_assert_eq!(parse_date("x", &fmt_date(&d)).unwrap(), d);
        }
    }
}
