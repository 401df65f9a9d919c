//! Legal-element-aware ranking on the command line: the `--legal` options shared by
//! `search` and `eval`, LeCaRD evaluation with given or inferred charges, and
//! `leian train-ranker` (coordinate ascent on the dev labels, k-fold cross-validated).

use crate::eval::{read_queries, LecardQuery};
use anyhow::{Context, Result};
use clap::Args;
use leian_embed::EmbeddingCache;
use leian_engine::{
    ChunkScore, Engine, LegalOptions, LegalQuery, LegalRanker, LegalRanking, Query, SearchMode,
};
use leian_eval::{evaluate, Metrics, Protocol, Qrels, Run};
use leian_harness::lecard::{corpus_ids, pool_of, raw_id};
use leian_index::Filters;
use leian_ingest::CaseId;
use leian_rank::train::{cross_validate, mean_sd, order, TrainOptions, TrainQuery};
use leian_rank::{LinearRanker, FEATURE_NAMES};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Options of the legal ranking.
#[derive(Args, Clone, Default)]
pub(crate) struct LegalArgs {
    /// Re-rank by legal elements with this ranker: `text` (BM25 + dense only), `charges`
    /// (hand-set, + charge agreement), `all` (hand-set, every element), `learned` (the
    /// shipped learned weights), or a weights file written by `leian train-ranker`.
    #[arg(long)]
    pub(crate) legal: Option<String>,
    /// How a case's chunk similarities make its dense score: max, first, or topK (mean
    /// of the best K).
    #[arg(long, default_value = "max")]
    pub(crate) chunk_score: ChunkScore,
    /// Candidates taken from the hybrid ranking before re-ranking.
    #[arg(long, default_value_t = LegalOptions::default().pool)]
    pub(crate) pool: usize,
    /// Candidates added from the cases sharing the query's charges.
    #[arg(long, default_value_t = LegalOptions::default().charge_pool)]
    pub(crate) charge_pool: usize,
    /// Top cases whose facts make the pseudo-relevance-feedback query (0: off).
    #[arg(long, default_value_t = LegalOptions::default().prf_docs)]
    pub(crate) prf_docs: usize,
    /// Nearest cases voting when charges are inferred.
    #[arg(long, default_value_t = LegalOptions::default().neighbours)]
    pub(crate) infer_neighbours: usize,
    /// Share of the vote an inferred charge needs.
    #[arg(long, default_value_t = LegalOptions::default().min_share)]
    pub(crate) infer_min_share: f32,
}

impl LegalArgs {
    pub(crate) fn options(&self) -> LegalOptions {
        LegalOptions {
            pool: self.pool,
            charge_pool: self.charge_pool,
            prf_docs: self.prf_docs,
            neighbours: self.infer_neighbours,
            min_share: self.infer_min_share,
            chunk_score: self.chunk_score,
        }
    }

    /// The ranker, when `--legal` is given.
    pub(crate) fn ranker(&self) -> Result<Option<LegalRanker>> {
        let Some(name) = &self.legal else {
            return Ok(None);
        };
        let model = LinearRanker::by_name(name)?;
        Ok(Some(LegalRanker::new(model, self.options())))
    }
}

/// Query embeddings, cached beside the index (`<index>/query-cache`) so that repeated
/// evaluations embed each query once; `None`s without a model.
pub(crate) fn cached_query_vectors(
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
pub(crate) fn lecard_query(
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
fn legal_rankings(
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

fn to_run(rankings: &[(String, LegalRanking)], depth: usize) -> Run {
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

fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Paper => "paper",
        Protocol::Corpus => "corpus",
    }
}

/// Share of queries whose inferred charges include a 刑法 article of the given ones.
fn inference_accuracy(queries: &[LecardQuery], rankings: &[(String, LegalRanking)]) -> f64 {
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
pub(crate) fn eval_lecard(
    engine: &Engine,
    index_dir: &Path,
    ranker: &LegalRanker,
    template: &Query,
    queries_path: &Path,
    qrels: &Qrels,
    protocol: Protocol,
    no_charges: bool,
) -> Result<serde_json::Value> {
    let queries = read_queries(queries_path)?;
    let texts: Vec<&str> = queries.iter().map(|q| q.fact.as_str()).collect();
    let vectors = if template.mode == SearchMode::Bm25 {
        vec![None; texts.len()]
    } else {
        cached_query_vectors(engine, index_dir, &texts)?
    };
    let rankings = legal_rankings(
        engine, ranker, template, &queries, &vectors, qrels, protocol, no_charges,
    )?;
    let depth = match protocol {
        Protocol::Paper => usize::MAX,
        Protocol::Corpus => 100,
    };
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

#[derive(Args)]
pub(crate) struct TrainRankerArgs {
    /// Index holding the LeCaRD candidates.
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// Queries JSONL `{id, fact, charges}` (dev only).
    #[arg(long)]
    queries: PathBuf,
    /// Qrels TSV of the same queries.
    #[arg(long)]
    qrels: PathBuf,
    /// Protocol whose pools the weights are trained on (both are reported).
    #[arg(long, default_value = "corpus")]
    protocol: Protocol,
    /// Folds of the cross-validation (by query).
    #[arg(long, default_value_t = 8)]
    folds: usize,
    /// NDCG cut-off optimised.
    #[arg(long, default_value_t = 30)]
    k: usize,
    /// Train and evaluate with charges inferred instead of given.
    #[arg(long)]
    no_charges: bool,
    /// Where to write the weights learned on all queries.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    legal: LegalArgs,
    #[command(flatten)]
    model: crate::model::ModelArgs,
}

fn train_queries(rankings: &[(String, LegalRanking)], qrels: &Qrels) -> Vec<TrainQuery> {
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
fn run_with(
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

pub(crate) fn run_train(args: TrainRankerArgs) -> Result<()> {
    let engine = crate::search::open_existing(&args.index, &args.model)?;
    let qrels = Qrels::read(&args.qrels)?;
    let queries = read_queries(&args.queries)?;
    let texts: Vec<&str> = queries.iter().map(|q| q.fact.as_str()).collect();
    let vectors = cached_query_vectors(&engine, &args.index, &texts)?;
    let ranker = LegalRanker::new(LinearRanker::hand_all(), args.legal.options());
    let template = Query::new("", 1);
    let mut by_protocol = Vec::new();
    for protocol in [Protocol::Corpus, Protocol::Paper] {
        let r = legal_rankings(
            &engine,
            &ranker,
            &template,
            &queries,
            &vectors,
            &qrels,
            protocol,
            args.no_charges,
        )?;
        let tq = train_queries(&r, &qrels);
        by_protocol.push((protocol, r, tq));
    }
    let train_on = by_protocol
        .iter()
        .find(|(p, _, _)| *p == args.protocol)
        .map(|(_, _, tq)| tq.clone())
        .unwrap_or_default();
    let options = TrainOptions {
        k: args.k,
        ..TrainOptions::default()
    };
    let (per_query, folds) = cross_validate(&train_on, args.folds, &options)?;
    let oof: HashMap<String, [f32; leian_rank::NUM_FEATURES]> = train_on
        .iter()
        .zip(per_query)
        .map(|(q, w)| (q.id.clone(), w))
        .collect();
    let fold_ndcg: Vec<f64> = folds.iter().map(|f| f.ndcg).collect();
    let (mean, sd) = mean_sd(&fold_ndcg);
    for f in &folds {
        println!(
            "{}",
            serde_json::json!({"fold": f.fold, "test_queries": f.test_queries,
                format!("ndcg@{}", args.k): f.ndcg,
                "weights": FEATURE_NAMES.iter().zip(f.weights).map(|(n, w)| (n.to_string(), w)).collect::<HashMap<_, _>>()})
        );
    }
    let mut summary = serde_json::json!({
        "trained_on": protocol_name(args.protocol),
        "folds": args.folds,
        format!("fold_ndcg@{}_mean", args.k): mean,
        format!("fold_ndcg@{}_sd", args.k): sd,
        "charges": if args.no_charges { "inferred" } else { "given" },
    });
    // the ceiling of the candidate pools: every labelled case they hold in grade order
    for (protocol, _, tq) in &by_protocol {
        let oracle: Vec<f64> = tq
            .iter()
            .map(|q| {
                let mut g: Vec<u8> = q.candidates.iter().map(|c| c.1).collect();
                g.sort_unstable_by(|a, b| b.cmp(a));
                leian_eval::ndcg(&g, &q.labels, args.k)
            })
            .collect();
        let (m, _) = mean_sd(&oracle);
        let pool: Vec<f64> = tq.iter().map(|q| q.candidates.len() as f64).collect();
        summary[format!("pool_oracle_{}_ndcg@{}", protocol_name(*protocol), args.k)] =
            serde_json::json!(m);
        summary[format!("pool_size_{}_mean", protocol_name(*protocol))] =
            serde_json::json!(mean_sd(&pool).0);
    }
    for (protocol, r, tq) in &by_protocol {
        let depth = match protocol {
            Protocol::Paper => usize::MAX,
            Protocol::Corpus => 100,
        };
        let m: Metrics = evaluate(&qrels, &run_with(r, tq, &oof, depth), *protocol);
        summary[format!("cv_{}", protocol_name(*protocol))] = serde_json::to_value(m)?;
    }
    println!("{}", serde_json::to_string(&summary)?);
    if let Some(out) = &args.out {
        let refs: Vec<&TrainQuery> = train_on.iter().collect();
        let model = leian_rank::train(&refs, &options)?;
        let note = format!(
            "leian train-ranker on {} ({} queries, {} protocol pools, NDCG@{}, charges {}); \
             {}-fold CV NDCG@{} {:.3} ± {:.3}",
            args.queries
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default(),
            train_on.len(),
            protocol_name(args.protocol),
            args.k,
            if args.no_charges { "inferred" } else { "given" },
            args.folds,
            args.k,
            mean,
            sd
        );
        std::fs::write(out, model.to_json(&note))
            .with_context(|| format!("writing {}", out.display()))?;
        eprintln!("weights written to {}", out.display());
    }
    Ok(())
}

/// Prints a legal ranking for people (`leian search --legal`), with the query's elements
/// and, under `--explain`, each element's contribution per hit.
pub(crate) fn print_ranking(
    engine: &Engine,
    r: &LegalRanking,
    top_k: usize,
    json: bool,
    explain: bool,
) -> Result<()> {
    if json {
        let mut v = serde_json::to_value(&r.query)?;
        let hits: Vec<&leian_engine::LegalHit> = r.hits.iter().take(top_k).collect();
        v = serde_json::json!({"query": v, "hits": hits});
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let q = &r.query;
    let charges = q.elements.charges.join("、");
    if q.charges_given {
        println!("charges (given): {charges}");
    } else if q.inferred.is_empty() {
        println!("charges: none given, none inferred");
    } else {
        let inferred: Vec<String> = q
            .inferred
            .iter()
            .map(|c| format!("{} ({:.0}%)", c.name, c.share * 100.0))
            .collect();
        println!(
            "charges (inferred from nearest cases): {}",
            inferred.join("、")
        );
    }
    if !q.charge_statutes.is_empty() {
        println!("statutes of the charges: {}", q.charge_statutes.join("、"));
    }
    if explain {
        println!("query elements: {}", serde_json::to_string(&q.elements)?);
        println!("ranker: {}", q.ranker);
    }
    for (i, h) in r.hits.iter().take(top_k).enumerate() {
        let title = engine
            .get(&h.id)?
            .map(|c| c.display_title())
            .unwrap_or_else(|| h.id.to_string());
        println!(
            "{:>2}. {}  {:.3}  [{}]",
            i + 1,
            title,
            h.score,
            h.elements.charges.join("、")
        );
        if explain {
            let parts: Vec<String> = h
                .contributions
                .iter()
                .map(|c| {
                    format!(
                        "{} {:.2}×{:.2}={:+.3}",
                        c.feature, c.value, c.weight, c.contribution
                    )
                })
                .collect();
            println!("    {}", parts.join("  "));
        }
    }
    Ok(())
}
