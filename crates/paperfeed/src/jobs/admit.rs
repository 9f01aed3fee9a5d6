//! Automatic admission: papers newly listed on arXiv in chosen categories enter the feed of
//! their listing day, as if someone had submitted them (with no submitter).
//!
//! Each pass asks the store for listed papers not yet in any feed
//! (`Store::unsubmitted_listings`) within the window, in batches, and submits each batch in
//! one transaction: a pass cut short by shutdown has admitted whole batches only, and the
//! next pass picks up the rest. A paper already in a feed (submitted by a person, or featured
//! on Hugging Face) keeps its day.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{Days, NaiveDate, NaiveTime};
use paperfeed_core::Submission;
use paperfeed_store::Store;
use tokio_util::sync::CancellationToken;

use crate::jobs::supervisor::{Schedule, repeat};

/// Papers admitted per transaction.
const BATCH: u32 = 1000;

/// Which listing days a pass looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmitWindow {
    /// The last `days` listing days up to the newest listing in the store (a live instance:
    /// a bulk import of old papers does not flood old feeds).
    Recent {
        /// Days before the newest listing day.
        days: u32,
    },
    /// Every listing day (the demo's frozen sample).
    All,
}

/// Admits new listings of some categories to their day's feed.
#[derive(Debug, Clone)]
pub struct AdmitJob {
    store: Arc<dyn Store>,
    categories: Vec<String>,
    window: AdmitWindow,
}

impl AdmitJob {
    /// A job admitting papers of `categories` (codes like `cs.CL`, or archives like `cs`).
    pub fn new(store: Arc<dyn Store>, categories: Vec<String>, window: AdmitWindow) -> Self {
        AdmitJob {
            store,
            categories,
            window,
        }
    }

    /// One pass; returns how many papers entered a feed.
    pub async fn run_once(&self, cancel: &CancellationToken) -> Result<u64> {
        if self.categories.is_empty() {
            return Ok(0);
        }
        let Some(latest) = self.store.latest_listing_date().await? else {
            return Ok(0);
        };
        let from = match self.window {
            AdmitWindow::Recent { days } => latest
                .checked_sub_days(Days::new(u64::from(days)))
                .unwrap_or(latest),
            AdmitWindow::All => NaiveDate::from_ymd_opt(1991, 1, 1).unwrap_or(latest),
        };
        let mut admitted = 0;
        while !cancel.is_cancelled() {
            let ids = self
                .store
                .unsubmitted_listings(from, latest, &self.categories, BATCH)
                .await
                .context("cannot list new papers")?;
            if ids.is_empty() {
                break;
            }
            let papers = self.store.get_papers(&ids).await?;
            let submissions: Vec<Submission> = papers
                .iter()
                .filter_map(|p| {
                    let day = p.listing_date?;
                    Some(Submission {
                        paper: p.id.clone(),
                        day,
                        submitted_by: None,
                        // arXiv announces a listing day's papers at its start (UTC).
                        at: day.and_time(NaiveTime::MIN).and_utc(),
                        external_upvotes: 0,
                    })
                })
                .collect();
            let new = self
                .store
                .add_submissions(submissions)
                .await
                .context("cannot admit papers")?;
            admitted += new;
            if new == 0 {
                // Nothing could be admitted (papers vanished between the two reads): stop
                // rather than ask for the same ids again.
                break;
            }
        }
        Ok(admitted)
    }

    /// Runs a pass every `every` until `cancel` fires, retrying failures with backoff.
    pub async fn run(self, cancel: CancellationToken, every: Duration) {
        let (job, token) = (&self, &cancel);
        repeat("admit", &cancel, Schedule::every(every), || async move {
            let n = job.run_once(token).await?;
            if n > 0 {
                tracing::info!(admitted = n, "new listings admitted to the daily feed");
            }
            Ok(())
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::index::tests::sample_papers;
    use paperfeed_store::{FeedQuery, FeedSort, SqliteStore};

    #[tokio::test]
    async fn admits_listed_papers_of_the_categories_to_their_listing_day_once() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&dir.path().join("db.sqlite"))
                .await
                .unwrap(),
        );
        let papers = sample_papers(300);
        store.upsert_papers(papers.clone()).await.unwrap();
        let wanted = |p: &paperfeed_core::Paper| {
            p.listing_date.is_some() && p.categories.iter().any(|c| c.as_str() == "cs.CL")
        };
        let expected = papers.iter().filter(|p| wanted(p)).count() as u64;
        assert!(expected > 0 && expected < 300);
        // Someone submitted one of them by hand first: it keeps its day.
        let first = papers.iter().find(|p| wanted(p)).unwrap();
        let hand_day = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        store
            .add_submissions(vec![Submission {
                paper: first.id.clone(),
                day: hand_day,
                submitted_by: None,
                at: chrono::Utc::now(),
                external_upvotes: 0,
            }])
            .await
            .unwrap();
        let job = AdmitJob::new(store.clone(), vec!["cs.CL".into()], AdmitWindow::All);
        let n = job.run_once(&CancellationToken::new()).await.unwrap();
        assert_eq!(n, expected - 1);
        assert_eq!(job.run_once(&CancellationToken::new()).await.unwrap(), 0);
        let all = store
            .feed(&FeedQuery {
                from: hand_day,
                to: NaiveDate::from_ymd_opt(2100, 1, 1).unwrap(),
                submitter: None,
                sort: FeedSort::PublishedAt,
                offset: 0,
                limit: 10_000,
            })
            .await
            .unwrap();
        assert_eq!(all.len() as u64, expected);
        for item in &all {
            if item.paper.id == first.id {
                assert_eq!(item.submission.day, hand_day);
            } else {
                assert_eq!(Some(item.submission.day), item.paper.listing_date);
            }
        }
        // A recent window admits nothing older than it.
        let other = AdmitJob::new(
            store.clone(),
            vec!["math".into()],
            AdmitWindow::Recent { days: 0 },
        );
        let latest = store.latest_listing_date().await.unwrap().unwrap();
        let n = other.run_once(&CancellationToken::new()).await.unwrap();
        let math_latest = papers
            .iter()
            .filter(|p| p.listing_date == Some(latest))
            .filter(|p| p.categories.iter().any(|c| c.archive() == "math"))
            .filter(|p| !p.categories.iter().any(|c| c.as_str() == "cs.CL"))
            .count() as u64;
        assert_eq!(n, math_latest);
    }
}
