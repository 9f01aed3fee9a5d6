//! [`SqliteStore`]: the [`Store`] on one SQLite file, through sqlx.
//!
//! The file runs in WAL mode with two pools: a single writer connection, so write
//! transactions queue in the process instead of failing with `SQLITE_BUSY`, and several
//! reader connections that see the last committed state while a write is in progress (a
//! web server keeps answering while a background job imports). Write transactions start
//! with `BEGIN IMMEDIATE`, so they take the file's write lock up front and wait out a
//! writer in another process (the CLI next to a running server) within the busy timeout.

mod accounts;
mod codec;
mod embeddings;
mod feed;
mod papers;

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use paperfeed_core::{ArxivId, Paper, Submission, User, UserName};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

use self::codec::{fmt_date, fmt_ts, parse_date, parse_ts, to_u64};
use self::papers::SeqAlloc;
use crate::{
    Change, FeedItem, FeedQuery, HarvestCheckpoint, ModelKey, Result, Session, Store, StoreError,
    StoreStats, UpsertStats,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a write waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Memory-mapped I/O per connection: address space, not memory; pages beyond it are read
/// with ordinary calls.
const MMAP_BYTES: u64 = 1 << 30;

/// Reader connections: enough for concurrent web requests on a small machine; SQLite reads
/// are CPU-bound, so more than a few cores' worth buys nothing.
const READERS: u32 = 4;

/// The embedded store. Cheap to clone (the pools are shared).
///
/// Behaviour the [`Store`] contract leaves open, as this implementation settles it:
/// - [`UpsertStats`] counts distinct papers: duplicates within a batch are folded first.
/// - A deleted paper stays deleted when an upsert brings the same or an older version (an
///   old snapshot must not resurrect it); a newer version brings it back.
/// - Votes, feed submissions and vectors for a paper that is not stored (or is deleted)
///   fail the whole call with [`StoreError::UnknownPaper`]; vectors for an unregistered
///   model with [`StoreError::UnknownModel`]; empty, non-finite or wrongly sized vectors with
///   [`StoreError::InvalidEmbedding`].
/// - In [`Store::unsubmitted_listings`] a category without a subject class (`cs`, `hep-th`)
///   also matches its whole archive (`cs.CL`, ...), and an empty list matches nothing.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: PathBuf,
    writer: SqlitePool,
    reader: SqlitePool,
    /// One connection for whole-table reads (the index and embedding jobs, exports): it
    /// does not map the file, so a pass over every paper does not leave the database in
    /// the process's resident memory.
    bulk: SqlitePool,
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file (and its directory) if missing, and
    /// brings its schema up to date.
    ///
    /// A path that cannot be opened or is not a SQLite file gives [`StoreError::Open`]; a
    /// schema that cannot be migrated (e.g. written by a newer paperfeed) gives
    /// [`StoreError::Migrate`].
    pub async fn open(path: &Path) -> Result<Self> {
        let open_error = |message: String| StoreError::Open {
            path: path.display().to_string(),
            message: one_line(&message),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| open_error(format!("cannot create {}: {e}", dir.display())))?;
        }
        let base = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);

        // A large page cache keeps a bulk import's index updates in memory, and a larger
        // WAL between checkpoints means fewer fsyncs during one; memory-mapped reads save a
        // copy per page read. Readers map the file too: without it the daily page served
        // 1,000-1,160 req/s instead of 1,620-1,680. Mapped pages count in RSS, so the
        // whole-table reads of the background jobs go through `bulk`, which does not map.
        let base = base.pragma("mmap_size", MMAP_BYTES.to_string());
        let writer_options = base
            .clone()
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "MEMORY")
            .pragma("wal_autocheckpoint", "8192")
            .optimize_on_close(true, 400);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // Keeping the connection open keeps the WAL and its index alive between writes.
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(writer_options)
            .await
            .map_err(|e| open_error(e.to_string()))?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|e| StoreError::Migrate(one_line(&e.to_string())))?;

        // `query_only` turns a write sent to the wrong pool into an error instead of a
        // second writer.
        let reader_options = base
            .pragma("cache_size", "-16384")
            .pragma("query_only", "ON");
        let bulk_options = reader_options
            .clone()
            .pragma("mmap_size", "0")
            .pragma("cache_size", "-4096");
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(reader_options)
            .await
            .map_err(|e| open_error(e.to_string()))?;
        let bulk = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(bulk_options)
            .await
            .map_err(|e| open_error(e.to_string()))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer,
            reader,
            bulk,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes every connection, waiting for them to finish. The WAL is checkpointed and
    /// the query planner statistics refreshed as the writer closes.
    pub async fn close(&self) {
        self.bulk.close().await;
        self.reader.close().await;
        self.writer.close().await;
    }

    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn read_conn(&self) -> Result<sqlx::pool::PoolConnection<Sqlite>> {
        Ok(self.reader.acquire().await?)
    }

    async fn bulk_conn(&self) -> Result<sqlx::pool::PoolConnection<Sqlite>> {
        Ok(self.bulk.acquire().await?)
    }
}

/// sqlx and SQLite messages can span lines; `StoreError::Open` promises one.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn save_checkpoint(conn: &mut SqliteConnection, c: &HarvestCheckpoint) -> Result<()> {
    sqlx::query(
        "INSERT INTO harvest_checkpoints \
         (key, resumption_token, list_from, last_datestamp, updated_at) \
         VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (key) DO UPDATE SET resumption_token = excluded.resumption_token, \
         list_from = excluded.list_from, last_datestamp = excluded.last_datestamp, \
         updated_at = excluded.updated_at",
    )
    .bind(c.key.as_str())
    .bind(c.resumption_token.as_deref())
    .bind(c.list_from.as_ref().map(fmt_date))
    .bind(c.last_datestamp.as_ref().map(fmt_date))
    .bind(fmt_ts(&c.updated_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn load_checkpoint(
    conn: &mut SqliteConnection,
    key: &str,
) -> Result<Option<HarvestCheckpoint>> {
    let Some(row) = sqlx::query(
        "SELECT resumption_token, list_from, last_datestamp, updated_at \
         FROM harvest_checkpoints WHERE key = ?",
    )
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let date = |col: usize| -> Result<Option<NaiveDate>> {
        row.try_get::<Option<String>, _>(col)?
            .map(|s| parse_date(key, &s))
            .transpose()
    };
    let updated_at: String = row.try_get(3)?;
    Ok(Some(HarvestCheckpoint {
        key: key.to_string(),
        resumption_token: row.try_get(0)?,
        list_from: date(1)?,
        last_datestamp: date(2)?,
        updated_at: parse_ts(key, &updated_at)?,
    }))
}

#[async_trait]
impl Store for SqliteStore {
    async fn upsert_papers(&self, papers: Vec<Paper>) -> Result<UpsertStats> {
        if papers.is_empty() {
            return Ok(UpsertStats::default());
        }
        let mut tx = self.write_tx().await?;
        let mut seq = SeqAlloc::read(&mut tx).await?;
        let stats = papers::upsert(&mut tx, papers, &mut seq).await?;
        seq.save(&mut tx).await?;
        tx.commit().await?;
        Ok(stats)
    }

    async fn delete_papers(&self, ids: Vec<ArxivId>) -> Result<UpsertStats> {
        if ids.is_empty() {
            return Ok(UpsertStats::default());
        }
        let mut tx = self.write_tx().await?;
        let mut seq = SeqAlloc::read(&mut tx).await?;
        let stats = papers::delete(&mut tx, &ids, &mut seq).await?;
        seq.save(&mut tx).await?;
        tx.commit().await?;
        Ok(stats)
    }

    async fn get_paper(&self, id: &ArxivId) -> Result<Option<Paper>> {
        let mut conn = self.read_conn().await?;
        Ok(papers::get_many(&mut conn, std::slice::from_ref(id))
            .await?
            .into_iter()
            .next())
    }

    async fn get_papers(&self, ids: &[ArxivId]) -> Result<Vec<Paper>> {
        let mut conn = self.read_conn().await?;
        papers::get_many(&mut conn, ids).await
    }

    async fn papers_after(&self, after: Option<&ArxivId>, limit: u32) -> Result<Vec<Paper>> {
        let mut conn = self.bulk_conn().await?;
        papers::after(&mut conn, after, limit).await
    }

    async fn stats(&self) -> Result<StoreStats> {
        // One read transaction, so the counts belong to the same snapshot. Counting reads
        // whole tables: the bulk connection.
        let mut tx = self.bulk.begin().await?;
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM papers WHERE deleted = 0), \
                    (SELECT COUNT(*) FROM papers WHERE deleted != 0), \
                    (SELECT COUNT(*) FROM submissions), \
                    (SELECT COUNT(*) FROM votes), \
                    (SELECT value FROM change_seq WHERE id = 1)",
        )
        .fetch_one(&mut *tx)
        .await?;
        let embeddings = embeddings::counts(&mut tx).await?;
        tx.commit().await?;
        Ok(StoreStats {
            papers: to_u64(row.try_get(0)?),
            deleted: to_u64(row.try_get(1)?),
            submissions: to_u64(row.try_get(2)?),
            votes: to_u64(row.try_get(3)?),
            embeddings,
            last_seq: row.try_get(4)?,
        })
    }

    async fn changes_since(&self, seq: i64, limit: u32) -> Result<Vec<Change>> {
        let mut conn = self.bulk_conn().await?;
        papers::changes_since(&mut conn, seq, limit).await
    }

    async fn last_seq(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT value FROM change_seq WHERE id = 1")
                .fetch_one(&self.reader)
                .await?,
        )
    }

    async fn harvest_checkpoint(&self, key: &str) -> Result<Option<HarvestCheckpoint>> {
        let mut conn = self.read_conn().await?;
        load_checkpoint(&mut conn, key).await
    }

    async fn save_harvest_page(
        &self,
        papers: Vec<Paper>,
        deleted: Vec<ArxivId>,
        checkpoint: HarvestCheckpoint,
    ) -> Result<UpsertStats> {
        let mut tx = self.write_tx().await?;
        let mut seq = SeqAlloc::read(&mut tx).await?;
        let mut stats = papers::upsert(&mut tx, papers, &mut seq).await?;
        stats.add(papers::delete(&mut tx, &deleted, &mut seq).await?);
        save_checkpoint(&mut tx, &checkpoint).await?;
        seq.save(&mut tx).await?;
        tx.commit().await?;
        Ok(stats)
    }

    async fn register_model(&self, key: &ModelKey, identity: &serde_json::Value) -> Result<()> {
        let mut tx = self.write_tx().await?;
        embeddings::register_model(&mut tx, key, identity).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn papers_needing_embedding(
        &self,
        model: &ModelKey,
        after: Option<&ArxivId>,
        limit: u32,
    ) -> Result<Vec<Paper>> {
        let mut conn = self.bulk_conn().await?;
        embeddings::needing(&mut conn, model, after, limit).await
    }

    async fn count_needing_embedding(&self, model: &ModelKey) -> Result<u64> {
        let mut conn = self.bulk_conn().await?;
        embeddings::count_needing(&mut conn, model).await
    }

    async fn put_embeddings(
        &self,
        model: &ModelKey,
        vectors: Vec<(ArxivId, Vec<f32>)>,
    ) -> Result<()> {
        if vectors.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        embeddings::put(&mut tx, model, vectors).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn embeddings_after(
        &self,
        model: &ModelKey,
        after: Option<&ArxivId>,
        limit: u32,
    ) -> Result<Vec<(ArxivId, Vec<f32>)>> {
        let mut conn = self.bulk_conn().await?;
        embeddings::after(&mut conn, model, after, limit).await
    }

    async fn drop_other_embeddings(&self, keep: &ModelKey) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let n = embeddings::drop_others(&mut tx, keep).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn add_submissions(&self, submissions: Vec<Submission>) -> Result<u64> {
        if submissions.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write_tx().await?;
        let mut seq = SeqAlloc::read(&mut tx).await?;
        let new = feed::add_submissions(&mut tx, submissions, &mut seq).await?;
        seq.save(&mut tx).await?;
        tx.commit().await?;
        Ok(new)
    }

    async fn submission(&self, id: &ArxivId) -> Result<Option<Submission>> {
        let mut conn = self.read_conn().await?;
        feed::submission(&mut conn, id).await
    }

    async fn submissions(&self, ids: &[ArxivId]) -> Result<Vec<Option<Submission>>> {
        let mut conn = self.read_conn().await?;
        feed::submissions(&mut conn, ids).await
    }

    async fn feed(&self, query: &FeedQuery) -> Result<Vec<FeedItem>> {
        let mut conn = self.read_conn().await?;
        feed::feed(&mut conn, query).await
    }

    async fn unsubmitted_listings(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        categories: &[String],
        limit: u32,
    ) -> Result<Vec<ArxivId>> {
        let mut conn = self.read_conn().await?;
        feed::unsubmitted_listings(&mut conn, from, to, categories, limit).await
    }

    async fn set_vote(&self, user: &UserName, paper: &ArxivId, up: bool) -> Result<u32> {
        let mut tx = self.write_tx().await?;
        let mut seq = SeqAlloc::read(&mut tx).await?;
        let n = feed::set_vote(&mut tx, user, paper, up, Utc::now(), &mut seq).await?;
        seq.save(&mut tx).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn upvotes(&self, ids: &[ArxivId]) -> Result<Vec<u32>> {
        let mut conn = self.read_conn().await?;
        feed::upvotes(&mut conn, ids).await
    }

    async fn voted(&self, user: &UserName, ids: &[ArxivId]) -> Result<Vec<bool>> {
        let mut conn = self.read_conn().await?;
        accounts::voted(&mut conn, user, ids).await
    }

    async fn latest_feed_day(&self) -> Result<Option<NaiveDate>> {
        let mut conn = self.read_conn().await?;
        feed::latest_feed_day(&mut conn).await
    }

    async fn adjacent_feed_days(
        &self,
        day: NaiveDate,
    ) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
        let mut conn = self.read_conn().await?;
        feed::adjacent_feed_days(&mut conn, day).await
    }

    async fn latest_listing_date(&self) -> Result<Option<NaiveDate>> {
        let mut conn = self.read_conn().await?;
        feed::latest_listing_date(&mut conn).await
    }

    async fn create_user(&self, user: &User, password_hash: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        accounts::create_user(&mut tx, user, password_hash).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn user_credentials(&self, name: &UserName) -> Result<Option<(User, String)>> {
        let mut conn = self.read_conn().await?;
        accounts::credentials(&mut conn, name).await
    }

    async fn users(&self, names: &[UserName]) -> Result<Vec<User>> {
        let mut conn = self.read_conn().await?;
        accounts::users(&mut conn, names).await
    }

    async fn create_session(&self, session: &Session) -> Result<()> {
        let mut tx = self.write_tx().await?;
        accounts::create_session(&mut tx, session).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let mut conn = self.read_conn().await?;
        accounts::session_user(&mut conn, token_hash, now).await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        accounts::delete_session(&mut tx, token_hash).await?;
        tx.commit().await?;
        Ok(())
    }
}
