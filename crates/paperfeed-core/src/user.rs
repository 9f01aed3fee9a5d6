//! People and what they do to papers: users, upvotes, and submissions to a day's feed.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ValidationError;
use crate::id::ArxivId;

/// A user's handle: 1 to 39 ASCII letters, digits, `-` or `_`, not starting with `-`.
/// Handles compare case-insensitively and are stored lowercase.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserName(Box<str>);

impl UserName {
    /// Validates and lowercases a handle.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let t = s.trim();
        let ok = (1..=39).contains(&t.len())
            && !t.starts_with('-')
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(UserName(t.to_ascii_lowercase().into()))
        } else {
            Err(ValidationError::UserName(t.chars().take(40).collect()))
        }
    }

    /// The handle.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserName({})", self.0)
    }
}

impl Serialize for UserName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UserName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        UserName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A person with an account on this instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Unique handle.
    pub name: UserName,
    /// Name shown next to their submissions.
    pub display_name: String,
    /// When the account was made.
    pub created: DateTime<Utc>,
}

/// One user's upvote of one paper (at most one per pair).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// Who voted.
    pub user: UserName,
    /// For what.
    pub paper: ArxivId,
    /// When.
    pub at: DateTime<Utc>,
}

/// A paper admitted to the daily feed of `day`, by a person or by the automatic admission
/// of new listings (`submitted_by` is then `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// The paper.
    pub paper: ArxivId,
    /// The feed day it belongs to.
    pub day: NaiveDate,
    /// Who submitted it.
    pub submitted_by: Option<UserName>,
    /// When it was submitted.
    pub at: DateTime<Utc>,
    /// Upvotes recorded by the source (Hugging Face counts), added to local votes.
    #[serde(default)]
    pub external_upvotes: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names() {
        assert_eq!(UserName::parse("AK").unwrap().as_str(), "ak");
        assert_eq!(
            UserName::parse("jane_doe-2").unwrap().as_str(),
            "jane_doe-2"
        );
        for bad in ["", "-x", "a b", "é", &"x".repeat(40)] {
            assert!(UserName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
