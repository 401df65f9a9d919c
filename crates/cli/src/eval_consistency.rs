//! `leian eval consistency`: the consistency check measured on CAIL2018 sentences,
//! leave-one-out, by `leian_harness::consistency` (neighbours found by the check's own
//! function); this file parses arguments and prints the table.

use crate::model::ModelArgs;
use anyhow::{bail, Result};
use clap::Args;
use leian_consistency::CheckOptions;
use leian_engine::{Engine, SearchMode};
use leian_harness::consistency::{
    ensure_indexed, neighbours, predictor_rows, read_labelled, sweep_rows, Asked, ChargeMatch,
    TABLE_HEADER,
};
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct ConsistencyArgs {
    /// CAIL2018 facts JSONL `{id, fact, charges, articles, term_months?}`.
    #[arg(long)]
    data: PathBuf,
    /// Index for the facts; they are ingested into it when it lacks them.
    #[arg(long, default_value = "index/eval-cail2018")]
    index: PathBuf,
    /// Neighbour ranking: bm25 (no model loaded), dense or hybrid.
    #[arg(long, default_value = "bm25")]
    mode: SearchMode,
    /// Neighbours per case (default: the check's).
    #[arg(long)]
    k: Option<usize>,
    /// Similarity weighting power (0 = equal weights; default: the check's).
    #[arg(long)]
    power: Option<f64>,
    /// Same charges means `prefer-exact` (the same set of charges when at least 5 such
    /// cases are found, else one charge in common: the check's default) or `any`.
    #[arg(long, default_value = "prefer-exact")]
    charge_match: String,
    /// Also try a grid of k, weighting powers and warning thresholds.
    #[arg(long)]
    sweep: bool,
    #[command(flatten)]
    model: crate::model::ModelArgs,
}

fn open_engine(args: &ConsistencyArgs) -> Result<Engine> {
    let bm25 = args.mode == SearchMode::Bm25;
    let model = if bm25 {
        ModelArgs::none()
    } else {
        args.model.clone()
    };
    let engine = model.open_engine(&args.index)?;
    if !bm25 && !engine.has_dense() {
        bail!("--mode {} needs the embedding model", args.mode.as_str());
    }
    Ok(engine)
}

pub(crate) fn run(args: ConsistencyArgs) -> Result<()> {
    let charge_match: ChargeMatch = args.charge_match.parse()?;
    let cases = read_labelled(&args.data)?;
    let engine = open_engine(&args)?;
    ensure_indexed(&engine, &cases)?;
    let defaults = CheckOptions::default();
    let k = args.k.unwrap_or(defaults.top_k);
    let power = args.power.unwrap_or(defaults.weight_power);
    let rule = defaults.rule;
    let asked = Asked {
        mode: args.mode,
        k,
        charge_match,
        rule,
    };
    let found = neighbours(&engine, &cases, &asked)?;
    let none = found.iter().filter(|n| n.is_none()).count();
    println!(
        "CAIL2018 {}: {} facts with a term, leave-one-out through the check ({} found no \
         other case with their charges), neighbours by {}, charges {}",
        args.data.display(),
        cases.len(),
        none,
        args.mode.as_str(),
        match charge_match {
            ChargeMatch::Any => "one in common",
            ChargeMatch::PreferExact => "the same set if at least 5, else one in common",
        },
    );
    println!();
    print!("{TABLE_HEADER}");
    print!(
        "{}",
        predictor_rows(&cases, &found, charge_match, power, &asked)
    );
    if args.sweep {
        print!("{}", sweep_rows(&engine, &cases, &asked, &found, power)?);
    }
    Ok(())
}
