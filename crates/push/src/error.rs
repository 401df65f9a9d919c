//! The push crate's one error type.

use leian_engine::EngineError;

/// What can go wrong in push bookkeeping and matching.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The caller asked for something invalid (empty facts, bad URL…); the message says what.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No such pending case, subscription or push (or not the caller's court).
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Visibility(#[from] leian_visibility::VisibilityError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// Serialisation of stored JSON, a poisoned lock.
    #[error("internal: {0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, PushError>;
