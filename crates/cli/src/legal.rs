//! Legal-element-aware ranking on the command line: the `--legal` options shared by
//! `search` and `eval`, LeCaRD evaluation with given or inferred charges, and
//! `leian train-ranker` (coordinate ascent on the dev labels, k-fold cross-validated).

use anyhow::{Context, Result};
use clap::Args;
use leian_engine::{ChunkScore, Engine, LegalOptions, LegalRanker, LegalRanking, Query};
use leian_eval::{evaluate, Metrics, Protocol, Qrels};
use leian_harness::lecard::read_queries;
use leian_harness::runs::{
    cached_query_vectors, legal_rankings, protocol_name, run_depth, run_with, train_queries,
};
use leian_rank::train::{cross_validate, mean_sd, TrainOptions, TrainQuery};
use leian_rank::{LinearRanker, FEATURE_NAMES};
use std::collections::HashMap;
use std::path::PathBuf;

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
        let m: Metrics = evaluate(
            &qrels,
            &run_with(r, tq, &oof, run_depth(*protocol)),
            *protocol,
        );
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
