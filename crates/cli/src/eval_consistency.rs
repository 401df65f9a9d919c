//! `leian eval consistency`: the consistency check measured on real sentences (CAIL2018
//! facts with terms). Leave-one-out: each case's term is predicted as the
//! similarity-weighted median of its k nearest cases with the same charges, and compared
//! with the trivial baseline, the median term of all other cases with the same charges.
//! The warning rule is applied to each real judgment as if it were a draft: how often it
//! says `warning` is the false-alarm rate on real decisions.

use anyhow::{bail, Context, Result};
use clap::Args;
use leian_consistency::{
    assess, similarity_weights, weighted_median, CheckOptions, Distribution, Outcome, WarningLevel,
    WarningRule,
};
use leian_engine::{Engine, EngineOptions, Query, SearchMode};
use leian_index::Filters;
use leian_ingest::{read_path, Case, CaseId, Format, Item, MainPenalty, Sentence};
use std::collections::{BTreeSet, HashMap};
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
    /// Same charges means `prefer-exact` (the same set of charges when at least 5 other
    /// cases have it, else one charge in common: what the check does), `any` or `exact`.
    #[arg(long, default_value = "prefer-exact")]
    charge_match: String,
    /// Also try a grid of k, weighting powers and warning thresholds.
    #[arg(long)]
    sweep: bool,
    #[command(flatten)]
    model: crate::model::ModelArgs,
}

/// Which cases count as having the same charges.
#[derive(Clone, Copy)]
enum ChargeMatch {
    /// At least one charge in common (the engine's charge filter).
    Any,
    /// The same set of charges.
    Exact,
    /// The same set when at least [`PREFER_EXACT_MIN`] such cases exist, else `Any`.
    PreferExact,
}

/// As the check: `WarningRule::default().min_cases`.
const PREFER_EXACT_MIN: usize = 5;

/// One fact with a known term.
struct Labelled {
    case: Case,
    id: CaseId,
    fact: String,
    charges: BTreeSet<String>,
    term: f64,
}

/// A case's candidates, most similar first: (term, score).
type Neighbours = Vec<(f64, f64)>;

fn read_labelled(args: &ConsistencyArgs) -> Result<Vec<Labelled>> {
    let records = read_path(&args.data, Format::Cail2018)
        .with_context(|| format!("reading {}", args.data.display()))?;
    let mut out = Vec::new();
    for r in records {
        let Ok(Item::Case(case)) = r else { continue };
        if let Some(t) = case.sentence.term_months {
            out.push(Labelled {
                case: (*case).clone(),
                fact: case.fact_text().to_string(),
                charges: case.charges.iter().cloned().collect(),
                id: case.id.clone(),
                term: f64::from(t),
            });
        }
    }
    if out.is_empty() {
        bail!("{}: no record has a term_months", args.data.display());
    }
    Ok(out)
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

/// Every labelled case's same-charge candidates, ranked by similarity to its facts.
fn neighbours(
    engine: &Engine,
    cases: &[Labelled],
    mode: SearchMode,
    charge_match: ChargeMatch,
) -> Result<Vec<Option<Neighbours>>> {
    let by_id: HashMap<&CaseId, f64> = cases.iter().map(|c| (&c.id, c.term)).collect();
    let mut out = Vec::with_capacity(cases.len());
    for (i, c) in cases.iter().enumerate() {
        let matching = |exact: bool| -> Vec<CaseId> {
            cases
                .iter()
                .enumerate()
                .filter(|(j, o)| {
                    *j != i
                        && if exact {
                            o.charges == c.charges
                        } else {
                            !o.charges.is_disjoint(&c.charges)
                        }
                })
                .map(|(_, o)| o.id.clone())
                .collect()
        };
        let candidates = match charge_match {
            ChargeMatch::Any => matching(false),
            ChargeMatch::Exact => matching(true),
            ChargeMatch::PreferExact => {
                let exact = matching(true);
                if exact.len() >= PREFER_EXACT_MIN {
                    exact
                } else {
                    matching(false)
                }
            }
        };
        if candidates.is_empty() {
            out.push(None);
            continue;
        }
        let query = Query {
            mode,
            filters: Filters {
                ids: Some(candidates.clone()),
                ..Filters::default()
            },
            snippets: false,
            depth: candidates.len(),
            ..Query::new(c.fact.clone(), candidates.len())
        };
        // BM25 ranks by the facts as query text; dense and hybrid use `similar`, whose query
        // vector is the case's own cached passage embedding (no query embedding to compute)
        let ranked: Vec<(CaseId, f32)> = if mode == SearchMode::Bm25 {
            engine
                .rank(&query)?
                .into_iter()
                .map(|(id, score, _)| (id, score))
                .collect()
        } else {
            engine
                .similar(&c.id, &query)?
                .into_iter()
                .map(|h| (h.id, h.score))
                .collect()
        };
        let mut list: Neighbours = Vec::with_capacity(candidates.len());
        let mut seen = BTreeSet::new();
        for (id, score) in ranked {
            if let Some(t) = by_id.get(&id) {
                list.push((*t, f64::from(score)));
                seen.insert(id);
            }
        }
        // candidates sharing no word with the facts come last, with no weight to speak of
        for id in candidates.iter().filter(|id| !seen.contains(*id)) {
            if let Some(t) = by_id.get(id) {
                list.push((*t, 0.0));
            }
        }
        out.push(Some(list));
    }
    Ok(out)
}

fn outcome(term: f64, weight: f64) -> Outcome {
    Outcome {
        term_months: Some(term),
        penalty: Some(MainPenalty::FixedTerm),
        probation: false,
        fine_yuan: None,
        weight,
    }
}

fn sentence(term: f64) -> Sentence {
    Sentence {
        penalty: Some(MainPenalty::FixedTerm),
        term_months: Some(term.round() as u32),
        ..Sentence::default()
    }
}

/// What one predictor scores over the evaluated cases.
struct Score {
    n: usize,
    mae: f64,
    within_25: f64,
    warning: f64,
    notice: f64,
    /// Cases with at least `min_cases` neighbours (the only ones that can warn), and the
    /// warning share among them: the false-alarm rate once the corpus is large enough.
    n_can_warn: usize,
    warning_can_warn: f64,
}

fn score(rows: &[(f64, f64, WarningLevel, usize)], rule: &WarningRule) -> Score {
    let n = rows.len().max(1) as f64;
    let share = |level: WarningLevel| rows.iter().filter(|r| r.2 == level).count() as f64 / n;
    Score {
        n: rows.len(),
        mae: rows.iter().map(|(p, t, _, _)| (p - t).abs()).sum::<f64>() / n,
        // a true term of 0 (no custody) counts only when predicted exactly
        within_25: rows
            .iter()
            .filter(|(p, t, _, _)| (p - t).abs() <= 0.25 * t)
            .count() as f64
            / n,
        warning: share(WarningLevel::Warning),
        n_can_warn: rows.iter().filter(|r| r.3 >= rule.min_cases).count(),
        warning_can_warn: rows
            .iter()
            .filter(|r| r.3 >= rule.min_cases && r.2 == WarningLevel::Warning)
            .count() as f64
            / rows.iter().filter(|r| r.3 >= rule.min_cases).count().max(1) as f64,
        notice: share(WarningLevel::Notice),
    }
}

/// Leave-one-out rows `(predicted, true, level)` of the per-charge median baseline.
fn baseline(
    cases: &[Labelled],
    all: &[Option<Neighbours>],
    rule: &WarningRule,
) -> Vec<(f64, f64, WarningLevel, usize)> {
    cases
        .iter()
        .zip(all)
        .filter_map(|(c, n)| {
            let n = n.as_ref()?;
            let d = Distribution::of(&n.iter().map(|(t, _)| outcome(*t, 1.0)).collect::<Vec<_>>());
            let level = assess(&d, &sentence(c.term), rule).level;
            Some((d.median_months?, c.term, level, d.n))
        })
        .collect()
}

/// Leave-one-out rows of the kNN predictor: the weighted median of the k nearest.
fn knn(
    cases: &[Labelled],
    all: &[Option<Neighbours>],
    k: usize,
    power: f64,
    rule: &WarningRule,
) -> Vec<(f64, f64, WarningLevel, usize)> {
    cases
        .iter()
        .zip(all)
        .filter_map(|(c, n)| {
            let top = &n.as_ref()?[..n.as_ref()?.len().min(k)];
            let scores: Vec<f64> = top.iter().map(|(_, s)| *s).collect();
            let weights = similarity_weights(&scores, power);
            let pairs: Vec<(f64, f64)> = top.iter().map(|(t, _)| *t).zip(weights).collect();
            let d = Distribution::of(
                &pairs
                    .iter()
                    .map(|(t, w)| outcome(*t, *w))
                    .collect::<Vec<_>>(),
            );
            let level = assess(&d, &sentence(c.term), rule).level;
            Some((weighted_median(&pairs)?, c.term, level, d.n))
        })
        .collect()
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

pub(crate) fn run(args: ConsistencyArgs) -> Result<()> {
    let charge_match = match args.charge_match.as_str() {
        "exact" => ChargeMatch::Exact,
        "any" => ChargeMatch::Any,
        "prefer-exact" => ChargeMatch::PreferExact,
        other => bail!("unknown --charge-match {other:?}: want any, exact or prefer-exact"),
    };
    let cases = read_labelled(&args)?;
    let engine = open_engine(&args)?;
    let missing = cases.iter().any(|c| {
        let absent = engine.get(&c.id).map(|x| x.is_none()).unwrap_or(true);
        absent || (engine.has_dense() && !engine.has_vectors(&c.id))
    });
    if missing {
        // only the facts with a term: they are all the evaluation ranks (and embeds)
        let mut writer = engine.writer()?;
        for c in &cases {
            writer.upsert(c.case.clone())?;
        }
        writer.commit(&mut |_, _| {})?;
    }
    let all = neighbours(&engine, &cases, args.mode, charge_match)?;
    let skipped = all.iter().filter(|n| n.is_none()).count();
    let defaults = CheckOptions::default();
    let k = args.k.unwrap_or(defaults.top_k);
    let power = args.power.unwrap_or(defaults.weight_power);
    let rule = defaults.rule;
    println!(
        "CAIL2018 {}: {} facts with a term, {} evaluated ({} have no other case with {} charges), \
         neighbours by {}",
        args.data.display(),
        cases.len(),
        cases.len() - skipped,
        skipped,
        match charge_match {
            ChargeMatch::Any => "a shared",
            ChargeMatch::Exact => "the same",
            ChargeMatch::PreferExact => "the same (else a shared)",
        },
        args.mode.as_str(),
    );
    println!();
    println!("| predictor | k | weight power | warning rule (min cases/far factor) | n | MAE months | within ±25 % | warning (false alarm) | warning where n ≥ min cases | notice |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    row(
        "per-charge median",
        "all",
        "-",
        &rule,
        &score(&baseline(&cases, &all, &rule), &rule),
    );
    row(
        "kNN weighted median",
        &k.to_string(),
        &power.to_string(),
        &rule,
        &score(&knn(&cases, &all, k, power, &rule), &rule),
    );
    if args.sweep {
        for k in [1, 3, 5, 10, 20, usize::MAX] {
            for power in [0.0, 1.0, 2.0, 4.0] {
                let k_name = if k == usize::MAX {
                    "all".to_string()
                } else {
                    k.to_string()
                };
                row(
                    "kNN weighted median",
                    &k_name,
                    &power.to_string(),
                    &rule,
                    &score(&knn(&cases, &all, k, power, &rule), &rule),
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
                row(
                    "per-charge median",
                    "all",
                    "-",
                    &r,
                    &score(&baseline(&cases, &all, &r), &r),
                );
                row(
                    "kNN weighted median",
                    &k.to_string(),
                    &power.to_string(),
                    &r,
                    &score(&knn(&cases, &all, k, power, &r), &r),
                );
            }
        }
    }
    Ok(())
}
