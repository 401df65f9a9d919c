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
    /// A request that cannot be answered as asked (user error).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("no case with id {0}")]
    CaseNotFound(CaseId),
    /// Dense search asked for but no usable model/vectors (user can fix by fetching the model).
    #[error("dense search unavailable: {0}")]
    DenseUnavailable(String),
}

pub type Result<T> = std::result::Result<T, EngineError>;
