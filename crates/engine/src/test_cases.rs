//! Helpers of the engine's unit tests: fictional cases and the ids a search answers.

use crate::{Engine, EngineOptions, Query};
use leian_ingest::{Case, CaseId};

/// A fictional case with these facts (as its full text and its facts section).
pub(crate) fn case(id: &str, facts: &str) -> Case {
    let mut c = Case::new(CaseId::new(id));
    c.full_text = facts.to_string();
    c.sections.facts = facts.to_string();
    c
}

/// The ids of the top 10 hits for `text`, best first.
pub(crate) fn ids(engine: &Engine, text: &str) -> Vec<String> {
    engine
        .search(&Query::new(text, 10))
        .expect("search")
        .into_iter()
        .map(|h| h.id.to_string())
        .collect()
}

/// A BM25-only engine on `dir` holding `cases`, committed.
pub(crate) fn engine_with(dir: &std::path::Path, cases: Vec<Case>) -> Engine {
    let engine = Engine::open(&EngineOptions {
        index_dir: dir.to_path_buf(),
        ..EngineOptions::default()
    })
    .expect("engine");
    let mut w = engine.writer().expect("writer");
    for c in cases {
        w.upsert(c).expect("upsert");
    }
    w.commit(&mut |_, _| {}).expect("commit");
    engine
}
