//! `leian check`: a draft against how similar cases were decided (裁判偏离预警).

use anyhow::{bail, Context, Result};
use clap::Args;
use leian_consistency::{check, CheckOptions, ConsistencyReport, Draft, WarningLevel};
use leian_engine::SearchMode;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct CheckArgs {
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// The draft: JSON `{"facts", "charges", "statutes": [{"law","article"}],
    /// "proposed_term_months", "proposed_penalty", "proposed_probation_months",
    /// "proposed_fine_yuan", "cited_guiding"}`, or a plain-text draft judgment (charges,
    /// statutes and the sentence are then extracted from it).
    #[arg(long)]
    file: PathBuf,
    /// Proposed term in months (overrides the draft's).
    #[arg(long)]
    term_months: Option<u32>,
    /// Similar decided cases to compare with.
    #[arg(long, default_value_t = CheckOptions::default().top_k)]
    top_k: usize,
    /// bm25, dense or hybrid (hybrid falls back to bm25 without a model).
    #[arg(long, default_value = "hybrid")]
    mode: SearchMode,
    /// Compare with cases of any charge, not only the draft's.
    #[arg(long)]
    any_charge: bool,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    model: crate::model::ModelArgs,
}

/// A JSON draft when the file parses as a JSON object, else plain text.
fn read_draft(path: &PathBuf) -> Result<Draft> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading draft {}", path.display()))?;
    if text.trim_start().starts_with('{') {
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a valid draft JSON", path.display()))
    } else if text.trim().is_empty() {
        bail!("{}: the draft is empty", path.display())
    } else {
        Ok(Draft::from_text(&text))
    }
}

pub(crate) fn run(args: CheckArgs) -> Result<()> {
    let mut draft = read_draft(&args.file)?;
    if args.term_months.is_some() {
        draft.proposed_term_months = args.term_months;
    }
    let engine = crate::search::open_existing(&args.index, &args.model)?;
    let options = CheckOptions {
        top_k: args.top_k,
        mode: args.mode,
        same_charges: !args.any_charge,
        ..CheckOptions::default()
    };
    let report = check(&engine, &draft, &options)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn fmt_months(m: Option<f64>) -> String {
    m.map_or_else(|| "-".into(), |m| format!("{m:.0}"))
}

/// A one-line strip: every similar case's term as `|`, the proposed term as `▼`.
fn strip(report: &ConsistencyReport) -> Option<String> {
    let terms = &report.distribution.terms_months;
    let proposed = report.proposed.term_months.map(f64::from);
    let lo = terms
        .iter()
        .copied()
        .chain(proposed)
        .fold(f64::MAX, f64::min);
    let hi = terms
        .iter()
        .copied()
        .chain(proposed)
        .fold(f64::MIN, f64::max);
    if terms.is_empty() {
        return None;
    }
    const WIDTH: usize = 50;
    let pos = |m: f64| {
        if hi > lo {
            (((m - lo) / (hi - lo)) * (WIDTH - 1) as f64).round() as usize
        } else {
            WIDTH / 2
        }
    };
    let mut line = vec!['·'; WIDTH];
    for t in terms {
        line[pos(*t)] = '|';
    }
    if let Some(p) = proposed {
        line[pos(p)] = '▼';
    }
    Some(format!(
        "{lo:>5.0} {} {hi:.0} months",
        line.into_iter().collect::<String>()
    ))
}

fn print_report(r: &ConsistencyReport) {
    let level = match r.warning {
        WarningLevel::None => "none",
        WarningLevel::Notice => "NOTICE",
        WarningLevel::Warning => "WARNING",
    };
    println!("consistency: {level} ({})", r.warning_label);
    for reason in &r.reasons {
        println!("  - {reason}");
    }
    let d = &r.distribution;
    println!(
        "\n{} similar decided cases ({}; charges: {}): {} with a term, median {} months, \
         Q1–Q3 {}–{}, range {}–{}, weighted median {}, probation {}, fine median {}",
        r.similar.len(),
        r.mode.as_str(),
        if r.charges_filter.is_empty() {
            "any".to_string()
        } else {
            r.charges_filter.join("、")
        },
        d.n,
        fmt_months(d.median_months),
        fmt_months(d.q1_months),
        fmt_months(d.q3_months),
        fmt_months(d.min_months),
        fmt_months(d.max_months),
        fmt_months(d.weighted_median_months),
        d.probation_share
            .map_or_else(|| "-".into(), |s| format!("{:.0}%", s * 100.0)),
        d.fine_median_yuan
            .map_or_else(|| "-".into(), |f| format!("{f:.0} yuan")),
    );
    if let Some(s) = strip(r) {
        println!("{s}");
    }
    let labels = |tags: &[leian_consistency::CircumstanceTag]| {
        tags.iter().map(|t| t.label).collect::<Vec<_>>().join("、")
    };
    println!("\ndraft circumstances: {}", labels(&r.draft_circumstances));
    for (i, s) in r.similar.iter().enumerate() {
        println!(
            "{:>2}. {} sim {:.2}  term {}  {}{}  [{}]  {}",
            i + 1,
            s.id,
            s.similarity,
            fmt_months(s.term_months),
            s.sentence
                .probation_months
                .map_or_else(String::new, |p| format!("缓{p} ")),
            s.charges.join("、"),
            labels(&s.circumstances),
            s.title
        );
    }
    for g in &r.guiding {
        println!(
            "guiding {} {} — {}",
            g.number
                .map_or_else(|| g.id.clone(), |n| format!("第{n}号")),
            if g.cited_by_draft {
                "cited"
            } else {
                "NOT cited"
            },
            g.title
        );
    }
    let missing: Vec<String> = r
        .statutes
        .iter()
        .filter(|s| !s.cited_by_draft)
        .map(|s| format!("{} ({}/{})", s.statute, s.cases, r.similar.len()))
        .collect();
    if !missing.is_empty() {
        println!(
            "statutes cited by similar cases, not by the draft: {}",
            missing.join(", ")
        );
    }
}
