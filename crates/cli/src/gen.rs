//! `leian gen`: writes the synthetic corpus of `leian_harness::synthetic` to a file.
//!
//! Output is the native JSON-lines format of `leian ingest` (one serialised `Case` a line,
//! sections filled, no `full_text`), so the same file feeds leian and, through
//! `leian bench-peers tokens`, the peers. The same seed always gives the same file.

use anyhow::Result;
use clap::Args;
use leian_harness::synthetic::{load_article_quotes, write_jsonl, Generator};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args)]
pub(crate) struct GenArgs {
    /// How many cases to write.
    #[arg(long)]
    cases: u64,
    /// Output file (native JSON lines, readable by `leian ingest`).
    #[arg(long)]
    out: PathBuf,
    /// Seed of the generator: the same seed gives the same file.
    #[arg(long, default_value_t = 8)]
    seed: u64,
    /// Full-length judgments (≈ 3,500 characters: header, prosecution's account, evidence,
    /// defence, sentencing reasons, appeal notice, `full_text`), as a court's archive holds.
    #[arg(long)]
    full_length: bool,
    /// 刑法 articles to quote in the reasoning (statutes JSON lines); skipped when missing.
    #[arg(long, default_value = "../shared/data/statutes/articles.jsonl")]
    statutes: PathBuf,
}

pub(crate) fn run(args: GenArgs) -> Result<()> {
    let started = Instant::now();
    let quotes = load_article_quotes(&args.statutes)?;
    let generator = Generator::new(args.seed, quotes);
    let bytes = write_jsonl(&generator, args.cases, args.full_length, &args.out)?;
    eprintln!(
        "wrote {} cases ({:.1} MiB) to {} in {:.1} s",
        args.cases,
        bytes as f64 / (1024.0 * 1024.0),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
