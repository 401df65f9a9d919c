//! Push from the command line: pushes after `leian ingest`, `leian eval push` (push
//! quality on LeCaRD) and `leian bench --push` (reverse matching with many pending cases).

use anyhow::{bail, Context, Result};
use clap::Args;
use leian_engine::Engine;
use leian_eval::Qrels;
use leian_harness::lecard::{read_queries, LecardQuery};
use leian_ingest::Case;
use leian_push::reverse::PendingIndex;
use leian_push::{Features, PendingCase, PendingStatus, PushOptions, PushService, ScoreWeights};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// After an ingest commit: when the index has the server's database (and so maybe
/// pending cases and subscriptions), new guiding and typical cases are pushed.
pub(crate) fn after_ingest(engine: &Engine, index: &Path, cases: &[Case]) -> Result<()> {
    let db = index.join(leian_server::DB_FILE);
    if cases.is_empty() || !db.exists() {
        return Ok(());
    }
    let service = PushService::open(&db, PushOptions::default())
        .with_context(|| format!("opening the push tables in {}", db.display()))?;
    let created = service.on_cases_added(engine, cases)?;
    if !created.is_empty() {
        println!(
            "created {} pushes for {} new guiding/typical cases ({} open pending cases)",
            created.len(),
            cases.len(),
            service.open_pending_count()?
        );
    }
    Ok(())
}

#[derive(Args)]
pub(crate) struct PushEvalArgs {
    /// Index holding the LeCaRD candidates, ingested with the model (`index/lecard`).
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// Queries JSONL `{id, fact, charges}`: registered as pending cases.
    #[arg(long, default_value = "../shared/data/lecard/queries.dev.jsonl")]
    queries: PathBuf,
    /// Qrels TSV `query 0 candidate grade`.
    #[arg(long, default_value = "../shared/data/lecard/qrels.dev.tsv")]
    qrels: PathBuf,
    /// Thresholds of the table.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.5,0.55,0.6,0.65,0.7,0.75,0.8"
    )]
    thresholds: Vec<f32>,
    /// Skip the forward (registration) pass; only the reverse pass is measured.
    #[arg(long)]
    no_forward: bool,
    /// Write every reverse-pass pair's score parts (TSV: query, candidate, grade, dense,
    /// lexical, charges, statutes, score) here, for tuning the weights.
    #[arg(long)]
    dump: Option<PathBuf>,
    #[command(flatten)]
    model: crate::model::ModelArgs,
}

/// Push counts at one threshold.
#[derive(Default)]
struct Tally {
    pushes: usize,
    relevant: usize,
    grade3_pushed: usize,
}

fn table_row(t: f32, tally: &Tally, grade3_total: usize, queries: usize) -> String {
    let d = PushOptions::default();
    let label = if t == d.threshold {
        " (default for decided cases)"
    } else if t == d.authority_threshold {
        " (default for guiding/typical)"
    } else {
        ""
    };
    format!(
        "| {t:.2}{label} | {:.1} | {:.3} | {:.3} |",
        tally.pushes as f64 / queries.max(1) as f64,
        tally.grade3_pushed as f64 / grade3_total.max(1) as f64,
        if tally.pushes == 0 {
            0.0
        } else {
            tally.relevant as f64 / tally.pushes as f64
        },
    )
}

/// `leian eval push`: the 64 LeCaRD dev queries as pending cases, the candidates as decided
/// cases. Recall = grade-3 candidates pushed / all grade-3 labels; precision = pushes
/// with grade ≥ 2 / pushes (unlabelled candidates count as grade 0).
pub(crate) fn run_eval(args: PushEvalArgs) -> Result<()> {
    let engine = crate::search::open_existing(&args.index, &args.model)?;
    let qrels = Qrels::read(&args.qrels)?;
    let queries = read_queries(&args.queries)?;
    let defaults = PushOptions::default();
    let scratch = tempfile::tempdir().context("scratch dir")?;
    // every candidate the forward search scores, whatever its score: thresholds and the
    // cap are applied below
    let service = PushService::open(
        &scratch.path().join("push.sqlite"),
        PushOptions {
            threshold: f32::MIN,
            authority_threshold: f32::MIN,
            max_similar: defaults.candidate_depth,
            max_authority: defaults.candidate_depth,
            ..defaults
        },
    )?;
    let grade = |qid: &str, case_id: &str| {
        qrels.grade(qid, case_id.strip_prefix("lecard:").unwrap_or(case_id))
    };
    let labelled: Vec<&LecardQuery> = queries
        .iter()
        .filter(|q| qrels.by_query.contains_key(&q.id))
        .collect();
    let grade3_total: usize = labelled
        .iter()
        .map(|q| qrels.by_query[&q.id].values().filter(|g| **g == 3).count())
        .sum();
    let started = Instant::now();
    // forward: register each query (hybrid search, then pair scores)
    let mut forward: Vec<(String, Vec<(String, f32)>)> = Vec::new();
    let mut reverse_index = PendingIndex::default();
    for LecardQuery {
        id: qid,
        fact,
        charges,
    } in labelled.iter().copied()
    {
        // the query as registration makes it: the same text, vector and features
        let pending = PendingCase {
            id: qid.clone(),
            court: String::new(),
            key_id: 0,
            judge: String::new(),
            title: String::new(),
            facts: fact.trim().to_string(),
            charges: charges.clone(),
            statutes: Vec::new(),
            category: None,
            status: PendingStatus::Open,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let (features, vector) = PushService::matching_features(&engine, &pending)?;
        if args.no_forward {
            reverse_index.upsert(qid, features);
            continue;
        }
        let found = service.forward_matches(
            &engine,
            &features,
            &pending.query_text(),
            vector.as_deref(),
        )?;
        forward.push((
            qid.clone(),
            found
                .iter()
                .map(|m| (m.case.id.to_string(), m.parts.score))
                .collect(),
        ));
        reverse_index.upsert(qid, features);
    }
    let forward_secs = started.elapsed().as_secs_f64();
    // reverse: every candidate as if newly ingested, matched against the 64 pending cases
    let started = Instant::now();
    let mut reverse: HashMap<String, Vec<(String, f32)>> = HashMap::new();
    let weights = ScoreWeights::default();
    let ids = engine.index().all_ids()?;
    let mut candidates = 0;
    let mut dump = String::new();
    for id in ids.iter().filter(|i| i.as_str().starts_with("lecard:")) {
        let Some(case) = engine.get(id)? else {
            continue;
        };
        candidates += 1;
        let vectors = engine.passage_vectors(&case)?.unwrap_or_default();
        for m in reverse_index.matches(&Features::of_case(&case, vectors), &weights, f32::MIN) {
            if args.dump.is_some() {
                let p = &m.parts;
                dump.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    m.pending_id,
                    id,
                    grade(&m.pending_id, id.as_str()),
                    p.dense.map_or(String::new(), |d| d.to_string()),
                    p.lexical,
                    p.charges.map_or(String::new(), |d| d.to_string()),
                    p.statutes.map_or(String::new(), |d| d.to_string()),
                    p.score
                ));
            }
            reverse
                .entry(m.pending_id)
                .or_default()
                .push((id.to_string(), m.parts.score));
        }
    }
    let reverse_secs = started.elapsed().as_secs_f64();
    if let Some(path) = &args.dump {
        std::fs::write(path, dump).with_context(|| format!("writing {}", path.display()))?;
    }
    if candidates == 0 {
        bail!("the index holds no LeCaRD candidates: ingest lecard/candidates.jsonl first");
    }
    let mut thresholds = args.thresholds.clone();
    if !thresholds
        .iter()
        .any(|t| (t - defaults.threshold).abs() < 1e-6)
    {
        thresholds.push(defaults.threshold);
    }
    thresholds.sort_by(f32::total_cmp);
    let mode = if engine.has_dense() {
        "hybrid"
    } else {
        "BM25-only"
    };
    println!(
        "push quality on LeCaRD dev: {} queries as pending cases, {candidates} candidates as decided cases, {grade3_total} grade-3 labels; {mode}",
        labelled.len()
    );
    println!(
        "\nregister (forward: top {} engine hits scored, at most {} similar cases pushed per pending case; {forward_secs:.1} s)\n",
        defaults.candidate_depth, defaults.max_similar
    );
    println!("| threshold | pushes per pending case | recall of grade-3 | precision (grade ≥ 2) |");
    println!("|---|---|---|---|");
    for &t in &thresholds {
        let mut tally = Tally::default();
        for (qid, found) in &forward {
            for (cid, _) in found
                .iter()
                .filter(|(_, s)| *s >= t)
                .take(defaults.max_similar)
            {
                let g = grade(qid, cid);
                tally.pushes += 1;
                tally.relevant += usize::from(g >= 2);
                tally.grade3_pushed += usize::from(g == 3);
            }
        }
        println!("{}", table_row(t, &tally, grade3_total, labelled.len()));
    }
    println!(
        "\ningest (reverse: each candidate matched against the open pending cases as a new guiding case would be, no cap; {reverse_secs:.1} s)\n"
    );
    println!("| threshold | pushes per pending case | recall of grade-3 | precision (grade ≥ 2) |");
    println!("|---|---|---|---|");
    for &t in &thresholds {
        let mut tally = Tally::default();
        for (qid, found) in &reverse {
            for (cid, _) in found.iter().filter(|(_, s)| *s >= t) {
                let g = grade(qid, cid);
                tally.pushes += 1;
                tally.relevant += usize::from(g >= 2);
                tally.grade3_pushed += usize::from(g == 3);
            }
        }
        println!("{}", table_row(t, &tally, grade3_total, labelled.len()));
    }
    Ok(())
}

/// A deterministic pseudo-random unit vector (xorshift), for synthetic embeddings.
fn synthetic_vector(seed: u64, dim: usize) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v: Vec<f32> = (0..dim)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2001) as f32 / 1000.0 - 1.0
        })
        .collect();
    let n = v.iter().map(|a| a * a).sum::<f32>().sqrt().max(1e-9);
    v.iter_mut().for_each(|a| *a /= n);
    v
}

/// `leian bench --push`: reverse matching of new guiding cases (the 64 LeCaRD dev query
/// facts, with synthetic 384-d chunk vectors) against N synthetic pending cases: LeCaRD
/// candidate facts, each cut and joined with a sentence of another, with its charges and a
/// synthetic query vector; one in ten is built from a candidate labelled relevant to a new
/// case, with a vector near that case's, so that matches happen as they would.
pub(crate) fn bench(data: &Path, counts: &[usize]) -> Result<Vec<String>> {
    let candidates = data.join("lecard/candidates.jsonl");
    let queries = data.join("lecard/queries.dev.jsonl");
    let qrels = Qrels::read(&data.join("lecard/qrels.dev.tsv"))?;
    let mut pool: Vec<(String, Vec<String>)> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for line in std::fs::read_to_string(&candidates)
        .with_context(|| format!("reading {}", candidates.display()))?
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let charges = v["charges"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let id = match &v["id"] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        by_id.insert(id, pool.len());
        pool.push((v["fact"].as_str().unwrap_or_default().to_string(), charges));
    }
    if pool.is_empty() {
        bail!("no candidates in {}", candidates.display());
    }
    let queries = read_queries(&queries)?;
    // for each new case, the candidates labelled relevant to it (grade >= 2)
    let related: Vec<Vec<usize>> = queries
        .iter()
        .map(|q| {
            let mut v: Vec<usize> = qrels
                .by_query
                .get(&q.id)
                .map(|m| {
                    m.iter()
                        .filter(|(_, g)| **g >= 2)
                        .filter_map(|(c, _)| by_id.get(c).copied())
                        .collect()
                })
                .unwrap_or_default();
            v.sort_unstable();
            v
        })
        .collect();
    let new_cases: Vec<Features> = queries
        .into_iter()
        .enumerate()
        .map(|(i, LecardQuery { fact, charges, .. })| {
            let vectors = (0..4)
                .map(|c| synthetic_vector(1_000_000 + i as u64 * 8 + c, 384))
                .collect();
            Features::new(&fact, &charges, &[], vectors)
        })
        .collect();
    let weights = ScoreWeights::default();
    let threshold = PushOptions::default().authority_threshold;
    let mut rows = Vec::new();
    for &n in counts {
        let started = Instant::now();
        let mut index = PendingIndex::default();
        for i in 0..n {
            // one pending case in ten is about a new case: facts of a candidate labelled
            // relevant to it and a query vector near its vector; the rest are random
            // candidates with random vectors
            let target = (i / 10) % new_cases.len();
            let about = i % 10 == 0 && !related[target].is_empty();
            let source = if about {
                related[target][(i / 10 / new_cases.len()) % related[target].len()]
            } else {
                i % pool.len()
            };
            let (a, charges) = &pool[source];
            let (b, _) = &pool[(i * 7 + 13) % pool.len()];
            let cut: String = a.chars().take(200 + i % 300).collect();
            let extra = b.split('。').nth(1 + i % 3).unwrap_or_default();
            let facts = format!("{cut}。{extra}");
            let noise = synthetic_vector(i as u64, 384);
            let v = if about {
                let near = &new_cases[target].vectors[0];
                let mut v: Vec<f32> = near
                    .iter()
                    .zip(&noise)
                    .map(|(a, b)| 0.95 * a + 0.3 * b)
                    .collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
                v.iter_mut().for_each(|x| *x /= norm);
                v
            } else {
                noise
            };
            index.upsert(
                &format!("p{i}"),
                Features::new(&facts, charges, &[], vec![v]),
            );
        }
        let build = started.elapsed().as_secs_f64();
        let mut ms = Vec::new();
        let mut matched = Vec::new();
        for _ in 0..3 {
            for f in &new_cases {
                let t = Instant::now();
                let m = index.matches(f, &weights, threshold);
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
                matched.push(m.len() as f64);
            }
        }
        rows.push(format!(
            "| reverse match one new guiding case against {n} pending cases | {} new cases × 3 | median {:.2} ms, p99 {:.2} ms; median {:.0} pending cases reached (threshold {threshold}); index built in {build:.2} s |",
            new_cases.len(),
            crate::bench::median(&ms),
            crate::bench::percentile(&ms, 0.99),
            crate::bench::median(&matched),
        ));
    }
    Ok(rows)
}
