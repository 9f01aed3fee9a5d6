//! Progress of long work: a bar (records, bytes, rate, ETA) when stderr is a terminal, plain
//! log lines every few seconds otherwise (CI logs and pipes stay readable).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a non-terminal progress line is printed.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// A progress reporter for one unit of work.
#[derive(Debug)]
pub struct Progress {
    label: String,
    bar: Option<ProgressBar>,
    bytes: Option<Arc<AtomicU64>>,
    total_bytes: Option<u64>,
    total_items: Option<u64>,
    started: Instant,
    last_log: Mutex<Instant>,
    quiet: bool,
}

impl Progress {
    /// Progress over a byte stream (`bytes` is the shared counter of bytes consumed).
    pub fn bytes(
        label: &str,
        bytes: Arc<AtomicU64>,
        total_bytes: Option<u64>,
        quiet: bool,
    ) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(total_bytes, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta}) {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            label: label.to_string(),
            bar,
            bytes: Some(bytes),
            total_bytes,
            total_items: None,
            started: Instant::now(),
            last_log: Mutex::new(Instant::now()),
            quiet,
        }
    }

    /// Progress over a known (or unknown) number of items.
    pub fn items(label: &str, total: Option<u64>, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {human_pos}/{human_len} ({per_sec}, ETA {eta}) {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            label: label.to_string(),
            bar,
            bytes: None,
            total_bytes: None,
            total_items: total,
            started: Instant::now(),
            last_log: Mutex::new(Instant::now()),
            quiet,
        }
    }

    /// Records (or items) done so far.
    pub fn set_records(&self, n: u64) {
        if let Some(bar) = &self.bar {
            match &self.bytes {
                Some(bytes) => {
                    bar.set_position(bytes.load(Ordering::Relaxed));
                    let rate = n as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
                    bar.set_message(format!("{n} records, {rate:.0}/s"));
                }
                None => bar.set_position(n),
            }
            return;
        }
        if self.quiet {
            return;
        }
        let mut last = match self.last_log.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if last.elapsed() < LOG_EVERY {
            return;
        }
        *last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = n as f64 / secs;
        let done = match (&self.bytes, self.total_bytes, self.total_items) {
            (Some(b), Some(total), _) if total > 0 => {
                let b = b.load(Ordering::Relaxed);
                format!(
                    " ({:.0}% of {} MB)",
                    100.0 * b as f64 / total as f64,
                    total >> 20
                )
            }
            (_, _, Some(total)) if total > 0 => {
                format!(" of {total} ({:.0}%)", 100.0 * n as f64 / total as f64)
            }
            _ => String::new(),
        };
        eprintln!("{}: {n} records{done}, {rate:.0}/s", self.label);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
