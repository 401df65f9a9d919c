//! The engine's error type.

use leian_ingest::CaseId;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Index(#[from] leian_index::IndexError),
    #[error(transparent)]
    Vector(#[from] leian_vector::VectorError),
    #[error(transparent)]
    Embed(#[from] leian_embed::EmbedError),
    /// An input file or directory that could not be read (a bad record is not an error:
    /// it is skipped and reported).
    #[error(transparent)]
    Ingest(#[from] leian_ingest::IngestError),
    /// The index's database (case visibility) could not be read or written.
    #[error("case visibility in {db}: {source}")]
    Visibility {
        db: std::path::PathBuf,
        source: leian_visibility::VisibilityError,
    },
    /// A request that cannot be answered as asked (user error).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("no case with id {0}")]
    CaseNotFound(CaseId),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The live generation failed verification at open: it is not served.
    #[error("index {root}: the live generation {generation} is damaged and will not be served ({reason}); restore a backup (`leian restore`) or point CURRENT at an older generation")]
    CorruptGeneration {
        root: std::path::PathBuf,
        generation: String,
        reason: String,
    },
    /// Another writer (ingest, rebuild, backup) holds the index's writer lock.
    #[error("index {0} is busy: another ingest, rebuild or backup is writing; try again when it is done")]
    WriterBusy(std::path::PathBuf),
    /// A rebuilt generation failed its checks; the live one was kept.
    #[error(
        "rebuild of {generation} failed verification, the live generation is unchanged: {reason}"
    )]
    RebuildVerification { generation: String, reason: String },
    /// Dense search asked for but no usable model/vectors (user can fix by fetching the model).
    #[error("dense search unavailable: {0}")]
    DenseUnavailable(String),
}

pub type Result<T> = std::result::Result<T, EngineError>;
