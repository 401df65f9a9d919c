//! The one error type of `leian-ingest`.

use std::path::PathBuf;

/// What can go wrong while reading input. Per-record problems are not errors of this
/// type: readers report them as [`crate::RecordError`] and carry on with the next record.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A file or directory could not be read at all.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A whole file is unusable (e.g. unknown format requested for it).
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    /// An unknown `--format` name.
    #[error("unknown format {0:?} (want one of: auto, jsonl, lecard, lecardv2, cail2018, scm, guiding, typical, statutes, text)")]
    UnknownFormat(String),
}

pub type Result<T> = std::result::Result<T, IngestError>;
