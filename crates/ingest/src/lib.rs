//! leian-ingest owns the one [`Case`] model and the readers that turn real formats
//! (full-text judgments, LeCaRD, CAIL, guiding and typical cases, statutes, plain text)
//! into it, including field extraction from judgment text. It knows nothing of indexes
//! or HTTP.

pub mod case;

pub use case::*;
