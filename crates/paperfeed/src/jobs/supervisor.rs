//! Runs `serve`'s background jobs (indexing, embedding, admission, harvesting) as tasks
//! sharing one [`CancellationToken`], and stops them on shutdown: each job ends its loop at
//! the next safe point (a batch is committed whole or abandoned whole), and [`Supervisor::stop`]
//! waits for all of them.

use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long shutdown waits for jobs before giving up on them (their work in flight is
/// transactional, so abandoning it loses nothing that was committed).
const STOP_GRACE: Duration = Duration::from_secs(60);

/// The running jobs.
#[derive(Debug)]
pub struct Supervisor {
    cancel: CancellationToken,
    tasks: JoinSet<()>,
    names: Vec<&'static str>,
}

impl Supervisor {
    /// A supervisor whose jobs stop when `cancel` fires (or on [`Supervisor::stop`]).
    pub fn new(cancel: CancellationToken) -> Self {
        Supervisor {
            cancel,
            tasks: JoinSet::new(),
            names: Vec::new(),
        }
    }

    /// The token jobs watch.
    pub fn token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Starts a job.
    pub fn spawn<F>(&mut self, name: &'static str, job: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tracing::debug!(job = name, "starting background job");
        self.names.push(name);
        self.tasks.spawn(job);
    }

    /// Names of the jobs started.
    pub fn jobs(&self) -> &[&'static str] {
        &self.names
    }

    /// Cancels every job and waits for them to finish.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        let all = async {
            while let Some(done) = self.tasks.join_next().await {
                if let Err(e) = done {
                    tracing::error!(error = %e, "a background job failed");
                }
            }
        };
        if tokio::time::timeout(STOP_GRACE, all).await.is_err() {
            tracing::warn!("background jobs did not stop in time; abandoning them");
            self.tasks.abort_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn stop_cancels_and_waits_for_every_job() {
        let finished = Arc::new(AtomicU32::new(0));
        let mut s = Supervisor::new(CancellationToken::new());
        for name in ["a", "b"] {
            let token = s.token();
            let finished = finished.clone();
            s.spawn(name, async move {
                token.cancelled().await;
                // The job's last batch: stop waits for it.
                tokio::time::sleep(Duration::from_millis(50)).await;
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        assert_eq!(s.jobs(), ["a", "b"]);
        s.stop().await;
        assert_eq!(finished.load(Ordering::SeqCst), 2);
    }
}
