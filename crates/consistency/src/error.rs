//! The consistency check's error type.

use leian_engine::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum ConsistencyError {
    /// A draft that cannot be checked as given (user error), naming the field.
    #[error("invalid draft: {0}")]
    InvalidDraft(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

pub type Result<T> = std::result::Result<T, ConsistencyError>;
