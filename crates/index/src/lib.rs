//! leian-index owns the full-text side of the case index: a tantivy index of [`Case`]s
//! (and a second one of statute articles) on disk, Chinese tokenisation with jieba in
//! search mode plus a legal user dictionary generated from statutes and charges, BM25
//! search with per-field boosts, filters (tier, category, charge, court level, region,
//! statute, year, candidate ids) and highlighted snippets.
//!
//! It does not own the `Case` model or readers (leian-ingest), vectors and hybrid fusion
//! (leian-vector), or anything HTTP.
//!
//! ```no_run
//! # fn main() -> leian_index::Result<()> {
//! use leian_index::{CaseIndex, SearchRequest};
//! let index = CaseIndex::open_or_create(std::path::Path::new("index"))?;
//! let hits = index.search(&SearchRequest { snippets: true, ..SearchRequest::text("入户盗窃手机", 10) })?;
//! for hit in hits {
//!     println!("{} {:.2} {}", hit.id, hit.score, hit.snippet.unwrap_or_default());
//! }
//! # Ok(()) }
//! ```
//!
//! [`Case`]: leian_ingest::Case

pub mod case_index;
pub mod error;
pub mod schema;
pub mod search;
pub mod snippet;
pub mod tokenizer;

pub use case_index::{
    current_generation, generation_name, generation_number, list_generations, read_generation_meta,
    set_current_generation, CaseIndex, CaseWriter, GenerationMeta, FORMAT_VERSION, MAX_SOURCES,
};
pub use error::{IndexError, Result};
pub use search::{
    Coverage, CoverageMeasure, FactFields, FieldBoosts, Filters, Hit, Idf, QueryTf, SearchOptions,
    SearchRequest,
};
pub use snippet::escape_html;
pub use tokenizer::{legal_terms_from_charges, legal_terms_from_statutes, LegalTokenizer};
