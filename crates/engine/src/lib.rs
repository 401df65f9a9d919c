//! leian-engine is the search engine the CLI and the server share, split by job as
//! meilisearch splits searching an index from maintaining it:
//! - [`Engine`] (`engine.rs`): the handle on one index directory — the live generation
//!   (tantivy, BM25) and, when an embedding model is available, its vectors (HNSW), the
//!   embedding cache and the model; what the live generation holds (a case, a statute,
//!   counts). Both sides work through it.
//! - the search side ([`search`]): [`Query`] (with the engine's own [`Filters`], so callers
//!   never reach into the index crate) → ranked cases in three modes (BM25, dense, hybrid
//!   with RRF or weighted fusion), legal-element re-ranking with given or inferred charges,
//!   authority-tier ordering, the relevance floor and `explain`; [`Engine::ran`] is the
//!   one place that decides which mode, ranking and floor ran.
//! - the maintenance side ([`maintenance`]): the writer (the facts of each case chunked and
//!   embedded, cached by model + text, then committed into both indexes), loading input
//!   files, generations, rebuild, backup/restore, stats, the bulk embedding job.
//!
//! Without a model every search is BM25-only and one warning says how to get the model.
//! It knows nothing of HTTP or the command line.

mod engine;
mod error;
mod key;
pub mod maintenance;
mod model;
pub mod search;
#[cfg(test)]
mod test_cases;

pub use engine::{holds_index, Engine, EngineOptions, DB_FILE};
pub use error::{EngineError, Result};
pub use key::doc_key;
pub use leian_index::{escape_html, Coverage, GenerationMeta};
pub use maintenance::{
    bulk_embed, BackupManifest, CommitStats, EngineWriter, GenerationInfo, IndexStats,
    LoadObserver, LoadOptions, LoadSummary, RebuildOptions, RebuildPhase, RebuildProgress,
    RebuildReport, RestoreReport,
};
pub use search::{
    fuse, fusion, hits_json, hits_text, legal, ranked_text, ChunkScore, Explain, Filters,
    FloorRule, FusedHit, Fusion, LegalExplain, LegalHit, LegalOptions, LegalQuery, LegalRanker,
    LegalRanking, ListPosition, ListedCase, Query, Ran, RankedCase, Ranking, SearchMode,
    MAX_RANKED_CHARS,
};
