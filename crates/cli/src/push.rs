//! Push from the command line: pushes after `leian ingest`, `leian eval push` (push
//! quality on LeCaRD) and `leian bench --push` (reverse matching with many pending cases).

use anyhow::{Context, Result};
use clap::Args;
use leian_engine::Engine;
use leian_eval::Qrels;
use leian_harness::push_eval::{push_quality, reverse_bench};
use leian_ingest::Case;
use leian_push::PushService;
use std::path::{Path, PathBuf};

/// After an ingest commit: new guiding and typical cases pushed (see
/// `PushService::after_load`).
pub(crate) fn after_ingest(engine: &Engine, cases: &[Case]) -> Result<()> {
    let pushed = PushService::after_load(engine, cases)
        .with_context(|| format!("pushing new cases from {}", engine.root().display()))?;
    if let Some((created, open)) = pushed.filter(|(c, _)| !c.is_empty()) {
        println!(
            "created {} pushes for {} new guiding/typical cases ({open} open pending cases)",
            created.len(),
            cases.len(),
        );
    }
    Ok(())
}

#[derive(Args)]
pub(crate) struct PushEvalArgs {
    /// Index holding the LeCaRD candidates, ingested with the model (`index/lecard`).
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// Queries JSONL `{id, fact, charges}`: registered as pending cases.
    #[arg(long, default_value = "../shared/data/lecard/queries.dev.jsonl")]
    queries: PathBuf,
    /// Qrels TSV `query 0 candidate grade`.
    #[arg(long, default_value = "../shared/data/lecard/qrels.dev.tsv")]
    qrels: PathBuf,
    /// Thresholds of the table.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.5,0.55,0.6,0.65,0.7,0.75,0.8"
    )]
    thresholds: Vec<f32>,
    /// Skip the forward (registration) pass; only the reverse pass is measured.
    #[arg(long)]
    no_forward: bool,
    /// Write every reverse-pass pair's score parts (TSV: query, candidate, grade, dense,
    /// lexical, charges, statutes, score) here, for tuning the weights.
    #[arg(long)]
    dump: Option<PathBuf>,
    #[command(flatten)]
    model: crate::model::ModelArgs,
}

/// `leian eval push` (see `leian_harness::push_eval`): prints both passes' tables.
pub(crate) fn run_eval(args: PushEvalArgs) -> Result<()> {
    let engine = crate::search::open_existing(&args.index, &args.model)?;
    let qrels = Qrels::read(&args.qrels)?;
    let q = push_quality(
        &engine,
        &args.queries,
        &qrels,
        &args.thresholds,
        !args.no_forward,
        args.dump.is_some(),
    )?;
    if let (Some(path), Some(dump)) = (&args.dump, &q.dump) {
        std::fs::write(path, dump).with_context(|| format!("writing {}", path.display()))?;
    }
    let mode = if engine.has_dense() {
        "hybrid"
    } else {
        "BM25-only"
    };
    print!("{}", q.markdown(mode));
    Ok(())
}

/// `leian bench --push`: the rows of `leian_harness::push_eval::reverse_bench`.
pub(crate) fn bench_rows(data: &Path, counts: &[usize]) -> Result<Vec<String>> {
    Ok(reverse_bench(data, counts)?
        .iter()
        .map(|r| r.row())
        .collect())
}
