//! Persisted, filtered cosine vector store for case embeddings (HNSW via `hnsw_rs`).
//!
//! Owns: [`VectorStore`] — cases (caller's `u64` doc numbers) with one or more embedding
//! vectors (chunks), L2-normalised on insert; doc-level search (max similarity over a case's
//! chunks) through an HNSW graph with the caller's filter and tombstones, exact fallback for
//! selective filters, exact scoring of candidate sets ([`VectorStore::scores_for`]), and
//! atomic save/open of a store directory.
//!
//! Does not own: computing embeddings (see `leian-embed`), text search, or what a doc number
//! means.
//!
//! On disk a store is a directory with `meta.json` (format version, dim, params, counts, model
//! id), `vectors.f32` (little-endian rows) and `rows.bin` (doc and liveness per row). The
//! HNSW graph is not saved: it is rebuilt deterministically from the rows on the first graph
//! search after `open`. This avoids hnsw_rs's `HnswIo` reload, whose graph borrows the loader
//! (a self-referential store would need `unsafe` or a leak) and which panics on corrupt files.

mod error;
mod params;
mod persist;
mod store;

pub use error::{Result, VectorError};
pub use params::HnswParams;
pub use store::{VectorStore, EXACT_SCAN_MAX_VECTORS, EXACT_SCAN_MIN_FRACTION_INV};

#[cfg(test)]
mod recall_tests;
