//! leian-ingest owns the one [`Case`] model and the readers that turn real formats
//! (full-text judgments, LeCaRD, CAIL, guiding and typical cases, statutes, plain text)
//! into it, including field extraction from judgment text. It knows nothing of indexes
//! or HTTP.

pub mod calendar;
pub mod case;
pub mod circumstances;
pub mod error;
pub mod extract;
pub mod numerals;
pub mod reader;
pub mod statute;

pub use case::*;
pub use circumstances::{extract_circumstances, Circumstance, CircumstanceEffect};
pub use error::{IngestError, Result};
pub use extract::{extract_case, field_coverage, fill_from_text};
pub use numerals::{parse_cn_int, parse_term_months};
pub use reader::{
    case_from_native, lecard_case_id, read_path, read_scm_triplets, Format, Item, RecordError,
    RecordStream, Records, ScmTriplet,
};
pub use statute::{find_statute_refs, normalize_law_name};
