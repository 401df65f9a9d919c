//! `leian train-ranker`: the legal ranker's weights learned by coordinate ascent on the
//! LeCaRD dev labels, k-fold cross-validated by query; the report gives each fold, the
//! out-of-fold figures under both protocols and the ceiling of the candidate pools, and the
//! weights learned on every query when asked.

use crate::error::Result;
use crate::lecard::read_queries;
use crate::runs::{
    cached_query_vectors, legal_rankings, protocol_name, run_depth, run_with, train_queries,
};
use leian_engine::{Engine, LegalOptions, LegalRanker, Query};
use leian_eval::{evaluate, Metrics, Protocol, Qrels};
use leian_rank::train::{cross_validate, mean_sd, TrainOptions, TrainQuery};
use leian_rank::{LinearRanker, FEATURE_NAMES, NUM_FEATURES};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;

/// What to train on.
#[derive(Debug, Clone)]
pub struct TrainSetup<'a> {
    /// The index dir (its query-vector cache is used when the engine has a model).
    pub index_dir: &'a Path,
    /// LeCaRD queries JSONL (dev only) and their labels.
    pub queries: &'a Path,
    pub qrels: &'a Qrels,
    /// The protocol whose candidate pools the weights are trained on (both are reported).
    pub protocol: Protocol,
    pub folds: usize,
    /// NDCG cut-off optimised.
    pub k: usize,
    /// Charges inferred from the facts instead of the queries' own.
    pub no_charges: bool,
    pub legal: LegalOptions,
    /// Also learn the weights on every query (to ship).
    pub learn_all: bool,
}

/// What training found.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// One JSON object per fold: its test queries, NDCG and weights.
    pub folds: Vec<Value>,
    /// Fold mean and SD, the pools' ceiling and size, the out-of-fold metrics per protocol.
    pub summary: Value,
    /// The weights learned on every query, with the note that says how (when asked).
    pub learned: Option<(LinearRanker, String)>,
}

impl TrainReport {
    /// The weights file `leian train-ranker --out` writes.
    pub fn weights_json(&self) -> Option<String> {
        self.learned.as_ref().map(|(m, note)| m.to_json(note))
    }
}

/// Trains and cross-validates the legal ranker on `setup`.
pub fn train_ranker(engine: &Engine, setup: &TrainSetup<'_>) -> Result<TrainReport> {
    let qrels = setup.qrels;
    let queries = read_queries(setup.queries)?;
    let texts: Vec<&str> = queries.iter().map(|q| q.fact.as_str()).collect();
    let vectors = cached_query_vectors(engine, setup.index_dir, &texts)?;
    let ranker = LegalRanker::new(LinearRanker::hand_all(), setup.legal);
    let template = Query::new("", 1);
    let mut by_protocol = Vec::new();
    for protocol in [Protocol::Corpus, Protocol::Paper] {
        let r = legal_rankings(
            engine,
            &ranker,
            &template,
            &queries,
            &vectors,
            qrels,
            protocol,
            setup.no_charges,
        )?;
        let tq = train_queries(&r, qrels);
        by_protocol.push((protocol, r, tq));
    }
    let train_on = by_protocol
        .iter()
        .find(|(p, _, _)| *p == setup.protocol)
        .map(|(_, _, tq)| tq.clone())
        .unwrap_or_default();
    let options = TrainOptions {
        k: setup.k,
        ..TrainOptions::default()
    };
    let (per_query, folds) = cross_validate(&train_on, setup.folds, &options)?;
    let oof: HashMap<String, [f32; NUM_FEATURES]> = train_on
        .iter()
        .zip(per_query)
        .map(|(q, w)| (q.id.clone(), w))
        .collect();
    let fold_ndcg: Vec<f64> = folds.iter().map(|f| f.ndcg).collect();
    let (mean, sd) = mean_sd(&fold_ndcg);
    let k = setup.k;
    let fold_lines = folds
        .iter()
        .map(|f| {
            json!({"fold": f.fold, "test_queries": f.test_queries,
                format!("ndcg@{k}"): f.ndcg,
                "weights": FEATURE_NAMES.iter().zip(f.weights).map(|(n, w)| (n.to_string(), w)).collect::<HashMap<_, _>>()})
        })
        .collect();
    let charges = if setup.no_charges {
        "inferred"
    } else {
        "given"
    };
    let mut summary = json!({
        "trained_on": protocol_name(setup.protocol),
        "folds": setup.folds,
        format!("fold_ndcg@{k}_mean"): mean,
        format!("fold_ndcg@{k}_sd"): sd,
        "charges": charges,
    });
    // the ceiling of the candidate pools: every labelled case they hold in grade order
    for (protocol, _, tq) in &by_protocol {
        let (ceiling, _) = mean_sd(&pool_ceilings(tq, k));
        let pool: Vec<f64> = tq.iter().map(|q| q.candidates.len() as f64).collect();
        summary[format!("pool_oracle_{}_ndcg@{k}", protocol_name(*protocol))] = json!(ceiling);
        summary[format!("pool_size_{}_mean", protocol_name(*protocol))] = json!(mean_sd(&pool).0);
    }
    for (protocol, r, tq) in &by_protocol {
        let m: Metrics = evaluate(
            qrels,
            &run_with(r, tq, &oof, run_depth(*protocol)),
            *protocol,
        );
        summary[format!("cv_{}", protocol_name(*protocol))] = serde_json::to_value(m)?;
    }
    let learned = if setup.learn_all {
        let refs: Vec<&TrainQuery> = train_on.iter().collect();
        let model = leian_rank::train(&refs, &options)?;
        let note = format!(
            "leian train-ranker on {} ({} queries, {} protocol pools, NDCG@{k}, charges {charges}); \
             {}-fold CV NDCG@{k} {mean:.3} ± {sd:.3}",
            setup
                .queries
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default(),
            train_on.len(),
            protocol_name(setup.protocol),
            setup.folds,
        );
        Some((model, note))
    } else {
        None
    };
    Ok(TrainReport {
        folds: fold_lines,
        summary,
        learned,
    })
}

/// Per query, the NDCG@k of its candidate pool in grade order: the best any weights can do.
fn pool_ceilings(queries: &[TrainQuery], k: usize) -> Vec<f64> {
    queries
        .iter()
        .map(|q| {
            let mut g: Vec<u8> = q.candidates.iter().map(|c| c.1).collect();
            g.sort_unstable_by(|a, b| b.cmp(a));
            leian_eval::ndcg(&g, &q.labels, k)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_holding_every_labelled_case_has_a_ceiling_of_one_and_a_poor_pool_less() {
        let labels: HashMap<String, u8> = [("a".to_string(), 3u8), ("b".to_string(), 1)]
            .into_iter()
            .collect();
        let q = |grades: &[u8]| TrainQuery {
            id: "q".into(),
            candidates: grades
                .iter()
                .map(|g| (leian_rank::Features::default(), *g))
                .collect(),
            labels: labels.values().copied().collect(),
        };
        let full = pool_ceilings(&[q(&[1, 0, 3])], 30);
        assert!((full[0] - 1.0).abs() < 1e-9, "{full:?}");
        let poor = pool_ceilings(&[q(&[1, 0])], 30);
        assert!(poor[0] < 0.5, "{poor:?}");
    }
}
