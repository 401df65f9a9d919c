//! `leian eval`: ranking quality on LeCaRD (both protocols) and CAIL2019-SCM.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use leian_engine::{Query, SearchMode};
use leian_eval::{evaluate, Protocol, Qrels};
use leian_harness::lecard::read_queries;
use leian_harness::runs::{cached_query_vectors, protocol_name, rank_lecard, write_trec_run};
use leian_engine::Filters;
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
    let queries = read_queries(&args.queries)?;
    let texts: Vec<&str> = queries.iter().map(|q| q.fact.as_str()).collect();
    let vectors = if args.rank.mode == SearchMode::Bm25 && !args.sweep {
        vec![None; queries.len()]
    } else {
        cached_query_vectors(&engine, &args.index, &texts)?
    };
    if args.sweep {
        for protocol in [Protocol::Paper, Protocol::Corpus] {
            for (mode, fusion) in leian_harness::runs::sweep_settings(engine.has_dense()) {
                let template = Query {
                    mode,
                    fusion,
                    ranking: leian_engine::Ranking::Fusion,
                    ..Query::new("", 1)
                };
                let run = rank_lecard(
                    &engine, &template, &queries, &vectors, &qrels, protocol, false,
                )?;
                let mut out = serde_json::to_value(evaluate(&qrels, &run, protocol))?;
                out["protocol"] = serde_json::json!(protocol_name(protocol));
                out["mode"] = serde_json::json!(mode.as_str());
                out["fusion"] = serde_json::to_value(fusion)?;
                println!("{}", serde_json::to_string(&out)?);
            }
        }
        return Ok(());
    }
    let template = args.rank.query(String::new(), 1, Filters::default())?;
    let run = rank_lecard(
        &engine,
        &template,
        &queries,
        &vectors,
        &qrels,
        args.protocol,
        args.no_charges,
    )?;
    let metrics = evaluate(&qrels, &run, args.protocol);
    if let Some(path) = &args.run_out {
        write_trec_run(path, &run)?;
    }
    let mut out = serde_json::to_value(metrics)?;
    out["protocol"] = serde_json::json!(protocol_name(args.protocol));
    let ran = engine.ran_with_text(&template);
    out["mode"] = serde_json::json!(ran.mode.as_str());
    out["ranking"] = serde_json::json!(ran.ranking.as_str());
    out["ranker"] = serde_json::json!(ran.ranker);
    out["charges"] = serde_json::json!(if args.no_charges { "inferred" } else { "given" });
    out["fusion"] = serde_json::to_value(args.rank.fusion()?)?;
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

fn run_scm(args: ScmArgs) -> Result<()> {
    let triplets = read_scm_triplets(&args.triplets)
        .with_context(|| format!("reading {}", args.triplets.display()))?;
    let engine = args.model.open_engine(&args.index)?;
    let scm_ids = leian_harness::scm::ensure_indexed(&engine, &args.triplets, &triplets)?;
    let texts: Vec<&str> = triplets.iter().map(|t| t.a.as_str()).collect();
    let vectors = if args.rank.mode == SearchMode::Bm25 && !args.sweep {
        vec![None; triplets.len()]
    } else {
        cached_query_vectors(&engine, &args.index, &texts)?
    };
    // the legal ranker re-ranks the whole SCM collection (no charge pool: civil cases)
    let legal = crate::legal::LegalArgs {
        pool: scm_ids.len(),
        charge_pool: 0,
        ..args.legal.clone()
    }
    .ranker()?;
    let settings = if args.sweep {
        leian_harness::runs::sweep_settings(engine.has_dense())
    } else {
        vec![(args.rank.mode, args.rank.fusion()?)]
    };
    for (mode, fusion) in settings {
        let template = Query {
            mode,
            fusion,
            ranking: if args.sweep {
                leian_engine::Ranking::Fusion
            } else {
                args.rank.ranking
            },
            ..Query::new("", 1)
        };
        let accuracy = leian_harness::scm::engine_accuracy(
            &engine,
            &triplets,
            &scm_ids,
            &template,
            legal.as_ref(),
            &vectors,
        )?;
        println!(
            "{}",
            serde_json::json!({
                "accuracy": accuracy,
                "triplets": triplets.len(),
                "mode": engine.ran_with_text(&template).mode.as_str(),
                "fusion": fusion,
                "ranker": legal.as_ref().map(|r| r.model.source.clone()),
                "chunk_score": legal.as_ref().map(|r| r.options.chunk_score),
            })
        );
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
    let lecard_index = lecard.index();
    let scm_index = scm_engine.index();
    let data = leian_harness::bm25_cv::Bm25CvData {
        lecard: &lecard_index,
        queries: &queries,
        qrels: &qrels,
        scm: &scm_index,
        triplets: &triplets,
    };
    let settings = leian_harness::bm25_cv::grid(lecard_index.options());
    let scores = leian_harness::bm25_cv::score_grid(&data, &settings)?;
    if args.grid {
        for s in &scores {
            let (paper, corpus, scm) = s.in_sample();
            println!(
                "{}",
                serde_json::json!({
                    "in_sample": true,
                    "setting": leian_harness::bm25_cv::Bm25Setting::of(&s.options),
                    "paper_ndcg30": paper.ndcg30,
                    "corpus_ndcg30": corpus.ndcg30,
                    "corpus_r100": corpus.recall100,
                    "scm_accuracy": scm,
                })
            );
        }
    }
    let report = leian_harness::bm25_cv::cross_validate(&scores, args.folds);
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
        println!(
            "| CAIL2018 facts with a guiding case on point in the top 10 | {} / {} |",
            g.with_guiding_on_point, g.queries
        );
        println!(
            "| ... where it passes the floor | {} / {} |",
            g.passing, g.with_guiding_on_point
        );
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
    println!(
        "one-charge CAIL2018 rows with a term: {}; with a derived range: {}; outside it: {}",
        c.rows,
        c.with_range,
        c.outside.len()
    );
    for o in &c.outside {
        println!(
            "  {} {} ({}) {} months; allowed: {}",
            o.id, o.charge, o.article, o.term_months, o.allowed
        );
    }
    if !c.no_range.is_empty() {
        println!("charges without a range: {}", c.no_range.join("、"));
    }
    Ok(())
}
