//! Accounts and sessions: users with their password hashes, and server-side sessions keyed
//! by the hash of their token.

use chrono::{DateTime, Utc};
use paperfeed_core::{ArxivId, User, UserName};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{AssertSqlSafe, Row};

use super::codec::{corrupt, fmt_ts, parse_ts};
use super::papers::{IDS_PER_QUERY, placeholders};
use crate::{Result, Session, StoreError};

fn user_from_row(row: &SqliteRow) -> Result<User> {
    let name: String = row.try_get(0)?;
    let display_name: String = row.try_get(1)?;
    let created: String = row.try_get(2)?;
    Ok(User {
        name: UserName::parse(&name).map_err(|e| corrupt(&name, e.to_string()))?,
        display_name,
        created: parse_ts(&name, &created)?,
    })
}

pub(crate) async fn create_user(
    conn: &mut SqliteConnection,
    user: &User,
    password_hash: &str,
) -> Result<()> {
    let done = sqlx::query(
        "INSERT INTO users (name, display_name, password_hash, created) VALUES (?, ?, ?, ?) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(user.name.as_str())
    .bind(user.display_name.as_str())
    .bind(password_hash)
    .bind(fmt_ts(&user.created))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NameTaken(user.name.to_string()));
    }
    Ok(())
}

pub(crate) async fn credentials(
    conn: &mut SqliteConnection,
    name: &UserName,
) -> Result<Option<(User, String)>> {
    let Some(row) =
        sqlx::query("SELECT name, display_name, created, password_hash FROM users WHERE name = ?")
            .bind(name.as_str())
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(None);
    };
    Ok(Some((user_from_row(&row)?, row.try_get(3)?)))
}

pub(crate) async fn users(conn: &mut SqliteConnection, names: &[UserName]) -> Result<Vec<User>> {
    let mut unique: Vec<&str> = names.iter().map(UserName::as_str).collect();
    unique.sort_unstable();
    unique.dedup();
    let mut found = Vec::with_capacity(unique.len());
    for chunk in unique.chunks(IDS_PER_QUERY) {
        let sql = format!(
            "SELECT name, display_name, created FROM users WHERE name IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for name in chunk {
            q = q.bind(*name);
        }
        for row in q.fetch_all(&mut *conn).await? {
            found.push(user_from_row(&row)?);
        }
    }
    Ok(found)
}

pub(crate) async fn create_session(conn: &mut SqliteConnection, s: &Session) -> Result<()> {
    // Expired sessions go whenever a new one is made: no background sweeper needed, and the
    // table stays as small as the number of live logins.
    sqlx::query("DELETE FROM sessions WHERE expires < ?")
        .bind(fmt_ts(&s.created))
        .execute(&mut *conn)
        .await?;
    let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE name = ?")
        .bind(s.user.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    if known.is_none() {
        return Err(StoreError::UnknownUser(s.user.to_string()));
    }
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_name, created, expires) VALUES (?, ?, ?, ?)",
    )
    .bind(s.token_hash.as_str())
    .bind(s.user.as_str())
    .bind(fmt_ts(&s.created))
    .bind(fmt_ts(&s.expires))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn session_user(
    conn: &mut SqliteConnection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<User>> {
    sqlx::query(
        "SELECT u.name, u.display_name, u.created FROM sessions s \
         JOIN users u ON u.name = s.user_name WHERE s.token_hash = ? AND s.expires > ?",
    )
    .bind(token_hash)
    .bind(fmt_ts(&now))
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| user_from_row(&row))
    .transpose()
}

pub(crate) async fn delete_session(conn: &mut SqliteConnection, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(crate) async fn voted(
    conn: &mut SqliteConnection,
    user: &UserName,
    ids: &[ArxivId],
) -> Result<Vec<bool>> {
    let mut yes = std::collections::HashSet::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let sql = format!(
            "SELECT paper_id FROM votes WHERE user_name = ? AND paper_id IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql)).bind(user.as_str());
        for id in chunk {
            q = q.bind(id.as_str());
        }
        yes.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(ids.iter().map(|id| yes.contains(id.as_str())).collect())
}
