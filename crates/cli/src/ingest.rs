//! `leian ingest`: read files in any supported format and upsert them into the index.

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use leian_engine::Engine;
use leian_ingest::{read_path, AuthorityTier, Format, Item};
use std::path::PathBuf;
use std::time::Instant;

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

/// What one ingest run did.
#[derive(Debug, Default, serde::Serialize)]
pub(crate) struct IngestSummary {
    pub(crate) cases: usize,
    pub(crate) statutes: usize,
    pub(crate) skipped: usize,
    pub(crate) chunks_embedded: usize,
    pub(crate) chunks_computed: usize,
    /// Cases stored with a court restriction (`visible_to`).
    pub(crate) restricted: usize,
    pub(crate) seconds: f64,
    /// Guiding and typical cases ingested (they get pushed to pending cases).
    #[serde(skip)]
    pub(crate) authority: Vec<leian_ingest::Case>,
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
        args.format,
        args.quiet,
        Some(args.batch),
        &visible_to,
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
        engine.index().num_cases()
    );
    if engine.has_dense() {
        println!(
            "embedded {} chunks: {} computed, {} from the cache",
            summary.chunks_embedded,
            summary.chunks_computed,
            summary.chunks_embedded - summary.chunks_computed
        );
    }
    crate::push::after_ingest(&engine, &args.index, &summary.authority)?;
    if summary.cases + summary.statutes == 0 && summary.skipped > 0 {
        bail!("nothing ingested: all {} records were bad", summary.skipped);
    }
    Ok(())
}

/// Reads every path and upserts its records, committing every `batch` cases (and at the
/// end), each commit acknowledged on stdout; `None`: one silent commit at the end. Bad
/// records are reported on stderr (file:line: message) and skipped; nothing already
/// stored is touched by them. A case with `visible_to` (its own, else `visible_to` here)
/// is restricted to those courts before the commit that makes it searchable.
pub(crate) fn ingest_paths(
    engine: &Engine,
    paths: &[PathBuf],
    format: Format,
    quiet: bool,
    batch: Option<usize>,
    visible_to: &[String],
) -> Result<IngestSummary> {
    let start = Instant::now();
    let mut restrictions = Restrictions {
        db: engine.root().join(leian_server::DB_FILE),
        handle: None,
        batch: Vec::new(),
    };
    let acknowledge = batch.is_some();
    let batch = batch.unwrap_or(usize::MAX).max(1);
    let mut summary = IngestSummary::default();
    let mut writer = engine.writer()?;
    let mut in_batch = 0usize;
    for path in paths {
        let records =
            read_path(path, format).with_context(|| format!("reading {}", path.display()))?;
        let bar = ProgressBar::new(records.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(path.display().to_string());
        for record in records {
            match record {
                Ok(Item::Case(mut case)) => {
                    if case.visible_to.is_empty() {
                        case.visible_to = visible_to.to_vec();
                    }
                    if !case.visible_to.is_empty() {
                        restrictions
                            .batch
                            .push((case.id.to_string(), case.visible_to.clone()));
                        summary.restricted += 1;
                    }
                    if matches!(case.tier, AuthorityTier::Guiding | AuthorityTier::Typical) {
                        summary.authority.push((*case).clone());
                    }
                    writer.upsert(*case)?;
                    summary.cases += 1;
                    in_batch += 1;
                    if in_batch >= batch {
                        writer.note_source(source_line(path, in_batch));
                        restrictions.store()?;
                        bar.suspend(|| commit(writer, &mut summary, acknowledge))?;
                        writer = engine.writer()?;
                        in_batch = 0;
                    }
                }
                Ok(Item::Statute(article)) => {
                    writer.upsert_statute(&article)?;
                    summary.statutes += 1;
                }
                Err(e) => {
                    summary.skipped += 1;
                    if !quiet {
                        bar.suspend(|| eprintln!("skipped {e}"));
                    }
                }
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
    }
    if in_batch > 0 || summary.cases == 0 {
        if let Some(path) = paths.last() {
            if in_batch > 0 {
                writer.note_source(source_line(path, in_batch));
            }
        }
        restrictions.store()?;
        commit(writer, &mut summary, acknowledge)?;
    }
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// Court restrictions read since the last commit, stored (through leian-visibility, in
/// the index's database) just before the next one.
struct Restrictions {
    db: PathBuf,
    handle: Option<leian_visibility::CaseVisibility>,
    batch: Vec<(String, Vec<String>)>,
}

impl Restrictions {
    fn store(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        if self.handle.is_none() {
            self.handle = Some(
                leian_visibility::CaseVisibility::open(&self.db)
                    .with_context(|| format!("opening {}", self.db.display()))?,
            );
        }
        if let Some(v) = &self.handle {
            let rows: Vec<(&str, &[String])> = self
                .batch
                .iter()
                .map(|(id, courts)| (id.as_str(), courts.as_slice()))
                .collect();
            v.restrict_many(&rows)
                .with_context(|| format!("storing case visibility in {}", self.db.display()))?;
        }
        self.batch.clear();
        Ok(())
    }
}

/// A line of the generation's source manifest.
fn source_line(path: &std::path::Path, cases: usize) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{now} ingest {} ({cases} cases)", path.display())
}

/// Embeds and commits what `writer` holds, then (when asked) acknowledges it on stdout.
fn commit(
    writer: leian_engine::EngineWriter<'_>,
    summary: &mut IngestSummary,
    acknowledge: bool,
) -> Result<()> {
    let to_embed = writer.pending_embeddings();
    let bar = ProgressBar::new(to_embed as u64);
    bar.set_style(
        ProgressStyle::with_template("embedding [{bar:30}] {pos}/{len} cases {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let stats = writer.commit(&mut |done, _| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    summary.chunks_embedded += stats.chunks;
    summary.chunks_computed += stats.chunks_computed;
    if acknowledge {
        println!("committed {} cases", summary.cases);
    }
    Ok(())
}
