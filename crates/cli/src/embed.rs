//! `leian embed`: the bulk embedding job of one shard (see `leian_engine::bulk_embed`).

use anyhow::Result;
use clap::Args;
use leian_engine::bulk_embed::{embed_paths, EmbedJob, EmbedShard};
use leian_ingest::Format;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct EmbedArgs {
    /// Files or directories to read, as `leian ingest` reads them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[arg(long, default_value = "auto")]
    format: Format,
    /// Which shard to embed, `i/n` (0 ≤ i < n); default the whole input.
    #[arg(long, default_value = "0/1")]
    shard: EmbedShard,
    /// The embedding cache directory the shard's part file is written to; copy the parts
    /// of all shards into the cache an ingest uses (default `index/embed-cache`).
    #[arg(long)]
    embed_cache: Option<PathBuf>,
    /// HF-layout model dir (default `models/e5-small`).
    #[arg(long, env = "LEIAN_MODEL")]
    model: Option<PathBuf>,
    /// Chunks of a case's facts embedded (as `leian ingest --max-chunks`).
    #[arg(long)]
    max_chunks: Option<usize>,
    #[arg(long, env = "LEIAN_PRECISION", default_value = "auto")]
    precision: leian_embed::Precision,
    /// Write made-up vectors (from a hash of each chunk) under the model's id instead of
    /// running the model: for court-scale benchmarks of the index only
    /// (`benches/court_scale.sh`), never for an index judges search.
    #[arg(long, hide = true)]
    synthetic_vectors: bool,
}

pub(crate) fn run(args: EmbedArgs) -> Result<()> {
    let job = EmbedJob {
        model_dir: args.model.unwrap_or_else(crate::model::default_model_dir),
        cache_dir: args
            .embed_cache
            .unwrap_or_else(|| crate::default_index_dir().join("embed-cache")),
        shard: args.shard,
        max_chunks: args.max_chunks,
        precision: args.precision,
        synthetic: args.synthetic_vectors,
    };
    let mut skipped = 0usize;
    let stats = embed_paths(
        &job,
        &args.paths,
        args.format,
        &mut |e| {
            skipped += 1;
            eprintln!("skipped {e}");
        },
        &mut |done| eprint!("\rembedded {done} cases"),
    )?;
    eprintln!();
    println!(
        "shard {}/{}: {} of {} cases ({skipped} records skipped), {} chunks: {} computed, {} already in the part file {}",
        job.shard.index,
        job.shard.count,
        stats.cases,
        stats.read,
        stats.chunks,
        stats.computed,
        stats.chunks - stats.computed,
        job.cache_dir.display()
    );
    Ok(())
}
