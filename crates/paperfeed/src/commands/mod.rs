//! One module per command family; [`run`] dispatches.

mod bench;
mod demo;
mod embed;
mod eval;
mod export;
pub mod ingest;
pub mod search;
mod serve;
mod stats;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::settings::Settings;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    let settings = Settings::resolve(cli.data_dir, cli.config.as_deref(), cli.quiet)?;
    match cli.command {
        Command::Ingest(args) => ingest::run(&settings, args).await,
        Command::Stats { json } => stats::run(&settings, json).await,
        Command::Export { format } => export::run(&settings, format).await,
        Command::Bench { what } => bench::run(&settings, what).await,
        Command::Search(args) => search::search(&settings, args).await,
        Command::Similar(args) => search::similar(&settings, args).await,
        Command::Embed { model } => embed::run(&settings, model).await,
        Command::Reindex => search::reindex(&settings).await,
        Command::Eval(args) => eval::run(&settings, args).await,
        Command::Serve(args) => serve::run(&settings, args).await,
        Command::Demo(args) => demo::run(&settings, args).await,
    }
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`), if known.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
