//! Persistence for paperfeed, behind the [`Store`] trait.
//!
//! - [`Store`] is what every caller (CLI, jobs, web handlers) sees. It speaks domain types
//!   ([`Paper`], [`Submission`], ...) and never SQL, so a PostgreSQL implementation can be
//!   added beside [`SqliteStore`] without touching a caller.
//! - [`SqliteStore`] is the embedded default: one SQLite file in WAL mode, opened through
//!   sqlx, schema managed by the migrations in `migrations/`.
//! - Papers are upserted by arXiv id with [`Paper::merge`]: a newer version replaces an older
//!   one, never the reverse, and a record that changes nothing is not written at all (so
//!   importing the same file twice is a no-op). Every real change takes a new value from one
//!   store-wide change sequence; followers such as the search indexer and the embedding job
//!   ask for [`Store::changes_since`] their last seen sequence number and so never miss or
//!   repeat work.
//! - Harvest checkpoints are written in the same transaction as the page they follow
//!   ([`Store::save_harvest_page`]), so a harvest killed at any point resumes exactly.
//! - Embeddings are kept per model identity ([`ModelKey`]); vectors of different models are
//!   never mixed, and a paper whose text changed is re-embedded.
//! - Accounts keep only a password hash the caller computed, and sessions only the hash of
//!   their token ([`Session`]): the store never sees a secret it could leak.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use paperfeed_core::{ArxivId, Paper, Submission, User, UserName};
use serde::{Deserialize, Serialize};

mod error;
mod sqlite;

pub use error::StoreError;
pub use sqlite::SqliteStore;

/// Result alias of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What an upsert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpsertStats {
    /// Papers not stored before.
    pub inserted: u64,
    /// Stored papers whose record changed.
    pub updated: u64,
    /// Records that changed nothing (same data, or an older version).
    pub unchanged: u64,
    /// Papers marked deleted (OAI deleted records).
    pub deleted: u64,
}

impl UpsertStats {
    /// Adds another batch's counts.
    pub fn add(&mut self, other: UpsertStats) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.deleted += other.deleted;
    }
}

/// Counts for `paperfeed stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStats {
    /// Papers stored (deleted ones excluded).
    pub papers: u64,
    /// Papers marked deleted by a harvest.
    pub deleted: u64,
    /// Papers in some day's feed.
    pub submissions: u64,
    /// Upvotes cast on this instance.
    pub votes: u64,
    /// Embeddings per model key.
    pub embeddings: Vec<(String, u64)>,
    /// The latest change sequence number.
    pub last_seq: i64,
}

/// A change a follower must apply: the paper as it now is, or its deletion.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Inserted or updated.
    Upsert {
        /// Change sequence number.
        seq: i64,
        /// The paper as stored.
        paper: Box<Paper>,
        /// Local plus external upvotes.
        upvotes: u32,
    },
    /// Deleted.
    Delete {
        /// Change sequence number.
        seq: i64,
        /// The paper.
        id: ArxivId,
    },
}

impl Change {
    /// The sequence number.
    pub fn seq(&self) -> i64 {
        match self {
            Change::Upsert { seq, .. } | Change::Delete { seq, .. } => *seq,
        }
    }
}

/// Where an incremental harvest stands, saved with each page it stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HarvestCheckpoint {
    /// Which harvest: endpoint, set and metadata prefix, e.g. `oai:https://...|cs|arXivRaw`.
    pub key: String,
    /// The resumption token to continue the current list with, if a list is in progress.
    pub resumption_token: Option<String>,
    /// The `from` date the current list was started with.
    pub list_from: Option<NaiveDate>,
    /// The latest record datestamp stored; the next list starts here.
    pub last_datestamp: Option<NaiveDate>,
    /// When this checkpoint was written.
    pub updated_at: DateTime<Utc>,
}

/// The identity of an embedding model: vectors are only comparable within one key.
/// Built from the model's name, revision/content hash, dimensions and pooling, so two
/// models that differ in any of these never share vectors.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ModelKey(pub String);

/// One paper in a feed listing, with the curation data the pages and API show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedItem {
    /// The paper.
    pub paper: Paper,
    /// Its submission to the feed.
    pub submission: Submission,
    /// Local votes plus the external count recorded with the submission.
    pub upvotes: u32,
}

/// Which feed entries to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedQuery {
    /// First day, inclusive.
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    /// Only this submitter's entries.
    pub submitter: Option<UserName>,
    /// Order.
    pub sort: FeedSort,
    /// Entries to skip.
    pub offset: u64,
    /// Entries to return at most.
    pub limit: u64,
}

/// Order of a feed listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedSort {
    /// Most upvoted first, then newest.
    Upvotes,
    /// Newest submission first.
    PublishedAt,
}

/// A login session. The browser holds a random token; the store keeps its hash only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Lowercase hex SHA-256 of the token.
    pub token_hash: String,
    /// Whose session it is.
    pub user: UserName,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// When it stops being valid.
    pub expires: DateTime<Utc>,
}

/// The persistence interface. Every method is one transaction; batches are the caller's
/// way to amortise them.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    // --- papers -------------------------------------------------------------------------

    /// Merges each paper into the store (see the crate docs), in one transaction.
    async fn upsert_papers(&self, papers: Vec<Paper>) -> Result<UpsertStats>;

    /// Marks papers deleted (they stop being listed, searched and exported).
    async fn delete_papers(&self, ids: Vec<ArxivId>) -> Result<UpsertStats>;

    /// One paper, if stored and not deleted.
    async fn get_paper(&self, id: &ArxivId) -> Result<Option<Paper>>;

    /// Several papers, in the order asked, skipping unknown ones.
    async fn get_papers(&self, ids: &[ArxivId]) -> Result<Vec<Paper>>;

    /// Up to `limit` papers with an id greater than `after`, in id order (for export).
    async fn papers_after(&self, after: Option<&ArxivId>, limit: u32) -> Result<Vec<Paper>>;

    /// Counts.
    async fn stats(&self) -> Result<StoreStats>;

    /// Up to `limit` changes with a sequence number above `seq`, in sequence order.
    async fn changes_since(&self, seq: i64, limit: u32) -> Result<Vec<Change>>;

    /// The latest change sequence number (0 for an empty store).
    async fn last_seq(&self) -> Result<i64>;

    // --- harvesting ---------------------------------------------------------------------

    /// The checkpoint saved under `key`.
    async fn harvest_checkpoint(&self, key: &str) -> Result<Option<HarvestCheckpoint>>;

    /// Stores one harvested page (papers and deletions) and its checkpoint atomically.
    async fn save_harvest_page(
        &self,
        papers: Vec<Paper>,
        deleted: Vec<ArxivId>,
        checkpoint: HarvestCheckpoint,
    ) -> Result<UpsertStats>;

    // --- embeddings ---------------------------------------------------------------------

    /// Records the model's full identity (JSON) under its key, so a data dir says which
    /// model made its vectors.
    async fn register_model(&self, key: &ModelKey, identity: &serde_json::Value) -> Result<()>;

    /// Up to `limit` papers without a current embedding for `model` (never embedded, or
    /// whose title or abstract changed since), in id order, after `after` when given: a job
    /// passes the last id of its previous batch, so each batch reads on from there instead
    /// of from the first paper again.
    async fn papers_needing_embedding(
        &self,
        model: &ModelKey,
        after: Option<&ArxivId>,
        limit: u32,
    ) -> Result<Vec<Paper>>;

    /// How many papers still need an embedding for `model`.
    async fn count_needing_embedding(&self, model: &ModelKey) -> Result<u64>;

    /// Saves vectors (each for the paper's current text) in one transaction.
    async fn put_embeddings(
        &self,
        model: &ModelKey,
        vectors: Vec<(ArxivId, Vec<f32>)>,
    ) -> Result<()>;

    /// Up to `limit` stored vectors for `model` with an id greater than `after`, in id order.
    async fn embeddings_after(
        &self,
        model: &ModelKey,
        after: Option<&ArxivId>,
        limit: u32,
    ) -> Result<Vec<(ArxivId, Vec<f32>)>>;

    /// Drops every vector of other models (after a switch has finished re-embedding).
    async fn drop_other_embeddings(&self, keep: &ModelKey) -> Result<u64>;

    // --- feed and votes -----------------------------------------------------------------

    /// Puts papers in a day's feed; a paper already in a feed keeps its first day, but a
    /// higher external upvote count is taken. Returns how many were new.
    async fn add_submissions(&self, submissions: Vec<Submission>) -> Result<u64>;

    /// The submission of one paper, if it is in a feed.
    async fn submission(&self, id: &ArxivId) -> Result<Option<Submission>>;

    /// The submissions of several papers, in the order asked (`None` for papers in no feed).
    async fn submissions(&self, ids: &[ArxivId]) -> Result<Vec<Option<Submission>>>;

    /// Feed entries matching `query`.
    async fn feed(&self, query: &FeedQuery) -> Result<Vec<FeedItem>>;

    /// Papers listed on arXiv (`listing_date`) in `[from, to]` whose categories intersect
    /// `categories` and that are not in a feed yet (for automatic admission).
    async fn unsubmitted_listings(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        categories: &[String],
        limit: u32,
    ) -> Result<Vec<ArxivId>>;

    /// Records or removes one user's upvote; returns the paper's new upvote count.
    async fn set_vote(&self, user: &UserName, paper: &ArxivId, up: bool) -> Result<u32>;

    /// Upvotes (local plus external) of each paper asked, in order.
    async fn upvotes(&self, ids: &[ArxivId]) -> Result<Vec<u32>>;

    /// Whether `user` has upvoted each paper asked, in order.
    async fn voted(&self, user: &UserName, ids: &[ArxivId]) -> Result<Vec<bool>>;

    /// The latest day whose feed holds a paper.
    async fn latest_feed_day(&self) -> Result<Option<NaiveDate>>;

    /// The nearest days before and after `day` whose feeds hold a paper (for previous/next
    /// links that skip empty days).
    async fn adjacent_feed_days(
        &self,
        day: NaiveDate,
    ) -> Result<(Option<NaiveDate>, Option<NaiveDate>)>;

    /// The latest arXiv listing day of any stored paper.
    async fn latest_listing_date(&self) -> Result<Option<NaiveDate>>;

    // --- accounts -----------------------------------------------------------------------

    /// Creates an account with an already computed password hash (a PHC string). A name in
    /// use gives [`StoreError::NameTaken`].
    async fn create_user(&self, user: &User, password_hash: &str) -> Result<()>;

    /// An account and its password hash.
    async fn user_credentials(&self, name: &UserName) -> Result<Option<(User, String)>>;

    /// The accounts of these names that exist, in no particular order.
    async fn users(&self, names: &[UserName]) -> Result<Vec<User>>;

    /// Records a session (and forgets expired ones). An unknown user gives
    /// [`StoreError::UnknownUser`].
    async fn create_session(&self, session: &Session) -> Result<()>;

    /// The user of the unexpired session with this token hash.
    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>>;

    /// Ends a session (logging out); unknown hashes are ignored.
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
}
