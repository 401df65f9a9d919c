//! `leian ingest`: read files in any supported format and upsert them into the index.

use anyhow::{bail, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use leian_engine::{Engine, LoadObserver, LoadOptions, LoadSummary};
use leian_ingest::{Format, RecordError};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub(crate) struct IngestArgs {
    /// Files or directories to read (directories are read recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Index directory (created when missing).
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// Input format; `auto` detects it per file from its name and first record.
    #[arg(long, default_value = "auto")]
    format: Format,
    /// Do not print each skipped record (the summary still counts them).
    #[arg(long)]
    quiet: bool,
    /// Restrict every case of this run to these courts (comma-separated court names; a
    /// record's own `visible_to` wins). Stored before the case is committed, so it is
    /// never searchable nor pushed outside these courts.
    #[arg(long, value_delimiter = ',')]
    visible_to: Vec<String>,
    /// Commit every N cases. Each commit is acknowledged on stdout (`committed N cases`):
    /// acknowledged cases survive a crash; a crash loses at most the uncommitted batch.
    #[arg(long, default_value_t = 2000)]
    batch: usize,
    #[command(flatten)]
    model: crate::model::ModelArgs,
}

pub(crate) fn run(args: IngestArgs) -> Result<()> {
    let engine = args.model.open_engine(&args.index)?;
    let visible_to = leian_visibility::normalise_courts(&args.visible_to);
    if !args.visible_to.is_empty() && visible_to.is_empty() {
        bail!("--visible-to: no court named");
    }
    let summary = ingest_paths(
        &engine,
        &args.paths,
        &LoadOptions {
            format: args.format,
            commit_every: Some(args.batch),
            visible_to: visible_to.clone(),
        },
        args.quiet,
    )?;
    if summary.restricted > 0 {
        println!(
            "{} cases restricted to the courts they name{}",
            summary.restricted,
            if visible_to.is_empty() {
                String::new()
            } else {
                format!(" (default: {})", visible_to.join("、"))
            }
        );
    }
    println!(
        "ingested {} cases and {} statutes, skipped {} records, in {:.1} s ({:.0} cases/s); index now holds {} cases",
        summary.cases,
        summary.statutes,
        summary.skipped,
        summary.seconds,
        summary.cases as f64 / summary.seconds.max(1e-9),
        engine.num_cases()
    );
    if engine.has_dense() {
        println!(
            "embedded {} chunks: {} computed, {} from the cache",
            summary.chunks_embedded,
            summary.chunks_computed,
            summary.chunks_embedded - summary.chunks_computed
        );
    }
    crate::push::after_ingest(&engine, &summary.authority)?;
    if summary.cases + summary.statutes == 0 && summary.skipped > 0 {
        bail!("nothing ingested: all {} records were bad", summary.skipped);
    }
    Ok(())
}

/// Loads `paths` with a progress bar on stderr (bytes of each file read, and the embedding
/// of each commit), each acknowledged commit on stdout and each skipped record on stderr
/// (file:line: message) unless `quiet`.
pub(crate) fn ingest_paths(
    engine: &Engine,
    paths: &[PathBuf],
    options: &LoadOptions,
    quiet: bool,
) -> Result<LoadSummary> {
    let bar = ProgressBar::hidden();
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut shown = Shown { bar, quiet };
    let summary = engine.load(paths, options, &mut shown)?;
    shown.bar.finish_and_clear();
    Ok(summary)
}

/// How a load shows on the terminal: one bar, for a file's records or a commit's
/// embedding.
struct Shown {
    bar: ProgressBar,
    quiet: bool,
}

impl LoadObserver for Shown {
    fn file(&mut self, path: &Path, bytes: u64) {
        self.bar = ProgressBar::new(bytes).with_style(self.bar.style());
        self.bar.set_message(path.display().to_string());
    }
    fn record(&mut self, read: u64) {
        self.bar.set_position(read);
    }
    fn skipped(&mut self, error: &RecordError) {
        if !self.quiet {
            self.bar.suspend(|| eprintln!("skipped {error}"));
        }
    }
    fn embedding(&mut self, done: usize, total: usize) {
        self.bar
            .set_message(format!("embedding {done}/{total} cases of the commit"));
    }
    fn committed(&mut self, cases: usize) {
        self.bar.suspend(|| println!("committed {cases} cases"));
    }
    fn file_done(&mut self) {
        self.bar.finish_and_clear();
    }
}
