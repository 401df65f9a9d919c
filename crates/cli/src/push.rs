//! Push from the command line: pushes after `leian ingest`, `leian eval push` (push
//! quality on LeCaRD) and `leian bench --push` (reverse matching with many pending cases).

use anyhow::{Context, Result};
use clap::Args;
use leian_engine::Engine;
use leian_eval::Qrels;
use leian_harness::push_eval::{push_quality, reverse_bench, Tally};
use leian_ingest::Case;
use leian_push::{PushOptions, PushService};
use std::path::{Path, PathBuf};

/// After an ingest commit: when the index has the server's database (and so maybe
/// pending cases and subscriptions), new guiding and typical cases are pushed.
pub(crate) fn after_ingest(engine: &Engine, index: &Path, cases: &[Case]) -> Result<()> {
    let db = index.join(leian_server::DB_FILE);
    if cases.is_empty() || !db.exists() {
        return Ok(());
    }
    let service = PushService::open(&db, PushOptions::default())
        .with_context(|| format!("opening the push tables in {}", db.display()))?;
    let created = service.on_cases_added(engine, cases)?;
    if !created.is_empty() {
        println!(
            "created {} pushes for {} new guiding/typical cases ({} open pending cases)",
            created.len(),
            cases.len(),
            service.open_pending_count()?
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

fn table_row(t: f32, tally: &Tally, grade3_total: usize, queries: usize) -> String {
    let d = PushOptions::default();
    let label = if t == d.threshold {
        " (default for decided cases)"
    } else if t == d.authority_threshold {
        " (default for guiding/typical)"
    } else {
        ""
    };
    format!(
        "| {t:.2}{label} | {:.1} | {:.3} | {:.3} |",
        tally.per_query(queries),
        tally.recall(grade3_total),
        tally.precision(),
    )
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
    let defaults = PushOptions::default();
    let mode = if engine.has_dense() {
        "hybrid"
    } else {
        "BM25-only"
    };
    println!(
        "push quality on LeCaRD dev: {} queries as pending cases, {} candidates as decided cases, {} grade-3 labels; {mode}",
        q.queries, q.candidates, q.grade3_total
    );
    let header = "| threshold | pushes per pending case | recall of grade-3 | precision (grade ≥ 2) |\n|---|---|---|---|";
    println!(
        "\nregister (forward: top {} engine hits scored, at most {} similar cases pushed per pending case; {:.1} s)\n",
        defaults.candidate_depth, defaults.max_similar, q.forward_secs
    );
    println!("{header}");
    for (t, tally) in &q.forward {
        println!("{}", table_row(*t, tally, q.grade3_total, q.queries));
    }
    println!(
        "\ningest (reverse: each candidate matched against the open pending cases as a new guiding case would be, no cap; {:.1} s)\n",
        q.reverse_secs
    );
    println!("{header}");
    for (t, tally) in &q.reverse {
        println!("{}", table_row(*t, tally, q.grade3_total, q.queries));
    }
    Ok(())
}

/// `leian bench --push`: the rows of `leian_harness::push_eval::reverse_bench`.
pub(crate) fn bench_rows(data: &Path, counts: &[usize]) -> Result<Vec<String>> {
    Ok(reverse_bench(data, counts)?
        .iter()
        .map(|r| {
            format!(
                "| reverse match one new guiding case against {} pending cases | {} new cases × 3 | median {:.2} ms, p99 {:.2} ms; median {:.0} pending cases reached (threshold {}); index built in {:.2} s |",
                r.pending_cases, r.new_cases, r.median_ms, r.p99_ms, r.median_reached, r.threshold, r.build_secs
            )
        })
        .collect())
}
