//! The scheduled OAI-PMH harvest of `serve`: one incremental harvest at start and then every
//! `[harvest] every_hours`, through the same `run_harvest` as `paperfeed ingest oai` (each
//! page stored with its checkpoint in one transaction, so a harvest stopped by shutdown
//! resumes at the next page).

use std::sync::Arc;
use std::time::Duration;

use paperfeed_ingest::harvest::HarvestParams;
use paperfeed_ingest::http::PoliteClient;
use paperfeed_store::Store;
use tokio_util::sync::CancellationToken;

use crate::jobs::supervisor::{Schedule, repeat};

use crate::commands::ingest::remote::run_harvest;

/// Harvests on a schedule.
#[derive(Debug, Clone)]
pub struct HarvestJob {
    store: Arc<dyn Store>,
    client: PoliteClient,
    params: HarvestParams,
    every: Duration,
}

impl HarvestJob {
    /// A job harvesting `params` every `every`.
    pub fn new(
        store: Arc<dyn Store>,
        client: PoliteClient,
        params: HarvestParams,
        every: Duration,
    ) -> Self {
        HarvestJob {
            store,
            client,
            params,
            every,
        }
    }

    /// Harvests now and then every `every` until `cancel` fires; a failed harvest is retried
    /// with backoff (from one minute up to the schedule's interval).
    pub async fn run(self, cancel: CancellationToken) {
        let schedule = Schedule {
            every: self.every,
            first_retry: Duration::from_secs(60),
            max_retry: self.every.max(Duration::from_secs(60)),
        };
        let (job, token) = (&self, &cancel);
        repeat("harvest", &cancel, schedule, || async move {
            let report = run_harvest(
                job.store.clone(),
                job.client.clone(),
                job.params.clone(),
                false,
                true,
                token.clone(),
            )
            .await?;
            tracing::info!(
                records = report.records,
                new = report.store.inserted,
                updated = report.store.updated,
                "harvest finished"
            );
            Ok(())
        })
        .await;
    }
}
