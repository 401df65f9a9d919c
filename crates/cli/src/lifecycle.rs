//! `leian rebuild`, `leian backup`, `leian restore`, `leian stats`: the index lifecycle
//! for admins (see leian-engine's lifecycle module for the guarantees).

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use leian_engine::{Engine, RebuildOptions, RebuildPhase};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub(crate) struct RebuildArgs {
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// The model to embed with (`--model DIR` switches models); the embedding cache
    /// spares every chunk it already holds for that model.
    #[command(flatten)]
    model: crate::model::ModelArgs,
}

#[derive(Args)]
pub(crate) struct BackupArgs {
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// The archive to write (tar).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub(crate) struct RestoreArgs {
    /// The archive `leian backup` wrote.
    #[arg(long)]
    from: PathBuf,
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// Replace an existing index (it is moved aside, not deleted).
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub(crate) struct StatsArgs {
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    #[arg(long)]
    json: bool,
}

pub(crate) fn rebuild(args: RebuildArgs) -> Result<()> {
    let engine = crate::search::open_existing(&args.index, &args.model)?;
    let bar = ProgressBar::new(engine.num_cases());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {percent}% {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = engine.rebuild(&RebuildOptions::default(), &mut |p| {
        bar.set_message(format!("{} {:?}", p.generation, p.phase).to_lowercase());
        if p.phase == RebuildPhase::Cases {
            bar.set_position(p.done);
        }
        if !bar.is_hidden() {
            return;
        }
        // no terminal: a line about every tenth
        if let Some(line) = p.milestone() {
            eprintln!("{line}");
        }
    })?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "rebuilt {} → {}: {} cases, {} statutes, {} chunks embedded ({} computed), model {}, {:.1} s; {} is live",
            report.from,
            report.to,
            report.cases,
            report.statutes,
            report.chunks,
            report.chunks_computed,
            report.model_id.as_deref().unwrap_or("none"),
            report.seconds,
            report.to
        );
    }
    Ok(())
}

pub(crate) fn backup(args: BackupArgs) -> Result<()> {
    let engine = open_without_model(&args.index)?;
    // the server's database (keys, audit, pushes), copied consistently by SQLite itself
    let staging = tempfile::tempdir().context("creating a temporary dir")?;
    let mut extra = Vec::new();
    let db = args.index.join(leian_server::DB_FILE);
    if db.exists() {
        let copy = staging.path().join(leian_server::DB_FILE);
        leian_server::Store::open(&db)?
            .snapshot_to(&copy)
            .with_context(|| format!("copying {}", db.display()))?;
        extra.push((leian_server::DB_FILE.to_string(), copy));
    }
    let manifest = engine
        .backup(&args.out, &extra)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "backed up {} ({} cases, {} statutes, {} files) to {}",
        manifest.generation,
        manifest.cases,
        manifest.statutes,
        manifest.files.len() + 2,
        args.out.display()
    );
    Ok(())
}

pub(crate) fn restore(args: RestoreArgs) -> Result<()> {
    let report = Engine::restore(&args.from, &args.index, args.force)
        .with_context(|| format!("restoring {}", args.from.display()))?;
    println!(
        "restored {} ({} cases) into {}",
        report.generation,
        report.cases,
        args.index.display()
    );
    if let Some(p) = report.previous_moved_to {
        println!("the index that was there is kept at {p}");
    }
    Ok(())
}

pub(crate) fn stats(args: StatsArgs) -> Result<()> {
    let engine = open_without_model(&args.index)?;
    let mut stats = engine.stats()?;
    // the engine was opened without a model: report the model the vectors were made by
    let meta = engine.meta()?;
    stats.model_id = meta.model_id.clone();
    stats.dense_off_reason = None;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
        return Ok(());
    }
    print!("{stats}");
    Ok(())
}

/// Opens an existing index for admin work that reads no vectors by model (backup, stats).
fn open_without_model(index: &Path) -> Result<Engine> {
    crate::search::open_existing(
        index,
        &crate::model::ModelArgs {
            no_model: true,
            ..Default::default()
        },
    )
}
