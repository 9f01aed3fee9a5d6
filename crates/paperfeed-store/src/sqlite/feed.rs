//! The daily feed: submissions, upvotes, feed listings and automatic admission.
//!
//! A paper's upvotes are its local votes plus the external count recorded with its
//! submission (Hugging Face's). Both are counted at read time from their own tables, so the
//! number can never drift from the votes behind it; `votes_paper` makes the count an index
//! lookup. Any change of that number gives the paper a new change sequence number, because
//! the search index keeps upvotes as a field.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use paperfeed_core::{ArxivId, Submission, UserName};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{AssertSqlSafe, Row};

use super::codec::{
    category_patterns, corrupt, fmt_date, fmt_ts, parse_date, parse_id, parse_ts, to_i64, to_u32,
};
use super::papers::{
    IDS_PER_QUERY, SeqAlloc, UPVOTES_SQL, is_live, paper_from_row, placeholders, touch,
};
use crate::{FeedItem, FeedQuery, FeedSort, Result, StoreError};

/// Adds submissions in order; see [`crate::Store::add_submissions`]. Every paper must be
/// stored and not deleted, else the whole batch fails with [`StoreError::UnknownPaper`].
pub(crate) async fn add_submissions(
    conn: &mut SqliteConnection,
    submissions: Vec<Submission>,
    seq: &mut SeqAlloc,
) -> Result<u64> {
    let mut new = 0;
    for sub in submissions {
        let id = sub.paper.as_str();
        if !is_live(conn, id).await? {
            return Err(StoreError::UnknownPaper(id.to_string()));
        }
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT external_upvotes FROM submissions WHERE paper_id = ?")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
        let external = i64::from(sub.external_upvotes);
        match existing {
            None => {
                sqlx::query(
                    "INSERT INTO submissions (paper_id, day, submitted_by, submitted_at, \
                     external_upvotes) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(id)
                .bind(fmt_date(&sub.day))
                .bind(sub.submitted_by.as_ref().map(UserName::as_str))
                .bind(fmt_ts(&sub.at))
                .bind(external)
                .execute(&mut *conn)
                .await?;
                new += 1;
            }
            // The first submission keeps its day and submitter; only a higher count from
            // the source is news.
            Some(stored) if external > stored => {
                sqlx::query("UPDATE submissions SET external_upvotes = ? WHERE paper_id = ?")
                    .bind(external)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            Some(_) => continue,
        }
        touch(conn, id, seq).await?;
    }
    Ok(new)
}

fn submission_from_row(row: &SqliteRow, first: usize) -> Result<Submission> {
    let id: String = row.try_get(first)?;
    let day: String = row.try_get(first + 1)?;
    let by: Option<String> = row.try_get(first + 2)?;
    let at: String = row.try_get(first + 3)?;
    let external: i64 = row.try_get(first + 4)?;
    Ok(Submission {
        paper: parse_id(&id)?,
        day: parse_date(&id, &day)?,
        submitted_by: by
            .map(|u| UserName::parse(&u).map_err(|e| corrupt(&id, e.to_string())))
            .transpose()?,
        at: parse_ts(&id, &at)?,
        external_upvotes: to_u32(external),
    })
}

const SUBMISSION_COLUMNS: &str =
    "s.paper_id, s.day, s.submitted_by, s.submitted_at, s.external_upvotes";

pub(crate) async fn submission(
    conn: &mut SqliteConnection,
    id: &ArxivId,
) -> Result<Option<Submission>> {
    let sql = format!("SELECT {SUBMISSION_COLUMNS} FROM submissions s WHERE s.paper_id = ?");
    sqlx::query(AssertSqlSafe(sql))
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| submission_from_row(&row, 0))
        .transpose()
}

pub(crate) async fn submissions(
    conn: &mut SqliteConnection,
    ids: &[ArxivId],
) -> Result<Vec<Option<Submission>>> {
    let mut found: HashMap<ArxivId, Submission> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let sql = format!(
            "SELECT {SUBMISSION_COLUMNS} FROM submissions s WHERE s.paper_id IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let sub = submission_from_row(&row, 0)?;
            found.insert(sub.paper.clone(), sub);
        }
    }
    Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
}

pub(crate) async fn feed(conn: &mut SqliteConnection, query: &FeedQuery) -> Result<Vec<FeedItem>> {
    // Ties are broken down to the id so that offset paging never skips or repeats an entry.
    let order = match query.sort {
        FeedSort::Upvotes => "upvotes DESC, submitted_at DESC, paper_id DESC",
        FeedSort::PublishedAt => "submitted_at DESC, paper_id DESC",
    };
    // The page is chosen on the small columns first and only its papers' documents are read:
    // sorting a day's submissions together with their documents copied every document of the
    // day through SQLite's sorter on each page view.
    let sql = format!(
        "SELECT t.paper_id, t.day, t.submitted_by, t.submitted_at, t.external_upvotes, \
                p.doc, t.upvotes \
         FROM (SELECT {SUBMISSION_COLUMNS}, {UPVOTES_SQL} AS upvotes \
               FROM submissions s JOIN papers p ON p.id = s.paper_id \
               WHERE s.day >= ?1 AND s.day <= ?2 AND p.deleted = 0 \
                 AND (?3 IS NULL OR s.submitted_by = ?3) \
               ORDER BY {order} LIMIT ?4 OFFSET ?5) t \
         JOIN papers p ON p.id = t.paper_id \
         ORDER BY {order}"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(fmt_date(&query.from))
        .bind(fmt_date(&query.to))
        .bind(query.submitter.as_ref().map(UserName::as_str))
        .bind(to_i64(query.limit))
        .bind(to_i64(query.offset))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(FeedItem {
                submission: submission_from_row(row, 0)?,
                paper: paper_from_row(row, 0, 5)?,
                upvotes: to_u32(row.try_get(6)?),
            })
        })
        .collect()
}

pub(crate) async fn unsubmitted_listings(
    conn: &mut SqliteConnection,
    from: NaiveDate,
    to: NaiveDate,
    categories: &[String],
    limit: u32,
) -> Result<Vec<ArxivId>> {
    let patterns = category_patterns(categories);
    if patterns.is_empty() {
        return Ok(Vec::new());
    }
    let patterns = serde_json::Value::from(patterns).to_string();
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT p.id FROM papers p \
         WHERE p.listing_date >= ?1 AND p.listing_date <= ?2 AND p.deleted = 0 \
           AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.paper_id = p.id) \
           AND EXISTS (SELECT 1 FROM json_each(?3) w WHERE instr(p.categories, w.value) > 0) \
         ORDER BY p.listing_date, p.id LIMIT ?4",
    )
    .bind(fmt_date(&from))
    .bind(fmt_date(&to))
    .bind(patterns)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    ids.iter().map(|id| parse_id(id)).collect()
}

/// Records or removes a vote; the paper must be stored and not deleted.
pub(crate) async fn set_vote(
    conn: &mut SqliteConnection,
    user: &UserName,
    paper: &ArxivId,
    up: bool,
    now: DateTime<Utc>,
    seq: &mut SeqAlloc,
) -> Result<u32> {
    let id = paper.as_str();
    if !is_live(conn, id).await? {
        return Err(StoreError::UnknownPaper(id.to_string()));
    }
    let changed = if up {
        sqlx::query(
            "INSERT INTO votes (user_name, paper_id, at) VALUES (?, ?, ?) \
             ON CONFLICT (user_name, paper_id) DO NOTHING",
        )
        .bind(user.as_str())
        .bind(id)
        .bind(fmt_ts(&now))
        .execute(&mut *conn)
        .await?
        .rows_affected()
    } else {
        sqlx::query("DELETE FROM votes WHERE user_name = ? AND paper_id = ?")
            .bind(user.as_str())
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    };
    if changed > 0 {
        touch(conn, id, seq).await?;
    }
    let counts = upvotes(conn, std::slice::from_ref(paper)).await?;
    Ok(counts.first().copied().unwrap_or(0))
}

/// Upvotes of each id, in order; unknown papers have none.
pub(crate) async fn upvotes(conn: &mut SqliteConnection, ids: &[ArxivId]) -> Result<Vec<u32>> {
    let mut unique: Vec<&str> = ids.iter().map(ArxivId::as_str).collect();
    unique.sort_unstable();
    unique.dedup();
    let mut counts: HashMap<String, u32> = HashMap::with_capacity(unique.len());
    for chunk in unique.chunks(IDS_PER_QUERY) {
        let sql = format!(
            "SELECT p.id, {UPVOTES_SQL} FROM papers p \
             LEFT JOIN submissions s ON s.paper_id = p.id WHERE p.id IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            counts.insert(row.try_get(0)?, to_u32(row.try_get(1)?));
        }
    }
    Ok(ids
        .iter()
        .map(|id| counts.get(id.as_str()).copied().unwrap_or(0))
        .collect())
}

/// The latest day whose feed holds a live paper.
pub(crate) async fn latest_feed_day(conn: &mut SqliteConnection) -> Result<Option<NaiveDate>> {
    let day: Option<String> = sqlx::query_scalar(
        "SELECT s.day FROM submissions s JOIN papers p ON p.id = s.paper_id \
         WHERE p.deleted = 0 ORDER BY s.day DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    day.map(|d| parse_date("latest feed day", &d)).transpose()
}

/// The nearest days before and after `day` whose feeds hold a live paper.
pub(crate) async fn adjacent_feed_days(
    conn: &mut SqliteConnection,
    day: NaiveDate,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
    let d = fmt_date(&day);
    // Both walk `submissions_day` from `day` outwards and stop at the first live paper.
    let before: Option<String> = sqlx::query_scalar(
        "SELECT s.day FROM submissions s JOIN papers p ON p.id = s.paper_id \
         WHERE s.day < ? AND p.deleted = 0 ORDER BY s.day DESC LIMIT 1",
    )
    .bind(&d)
    .fetch_optional(&mut *conn)
    .await?;
    let after: Option<String> = sqlx::query_scalar(
        "SELECT s.day FROM submissions s JOIN papers p ON p.id = s.paper_id \
         WHERE s.day > ? AND p.deleted = 0 ORDER BY s.day ASC LIMIT 1",
    )
    .bind(&d)
    .fetch_optional(&mut *conn)
    .await?;
    Ok((
        before.map(|s| parse_date("feed day", &s)).transpose()?,
        after.map(|s| parse_date("feed day", &s)).transpose()?,
    ))
}

/// The latest arXiv listing day of any live paper.
pub(crate) async fn latest_listing_date(conn: &mut SqliteConnection) -> Result<Option<NaiveDate>> {
    let day: Option<String> = sqlx::query_scalar(
        "SELECT listing_date FROM papers WHERE listing_date IS NOT NULL AND deleted = 0 \
         ORDER BY listing_date DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    day.map(|d| parse_date("latest listing date", &d))
        .transpose()
}
