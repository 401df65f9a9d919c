//! leian-engine is the search engine the CLI and the server share. It owns:
//! - [`Engine`]: one case index (tantivy, BM25) plus, when an embedding model is
//!   available, its vectors (HNSW) in the same generation directory, an embedding cache,
//!   and the model;
//! - ingestion with embeddings ([`EngineWriter`]): the facts of each case are chunked and
//!   embedded (cached by model + text), then the case goes into both indexes;
//! - search in three modes (BM25, dense, hybrid with RRF or weighted fusion), filters
//!   honoured by both lists, authority-tier ordering, and `explain` ([`fusion`]);
//! - legal-element-aware re-ranking with given or inferred charges ([`legal`]).
//!
//! Without a model every search is BM25-only and one warning says how to get the model.
//! It knows nothing of HTTP or the command line.

pub mod bulk_embed;
mod engine;
mod error;
pub mod fusion;
mod generation;
mod key;
pub mod legal;
mod lifecycle;
mod model;
#[cfg(test)]
mod test_cases;

pub use engine::{
    ranked_text, CommitStats, Engine, EngineOptions, EngineWriter, Explain, FloorRule,
    LegalExplain, Query, Ran, RankedCase, Ranking, SearchMode, MAX_RANKED_CHARS,
};
pub use error::{EngineError, Result};
pub use fusion::{fuse, FusedHit, Fusion, ListPosition};
pub use key::doc_key;
pub use legal::{ChunkScore, LegalHit, LegalOptions, LegalQuery, LegalRanker, LegalRanking};
pub use lifecycle::{
    BackupManifest, GenerationInfo, IndexStats, RebuildOptions, RebuildPhase, RebuildProgress,
    RebuildReport, RestoreReport,
};
