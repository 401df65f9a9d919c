use std::path::PathBuf;

/// Errors of an evaluation run.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    BadRecord {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    MissingData(String),
    /// A benchmark that cannot run (its input does not fit), in words.
    #[error("{0}")]
    Bench(String),
    #[error(transparent)]
    Index(#[from] leian_index::IndexError),
    #[error(transparent)]
    Ingest(#[from] leian_ingest::IngestError),
    #[error(transparent)]
    Engine(#[from] leian_engine::EngineError),
    #[error(transparent)]
    Consistency(#[from] leian_consistency::ConsistencyError),
    #[error(transparent)]
    Embed(#[from] leian_embed::EmbedError),
    #[error(transparent)]
    Rank(#[from] leian_rank::RankError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Eval(#[from] leian_eval::EvalError),
    #[error(transparent)]
    Push(#[from] leian_push::PushError),
    #[error(transparent)]
    Vector(#[from] leian_vector::VectorError),
}

pub type Result<T> = std::result::Result<T, HarnessError>;
