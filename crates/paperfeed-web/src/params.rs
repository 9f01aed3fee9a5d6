//! Query strings and form bodies, and the date shapes the feeds are addressed by.
//!
//! Parameters are read from the raw `application/x-www-form-urlencoded` pairs rather than
//! through serde, so that every malformed value gets a 400 naming the parameter and saying
//! what was expected (never axum's plain-text rejection), repeated keys (`category=cs.CL&
//! category=cs.LG`) work, and an empty value (`from=` from an untouched form field) counts
//! as absent.

use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

use crate::error::WebError;

/// Decoded key/value pairs, in order.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a query string (without `?`) or a form body.
    pub fn parse(raw: &[u8]) -> Self {
        Params(
            form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Parses an optional query string.
    pub fn from_query(raw: Option<&str>) -> Self {
        raw.map(|q| Params::parse(q.as_bytes())).unwrap_or_default()
    }

    /// The first non-empty value of `key`, trimmed.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .find(|v| !v.is_empty())
    }

    /// The value of `key` as given (not trimmed; passwords keep their spaces).
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `key`, commas splitting values too (`cs.CL,cs.LG`).
    pub fn list(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// An integer in `min..=max`, if given.
    pub fn int<T>(&self, key: &str, min: T, max: T) -> Result<Option<T>, WebError>
    where
        T: FromStr + PartialOrd + Copy + std::fmt::Display,
    {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.parse::<T>() {
            Ok(n) if n >= min && n <= max => Ok(Some(n)),
            _ => Err(WebError::param(
                key,
                format!(
                    "expected an integer from {min} to {max}, got {:?}",
                    shorten(v)
                ),
            )),
        }
    }

    /// A `YYYY-MM-DD` day, if given.
    pub fn date(&self, key: &str) -> Result<Option<NaiveDate>, WebError> {
        self.get(key).map(|v| parse_day(key, v)).transpose()
    }
}

/// A value quoted back in an error message, cut so a huge parameter cannot bloat the answer.
pub fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// A strict `YYYY-MM-DD`.
pub fn parse_day(what: &str, s: &str) -> Result<NaiveDate, WebError> {
    let ok = s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    ok.then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| WebError::BadRequest {
            code: "invalid_date",
            message: format!("{what}: expected a date YYYY-MM-DD, got {:?}", shorten(s)),
        })
}

/// An ISO week `YYYY-Www` (`2025-W09`) as its Monday and Sunday.
pub fn parse_week(s: &str) -> Result<(NaiveDate, NaiveDate), WebError> {
    let bad = || WebError::BadRequest {
        code: "invalid_week",
        message: format!(
            "week: expected an ISO week YYYY-Www such as 2025-W09, got {:?}",
            shorten(s)
        ),
    };
    let (year, week) = s.split_once("-W").ok_or_else(bad)?;
    if year.len() != 4 || week.len() != 2 {
        return Err(bad());
    }
    let year: i32 = year.parse().map_err(|_| bad())?;
    let week: u32 = week.parse().map_err(|_| bad())?;
    let monday = NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon).ok_or_else(bad)?;
    let sunday = NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Sun).ok_or_else(bad)?;
    Ok((monday, sunday))
}

/// A month `YYYY-MM` as its first and last day.
pub fn parse_month(s: &str) -> Result<(NaiveDate, NaiveDate), WebError> {
    let bad = || WebError::BadRequest {
        code: "invalid_month",
        message: format!(
            "month: expected a month YYYY-MM such as 2025-02, got {:?}",
            shorten(s)
        ),
    };
    let (year, month) = s.split_once('-').ok_or_else(bad)?;
    if year.len() != 4 || month.len() != 2 {
        return Err(bad());
    }
    let year: i32 = year.parse().map_err(|_| bad())?;
    let month: u32 = month.parse().map_err(|_| bad())?;
    let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    let last = next.and_then(|d| d.pred_opt()).ok_or_else(bad)?;
    Ok((first, last))
}

/// The ISO week label of a day (`2025-W09`).
pub fn week_label(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// The month label of a day (`2025-02`).
pub fn month_label(d: NaiveDate) -> String {
    format!("{}-{:02}", d.year(), d.month())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn days() {
        assert_eq!(parse_day("date", "2025-02-28").unwrap(), d("2025-02-28"));
        for bad in [
            "2025-02-30",
            "2025-2-3",
            "20250203",
            "2025-02-03x",
            "",
            "2025-13-01",
            "yesterday",
        ] {
            let e = parse_day("date", bad).unwrap_err();
            assert_eq!(e.code(), "invalid_date", "{bad}");
        }
    }

    #[test]
    fn weeks() {
        let cases = [
            ("2025-W09", "2025-02-24", "2025-03-02"),
            ("2025-W01", "2024-12-30", "2025-01-05"),
            ("2020-W53", "2020-12-28", "2021-01-03"),
        ];
        for (week, mon, sun) in cases {
            assert_eq!(parse_week(week).unwrap(), (d(mon), d(sun)), "{week}");
            assert_eq!(week_label(d(mon)), week);
            assert_eq!(week_label(d(sun)), week);
        }
        for bad in [
            "2025-W54", "2025-W00", "2025-W9", "2025W09", "2025-09", "x-W09",
        ] {
            assert_eq!(parse_week(bad).unwrap_err().code(), "invalid_week", "{bad}");
        }
        // 2025 has 52 ISO weeks.
        assert!(parse_week("2025-W53").is_err());
    }

    #[test]
    fn months() {
        assert_eq!(
            parse_month("2024-02").unwrap(),
            (d("2024-02-01"), d("2024-02-29"))
        );
        assert_eq!(
            parse_month("2025-12").unwrap(),
            (d("2025-12-01"), d("2025-12-31"))
        );
        assert_eq!(month_label(d("2025-02-14")), "2025-02");
        for bad in ["2025-13", "2025-00", "2025-2", "202502", "2025-02-01"] {
            assert_eq!(
                parse_month(bad).unwrap_err().code(),
                "invalid_month",
                "{bad}"
            );
        }
    }

    #[test]
    fn params() {
        let p = Params::parse(b"q=graph+nets&from=&category=cs.CL,cs.LG&category=stat&limit=20");
        assert_eq!(p.get("q"), Some("graph nets"));
        assert_eq!(p.get("from"), None);
        assert_eq!(p.list("category"), ["cs.CL", "cs.LG", "stat"]);
        assert_eq!(p.int::<u32>("limit", 1, 100).unwrap(), Some(20));
        assert_eq!(p.int::<u32>("missing", 1, 100).unwrap(), None);
        let bad = Params::parse(b"limit=101&p=-1&n=abc");
        assert!(bad.int::<u32>("limit", 1, 100).is_err());
        assert!(bad.int::<u64>("p", 0, u64::MAX).is_err());
        let e = bad.int::<u32>("n", 1, 5).unwrap_err();
        assert!(e.to_string().starts_with("n: expected an integer"), "{e}");
    }

    proptest! {
        #[test]
        fn week_and_month_labels_round_trip(days in 0i64..40_000) {
            let day = d("1990-01-01") + chrono::Duration::days(days);
            let (mon, sun) = parse_week(&week_label(day)).unwrap();
            prop_assert!(mon <= day && day <= sun);
            prop_assert_eq!((sun - mon).num_days(), 6);
            let (first, last) = parse_month(&month_label(day)).unwrap();
            prop_assert!(first <= day && day <= last);
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,20}") {
            let _ = parse_day("d", &s);
            let _ = parse_week(&s);
            let _ = parse_month(&s);
            let _ = Params::parse(s.as_bytes()).int::<u32>("x", 0, 10);
        }
    }
}
