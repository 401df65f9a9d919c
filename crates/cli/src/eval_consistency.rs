//! `leian eval consistency`: the consistency check measured on CAIL2018 sentences,
//! leave-one-out, by `leian_harness::consistency` (neighbours found by the check's own
//! function); this file parses arguments and prints the table.

use anyhow::{bail, Context, Result};
use clap::Args;
use leian_consistency::{CheckOptions, WarningRule};
use leian_engine::{Engine, EngineOptions, SearchMode};
use leian_harness::consistency::{
    baseline_rows, charge_groups, check_rows, ensure_indexed, neighbours, read_labelled, score,
    Asked, ChargeMatch, Labelled, Neighbours, Score,
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
    let engine = if args.mode == SearchMode::Bm25 {
        Engine::open(&EngineOptions {
            index_dir: args.index.clone(),
            ..EngineOptions::default()
        })
        .with_context(|| format!("opening index {}", args.index.display()))?
    } else {
        args.model.open_engine(&args.index)?
    };
    if args.mode != SearchMode::Bm25 && !engine.has_dense() {
        bail!("--mode {} needs the embedding model", args.mode.as_str());
    }
    Ok(engine)
}

fn row(name: &str, k: &str, power: &str, rule: &WarningRule, s: &Score) {
    println!(
        "| {name} | {k} | {power} | {}/×{} | {} | {:.2} | {:.1}% | {:.1}% | {:.1}% of {} | {:.1}% |",
        rule.min_cases,
        rule.far_factor,
        s.n,
        s.mae,
        s.within_25 * 100.0,
        s.warning * 100.0,
        s.warning_can_warn * 100.0,
        s.n_can_warn,
        s.notice * 100.0
    );
}

/// The baseline and the check's predictor for one set of neighbours and one rule.
fn rows_for(
    cases: &[Labelled],
    found: &[Option<Neighbours>],
    charge_match: ChargeMatch,
    k: usize,
    power: f64,
    rule: &WarningRule,
) {
    let groups = charge_groups(cases, charge_match, rule.min_cases);
    row(
        "per-charge median",
        "all",
        "-",
        rule,
        &score(&baseline_rows(cases, found, &groups, rule), rule),
    );
    row(
        "the check (weighted median)",
        &k.to_string(),
        &power.to_string(),
        rule,
        &score(&check_rows(cases, found, &groups, power, rule), rule),
    );
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
    println!("| predictor | k | weight power | warning rule (min cases/far factor) | n | MAE months | within ±25 % | warning (false alarm) | warning where n ≥ min cases | notice |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    rows_for(&cases, &found, charge_match, k, power, &rule);
    if args.sweep {
        // the baseline's groups depend on the rule, not on k
        let groups = charge_groups(&cases, charge_match, rule.min_cases);
        for sweep_k in [1, 3, 5, 10, 20, 50] {
            let found = if sweep_k == k {
                found.clone()
            } else {
                neighbours(
                    &engine,
                    &cases,
                    &Asked {
                        k: sweep_k,
                        ..asked
                    },
                )?
            };
            for p in [0.0, 1.0, 2.0, 4.0] {
                row(
                    "the check (weighted median)",
                    &sweep_k.to_string(),
                    &p.to_string(),
                    &rule,
                    &score(&check_rows(&cases, &found, &groups, p, &rule), &rule),
                );
            }
        }
        for min_cases in [3, 5, 8] {
            for far_factor in [1.5, 2.0, 3.0] {
                let r = WarningRule {
                    min_cases,
                    far_factor,
                    ..rule
                };
                // the rule's min cases also decides when the check prefers the exact set
                let found = neighbours(&engine, &cases, &Asked { rule: r, ..asked })?;
                rows_for(&cases, &found, charge_match, k, power, &r);
            }
        }
    }
    Ok(())
}
