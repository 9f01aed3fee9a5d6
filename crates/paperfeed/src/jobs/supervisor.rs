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

/// How often a job's pass runs, and how a failed pass is retried.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Between two successful passes.
    pub every: Duration,
    /// Before retrying the first failure; it doubles with each failure in a row.
    pub first_retry: Duration,
    /// The longest wait before a retry.
    pub max_retry: Duration,
}

impl Schedule {
    /// A pass every `every`; failures retried after 1 s, doubling up to 5 minutes.
    pub fn every(every: Duration) -> Self {
        Schedule {
            every,
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(300),
        }
    }
}

/// The loop every background job runs in `serve`: `pass` now, then again after
/// `schedule.every` when it succeeded or after a growing backoff when it failed, until
/// `cancel` fires. `job` names it in the warning a failure logs; a pass logs its own results.
pub async fn repeat<F, Fut>(
    job: &'static str,
    cancel: &CancellationToken,
    schedule: Schedule,
    mut pass: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut backoff = schedule.first_retry;
    loop {
        let wait = match pass().await {
            Ok(()) => {
                backoff = schedule.first_retry;
                schedule.every
            }
            // Stopped mid-pass: not a failure to report.
            Err(_) if cancel.is_cancelled() => return,
            Err(e) => {
                tracing::warn!(job, error = %format!("{e:#}"), retry_in = ?backoff, "background job failed");
                let wait = backoff;
                backoff = (backoff * 2).min(schedule.max_retry);
                wait
            }
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
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

    #[tokio::test(start_paused = true)]
    async fn repeat_backs_off_after_failures_and_resets_after_a_success() {
        let cancel = CancellationToken::new();
        let start = tokio::time::Instant::now();
        let mut at = Vec::new();
        let mut n = 0;
        let schedule = Schedule {
            every: Duration::from_secs(10),
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(3),
        };
        repeat("test", &cancel, schedule, || {
            n += 1;
            at.push(start.elapsed().as_secs());
            if n == 7 {
                cancel.cancel();
            }
            // Passes 1-4 fail, 5 succeeds, 6 fails.
            let ok = n == 5;
            async move {
                if ok {
                    Ok(())
                } else {
                    Err(anyhow::anyhow!("down"))
                }
            }
        })
        .await;
        // Retries after 1, 2, 3, 3 s; then the schedule's 10 s; then 1 s again.
        assert_eq!(at, [0, 1, 3, 6, 9, 19, 20]);
    }
}
