//! leian-harness owns the evaluation harness: it runs leian's rankings on the shared
//! evaluation data (LeCaRD under both protocols, CAIL2019-SCM triplets) and chooses every
//! tuned value by k-fold cross-validation by query, reporting only out-of-fold figures.
//!
//! It reads data files and calls the engine crates' public APIs; it changes no index but
//! the evaluation index it is given (loading the evaluation data into it), and the command
//! line only parses arguments, calls it and prints. It also holds `leian bench`'s
//! measurements (`bench`), the ranker's training (`train`) and the synthetic corpus.

pub mod bench;
pub mod bm25_cv;
pub mod consistency;
mod error;
pub mod floor;
pub mod lecard;
pub mod peers;
pub mod push_eval;
pub mod runs;
pub mod scm;
pub mod statutory;
pub mod synthetic;
pub mod timing;
pub mod train;

pub use error::{HarnessError, Result};
