//! LeCaRD runs of leian's rankings, as `leian eval lecard` and `leian train-ranker` make
//! them: the engine query of each labelled query under a protocol, fusion and legal
//! rankings, query embeddings cached beside the index, the metrics line of a legal run,
//! and the ranker's training data.

use crate::lecard::{corpus_ids, pool_of, raw_id, LecardQuery};
use crate::{HarnessError, Result};
use leian_embed::EmbeddingCache;
use leian_engine::{
    Engine, Filters, Fusion, LegalQuery, LegalRanker, LegalRanking, Query, SearchMode,
};
use leian_eval::{evaluate, Protocol, Qrels, Run};
use leian_ingest::CaseId;
use leian_rank::train::{order, TrainQuery};
use std::collections::HashMap;
use std::path::Path;

/// Query embeddings, cached beside the index (`<index>/query-cache`) so that repeated
/// evaluations embed each query once; `None`s without a model.
pub fn cached_query_vectors(
    engine: &Engine,
    index_dir: &Path,
    texts: &[&str],
) -> Result<Vec<Option<Vec<f32>>>> {
    let Some(model_id) = engine.model_id() else {
        return Ok(vec![None; texts.len()]);
    };
    let mut cache = EmbeddingCache::open(&index_dir.join("query-cache"), &model_id)?;
    let mut out = Vec::with_capacity(texts.len());
    for t in texts {
        let key = format!("query: {t}");
        if let Some(v) = cache.get(&key) {
            out.push(Some(v.to_vec()));
            continue;
        }
        let v = engine.query_vector(&Query {
            mode: SearchMode::Hybrid,
            ..Query::new(*t, 1)
        })?;
        if let Some(v) = &v {
            cache.put(&key, v.clone())?;
            cache.flush()?;
        }
        out.push(v);
    }
    Ok(out)
}

/// The engine query for one LeCaRD query under a protocol.
pub fn lecard_query(
    engine_ids: &[CaseId],
    template: &Query,
    fact: &str,
    labels: &HashMap<String, u8>,
    protocol: Protocol,
) -> Query {
    let (ids, top_k) = pool_of(labels, engine_ids, protocol);
    Query {
        text: fact.to_string(),
        top_k,
        filters: Filters {
            ids: Some(ids),
            ..Filters::default()
        },
        snippets: false,
        depth: top_k,
        ..template.clone()
    }
}

/// Legal rankings of every labelled query (charges given unless `no_charges`).
#[allow(clippy::too_many_arguments)]
pub fn legal_rankings(
    engine: &Engine,
    ranker: &LegalRanker,
    template: &Query,
    queries: &[LecardQuery],
    vectors: &[Option<Vec<f32>>],
    qrels: &Qrels,
    protocol: Protocol,
    no_charges: bool,
) -> Result<Vec<(String, LegalRanking)>> {
    let ids = corpus_ids(&engine.index())?;
    let mut out = Vec::new();
    for (q, v) in queries.iter().zip(vectors) {
        let Some(labels) = qrels.by_query.get(&q.id) else {
            continue;
        };
        let query = lecard_query(&ids, template, &q.fact, labels, protocol);
        let legal = LegalQuery {
            charges: (!no_charges).then(|| q.charges.clone()),
            statutes: Vec::new(),
        };
        out.push((
            q.id.clone(),
            ranker.rank(engine, &query, &legal, v.as_deref())?,
        ));
    }
    Ok(out)
}

/// The TREC-style run of legal rankings, each cut to `depth`.
pub fn to_run(rankings: &[(String, LegalRanking)], depth: usize) -> Run {
    rankings
        .iter()
        .map(|(qid, r)| {
            (
                qid.clone(),
                r.hits.iter().take(depth).map(|h| raw_id(&h.id)).collect(),
            )
        })
        .collect()
}

/// The protocol's name in reports.
/// The settings an evaluation `--sweep` tries: each mode, then RRF and weighted fusion
/// grids (the dense ones only with a model).
pub fn sweep_settings(has_dense: bool) -> Vec<(SearchMode, Fusion)> {
    let mut out = vec![(SearchMode::Bm25, Query::DEFAULT_FUSION)];
    if has_dense {
        out.push((SearchMode::Dense, Query::DEFAULT_FUSION));
        for k in [5.0, 20.0, 60.0, 100.0] {
            out.push((SearchMode::Hybrid, Fusion::Rrf { k }));
        }
        for alpha in [0.1, 0.2, 0.3, 0.5, 0.7] {
            out.push((SearchMode::Hybrid, Fusion::Weighted { alpha }));
        }
    }
    out
}

pub fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Paper => "paper",
        Protocol::Corpus => "corpus",
    }
}

/// How deep a run is scored under a protocol: every labelled candidate, or the top 100.
pub fn run_depth(p: Protocol) -> usize {
    match p {
        Protocol::Paper => usize::MAX,
        Protocol::Corpus => 100,
    }
}

/// Share of queries whose inferred charges include a 刑法 article of the given ones.
pub fn inference_accuracy(queries: &[LecardQuery], rankings: &[(String, LegalRanking)]) -> f64 {
    let by_id: HashMap<&str, &LecardQuery> = queries.iter().map(|q| (q.id.as_str(), q)).collect();
    let mut hit = 0usize;
    let mut n = 0usize;
    for (qid, r) in rankings {
        let Some(q) = by_id.get(qid.as_str()) else {
            continue;
        };
        let gold: Vec<u16> = leian_rank::resolve_charges(&q.charges)
            .iter()
            .map(|a| a.article)
            .collect();
        if gold.is_empty() {
            continue;
        }
        n += 1;
        if r.query.inferred.iter().any(|c| gold.contains(&c.article)) {
            hit += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        hit as f64 / n as f64
    }
}

/// `leian eval lecard --legal …`: one JSON line of metrics.
#[allow(clippy::too_many_arguments)]
pub fn eval_lecard(
    engine: &Engine,
    index_dir: &Path,
    ranker: &LegalRanker,
    template: &Query,
    queries_path: &Path,
    qrels: &Qrels,
    protocol: Protocol,
    no_charges: bool,
) -> Result<serde_json::Value> {
    let queries = crate::lecard::read_queries(queries_path)?;
    let texts: Vec<&str> = queries.iter().map(|q| q.fact.as_str()).collect();
    let vectors = if template.mode == SearchMode::Bm25 {
        vec![None; texts.len()]
    } else {
        cached_query_vectors(engine, index_dir, &texts)?
    };
    let rankings = legal_rankings(
        engine, ranker, template, &queries, &vectors, qrels, protocol, no_charges,
    )?;
    let depth = run_depth(protocol);
    let mut out = serde_json::to_value(evaluate(qrels, &to_run(&rankings, depth), protocol))?;
    out["protocol"] = serde_json::json!(protocol_name(protocol));
    out["ranker"] = serde_json::json!(ranker.model.source);
    out["charges"] = serde_json::json!(if no_charges { "inferred" } else { "given" });
    out["chunk_score"] = serde_json::to_value(ranker.options.chunk_score)?;
    if no_charges {
        out["charge_inference_accuracy"] =
            serde_json::json!(inference_accuracy(&queries, &rankings));
    }
    Ok(out)
}

/// What `leian eval lecard` runs without `--legal`: the engine's ranking of every query.
#[derive(Debug, Clone)]
pub struct LecardEval<'a> {
    /// The index dir (its query-vector cache is used with a model).
    pub index_dir: &'a Path,
    pub queries: &'a Path,
    pub qrels: &'a Qrels,
    /// Mode, fusion and ranking of every query (its text and charges come from the file).
    pub template: &'a Query,
    pub protocol: Protocol,
    /// Charges inferred from the facts instead of the queries' own.
    pub no_charges: bool,
    /// Every mode and a fusion grid under both protocols instead (fusion ranking).
    pub sweep: bool,
    /// Also write the run (not under `sweep`) as a TREC run file.
    pub run_out: Option<&'a Path>,
}

/// The metrics of an [`LecardEval`], a JSON line each (one, or one per sweep setting and
/// protocol), saying what ran.
pub fn eval_lecard_fusion(engine: &Engine, e: &LecardEval<'_>) -> Result<Vec<serde_json::Value>> {
    let queries = crate::lecard::read_queries(e.queries)?;
    let texts: Vec<&str> = queries.iter().map(|q| q.fact.as_str()).collect();
    let vectors = if e.template.mode == SearchMode::Bm25 && !e.sweep {
        vec![None; queries.len()]
    } else {
        cached_query_vectors(engine, e.index_dir, &texts)?
    };
    let mut lines = Vec::new();
    if e.sweep {
        for protocol in [Protocol::Paper, Protocol::Corpus] {
            for (mode, fusion) in sweep_settings(engine.has_dense()) {
                let template = Query {
                    mode,
                    fusion,
                    ranking: leian_engine::Ranking::Fusion,
                    ..Query::new("", 1)
                };
                let run = rank_lecard(
                    engine, &template, &queries, &vectors, e.qrels, protocol, false,
                )?;
                let mut out = serde_json::to_value(evaluate(e.qrels, &run, protocol))?;
                out["protocol"] = serde_json::json!(protocol_name(protocol));
                out["mode"] = serde_json::json!(mode.as_str());
                out["fusion"] = serde_json::to_value(fusion)?;
                lines.push(out);
            }
        }
        return Ok(lines);
    }
    let run = rank_lecard(
        engine,
        e.template,
        &queries,
        &vectors,
        e.qrels,
        e.protocol,
        e.no_charges,
    )?;
    if let Some(path) = e.run_out {
        write_trec_run(path, &run)?;
    }
    let mut out = serde_json::to_value(evaluate(e.qrels, &run, e.protocol))?;
    out["protocol"] = serde_json::json!(protocol_name(e.protocol));
    let ran = engine.ran_with_text(e.template);
    out["mode"] = serde_json::json!(ran.mode.as_str());
    out["ranking"] = serde_json::json!(ran.ranking.as_str());
    out["ranker"] = serde_json::json!(ran.ranker);
    out["charges"] = serde_json::json!(if e.no_charges { "inferred" } else { "given" });
    out["fusion"] = serde_json::to_value(e.template.fusion)?;
    lines.push(out);
    Ok(lines)
}

pub fn train_queries(rankings: &[(String, LegalRanking)], qrels: &Qrels) -> Vec<TrainQuery> {
    rankings
        .iter()
        .map(|(qid, r)| {
            let labels = qrels.by_query.get(qid);
            let grade = |id: &CaseId| {
                labels
                    .and_then(|l| l.get(&raw_id(id)).copied())
                    .unwrap_or(0)
            };
            TrainQuery {
                id: qid.clone(),
                candidates: r.hits.iter().map(|h| (h.features, grade(&h.id))).collect(),
                labels: labels
                    .map(|l| l.values().copied().collect())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// The run given by per-query weights over the rankings' candidate pools.
pub fn run_with(
    rankings: &[(String, LegalRanking)],
    tq: &[TrainQuery],
    weights: &HashMap<String, [f32; leian_rank::NUM_FEATURES]>,
    depth: usize,
) -> Run {
    rankings
        .iter()
        .zip(tq)
        .filter_map(|((qid, r), q)| {
            let w = weights.get(qid)?;
            Some((
                qid.clone(),
                order(w, q)
                    .into_iter()
                    .take(depth)
                    .map(|i| raw_id(&r.hits[i].id))
                    .collect(),
            ))
        })
        .collect()
}

/// `template` gives mode and fusion; `vectors[i]` is query i's embedding.
pub fn rank_lecard(
    engine: &Engine,
    template: &Query,
    queries: &[LecardQuery],
    vectors: &[Option<Vec<f32>>],
    qrels: &Qrels,
    protocol: Protocol,
    no_charges: bool,
) -> Result<Run> {
    let corpus_ids = crate::lecard::corpus_ids(&engine.index())?;
    let mut run: Run = HashMap::new();
    for (
        LecardQuery {
            id: qid,
            fact,
            charges,
        },
        qvec,
    ) in queries.iter().zip(vectors)
    {
        let Some(labels) = qrels.by_query.get(qid) else {
            continue;
        };
        let query = Query {
            legal: leian_engine::LegalQuery {
                charges: (!no_charges && !charges.is_empty()).then(|| charges.clone()),
                statutes: Vec::new(),
            },
            ..lecard_query(&corpus_ids, template, fact, labels, protocol)
        };
        let ranked = engine.rank_with_vector(&query, qvec.as_deref())?;
        run.insert(
            qid.clone(),
            ranked
                .iter()
                .take(query.top_k)
                .map(|(id, _, _)| crate::lecard::raw_id(id))
                .collect(),
        );
    }
    Ok(run)
}

/// Writes `run` as a TREC run file (`qid Q0 doc rank score leian`).
pub fn write_trec_run(path: &Path, run: &Run) -> Result<()> {
    let mut qids: Vec<&String> = run.keys().collect();
    qids.sort();
    let mut out = String::new();
    for q in qids {
        let n = run[q].len();
        for (i, d) in run[q].iter().enumerate() {
            out.push_str(&format!("{q} Q0 {d} {} {} leian\n", i + 1, n - i));
        }
    }
    std::fs::write(path, out).map_err(|source| HarnessError::Io {
        path: path.to_path_buf(),
        source,
    })
}
