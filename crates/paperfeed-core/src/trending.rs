//! Trending: how upvotes and age combine into one ranking score.
//!
//! The score is the Hacker News form, `(votes + 1) / (age_hours + offset)^gravity`: votes
//! raise a paper, time lowers it, and the `+ 1` lets brand-new papers without votes still be
//! ordered by freshness instead of tying at zero.

/// Tuning of [`trending_score`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendingParams {
    /// How fast age wins over votes (HN uses 1.8 for links that live hours; papers live days).
    pub gravity: f64,
    /// Hours added to the age so that a paper a minute old is not infinitely hot.
    pub offset_hours: f64,
}

impl Default for TrendingParams {
    fn default() -> Self {
        TrendingParams {
            gravity: 1.5,
            offset_hours: 12.0,
        }
    }
}

/// The trending score of a paper with `upvotes` votes that entered the feed `age_hours` ago
/// (negative ages, from clock skew, count as zero).
pub fn trending_score(upvotes: u32, age_hours: f64, params: TrendingParams) -> f64 {
    let age = if age_hours.is_finite() {
        age_hours.max(0.0)
    } else {
        f64::MAX
    };
    (f64::from(upvotes) + 1.0) / (age + params.offset_hours).powf(params.gravity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let p = TrendingParams::default();
        // fresher beats older at equal votes; more votes beat fewer at equal age
        assert!(trending_score(10, 1.0, p) > trending_score(10, 24.0, p));
        assert!(trending_score(20, 24.0, p) > trending_score(10, 24.0, p));
        // a day-old paper with many votes beats a fresh one without
        assert!(trending_score(100, 24.0, p) > trending_score(0, 0.0, p));
        // negative age (clock skew) is age zero
        assert_eq!(trending_score(3, -5.0, p), trending_score(3, 0.0, p));
        assert!(trending_score(3, f64::NAN, p) >= 0.0);
    }

    proptest! {
        #[test]
        fn monotone(votes in 0u32..100_000, extra in 1u32..1000, age in 0.0f64..100_000.0, later in 0.001f64..1000.0) {
            let p = TrendingParams::default();
            let s = trending_score(votes, age, p);
            prop_assert!(s.is_finite() && s > 0.0);
            prop_assert!(trending_score(votes + extra, age, p) > s);
            prop_assert!(trending_score(votes, age + later, p) < s);
        }
    }
}
