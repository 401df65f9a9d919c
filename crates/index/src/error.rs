//! The one error type of leian-index.

use std::path::PathBuf;

/// Everything that can go wrong while opening, writing or searching a case index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Reading or writing a file of the index layout (CURRENT, meta.json, dictionary) failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// tantivy failed (open, write, commit, search).
    #[error("tantivy: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// tantivy could not open the directory of an index.
    #[error("tantivy directory: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    /// A stored case or meta file is not valid JSON for its type.
    #[error("corrupt JSON in {what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// The on-disk layout is not one this version understands (bad CURRENT, newer format...).
    #[error("unsupported index layout at {path}: {reason}")]
    Layout { path: PathBuf, reason: String },
    /// The search request itself is invalid (e.g. `top_k` of 0).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl IndexError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IndexError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        IndexError::Json {
            what: what.into(),
            source,
        }
    }
}

/// Result of every fallible leian-index operation.
pub type Result<T> = std::result::Result<T, IndexError>;
