//! The one error type of leian-rank.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RankError {
    #[error("reading ranker weights {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ranker weights {path}: {message}")]
    BadModel { path: PathBuf, message: String },
    #[error("training data: {0}")]
    BadTraining(String),
}

pub type Result<T> = std::result::Result<T, RankError>;
