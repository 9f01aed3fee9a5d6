//! Papers: merge-upserts, deletions, reads, and the change sequence they advance.
//!
//! An upsert batch is processed in steps, each batched so that SQLite sees a few large
//! statements instead of one per paper: fold duplicates of the batch in memory with
//! [`Paper::merge`]; read the version, deleted flag and JSON hash of all ids
//! (`WHERE id IN (...)`); drop records whose canonical JSON hashes to what is stored; read
//! the stored JSON of the rest, merge in Rust and keep those whose merged JSON differs; write
//! them with multi-row `INSERT ... ON CONFLICT(id) DO UPDATE`. Every written row takes the
//! next change sequence number, so an unchanged record costs no write and no number.

use std::collections::HashMap;

use paperfeed_core::{ArxivId, Paper};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{AssertSqlSafe, Row};

use super::codec::{
    categories_column, corrupt, decode_paper, doc_hash, encode_paper, fmt_date, fmt_ts, parse_id,
    text_hash, to_u32,
};
use crate::{Change, Result, UpsertStats};

/// Ids per `IN (...)` list: well under SQLite's 32,766 variables, large enough that a
/// 5,000-paper batch needs ten lookups.
pub(crate) const IDS_PER_QUERY: usize = 500;

/// Rows per multi-row INSERT (ten variables each). One statement per row would pay sqlx's
/// round trip to its worker thread per paper; on the 75k listings 25, 100 and 400 rows
/// measured within noise of each other.
const ROWS_PER_INSERT: usize = 100;

/// `?, ?, ?` for an `IN` list.
pub(crate) fn placeholders(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
}

/// Local votes plus the external count of the paper's submission, for a query over `p`
/// left-joined to submissions `s`.
pub(crate) const UPVOTES_SQL: &str = "COALESCE(s.external_upvotes, 0) + \
     (SELECT COUNT(*) FROM votes v WHERE v.paper_id = p.id)";

/// The store-wide change sequence, read once per write transaction and saved at its end.
///
/// Write transactions start with `BEGIN IMMEDIATE`, so no other writer can take numbers
/// between the read and the save.
#[derive(Debug)]
pub(crate) struct SeqAlloc {
    start: i64,
    last: i64,
}

impl SeqAlloc {
    pub(crate) async fn read(conn: &mut SqliteConnection) -> Result<Self> {
        let last: i64 = sqlx::query_scalar("SELECT value FROM change_seq WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
        Ok(SeqAlloc { start: last, last })
    }

    pub(crate) fn next(&mut self) -> i64 {
        self.last += 1;
        self.last
    }

    pub(crate) async fn save(self, conn: &mut SqliteConnection) -> Result<()> {
        if self.last != self.start {
            sqlx::query("UPDATE change_seq SET value = ? WHERE id = 1")
                .bind(self.last)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

/// What the store holds for a paper, as far as an upsert needs to know before merging.
struct Stored {
    version: i64,
    deleted: bool,
    doc_hash: i64,
}

/// A paper row ready to be written.
struct PaperRow {
    id: String,
    seq: i64,
    version: i64,
    listing_date: Option<String>,
    published: Option<String>,
    primary_category: Option<String>,
    categories: String,
    text_hash: i64,
    doc_hash: i64,
    doc: String,
}

impl PaperRow {
    fn new(paper: &Paper, doc: String, doc_hash: i64, seq: i64) -> Self {
        PaperRow {
            id: paper.id.as_str().to_string(),
            seq,
            version: i64::from(paper.version),
            listing_date: paper.listing_date.as_ref().map(fmt_date),
            published: paper.published.as_ref().map(fmt_ts),
            primary_category: paper.primary_category().map(|c| c.as_str().to_string()),
            categories: categories_column(paper),
            text_hash: text_hash(paper),
            doc_hash,
            doc,
        }
    }
}

/// What an upsert does with one incoming record.
enum Plan {
    /// Not stored: insert as is.
    Insert {
        paper: Paper,
        doc: String,
        hash: i64,
    },
    /// Stored and possibly different: merge with the stored record, then compare.
    Merge { paper: Paper, resurrect: bool },
    /// Nothing to do.
    Unchanged,
}

/// Merges `papers` into the store inside the caller's transaction.
///
/// Counts are per distinct paper: duplicates within the batch are folded first. Only
/// records that may change something have their stored JSON read back, so re-importing
/// unchanged data reads a few small columns per paper and writes nothing.
pub(crate) async fn upsert(
    conn: &mut SqliteConnection,
    papers: Vec<Paper>,
    seq: &mut SeqAlloc,
) -> Result<UpsertStats> {
    let batch = fold_duplicates(papers);
    let ids: Vec<&str> = batch.iter().map(|p| p.id.as_str()).collect();
    let stored = load_stored(conn, &ids).await?;

    let mut plans = Vec::with_capacity(batch.len());
    for paper in batch {
        let plan = match stored.get(paper.id.as_str()) {
            None => {
                let doc = encode_paper(&paper)?;
                let hash = doc_hash(&doc);
                Plan::Insert { paper, doc, hash }
            }
            // A deleted paper comes back only with a newer version than the one deleted, so
            // re-importing an old snapshot cannot resurrect it.
            Some(old) if old.deleted => {
                if i64::from(paper.version) > old.version {
                    Plan::Merge {
                        paper,
                        resurrect: true,
                    }
                } else {
                    Plan::Unchanged
                }
            }
            // Merging a record into an identical one is a no-op: the common re-import case,
            // decided without reading the stored JSON.
            Some(old) if doc_hash(&encode_paper(&paper)?) == old.doc_hash => Plan::Unchanged,
            Some(_) => Plan::Merge {
                paper,
                resurrect: false,
            },
        };
        plans.push(plan);
    }

    let merge_ids: Vec<&str> = plans
        .iter()
        .filter_map(|p| match p {
            Plan::Merge { paper, .. } => Some(paper.id.as_str()),
            _ => None,
        })
        .collect();
    let mut docs = load_docs(conn, &merge_ids).await?;

    let mut stats = UpsertStats::default();
    let mut rows = Vec::with_capacity(plans.len());
    for plan in plans {
        match plan {
            Plan::Insert { paper, doc, hash } => {
                rows.push(PaperRow::new(&paper, doc, hash, seq.next()));
                stats.inserted += 1;
            }
            Plan::Merge { paper, resurrect } => {
                let id = paper.id.as_str().to_string();
                let old_doc = docs
                    .remove(&id)
                    .ok_or_else(|| corrupt(&id, "row vanished during the upsert"))?;
                let merged = decode_paper(&id, &old_doc)?.merge(paper);
                let doc = encode_paper(&merged)?;
                if !resurrect && doc == old_doc {
                    stats.unchanged += 1;
                    continue;
                }
                let hash = doc_hash(&doc);
                rows.push(PaperRow::new(&merged, doc, hash, seq.next()));
                stats.updated += 1;
            }
            Plan::Unchanged => stats.unchanged += 1,
        }
    }
    write_rows(conn, rows).await?;
    Ok(stats)
}

/// Folds records of the same paper with [`Paper::merge`], later records as the incoming
/// side, keeping first-seen order.
fn fold_duplicates(papers: Vec<Paper>) -> Vec<Paper> {
    let mut index: HashMap<ArxivId, usize> = HashMap::with_capacity(papers.len());
    let mut out: Vec<Option<Paper>> = Vec::with_capacity(papers.len());
    for p in papers {
        match index.get(&p.id) {
            Some(&i) => {
                let merged = match out[i].take() {
                    Some(prev) => prev.merge(p),
                    None => p,
                };
                out[i] = Some(merged);
            }
            None => {
                index.insert(p.id.clone(), out.len());
                out.push(Some(p));
            }
        }
    }
    out.into_iter().flatten().collect()
}

async fn load_stored(conn: &mut SqliteConnection, ids: &[&str]) -> Result<HashMap<String, Stored>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let sql = format!(
            "SELECT id, version, deleted, doc_hash FROM papers WHERE id IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let id: String = row.try_get(0)?;
            out.insert(
                id,
                Stored {
                    version: row.try_get(1)?,
                    deleted: row.try_get::<i64, _>(2)? != 0,
                    doc_hash: row.try_get(3)?,
                },
            );
        }
    }
    Ok(out)
}

async fn load_docs(conn: &mut SqliteConnection, ids: &[&str]) -> Result<HashMap<String, String>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let sql = format!(
            "SELECT id, doc FROM papers WHERE id IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.insert(row.try_get(0)?, row.try_get(1)?);
        }
    }
    Ok(out)
}

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO papers (id, seq, version, deleted, listing_date, published, \
         primary_category, categories, text_hash, doc_hash, doc) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)");
    }
    sql.push_str(
        " ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, version = excluded.version, \
         deleted = 0, listing_date = excluded.listing_date, published = excluded.published, \
         primary_category = excluded.primary_category, categories = excluded.categories, \
         text_hash = excluded.text_hash, doc_hash = excluded.doc_hash, doc = excluded.doc",
    );
    sql
}

async fn write_rows(conn: &mut SqliteConnection, rows: Vec<PaperRow>) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    // Built once per call: every full chunk reuses the same text, and so the same cached
    // prepared statement.
    let full_sql = insert_sql(ROWS_PER_INSERT);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<PaperRow> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        let sql = if chunk.len() == ROWS_PER_INSERT {
            full_sql.clone()
        } else {
            insert_sql(chunk.len())
        };
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(r.id)
                .bind(r.seq)
                .bind(r.version)
                .bind(r.listing_date)
                .bind(r.published)
                .bind(r.primary_category)
                .bind(r.categories)
                .bind(r.text_hash)
                .bind(r.doc_hash)
                .bind(r.doc);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Marks stored, not yet deleted papers deleted; unknown or already deleted ids count as
/// unchanged.
pub(crate) async fn delete(
    conn: &mut SqliteConnection,
    ids: &[ArxivId],
    seq: &mut SeqAlloc,
) -> Result<UpsertStats> {
    let mut unique: Vec<&str> = ids.iter().map(ArxivId::as_str).collect();
    unique.sort_unstable();
    unique.dedup();
    let mut live: Vec<String> = Vec::new();
    for chunk in unique.chunks(IDS_PER_QUERY) {
        let sql = format!(
            "SELECT id FROM papers WHERE deleted = 0 AND id IN ({}) ORDER BY id",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        live.extend(q.fetch_all(&mut *conn).await?);
    }
    for id in &live {
        sqlx::query("UPDATE papers SET deleted = 1, seq = ? WHERE id = ?")
            .bind(seq.next())
            .bind(id.as_str())
            .execute(&mut *conn)
            .await?;
    }
    let deleted = live.len() as u64;
    Ok(UpsertStats {
        deleted,
        unchanged: unique.len() as u64 - deleted,
        ..UpsertStats::default()
    })
}

/// Gives a live paper a new change sequence number (its upvotes changed). Callers check
/// [`is_live`] first, so no number is taken for nothing.
pub(crate) async fn touch(conn: &mut SqliteConnection, id: &str, seq: &mut SeqAlloc) -> Result<()> {
    sqlx::query("UPDATE papers SET seq = ? WHERE id = ?")
        .bind(seq.next())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether `id` is stored and not deleted.
pub(crate) async fn is_live(conn: &mut SqliteConnection, id: &str) -> Result<bool> {
    Ok(
        sqlx::query_scalar::<_, i64>("SELECT 1 FROM papers WHERE id = ? AND deleted = 0")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}

/// Decodes a `(id, doc)` pair of columns.
pub(crate) fn paper_from_row(row: &SqliteRow, id_col: usize, doc_col: usize) -> Result<Paper> {
    let id: String = row.try_get(id_col)?;
    let doc: String = row.try_get(doc_col)?;
    decode_paper(&id, &doc)
}

/// Papers by id, in the order asked, skipping unknown and deleted ones.
pub(crate) async fn get_many(conn: &mut SqliteConnection, ids: &[ArxivId]) -> Result<Vec<Paper>> {
    let mut found: HashMap<String, Paper> = HashMap::with_capacity(ids.len());
    let mut unique: Vec<&str> = ids.iter().map(ArxivId::as_str).collect();
    unique.sort_unstable();
    unique.dedup();
    for chunk in unique.chunks(IDS_PER_QUERY) {
        let sql = format!(
            "SELECT id, doc FROM papers WHERE deleted = 0 AND id IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let p = paper_from_row(&row, 0, 1)?;
            found.insert(p.id.as_str().to_string(), p);
        }
    }
    Ok(ids
        .iter()
        .filter_map(|id| found.get(id.as_str()).cloned())
        .collect())
}

pub(crate) async fn after(
    conn: &mut SqliteConnection,
    after: Option<&ArxivId>,
    limit: u32,
) -> Result<Vec<Paper>> {
    let rows =
        sqlx::query("SELECT id, doc FROM papers WHERE deleted = 0 AND id > ? ORDER BY id LIMIT ?")
            .bind(after.map_or("", ArxivId::as_str))
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(|r| paper_from_row(r, 0, 1)).collect()
}

pub(crate) async fn changes_since(
    conn: &mut SqliteConnection,
    since: i64,
    limit: u32,
) -> Result<Vec<Change>> {
    let sql = format!(
        "SELECT p.seq, p.id, p.deleted, CASE WHEN p.deleted = 0 THEN p.doc END, {UPVOTES_SQL} \
         FROM papers p LEFT JOIN submissions s ON s.paper_id = p.id \
         WHERE p.seq > ? ORDER BY p.seq LIMIT ?"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let seq: i64 = row.try_get(0)?;
        let deleted = row.try_get::<i64, _>(2)? != 0;
        out.push(if deleted {
            let id: String = row.try_get(1)?;
            Change::Delete {
                seq,
                id: parse_id(&id)?,
            }
        } else {
            Change::Upsert {
                seq,
                paper: Box::new(paper_from_row(&row, 1, 3)?),
                upvotes: to_u32(row.try_get(4)?),
            }
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper(id: &str, version: u32, title: &str) -> Paper {
        let mut p = Paper::new(ArxivId::parse(id).unwrap(), title);
        p.version = version;
        p
    }

    #[test]
    fn duplicates_fold_in_order_and_newest_version_wins() {
        let batch = vec![
            paper("2501.00001", 2, "A v2"),
            paper("2501.00002", 1, "B"),
            paper("2501.00001", 1, "A v1"),
            paper("2501.00001", 3, "A v3"),
        ];
        let folded = fold_duplicates(batch);
        let got: Vec<(&str, u32, &str)> = folded
            .iter()
            .map(|p| (p.id.as_str(), p.version, p.title.as_str()))
            .collect();
        assert_eq!(got, [("2501.00001", 3, "A v3"), ("2501.00002", 1, "B")]);
    }

    #[test]
    fn insert_sql_has_one_variable_per_bound_column() {
        for n in [1, 2, ROWS_PER_INSERT] {
            let sql = insert_sql(n);
            assert_eq!(sql.matches('?').count(), n * 10, "{n} rows");
        }
        assert_eq!(placeholders(3), "?, ?, ?");
        assert_eq!(placeholders(0), "");
    }
}
