//! leian-consistency owns the consistency check (裁判偏离预警): given a draft (facts,
//! charges, statutes cited, proposed sentence), it finds the similar decided cases, sums
//! up how they were sentenced ([`Distribution`]), places the proposed term in that
//! distribution and grades the departure ([`WarningRule`] → [`WarningLevel`] with reasons
//! in words). It also lists guiding cases on point (and whether the draft cites them), the
//! statutes the similar cases cite and the draft does not, and the sentencing
//! circumstances (量刑情节) of the draft and of every similar case.
//!
//! It also holds the proposal against the statutory penalty range (法定刑, [`statutory`]):
//! the bands of the article defining each charge, parsed from the statute text in the
//! index, compared kind of penalty first, then term.
//!
//! The statistics ([`stats`]) and the rule ([`rule`]) are pure functions on numbers, so
//! the evaluation (`leian eval consistency`) measures exactly what the check does. The
//! search itself is [`leian_engine::Engine`]'s. This crate knows nothing of HTTP or the
//! command line.

mod check;
mod draft;
mod error;
pub mod rule;
pub mod stats;
pub mod statutory;
mod text;

pub use check::{
    case_circumstances, charge_key, check, similar_decided, statutory_range, CheckOptions,
    CircumstanceTag, ConsistencyReport, GuidingOnPoint, LikeCases, SimilarDecided,
    SimilarDecidedCases, StatuteUse, MAX_FACTS_CHARS, MAX_TOP_K,
};
pub use draft::{cited_guiding_numbers, Draft};
pub use error::{ConsistencyError, Result};
pub use rule::{assess, Assessment, WarningLevel, WarningRule};
pub use stats::{
    percentile_of, quantile, similarity_weights, weighted_median, Distribution, Outcome,
};
