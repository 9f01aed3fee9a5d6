//! `paperfeed stats`.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use crate::settings::Settings;

pub async fn run(settings: &Settings, as_json: bool) -> Result<ExitCode> {
    let store = settings.open_store().await?;
    let stats = store.stats().await?;
    if as_json {
        let embeddings: serde_json::Map<String, serde_json::Value> = stats
            .embeddings
            .iter()
            .map(|(k, n)| (k.clone(), json!(n)))
            .collect();
        let out = json!({
            "papers": stats.papers,
            "deleted": stats.deleted,
            "submissions": stats.submissions,
            "votes": stats.votes,
            "embeddings": embeddings,
            "last_seq": stats.last_seq,
        });
        println!("{out}");
    } else {
        println!("data dir     {}", settings.data_dir.display());
        println!("papers       {}", stats.papers);
        println!("deleted      {}", stats.deleted);
        println!("in feeds     {}", stats.submissions);
        println!("votes        {}", stats.votes);
        for (model, n) in &stats.embeddings {
            println!("embeddings   {n} ({model})");
        }
    }
    Ok(ExitCode::SUCCESS)
}
