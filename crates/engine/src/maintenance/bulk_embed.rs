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
use leian_embed::{Embedder, EmbedderOptions, EmbeddingCache, Precision, PASSAGE_PREFIX};
use leian_ingest::{Case, CaseId, Format, Item, RecordError, RecordStream};
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
    /// Write made-up vectors (unit vectors drawn from a hash of each chunk's text) under
    /// the model's id instead of running it: for benchmarks of the index at court scale
    /// (HNSW build and memory, search latency), never for an index judges search.
    pub synthetic: bool,
}

/// What a job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmbedJobStats {
    /// Cases read from the input, every shard's.
    pub read: usize,
    /// Cases of the input in this shard.
    pub cases: usize,
    pub chunks: usize,
    /// Chunks computed (the rest were in the part file already).
    pub computed: usize,
}

/// Embeds the cases of `job.shard` found in `paths` into the part file, reading one
/// record at a time (memory holds one batch, whatever the input's size); cases of other
/// shards are passed over, each record that cannot be read is told to `skipped`
/// (file:line) and left out. `progress(done)` after each batch.
pub fn embed_paths(
    job: &EmbedJob,
    paths: &[PathBuf],
    format: Format,
    skipped: &mut dyn FnMut(&RecordError),
    progress: &mut dyn FnMut(usize),
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
    let chunking = crate::model::chunking(job.max_chunks);
    const BATCH: usize = 16;
    let mut stats = EmbedJobStats::default();
    let mut batch: Vec<Case> = Vec::with_capacity(BATCH);
    let mut embed = |batch: &mut Vec<Case>, stats: &mut EmbedJobStats| -> Result<()> {
        let texts: Vec<String> = batch
            .iter()
            .flat_map(|c| Engine::chunks_of(c, &chunking))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let before = cache.len();
        if job.synthetic {
            for t in &refs {
                let key = format!("{PASSAGE_PREFIX}{t}");
                if cache.get(&key).is_none() {
                    cache.put(&key, synthetic_vector(&key, embedder.dim()))?;
                }
            }
        } else {
            embedder.embed_passages_cached(&mut cache, &refs)?;
        }
        stats.cases += batch.len();
        stats.chunks += refs.len();
        stats.computed += cache.len() - before;
        cache.flush()?;
        batch.clear();
        progress(stats.cases);
        Ok(())
    };
    for path in paths {
        let mut records = RecordStream::open(path, format)?;
        while let Some(record) = records.next_record()? {
            match record {
                Ok(Item::Case(case)) => {
                    stats.read += 1;
                    if job.shard.holds(&case.id) {
                        batch.push(*case);
                        if batch.len() >= BATCH {
                            embed(&mut batch, &mut stats)?;
                        }
                    }
                }
                Ok(Item::Statute(_)) => {}
                Err(e) => skipped(&e),
            }
        }
    }
    if !batch.is_empty() {
        embed(&mut batch, &mut stats)?;
    }
    Ok(stats)
}

/// A unit vector of `dim` drawn from a hash of `text` (the same text, the same vector).
pub fn synthetic_vector(text: &str, dim: usize) -> Vec<f32> {
    let mut state = doc_key(&CaseId::new(text)) | 1;
    let mut v: Vec<f32> = (0..dim)
        .map(|_| {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let x = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::MIN_POSITIVE);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_vectors_are_unit_length_deterministic_and_differ_by_text() {
        let a = synthetic_vector("passage: 被告人窃取手机", 384);
        assert_eq!(a.len(), 384);
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
        assert_eq!(a, synthetic_vector("passage: 被告人窃取手机", 384));
        let b = synthetic_vector("passage: 被告人醉酒驾驶", 384);
        let cos: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!(
            cos.abs() < 0.3,
            "independent texts are near orthogonal: {cos}"
        );
    }

    #[test]
    fn a_shard_holds_its_share_of_cases() {
        let two: Vec<EmbedShard> = ["0/2", "1/2"].iter().map(|s| s.parse().unwrap()).collect();
        let ids: Vec<CaseId> = (0..200).map(|i| CaseId::new(format!("c:{i}"))).collect();
        for id in &ids {
            assert_eq!(two.iter().filter(|s| s.holds(id)).count(), 1);
        }
        let first = ids.iter().filter(|id| two[0].holds(id)).count();
        assert!((60..140).contains(&first), "{first}");
        assert!("2/2".parse::<EmbedShard>().is_err());
    }
}
