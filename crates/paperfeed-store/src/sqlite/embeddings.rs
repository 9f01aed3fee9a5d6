//! Embedding vectors, kept per model key and per paper text.
//!
//! Each vector is stored with the `text_hash` its paper had when the vector was saved. A
//! paper needs (re-)embedding when it has no vector for the model or its current
//! `text_hash` differs, so a title or abstract change is picked up without any flag to
//! maintain. Every query names its model key, so vectors of two models never meet.

use chrono::Utc;
use paperfeed_core::{ArxivId, Paper};
use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, Row};

use super::codec::{decode_vector, encode_vector, fmt_ts, parse_id, to_u64};
use super::papers::paper_from_row;
use crate::{ModelKey, Result, StoreError};

pub(crate) async fn register_model(
    conn: &mut SqliteConnection,
    key: &ModelKey,
    identity: &serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO embedding_models (key, identity, registered_at) VALUES (?, ?, ?) \
         ON CONFLICT (key) DO UPDATE SET identity = excluded.identity",
    )
    .bind(key.0.as_str())
    .bind(identity.to_string())
    .bind(fmt_ts(&Utc::now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Papers with no current vector for the model: the `FROM`/`WHERE` part shared by the
/// listing and the count (`?1` is the model key).
const NEEDING_SQL: &str = "FROM papers p \
     LEFT JOIN embeddings e ON e.model_key = ?1 AND e.paper_id = p.id \
     WHERE p.deleted = 0 AND (e.paper_id IS NULL OR e.text_hash != p.text_hash)";

pub(crate) async fn needing(
    conn: &mut SqliteConnection,
    model: &ModelKey,
    after: Option<&ArxivId>,
    limit: u32,
) -> Result<Vec<Paper>> {
    let sql = format!("SELECT p.id, p.doc {NEEDING_SQL} AND p.id > ?3 ORDER BY p.id LIMIT ?2");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(model.0.as_str())
        .bind(i64::from(limit))
        .bind(after.map_or("", ArxivId::as_str))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| paper_from_row(r, 0, 1)).collect()
}

pub(crate) async fn count_needing(conn: &mut SqliteConnection, model: &ModelKey) -> Result<u64> {
    let sql = format!("SELECT COUNT(*) {NEEDING_SQL}");
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(model.0.as_str())
        .fetch_one(&mut *conn)
        .await?;
    Ok(to_u64(n))
}

/// Saves vectors with each paper's current text hash. The model must be registered, every
/// paper stored, and all vectors non-empty, finite and as long as the model's others.
pub(crate) async fn put(
    conn: &mut SqliteConnection,
    model: &ModelKey,
    vectors: Vec<(ArxivId, Vec<f32>)>,
) -> Result<()> {
    let registered: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM embedding_models WHERE key = ?")
            .bind(model.0.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    if registered.is_none() {
        return Err(StoreError::UnknownModel(model.0.clone()));
    }
    let stored_bytes: Option<i64> =
        sqlx::query_scalar("SELECT length(vector) FROM embeddings WHERE model_key = ? LIMIT 1")
            .bind(model.0.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    let mut dims: Option<usize> = stored_bytes.and_then(|b| usize::try_from(b / 4).ok());
    for (id, v) in vectors {
        let invalid = |message: String| StoreError::InvalidEmbedding {
            id: id.as_str().to_string(),
            message,
        };
        if v.is_empty() {
            return Err(invalid("empty vector".into()));
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(invalid("non-finite component".into()));
        }
        match dims {
            Some(d) if d != v.len() => {
                return Err(invalid(format!(
                    "{} dimensions where the model has {d}",
                    v.len()
                )));
            }
            _ => dims = Some(v.len()),
        }
        let n = sqlx::query(
            "INSERT INTO embeddings (model_key, paper_id, text_hash, vector) \
             SELECT ?1, p.id, p.text_hash, ?2 FROM papers p WHERE p.id = ?3 \
             ON CONFLICT (model_key, paper_id) DO UPDATE \
             SET text_hash = excluded.text_hash, vector = excluded.vector",
        )
        .bind(model.0.as_str())
        .bind(encode_vector(&v))
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::UnknownPaper(id.as_str().to_string()));
        }
    }
    Ok(())
}

/// Vectors of live papers in id order. A vector whose paper text changed since is still
/// returned: it is the best one there is until the paper is re-embedded.
pub(crate) async fn after(
    conn: &mut SqliteConnection,
    model: &ModelKey,
    after: Option<&ArxivId>,
    limit: u32,
) -> Result<Vec<(ArxivId, Vec<f32>)>> {
    let rows = sqlx::query(
        "SELECT e.paper_id, e.vector FROM embeddings e JOIN papers p ON p.id = e.paper_id \
         WHERE e.model_key = ? AND e.paper_id > ? AND p.deleted = 0 \
         ORDER BY e.paper_id LIMIT ?",
    )
    .bind(model.0.as_str())
    .bind(after.map_or("", ArxivId::as_str))
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get(0)?;
            let bytes: Vec<u8> = row.try_get(1)?;
            let v = decode_vector(&id, &bytes)?;
            Ok((parse_id(&id)?, v))
        })
        .collect()
}

pub(crate) async fn drop_others(conn: &mut SqliteConnection, keep: &ModelKey) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM embeddings WHERE model_key != ?")
        .bind(keep.0.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

pub(crate) async fn counts(conn: &mut SqliteConnection) -> Result<Vec<(String, u64)>> {
    let rows = sqlx::query(
        "SELECT model_key, COUNT(*) FROM embeddings GROUP BY model_key ORDER BY model_key",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, to_u64(r.try_get(1)?))))
        .collect()
}
