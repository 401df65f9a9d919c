//! Errors of the vector store.

use std::path::PathBuf;

/// Everything that can go wrong when building, querying, saving or opening a [`crate::VectorStore`].
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    /// A vector (inserted or queried) does not have the store's dimension.
    #[error("vector has dimension {got}, store expects {expected}")]
    DimMismatch { expected: usize, got: usize },
    /// A vector contains NaN or infinity.
    #[error("vector contains a non-finite value (NaN or infinity)")]
    NonFinite,
    /// A vector has zero (or numerically zero) length, so it has no direction.
    #[error("vector has zero length; cosine similarity is undefined")]
    ZeroVector,
    /// `insert_case` was given no chunks.
    #[error("case {doc} has no vectors")]
    EmptyCase { doc: u64 },
    /// Store parameters are out of range.
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    /// Files on disk are missing, truncated or inconsistent with `meta.json`.
    #[error("corrupt vector store at {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// Reading or writing a store file failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `meta.json` could not be written or parsed.
    #[error("invalid meta.json at {path}: {source}")]
    Meta {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, VectorError>;

impl VectorError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        VectorError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        VectorError::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
