//! The bulk embedding job (`leian embed --shard i/n`): the vectors of one shard of the
//! input's cases, computed into a part file of the embedding cache, so any number of
//! processes or machines can embed a corpus side by side. Copy their part files into one
//! cache directory and an ingest or rebuild reads every chunk as a cache hit.
//!
//! A case belongs to shard `doc_key(id) % n`: the same case lands in the same shard
//! whatever the input order or file split, and the chunks are cut exactly as ingest cuts
//! them, so the cache keys (model id, prefixed text) match.

use crate::error::{EngineError, Result};
use crate::key::doc_key;
use crate::Engine;
use leian_embed::{ChunkOptions, Embedder, EmbedderOptions, EmbeddingCache, Precision};
use leian_ingest::{read_path, Case, CaseId, Format, Item, RecordError};
use std::path::PathBuf;

/// Shard `index` of `count` (`0/2`, `1/2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbedShard {
    pub index: u32,
    pub count: u32,
}

impl EmbedShard {
    /// The whole input as one shard.
    pub const ALL: EmbedShard = EmbedShard { index: 0, count: 1 };

    /// Whether the case with `id` belongs to this shard.
    pub fn holds(&self, id: &CaseId) -> bool {
        doc_key(id) % u64::from(self.count.max(1)) == u64::from(self.index)
    }

    /// The part file's name: `shard-0-of-2`.
    pub fn part_name(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

impl std::str::FromStr for EmbedShard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("shard must be i/n with 0 ≤ i < n, got {s:?}");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(EmbedShard { index, count })
    }
}

/// What a bulk embedding job reads and writes.
#[derive(Debug, Clone)]
pub struct EmbedJob {
    pub model_dir: PathBuf,
    /// The cache directory the part file goes to.
    pub cache_dir: PathBuf,
    pub shard: EmbedShard,
    /// Chunks per case (as ingest: default `leian_embed::DEFAULT_MAX_CHUNKS`).
    pub max_chunks: Option<usize>,
    pub precision: Precision,
}

/// What a job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmbedJobStats {
    /// Cases of the input in this shard.
    pub cases: usize,
    pub chunks: usize,
    /// Chunks computed (the rest were in the part file already).
    pub computed: usize,
}

/// The cases of every path (statutes left out), each record that cannot be read told to
/// `skipped` (file:line) and left out.
pub fn read_cases(
    paths: &[PathBuf],
    format: Format,
    skipped: &mut dyn FnMut(&RecordError),
) -> Result<Vec<Case>> {
    let mut cases = Vec::new();
    for path in paths {
        for record in read_path(path, format)? {
            match record {
                Ok(Item::Case(case)) => cases.push(*case),
                Ok(Item::Statute(_)) => {}
                Err(e) => skipped(&e),
            }
        }
    }
    Ok(cases)
}

/// Embeds the cases of `job.shard` from `cases` into the part file; cases of other
/// shards are skipped. `progress(done, total)` after each batch.
pub fn embed_shard(
    job: &EmbedJob,
    cases: Vec<Case>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<EmbedJobStats> {
    if !job.model_dir.join("config.json").exists() {
        return Err(EngineError::InvalidRequest(format!(
            "no model at {} (config.json missing): run `leian model fetch`",
            job.model_dir.display()
        )));
    }
    let embedder = Embedder::load_with(
        &job.model_dir,
        EmbedderOptions {
            precision: job.precision,
            ..EmbedderOptions::default()
        },
    )?;
    let mut cache =
        EmbeddingCache::open_part(&job.cache_dir, embedder.model_id(), &job.shard.part_name())?;
    let chunking = ChunkOptions {
        max_chunks: job
            .max_chunks
            .unwrap_or(ChunkOptions::default().max_chunks)
            .max(1),
        ..ChunkOptions::default()
    };
    let mine: Vec<Case> = cases
        .into_iter()
        .filter(|c| job.shard.holds(&c.id))
        .collect();
    let mut stats = EmbedJobStats {
        cases: mine.len(),
        ..EmbedJobStats::default()
    };
    const BATCH: usize = 16;
    let mut done = 0;
    for batch in mine.chunks(BATCH) {
        let texts: Vec<String> = batch
            .iter()
            .flat_map(|c| Engine::chunks_of(c, &chunking))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let before = cache.len();
        embedder.embed_passages_cached(&mut cache, &refs)?;
        stats.chunks += refs.len();
        stats.computed += cache.len() - before;
        cache.flush()?;
        done += batch.len();
        progress(done, stats.cases);
    }
    Ok(stats)
}
