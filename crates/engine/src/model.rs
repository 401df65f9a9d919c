//! The embedding model as the engine uses it: the embedder, its cache, and how cases are
//! cut into chunks. Shared (in an `Arc`) by every generation made with that model.

use crate::error::Result;
use leian_embed::{ChunkOptions, Embedder, EmbedderOptions, EmbeddingCache, Precision};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The embedding cache lives at the index root: it outlives generations and models
/// (one file per model id).
pub(crate) const CACHE_DIR: &str = "embed-cache";

/// How cases are cut into chunks with `max_chunks` per case (default
/// `leian_embed::DEFAULT_MAX_CHUNKS`): the one rule for ingest and the bulk embedding job,
/// whose cache keys must be the very chunks ingest asks for.
pub(crate) fn chunking(max_chunks: Option<usize>) -> ChunkOptions {
    ChunkOptions {
        max_chunks: max_chunks
            .unwrap_or(ChunkOptions::default().max_chunks)
            .max(1),
        ..ChunkOptions::default()
    }
}

pub(crate) struct DenseModel {
    pub(crate) embedder: Embedder,
    pub(crate) cache: Mutex<EmbeddingCache>,
    pub(crate) chunking: ChunkOptions,
    /// Where the model was loaded from.
    pub(crate) dir: PathBuf,
}

impl DenseModel {
    pub(crate) fn load(
        model_dir: &Path,
        cache_dir: &Path,
        max_chunks: Option<usize>,
        precision: Precision,
    ) -> Result<DenseModel> {
        let embedder = Embedder::load_with(
            model_dir,
            EmbedderOptions {
                precision,
                ..EmbedderOptions::default()
            },
        )?;
        let cache = EmbeddingCache::open(cache_dir, embedder.model_id())?;
        Ok(DenseModel {
            embedder,
            cache: Mutex::new(cache),
            chunking: chunking(max_chunks),
            dir: std::fs::canonicalize(model_dir).unwrap_or_else(|_| model_dir.to_path_buf()),
        })
    }

    pub(crate) fn id(&self) -> &str {
        self.embedder.model_id()
    }
}
