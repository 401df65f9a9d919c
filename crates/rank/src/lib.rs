//! leian-rank owns legal-element-aware ranking, independent of any index:
//! - [`charges`]: charge names resolved to their 刑法 article, chapter and section;
//! - [`elements`]: the legal elements of a case or query (charges, statutes,
//!   circumstances, amounts and quantities, harm), extracted by rules;
//! - [`features`]: the features of a (query, candidate) pair, each in [0, 1];
//! - [`infer`]: charge prediction from a query's nearest neighbours;
//! - [`model`]: the linear ranker (hand-set presets and learned weights files);
//! - [`train`]: coordinate ascent on NDCG and k-fold cross-validation by query.
//!
//! The engine computes text scores and fetches cases; this crate turns them into one
//! score with an explanation. It knows nothing of tantivy, vectors or HTTP.

pub mod charges;
pub mod elements;
mod error;
pub mod features;
pub mod infer;
pub mod model;
pub mod train;

pub use charges::{resolve_charge, resolve_charges, ChargeArticle};
pub use elements::{Harm, LegalElements, Quantities};
pub use error::{RankError, Result};
pub use features::{features, Features, TextScores, FEATURE_NAMES, NUM_FEATURES};
pub use infer::{infer_charges, InferredCharge};
pub use model::{Contribution, LinearRanker};
pub use train::{cross_validate, train, TrainOptions, TrainQuery};
