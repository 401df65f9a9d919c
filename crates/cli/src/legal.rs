//! Legal-element-aware ranking on the command line: the `--legal` options shared by
//! `search` and `eval`, LeCaRD evaluation with given or inferred charges, and
//! `leian train-ranker` (coordinate ascent on the dev labels, k-fold cross-validated).

use anyhow::{Context, Result};
use clap::Args;
use leian_engine::{ChunkScore, Engine, LegalOptions, LegalRanker, LegalRanking};
use leian_eval::{Protocol, Qrels};
use leian_harness::train::{train_ranker, TrainSetup};
use leian_rank::LinearRanker;
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
    let report = train_ranker(
        &engine,
        &TrainSetup {
            index_dir: &args.index,
            queries: &args.queries,
            qrels: &qrels,
            protocol: args.protocol,
            folds: args.folds,
            k: args.k,
            no_charges: args.no_charges,
            legal: args.legal.options(),
            learn_all: args.out.is_some(),
        },
    )?;
    for f in &report.folds {
        println!("{f}");
    }
    println!("{}", serde_json::to_string(&report.summary)?);
    if let (Some(out), Some(json)) = (&args.out, report.weights_json()) {
        std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))?;
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
        println!("{}", serde_json::to_string_pretty(&r.to_json(top_k))?);
    } else {
        print!("{}", r.to_text(engine, top_k, explain)?);
    }
    Ok(())
}
