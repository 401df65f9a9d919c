//! The search side: a query in, ranked cases out. It owns what a judge or a program asks
//! ([`Query`], with the engine's [`Filters`]), the one decision of what runs for it
//! ([`Engine::ran`]), the BM25 and dense lists and their fusion ([`fusion`]), the legal
//! re-ranking ([`legal`]), the relevance floor ([`FloorRule`]) and what each hit says of
//! itself ([`RankedCase`], [`Explain`]).
//!
//! It reads one generation snapshot per search and never writes, locks or switches a
//! generation (that is the maintenance side's).

mod floor;
pub mod fusion;
pub mod legal;
mod query;
mod render;
mod run;

pub use floor::FloorRule;
pub use fusion::{fuse, FusedHit, Fusion, ListPosition};
pub use legal::{ChunkScore, LegalHit, LegalOptions, LegalQuery, LegalRanker, LegalRanking};
pub use query::{ranked_text, Filters, Query, Ranking, SearchMode, MAX_RANKED_CHARS};
pub use render::{hits_json, hits_text};
pub use run::{Explain, LegalExplain, ListedCase, Ran, RankedCase};
