//! `paperfeed eval`: nDCG@10 and Recall@100 of BM25, semantic and hybrid search on BEIR-layout
//! collections, through the engine the service ranks with. `--tune` measures the fusion
//! method and weight that serve the model best on the given collections (their mean nDCG@10)
//! and records it in the data dir, where `serve`, `search` and later `eval` runs use it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use paperfeed_search::engine::EngineOptions;
use paperfeed_search::eval::{self, BeirSet, EvalEngine, ModeMetrics};
use paperfeed_search::fusion::{FusionChoice, FusionSource};
use paperfeed_search::vector::VectorLayout;
use serde_json::json;

use crate::cli::EvalArgs;
use crate::jobs::{TunedFusion, load_model, load_tuned_fusion, model_spec, save_tuned_fusion};
use crate::settings::Settings;

struct Loaded {
    dir: PathBuf,
    set: BeirSet,
    eval: EvalEngine,
}

pub async fn run(settings: &Settings, args: EvalArgs) -> Result<ExitCode> {
    let layout: VectorLayout = match &args.layout {
        Some(l) => l.parse().map_err(anyhow::Error::msg)?,
        None => VectorLayout::default(),
    };
    let embedder = load_model(model_spec(args.model.as_deref(), settings)).await?;
    let key = embedder.identity().key();
    let tuned = load_tuned_fusion(&settings.data_dir, &key)?;
    let options = EngineOptions {
        layout,
        fusion: tuned.map(|fusion| FusionChoice {
            fusion,
            source: FusionSource::Tuned,
        }),
        ..EngineOptions::default()
    };
    let mut loaded = Vec::with_capacity(args.dataset.len());
    for dir in &args.dataset {
        if !settings.quiet {
            eprintln!("{}: indexing and embedding with {key}…", dir.display());
        }
        let (d, split, e, o) = (
            dir.clone(),
            args.split.clone(),
            embedder.clone(),
            options.clone(),
        );
        let (set, ev) = tokio::task::spawn_blocking(move || -> Result<(BeirSet, EvalEngine)> {
            let set = BeirSet::load(&d, &split)?;
            let ev = EvalEngine::build(&set, e, o)?;
            Ok((set, ev))
        })
        .await
        .context("evaluation thread failed")??;
        loaded.push(Loaded {
            dir: dir.clone(),
            set,
            eval: ev,
        });
    }
    let loaded = Arc::new(loaded);

    let mut grid_report = None;
    if args.tune {
        let l = loaded.clone();
        let (grid, per_set) = tokio::task::spawn_blocking(move || -> Result<_> {
            let grid = eval::tuning_grid();
            let mut per_set = Vec::with_capacity(l.len());
            for d in l.iter() {
                let candidates = d.eval.candidates(&d.set)?;
                let metrics: Vec<_> = d
                    .eval
                    .fusion_grid(&d.set, &candidates, &grid)
                    .into_iter()
                    .map(|(_, m)| m)
                    .collect();
                per_set.push(metrics);
            }
            Ok((grid, per_set))
        })
        .await
        .context("tuning thread failed")??;
        let (best, ndcg, recall) =
            eval::best_fusion(&grid, &per_set).context("empty tuning grid")?;
        let measured_on: Vec<String> = loaded
            .iter()
            .map(|d| format!("{}/{}", d.dir.display(), args.split))
            .collect();
        let path = save_tuned_fusion(
            &settings.data_dir,
            &key,
            TunedFusion {
                fusion: best,
                ndcg_at_10: ndcg,
                recall_at_100: recall,
                measured_on,
                measured_at: chrono::Utc::now().to_rfc3339(),
            },
        )?;
        if !settings.quiet {
            eprintln!(
                "best fusion {} (mean nDCG@10 {ndcg:.4}, Recall@100 {recall:.4}); recorded in {}",
                best.describe(),
                path.display()
            );
        }
        for d in loaded.iter() {
            d.eval.engine.set_fusion(FusionChoice {
                fusion: best,
                source: FusionSource::Tuned,
            });
        }
        grid_report = Some((grid, per_set));
    }

    for (i, d) in loaded.iter().enumerate() {
        let l = loaded.clone();
        let metrics = tokio::task::spawn_blocking(move || l[i].eval.evaluate_modes(&l[i].set))
            .await
            .context("evaluation thread failed")??;
        let fusion = d.eval.engine.fusion();
        if args.json {
            let mut out = json!({
                "dataset": d.dir.display().to_string(),
                "split": args.split,
                "model": key,
                "layout": layout,
                "fusion": { "fusion": fusion.fusion, "source": fusion.source },
                "bm25": metrics.bm25,
                "semantic": metrics.semantic,
                "hybrid": metrics.hybrid,
                "docs": d.set.docs.len(),
                "index_seconds": d.eval.index_seconds,
                "embed_seconds": d.eval.embed_seconds,
            });
            if let Some((grid, per_set)) = &grid_report {
                out["grid"] = grid
                    .iter()
                    .zip(&per_set[i])
                    .map(|(f, m)| json!({ "fusion": f, "ndcg@10": m.ndcg_at_10, "recall@100": m.recall_at_100 }))
                    .collect();
            }
            println!("{out}");
        } else {
            print_table(
                &d.dir,
                &args.split,
                &key,
                &fusion,
                &metrics,
                d.set.docs.len(),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(
    dir: &Path,
    split: &str,
    model: &str,
    fusion: &FusionChoice,
    m: &ModeMetrics,
    docs: usize,
) {
    println!(
        "{} ({split}, {docs} documents, {} judged queries)",
        dir.display(),
        m.bm25.queries
    );
    println!("model   {model}");
    println!("fusion  {} ({:?})", fusion.fusion.describe(), fusion.source);
    println!("{:<10} {:>8} {:>11}", "mode", "nDCG@10", "Recall@100");
    for (name, x) in [
        ("bm25", m.bm25),
        ("semantic", m.semantic),
        ("hybrid", m.hybrid),
    ] {
        println!("{name:<10} {:>8.4} {:>11.4}", x.ndcg_at_10, x.recall_at_100);
    }
}
