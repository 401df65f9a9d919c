//! The index-maintenance side: everything that changes what an index directory holds.
//! It owns the writer ([`EngineWriter`]: upserts and deletes, embedded and committed in
//! batches under the one writer lock), the generations (`gen-NNNNNN/`, `CURRENT`, reader
//! and writer locks, garbage collection), rebuild into a new generation while searches go
//! on, backup and restore, stats, loading input files ([`Engine::load`]) and the bulk
//! embedding job ([`bulk_embed`]).
//!
//! It never ranks: a rebuild's smoke check asks the index directly, not the search side.

pub mod bulk_embed;
pub(crate) mod generation;
mod lifecycle;
mod load;
mod writer;

pub use lifecycle::{
    BackupManifest, GenerationInfo, IndexStats, RebuildOptions, RebuildPhase, RebuildProgress,
    RebuildReport, RestoreReport,
};
pub use load::{LoadObserver, LoadOptions, LoadSummary};
pub use writer::{CommitStats, EngineWriter};
