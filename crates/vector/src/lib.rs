//! Persisted, filtered cosine vector store for case embeddings, with its own HNSW graph.
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
//! id), `vectors.f32` (little-endian rows), `rows.bin` (doc and liveness per row) and, once
//! built, `graph.bin` (the HNSW links; checked id by id on `open`).
//!
//! The graph ([`graph`]) is hnswlib's design in safe Rust: flat neighbour-id blocks over the
//! store's own rows (no second copy of the vectors), the neighbour-selection heuristic, and
//! inserts that run on several threads. It replaced `hnsw_rs`, which copied every vector,
//! could only be rebuilt (not reloaded safely) on open, and was 8–9× slower than hnswlib.

mod error;
mod graph;
mod memory;
mod params;
mod persist;
mod store;

pub use error::{Result, VectorError};
pub use params::HnswParams;
pub use store::{VectorStore, EXACT_SCAN_MAX_VECTORS, EXACT_SCAN_MIN_FRACTION_INV};

#[cfg(test)]
mod recall_tests;
