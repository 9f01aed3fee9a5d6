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
        let mut backoff = Duration::from_secs(60);
        loop {
            let result = run_harvest(
                self.store.clone(),
                self.client.clone(),
                self.params.clone(),
                false,
                true,
                cancel.clone(),
            )
            .await;
            let wait = match result {
                Ok(report) => {
                    backoff = Duration::from_secs(60);
                    tracing::info!(
                        records = report.records,
                        new = report.store.inserted,
                        updated = report.store.updated,
                        "harvest finished"
                    );
                    self.every
                }
                Err(_) if cancel.is_cancelled() => return,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), retry_in = ?backoff, "harvest failed");
                    let wait = backoff;
                    backoff = (backoff * 2).min(self.every.max(Duration::from_secs(60)));
                    wait
                }
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}
