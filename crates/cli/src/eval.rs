//! `leian eval`: ranking quality on LeCaRD (both protocols) and CAIL2019-SCM.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use leian_engine::{Engine, SearchMode};
use leian_eval::{evaluate, Protocol, Qrels, Run};
use leian_index::Filters;
use leian_ingest::{lecard_case_id, read_scm_triplets, CaseId, Format};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(crate) enum EvalCommand {
    /// LeCaRD: rank candidates for each query and score against graded labels.
    Lecard(LecardArgs),
    /// CAIL2019-SCM: pick the more similar of B and C for each triplet.
    Scm(ScmArgs),
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
}

pub(crate) fn run(cmd: EvalCommand) -> Result<()> {
    match cmd {
        EvalCommand::Lecard(a) => run_lecard(a),
        EvalCommand::Scm(a) => run_scm(a),
    }
}

#[derive(Deserialize)]
struct LecardQuery {
    id: serde_json::Value,
    fact: String,
}

fn read_queries(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading queries {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let q: LecardQuery = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: bad query record", path.display(), i + 1))?;
        let id = match q.id {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        out.push((id, q.fact));
    }
    Ok(out)
}

fn run_lecard(args: LecardArgs) -> Result<()> {
    let engine = crate::search::open_existing(&args.index, &args.model)?;
    let qrels = Qrels::read(&args.qrels)?;
    let queries = read_queries(&args.queries)?;
    let run = rank_lecard(&engine, &args.rank, &queries, &qrels, args.protocol)?;
    let metrics = evaluate(&qrels, &run, args.protocol);
    if let Some(path) = &args.run_out {
        write_trec_run(path, &run)?;
    }
    let mut out = serde_json::to_value(metrics)?;
    out["protocol"] = serde_json::json!(match args.protocol {
        Protocol::Paper => "paper",
        Protocol::Corpus => "corpus",
    });
    out["mode"] = serde_json::json!(effective_mode(&engine, args.rank.mode));
    out["fusion"] = serde_json::to_value(args.rank.fusion()?)?;
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

/// Ranks each labelled query's candidates: under the paper protocol only its labelled
/// ones, under the corpus protocol every `lecard:` case in the index (top 100).
pub(crate) fn rank_lecard(
    engine: &Engine,
    rank: &crate::search::RankArgs,
    queries: &[(String, String)],
    qrels: &Qrels,
    protocol: Protocol,
) -> Result<Run> {
    let corpus_ids: Vec<CaseId> = engine
        .index()
        .all_ids()?
        .into_iter()
        .filter(|id| id.as_str().starts_with("lecard:"))
        .collect();
    if corpus_ids.is_empty() {
        bail!("the index holds no LeCaRD candidates: ingest lecard/candidates.jsonl first");
    }
    let mut run: Run = HashMap::new();
    for (qid, fact) in queries {
        let Some(labels) = qrels.by_query.get(qid) else {
            continue;
        };
        let (ids, top_k) = match protocol {
            Protocol::Paper => (
                labels.keys().map(|c| lecard_case_id(c)).collect::<Vec<_>>(),
                labels.len(),
            ),
            Protocol::Corpus => (corpus_ids.clone(), 100),
        };
        let mut query = rank.query(
            fact.clone(),
            top_k,
            Filters {
                ids: Some(ids),
                ..Filters::default()
            },
        )?;
        query.snippets = false;
        query.depth = top_k;
        let ranked = engine.rank(&query)?;
        run.insert(
            qid.clone(),
            ranked
                .iter()
                .take(top_k)
                .map(|(id, _, _)| {
                    id.as_str()
                        .strip_prefix("lecard:")
                        .unwrap_or(id.as_str())
                        .to_string()
                })
                .collect(),
        );
    }
    Ok(run)
}

fn write_trec_run(path: &Path, run: &Run) -> Result<()> {
    let mut qids: Vec<&String> = run.keys().collect();
    qids.sort();
    let mut out = String::new();
    for q in qids {
        let n = run[q].len();
        for (i, d) in run[q].iter().enumerate() {
            out.push_str(&format!("{q} Q0 {d} {} {} leian\n", i + 1, n - i));
        }
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

fn run_scm(args: ScmArgs) -> Result<()> {
    let triplets = read_scm_triplets(&args.triplets)
        .with_context(|| format!("reading {}", args.triplets.display()))?;
    let engine = args.model.open_engine(&args.index)?;
    // (re-)ingest when a text is missing, or lacks vectors while a model is loaded
    let missing = triplets.iter().any(|t| {
        ["A", "B", "C"].iter().any(|p| {
            let id = CaseId::new(format!("scm:{}:{p}", t.id));
            let absent = engine.index().get(&id).map(|c| c.is_none()).unwrap_or(true);
            absent || (engine.has_dense() && !engine.has_vectors(&id))
        })
    });
    if missing {
        crate::ingest::ingest_paths(
            &engine,
            std::slice::from_ref(&args.triplets),
            Format::Scm,
            true,
        )?;
    }
    let scm_ids: Vec<CaseId> = engine
        .index()
        .all_ids()?
        .into_iter()
        .filter(|id| id.as_str().starts_with("scm:"))
        .collect();
    let mut choices = Vec::new();
    let mut answers = Vec::new();
    for t in &triplets {
        let b = CaseId::new(format!("scm:{}:B", t.id));
        let c = CaseId::new(format!("scm:{}:C", t.id));
        // Rank the whole SCM collection, not just {B, C}: fusion needs full lists (with
        // two candidates RRF ties whenever the lists disagree, and min-max makes every
        // score 0 or 1).
        let mut query = args.rank.query(
            t.a.clone(),
            scm_ids.len(),
            Filters {
                ids: Some(scm_ids.clone()),
                ..Filters::default()
            },
        )?;
        query.snippets = false;
        let a = CaseId::new(format!("scm:{}:A", t.id));
        let ranked: Vec<(CaseId, f32)> = engine
            .rank(&query)?
            .into_iter()
            .filter(|(id, _, _)| id != &a)
            .map(|(id, s, _)| (id, s))
            .collect();
        let position = |id: &CaseId| {
            ranked
                .iter()
                .position(|(r, _)| r == id)
                .unwrap_or(usize::MAX)
        };
        // Ties go to B; the labels are balanced (151 B / 149 C on dev), so this favours neither.
        choices.push(if position(&c) < position(&b) {
            "C"
        } else {
            "B"
        });
        answers.push(t.answer.as_str());
    }
    let accuracy = leian_eval::accuracy(&choices, &answers);
    println!(
        "{}",
        serde_json::json!({
            "accuracy": accuracy,
            "triplets": triplets.len(),
            "mode": effective_mode(&engine, args.rank.mode),
            "fusion": args.rank.fusion()?,
        })
    );
    Ok(())
}

/// The mode a search really ran in (hybrid and dense need a model).
fn effective_mode(engine: &Engine, asked: SearchMode) -> &'static str {
    if engine.has_dense() {
        asked.as_str()
    } else {
        SearchMode::Bm25.as_str()
    }
}
