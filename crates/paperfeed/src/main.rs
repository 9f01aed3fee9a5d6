//! The `paperfeed` binary: one CLI over the library crates.
//!
//! `main` parses flags, merges them with the environment and the config file into
//! [`settings::Settings`], opens what the command needs and hands over to a module per
//! command family. Errors end here as one line on stderr and a non-zero exit, never a
//! backtrace.

mod cli;
mod commands;
mod config;
mod import;
mod jobs;
mod progress;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

/// mimalloc instead of glibc's allocator: a search allocates hundreds of small strings and
/// vectors across threads, and glibc spent several percent of the server's CPU in
/// `malloc`/`free` and grew per-thread arenas while indexing.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            // `{:#}` prints the context chain on one line: "cannot open x: permission denied".
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet { "error" } else { "info" };
    let filter = EnvFilter::try_from_env("PAPERFEED_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{default},tantivy=warn,sqlx=warn,ureq=warn,rustls=warn"
        ))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .compact()
        .try_init();
}
