//! `leian eval`: ranking quality on LeCaRD (both protocols) and CAIL2019-SCM.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use leian_engine::{Filters, Query};
use leian_eval::{Protocol, Qrels};
use leian_harness::lecard::read_queries;
use leian_harness::runs::LecardEval;
use leian_ingest::read_scm_triplets;
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum EvalCommand {
    /// LeCaRD: rank candidates for each query and score against graded labels.
    Lecard(LecardArgs),
    /// CAIL2019-SCM: pick the more similar of B and C for each triplet.
    Scm(ScmArgs),
    /// BM25's query plan chosen by k-fold cross-validation on LeCaRD (both protocols) and
    /// SCM: out-of-fold figures, and the setting to ship.
    Bm25Cv(Bm25CvArgs),
    /// CAIL2018 terms: predict each term from its nearest same-charge cases (leave-one-out)
    /// and count how often real judgments would be flagged.
    Consistency(crate::eval_consistency::ConsistencyArgs),
    /// Push quality: LeCaRD queries as pending cases, candidates as decided cases.
    Push(crate::push::PushEvalArgs),
    /// The relevance floor ("nothing similar"): chosen by k-fold CV by query on LeCaRD hits,
    /// an unrelated slice and off-topic queries; out-of-fold figures.
    Floor(FloorArgs),
    /// Statutory ranges (法定刑) derived from the statute text against real judgments:
    /// how many CAIL2018 terms fall outside their charge's range (should be ~0).
    Statutory(StatutoryArgs),
}

#[derive(Args)]
pub(crate) struct LecardArgs {
    /// Index holding the LeCaRD candidates (`leian ingest .../lecard/candidates.jsonl`).
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// Queries JSONL `{id, fact, charges}`.
    #[arg(long)]
    queries: PathBuf,
    /// Qrels TSV `query 0 candidate grade`.
    #[arg(long)]
    qrels: PathBuf,
    /// `paper`: rank each query's 30 labelled candidates; `corpus`: rank all candidates.
    #[arg(long, default_value = "corpus")]
    protocol: Protocol,
    /// Also write the ranking as a TREC run file.
    #[arg(long)]
    run_out: Option<PathBuf>,
    #[command(flatten)]
    rank: crate::search::RankArgs,
    #[command(flatten)]
    model: crate::model::ModelArgs,
    /// Evaluate every mode and a grid of fusion settings (each query embedded once), one
    /// JSON line per setting, for both protocols.
    #[arg(long)]
    sweep: bool,
    #[command(flatten)]
    legal: crate::legal::LegalArgs,
    /// With `--legal`: ignore the queries' `charges` and infer them from the facts.
    #[arg(long)]
    no_charges: bool,
}

#[derive(Args)]
pub(crate) struct ScmArgs {
    /// Triplets JSONL `{id, A, B, C, answer}`.
    #[arg(long)]
    triplets: PathBuf,
    /// Index for the triplets' texts; they are ingested into it when it lacks them (kept
    /// so that their embeddings are computed once).
    #[arg(long, default_value = "index/eval-scm")]
    index: PathBuf,
    #[command(flatten)]
    rank: crate::search::RankArgs,
    #[command(flatten)]
    model: crate::model::ModelArgs,
    /// Evaluate every mode and a grid of fusion settings (each text embedded once).
    #[arg(long)]
    sweep: bool,
    #[command(flatten)]
    legal: crate::legal::LegalArgs,
}

#[derive(Args)]
pub(crate) struct Bm25CvArgs {
    /// Index holding the LeCaRD candidates.
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    #[arg(long)]
    queries: PathBuf,
    #[arg(long)]
    qrels: PathBuf,
    /// SCM triplets JSONL; their texts are read from `--scm-index` (ingested there when
    /// missing).
    #[arg(long)]
    triplets: PathBuf,
    #[arg(long, default_value = "index/eval-scm")]
    scm_index: PathBuf,
    #[arg(long, default_value_t = 8)]
    folds: usize,
    /// Also print each setting's in-sample figures (to see the landscape, not to quote).
    #[arg(long)]
    grid: bool,
}

pub(crate) fn run(cmd: EvalCommand) -> Result<()> {
    match cmd {
        EvalCommand::Lecard(a) => run_lecard(a),
        EvalCommand::Scm(a) => run_scm(a),
        EvalCommand::Bm25Cv(a) => run_bm25_cv(a),
        EvalCommand::Consistency(a) => crate::eval_consistency::run(a),
        EvalCommand::Push(a) => crate::push::run_eval(a),
        EvalCommand::Floor(a) => run_floor(a),
        EvalCommand::Statutory(a) => run_statutory(a),
    }
}

fn run_lecard(args: LecardArgs) -> Result<()> {
    let engine = crate::search::open_existing(&args.index, &args.model)?;
    let qrels = Qrels::read(&args.qrels)?;
    if let Some(ranker) = args.legal.ranker()? {
        let template = args.rank.query(String::new(), 1, Filters::default())?;
        let out = leian_harness::runs::eval_lecard(
            &engine,
            &args.index,
            &ranker,
            &template,
            &args.queries,
            &qrels,
            args.protocol,
            args.no_charges,
        )?;
        println!("{}", serde_json::to_string(&out)?);
        return Ok(());
    }
    let template = args.rank.query(String::new(), 1, Filters::default())?;
    let lines = leian_harness::runs::eval_lecard_fusion(
        &engine,
        &LecardEval {
            index_dir: &args.index,
            queries: &args.queries,
            qrels: &qrels,
            template: &template,
            protocol: args.protocol,
            no_charges: args.no_charges,
            sweep: args.sweep,
            run_out: args.run_out.as_deref(),
        },
    )?;
    for line in lines {
        println!("{}", serde_json::to_string(&line)?);
    }
    Ok(())
}

fn run_scm(args: ScmArgs) -> Result<()> {
    let triplets = read_scm_triplets(&args.triplets)
        .with_context(|| format!("reading {}", args.triplets.display()))?;
    let engine = args.model.open_engine(&args.index)?;
    let scm_ids = leian_harness::scm::ensure_indexed(&engine, &args.triplets, &triplets)?;
    // the legal ranker re-ranks the whole SCM collection (no charge pool: civil cases)
    let legal = crate::legal::LegalArgs {
        pool: scm_ids.len(),
        charge_pool: 0,
        ..args.legal.clone()
    }
    .ranker()?;
    let template = Query {
        ranking: args.rank.ranking,
        ..Query::new("", 1)
    };
    let settings = if args.sweep {
        None
    } else {
        Some((args.rank.mode, args.rank.fusion()?))
    };
    for line in leian_harness::scm::eval_scm(
        &engine,
        &args.index,
        &triplets,
        &scm_ids,
        &template,
        settings,
        legal.as_ref(),
    )? {
        println!("{line}");
    }
    Ok(())
}

fn run_bm25_cv(args: Bm25CvArgs) -> Result<()> {
    let lecard = crate::search::open_existing(&args.index, &crate::model::ModelArgs::none())?;
    let queries = read_queries(&args.queries)?;
    let qrels = Qrels::read(&args.qrels)?;
    let triplets = read_scm_triplets(&args.triplets)
        .with_context(|| format!("reading {}", args.triplets.display()))?;
    let scm_engine = crate::model::ModelArgs::none().open_engine(&args.scm_index)?;
    leian_harness::scm::ensure_indexed(&scm_engine, &args.triplets, &triplets)?;
    let (scores, report) = leian_harness::bm25_cv::run(
        &lecard,
        &scm_engine,
        &queries,
        &qrels,
        &triplets,
        args.folds,
    )?;
    if args.grid {
        for s in &scores {
            println!("{}", s.in_sample_json());
        }
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

#[derive(Args)]
pub(crate) struct FloorArgs {
    /// Index holding the LeCaRD candidates and the guiding cases.
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// LeCaRD queries JSONL `{id, fact, charges}` (dev only).
    #[arg(long)]
    queries: PathBuf,
    #[arg(long)]
    qrels: PathBuf,
    /// Off-topic queries, one per line.
    #[arg(long, default_value = "benches/floor/off_topic.txt")]
    off_topic: PathBuf,
    /// CAIL2018 facts: how often a guiding case on point survives the floor.
    #[arg(long)]
    cail: Option<PathBuf>,
    /// CAIL2018 facts read (from the start of the file).
    #[arg(long, default_value_t = 300)]
    cail_limit: usize,
    #[arg(long, default_value_t = 8)]
    folds: usize,
    /// Write every sample (kind, query, coverage, guiding) as TSV here.
    #[arg(long)]
    dump: Option<PathBuf>,
    #[command(flatten)]
    model: crate::model::ModelArgs,
}

fn run_floor(args: FloorArgs) -> Result<()> {
    use leian_harness::floor;
    let engine = args.model.open_engine(&args.index)?;
    let queries = leian_harness::lecard::read_queries(&args.queries)?;
    let qrels = leian_eval::Qrels::read(&args.qrels)?;
    let off_topic = floor::read_text_queries(&args.off_topic)?;
    let samples = floor::collect(&engine, &queries, &qrels, &off_topic, args.folds)?;
    let r = floor::cross_validate(&samples, args.folds);
    if let Some(path) = &args.dump {
        std::fs::write(path, floor::samples_tsv(&samples))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    print!("{}", r.markdown(args.folds));
    if let Some(cail) = &args.cail {
        let facts = floor::read_cail_facts(cail, args.cail_limit)?;
        let g = floor::guiding_recall(&engine, &facts, &r.chosen)?;
        print!("{}", g.markdown_rows());
    }
    Ok(())
}

#[derive(Args)]
pub(crate) struct StatutoryArgs {
    /// Index holding the statutes (`leian ingest ../shared/data/statutes/articles.jsonl`).
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// CAIL2018 facts JSONL `{id, charges, term_months}`.
    #[arg(long)]
    cail: PathBuf,
}

fn run_statutory(args: StatutoryArgs) -> Result<()> {
    let engine = crate::model::ModelArgs::none().open_engine(&args.index)?;
    let c = leian_harness::statutory::coverage(&engine, &args.cail)?;
    print!("{}", c.to_text());
    Ok(())
}
