//! CAIL2019-SCM: for each triplet, is B or C more similar to A?

use crate::error::{HarnessError, Result};
use leian_engine::{Engine, Fusion, LegalRanker, LoadOptions, Query, Ranking, SearchMode};
use leian_index::{CaseIndex, Filters, SearchRequest};
use leian_ingest::{CaseId, Format, ScmTriplet};
use std::path::Path;

/// The case ids of a triplet's texts (as `leian ingest --format scm` stores them).
pub fn triplet_ids(t: &ScmTriplet) -> [CaseId; 3] {
    ["A", "B", "C"].map(|p| CaseId::new(format!("scm:{}:{p}", t.id)))
}

/// The SCM cases an index holds; an error when a triplet's text is missing.
pub fn collection(index: &CaseIndex, triplets: &[ScmTriplet]) -> Result<Vec<CaseId>> {
    let ids: Vec<CaseId> = index
        .all_ids()?
        .into_iter()
        .filter(|id| id.as_str().starts_with("scm:"))
        .collect();
    let have: std::collections::HashSet<&CaseId> = ids.iter().collect();
    if let Some(t) = triplets
        .iter()
        .find(|t| triplet_ids(t).iter().any(|id| !have.contains(id)))
    {
        return Err(HarnessError::MissingData(format!(
            "triplet {} is not in the index: ingest the triplets with --format scm first",
            t.id
        )));
    }
    Ok(ids)
}

/// Loads the triplets' texts (`--format scm`) into `engine` unless every one is there,
/// with vectors when the engine has a model (kept, so their embeddings are computed once);
/// then the SCM cases it holds.
pub fn ensure_indexed(
    engine: &Engine,
    path: &Path,
    triplets: &[ScmTriplet],
) -> Result<Vec<CaseId>> {
    let missing = triplets.iter().any(|t| {
        triplet_ids(t).iter().any(|id| {
            let absent = engine.get(id).map(|c| c.is_none()).unwrap_or(true);
            absent || (engine.has_dense() && !engine.has_vectors(id))
        })
    });
    if missing {
        engine.load(
            &[path.to_path_buf()],
            &LoadOptions {
                format: Format::Scm,
                ..LoadOptions::default()
            },
            &mut (),
        )?;
    }
    Ok(engine
        .all_ids()?
        .into_iter()
        .filter(|id| id.as_str().starts_with("scm:"))
        .collect())
}

/// `leian eval scm`: the engine's accuracy on the triplets, one JSON line per setting —
/// `Some((mode, fusion))` with the template's ranking, or (`None`) every setting of the
/// sweep with the fusion ranking — each saying what ran.
pub fn eval_scm(
    engine: &Engine,
    index_dir: &Path,
    triplets: &[ScmTriplet],
    scm_ids: &[CaseId],
    template: &Query,
    setting: Option<(SearchMode, Fusion)>,
    legal: Option<&LegalRanker>,
) -> Result<Vec<serde_json::Value>> {
    let texts: Vec<&str> = triplets.iter().map(|t| t.a.as_str()).collect();
    let vectors = match setting {
        Some((SearchMode::Bm25, _)) => vec![None; triplets.len()],
        _ => crate::runs::cached_query_vectors(engine, index_dir, &texts)?,
    };
    let (settings, ranking) = match setting {
        Some(s) => (vec![s], template.ranking),
        None => (
            crate::runs::sweep_settings(engine.has_dense()),
            Ranking::Fusion,
        ),
    };
    let mut lines = Vec::new();
    for (mode, fusion) in settings {
        let template = Query {
            mode,
            fusion,
            ranking,
            ..template.clone()
        };
        let accuracy = engine_accuracy(engine, triplets, scm_ids, &template, legal, &vectors)?;
        lines.push(serde_json::json!({
            "accuracy": accuracy,
            "triplets": triplets.len(),
            "mode": engine.ran_with_text(&template).mode.as_str(),
            "fusion": fusion,
            "ranker": legal.map(|r| r.model.source.clone()),
            "chunk_score": legal.map(|r| r.options.chunk_score),
        }));
    }
    Ok(lines)
}

/// Whether B ranks above C in `ranked` (A itself left out); ties and absent ones go to
/// B (the labels are balanced, 151 B / 149 C on dev).
pub fn picks_b(ranked: &[CaseId], b: &CaseId, c: &CaseId) -> bool {
    let pos = |id: &CaseId| ranked.iter().position(|r| r == id).unwrap_or(usize::MAX);
    pos(c) >= pos(b)
}

/// For each triplet, whether BM25 (the index's query plan, A as the query, the whole
/// SCM collection ranked) picks the labelled answer.
pub fn bm25_correct(
    index: &CaseIndex,
    triplets: &[ScmTriplet],
    collection: &[CaseId],
) -> Result<Vec<bool>> {
    let mut out = Vec::with_capacity(triplets.len());
    for t in triplets {
        let [a, b, c] = triplet_ids(t);
        let hits = index.search(&SearchRequest {
            text: t.a.clone(),
            filters: Filters {
                ids: Some(collection.to_vec()),
                ..Filters::default()
            },
            top_k: collection.len(),
            offset: 0,
            snippets: false,
        })?;
        let ranked: Vec<CaseId> = hits
            .into_iter()
            .map(|h| h.id)
            .filter(|id| id != &a)
            .collect();
        let choice = if picks_b(&ranked, &b, &c) { "B" } else { "C" };
        out.push(choice == t.answer);
    }
    Ok(out)
}

/// Accuracy of an engine ranking on the triplets: A as the query text (with `vectors[i]`
/// as its embedding), the whole SCM collection `scm_ids` ranked by `template`'s mode,
/// fusion and ranking — or re-ranked by `legal` when given — and B or C chosen by
/// [`picks_b`]. The whole collection, not just {B, C}: fusion needs full lists (with two
/// candidates RRF ties whenever the lists disagree, and min-max makes every score 0 or 1).
pub fn engine_accuracy(
    engine: &leian_engine::Engine,
    triplets: &[ScmTriplet],
    scm_ids: &[CaseId],
    template: &leian_engine::Query,
    legal: Option<&leian_engine::LegalRanker>,
    vectors: &[Option<Vec<f32>>],
) -> Result<f64> {
    let mut choices = Vec::with_capacity(triplets.len());
    let mut answers = Vec::with_capacity(triplets.len());
    for (t, qvec) in triplets.iter().zip(vectors) {
        let [a, b, c] = triplet_ids(t);
        let query = leian_engine::Query {
            filters: Filters {
                ids: Some(scm_ids.to_vec()),
                ..Filters::default()
            },
            snippets: false,
            depth: scm_ids.len(),
            top_k: scm_ids.len(),
            text: t.a.clone(),
            ..template.clone()
        };
        let ranked: Vec<CaseId> = match legal {
            Some(r) => r
                .rank(engine, &query, &Default::default(), qvec.as_deref())?
                .hits
                .into_iter()
                .map(|h| h.id)
                .filter(|id| id != &a)
                .collect(),
            None => engine
                .rank_with_vector(&query, qvec.as_deref())?
                .into_iter()
                .map(|(id, _, _)| id)
                .filter(|id| id != &a)
                .collect(),
        };
        choices.push(if picks_b(&ranked, &b, &c) { "B" } else { "C" });
        answers.push(t.answer.as_str());
    }
    Ok(leian_eval::accuracy(&choices, &answers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_and_absent_cases_go_to_b() {
        let (b, c) = (CaseId::new("scm:1:B"), CaseId::new("scm:1:C"));
        assert!(picks_b(&[b.clone(), c.clone()], &b, &c));
        assert!(!picks_b(&[c.clone(), b.clone()], &b, &c));
        assert!(picks_b(&[], &b, &c), "neither ranked: B");
        assert!(
            !picks_b(std::slice::from_ref(&c), &b, &c),
            "only C ranked: C"
        );
    }
}
