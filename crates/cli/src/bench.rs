//! `leian bench`: the arguments of `leian_harness::bench` (ingest throughput and search
//! latency on the shared real data) and `--push`; prints the table.

use anyhow::{Context, Result};
use clap::Args;
use leian_harness::bench;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct BenchArgs {
    /// The shared data dir (holds lecard/, judgments/ …).
    #[arg(long, default_value = "../shared/data")]
    data: PathBuf,
    /// How many times to repeat each measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Write the Markdown table here as well as to stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// An index holding the LeCaRD candidates ingested WITH the model (e.g. `index/lecard`):
    /// adds embedding throughput and per-mode query latency.
    #[arg(long)]
    hybrid_index: Option<PathBuf>,
    #[command(flatten)]
    model: crate::model::ModelArgs,
    /// Only measure push matching: one new guiding case against 1,000 and 10,000
    /// synthetic pending cases (no model needed).
    #[arg(long)]
    push: bool,
}

pub(crate) fn run(args: BenchArgs) -> Result<()> {
    let rows = if args.push {
        crate::push::bench_rows(&args.data, &[1_000, 10_000, 20_000])?
    } else {
        let mut rows = bench::ingest_and_bm25_rows(&args.data, args.repeat)?;
        if let Some(dir) = &args.hybrid_index {
            let engine = crate::search::open_existing(dir, &args.model)?;
            let model_dir = args
                .model
                .model
                .clone()
                .unwrap_or_else(crate::model::default_model_dir);
            let queries = bench::query_facts(&args.data.join("lecard/queries.dev.jsonl"))?;
            rows.extend(bench::dense_rows(&engine, dir, &model_dir, &queries)?);
        }
        rows.extend(bench::peak_memory_row());
        rows
    };
    let table = bench::table(&rows);
    print!("{table}");
    if let Some(out) = &args.out {
        std::fs::write(out, &table).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}
