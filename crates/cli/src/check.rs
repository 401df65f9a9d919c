//! `leian check`: a draft against how similar cases were decided (裁判偏离预警).

use anyhow::{Context, Result};
use clap::Args;
use leian_consistency::{check, CheckOptions, Draft};
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

/// The draft in the file (JSON or plain text, see `Draft::parse`).
fn read_draft(path: &PathBuf) -> Result<Draft> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading draft {}", path.display()))?;
    Draft::parse(&text).with_context(|| path.display().to_string())
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
        print!("{}", report.to_text());
    }
    Ok(())
}
