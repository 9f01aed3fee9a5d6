//! The networked sources: OAI-PMH harvests and arXiv API fetches, both through the one polite
//! client (arXiv's terms: one connection at a time, at least 3 s apart), plus the RSS files
//! those listings come as.

use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use paperfeed_core::VersionedId;
use paperfeed_ingest::arxiv_api::ArxivApi;
use paperfeed_ingest::harvest::{self, HarvestParams, HarvestState, Harvester};
use paperfeed_ingest::http::{MIN_INTERVAL, PoliteClient, PoliteConfig};
use paperfeed_ingest::input::Input;
use paperfeed_ingest::oai::MetadataFormat;
use paperfeed_ingest::{Position, rss};
use paperfeed_store::{HarvestCheckpoint, Store, UpsertStats};
use tokio_util::sync::CancellationToken;

use crate::cli::{ArxivArgs, MetadataPrefix, OaiArgs};
use crate::commands::ingest::print_report;
use crate::import::{ImportReport, Item, MAX_LISTED_BAD};
use crate::settings::{DEFAULT_API_ENDPOINT, DEFAULT_OAI_ENDPOINT, Settings};

/// The polite client for `endpoint`. An interval below arXiv's 3 s is honoured only for
/// other hosts (a local test server, a mirror); arXiv itself always gets at least 3 s.
pub fn polite_client(
    settings: &Settings,
    endpoint: &str,
    interval: Option<f64>,
) -> Result<PoliteClient> {
    let mut config = PoliteConfig::new(&settings.contact)?;
    if let Some(secs) = interval {
        if !(secs.is_finite() && secs >= 0.0) {
            bail!("invalid --interval {secs}: give seconds, at least 3 for arXiv");
        }
        let wanted = Duration::from_secs_f64(secs);
        config = if wanted < MIN_INTERVAL && !is_arxiv(endpoint) {
            config.with_min_interval_unchecked(wanted)
        } else {
            if wanted < MIN_INTERVAL {
                tracing::warn!("arXiv asks for at least 3 s between requests; using 3 s");
            }
            config.with_min_interval(wanted)
        };
    }
    Ok(PoliteClient::new(config))
}

fn is_arxiv(endpoint: &str) -> bool {
    let host = endpoint
        .split("://")
        .nth(1)
        .unwrap_or(endpoint)
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    host == "arxiv.org" || host.ends_with(".arxiv.org")
}

/// `ingest oai`: harvests until the list is complete, storing each page with its checkpoint.
pub async fn harvest(settings: &Settings, args: OaiArgs, strict: bool) -> Result<ExitCode> {
    let file = &settings.file.harvest;
    let endpoint = args
        .endpoint
        .or_else(|| file.endpoint.clone())
        .unwrap_or_else(|| DEFAULT_OAI_ENDPOINT.to_string());
    let format = match args.metadata_prefix {
        Some(MetadataPrefix::Arxiv) => MetadataFormat::Arxiv,
        Some(MetadataPrefix::ArxivRaw) => MetadataFormat::ArxivRaw,
        Some(MetadataPrefix::OaiDc) => MetadataFormat::OaiDc,
        None => match &file.metadata_prefix {
            Some(p) => p
                .parse()
                .map_err(|e| anyhow::anyhow!("harvest.metadata_prefix: {e}"))?,
            None => MetadataFormat::ArxivRaw,
        },
    };
    let params = HarvestParams {
        endpoint: endpoint.clone(),
        set: args.set.or_else(|| file.set.clone()),
        format,
        from: args.from,
        until: args.until,
    };
    let client = polite_client(settings, &endpoint, args.interval.or(file.interval_secs))?;
    let store = settings.open_store().await?;
    let summary = run_harvest(
        store,
        client,
        params,
        strict,
        settings.quiet,
        CancellationToken::new(),
    )
    .await?;
    print_report(&summary, settings.quiet);
    Ok(ExitCode::SUCCESS)
}

/// The checkpoint key of a harvest: one resumable position per endpoint, set and format.
pub fn checkpoint_key(params: &HarvestParams) -> String {
    format!(
        "oai|{}|{}|{}",
        params.endpoint,
        params.set.as_deref().unwrap_or(""),
        params.format.prefix()
    )
}

/// Runs one harvest to completion (or to the first error), page by page. Used by the CLI and
/// by `serve`'s scheduled harvest job, which cancels it on shutdown: it then stops after the
/// page in hand is stored with its checkpoint (an error saying so), and resumes there later.
pub async fn run_harvest(
    store: Arc<dyn Store>,
    client: PoliteClient,
    params: HarvestParams,
    strict: bool,
    quiet: bool,
    cancel: CancellationToken,
) -> Result<ImportReport> {
    let key = checkpoint_key(&params);
    let state = match store.harvest_checkpoint(&key).await? {
        Some(cp) => {
            if !quiet && cp.resumption_token.is_some() {
                eprintln!("resuming the interrupted harvest {key}");
            }
            HarvestState {
                resumption_token: cp.resumption_token,
                list_from: cp.list_from,
                last_datestamp: cp.last_datestamp,
            }
        }
        None => HarvestState::default(),
    };
    let handle = tokio::runtime::Handle::current();
    let started = std::time::Instant::now();
    let result = tokio::task::spawn_blocking(move || {
        let harvester = Harvester::new(client);
        let mut report = ImportReport::default();
        let mut page_no = 0u64;
        let outcome = harvester.run(&params, state, |batch: harvest::HarvestBatch| {
            page_no += 1;
            let records = (batch.papers.len() + batch.deleted.len() + batch.bad.len()) as u64;
            report.records += records;
            report.bad += batch.bad.len() as u64;
            for bad in &batch.bad {
                if report.bad_records.len() < MAX_LISTED_BAD {
                    report.bad_records.push(format!("page {page_no}: {bad}"));
                }
            }
            if strict && !batch.bad.is_empty() {
                return Err(anyhow::anyhow!(
                    "page {page_no}: {} (stopped at the first bad record: --strict; the page was not stored)",
                    batch.bad[0]
                ));
            }
            let checkpoint = HarvestCheckpoint {
                key: key.clone(),
                resumption_token: batch.state.resumption_token.clone(),
                list_from: batch.state.list_from,
                last_datestamp: batch.state.last_datestamp,
                updated_at: Utc::now(),
            };
            let stats: UpsertStats = handle.block_on(store.save_harvest_page(
                batch.papers,
                batch.deleted,
                checkpoint,
            ))?;
            report.store.add(stats);
            if !quiet {
                eprintln!(
                    "page {page_no}: {records} records ({} new, {} updated, {} unchanged, {} deleted){}",
                    stats.inserted,
                    stats.updated,
                    stats.unchanged,
                    stats.deleted,
                    if batch.state.resumption_token.is_some() { ", more to come" } else { "" }
                );
            }
            if cancel.is_cancelled() && batch.state.resumption_token.is_some() {
                return Err(anyhow::anyhow!(
                    "harvest stopped by shutdown after page {page_no} (it resumes from there)"
                ));
            }
            Ok(())
        });
        (outcome, report)
    })
    .await
    .context("the harvest thread failed")?;
    let (outcome, mut report) = result;
    report.elapsed = started.elapsed();
    match outcome {
        Ok(_) => Ok(report),
        Err(e) => {
            print_report(&report, quiet);
            Err(e)
        }
    }
}

/// `ingest arxiv --id ... | --query ...`.
pub async fn fetch(settings: &Settings, args: ArxivArgs, _strict: bool) -> Result<ExitCode> {
    let endpoint = args
        .endpoint
        .or_else(|| settings.file.arxiv_api.endpoint.clone())
        .unwrap_or_else(|| DEFAULT_API_ENDPOINT.to_string());
    let client = polite_client(
        settings,
        &endpoint,
        args.interval.or(settings.file.harvest.interval_secs),
    )?;
    let ids = args
        .ids
        .iter()
        .map(|s| VersionedId::parse(s).with_context(|| format!("--id {s}")))
        .collect::<Result<Vec<_>>>()?;
    let query = args.query.clone();
    let max = args.max_results as usize;
    let store = settings.open_store().await?;
    let started = std::time::Instant::now();
    let papers = tokio::task::spawn_blocking(move || {
        let api = ArxivApi::new(client).with_endpoint(&endpoint);
        match query {
            Some(q) => api.search(&q, max),
            None => api.fetch_ids(&ids),
        }
    })
    .await
    .context("the fetch thread failed")??;
    let mut report = ImportReport {
        records: papers.len() as u64,
        ..Default::default()
    };
    if !args.ids.is_empty() && papers.len() < args.ids.len() && !settings.quiet {
        eprintln!(
            "warning: arXiv returned {} of the {} papers asked for",
            papers.len(),
            args.ids.len()
        );
    }
    report.store = store.upsert_papers(papers).await?;
    report.elapsed = started.elapsed();
    print_report(&report, settings.quiet);
    Ok(ExitCode::SUCCESS)
}

/// Reads a whole listing feed (they are small: one day of one category) into items.
pub fn read_rss(mut input: Input, name: &str) -> Result<std::vec::IntoIter<Item>> {
    let mut body = String::new();
    input
        .read_to_string(&mut body)
        .with_context(|| format!("cannot read {name}"))?;
    let feed = rss::parse_feed(&body).with_context(|| format!("{name}: not a listing feed"))?;
    let items: Vec<Item> = feed
        .items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let pos = Position::Record(i as u64 + 1);
            Ok((pos, item.map(|it| it.into_record())))
        })
        .collect();
    Ok(items.into_iter())
}
