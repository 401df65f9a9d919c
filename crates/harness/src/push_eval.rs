//! Push quality on LeCaRD (`leian eval push`) and the reverse-matching benchmark
//! (`leian bench --push`).
//!
//! Quality: the labelled LeCaRD queries are registered as pending cases — through
//! [`PushService::matching_features`] and [`PushService::forward_matches`], as a judge's
//! registration is — and every `lecard:` candidate is matched against them as a newly
//! ingested guiding case would be. Recall = grade-3 candidates pushed / all grade-3 labels;
//! precision = pushes with grade ≥ 2 / pushes (unlabelled candidates count as grade 0).

use crate::lecard::{read_queries, LecardQuery};
use crate::timing::{median, percentile};
use crate::{HarnessError, Result};
use leian_engine::Engine;
use leian_eval::Qrels;
use leian_push::reverse::PendingIndex;
use leian_push::{Features, PendingCase, PendingStatus, PushOptions, PushService, ScoreWeights};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// Push counts at one threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    pub pushes: usize,
    pub relevant: usize,
    pub grade3_pushed: usize,
}

impl Tally {
    pub fn per_query(&self, queries: usize) -> f64 {
        self.pushes as f64 / queries.max(1) as f64
    }
    pub fn recall(&self, grade3_total: usize) -> f64 {
        self.grade3_pushed as f64 / grade3_total.max(1) as f64
    }
    pub fn precision(&self) -> f64 {
        if self.pushes == 0 {
            0.0
        } else {
            self.relevant as f64 / self.pushes as f64
        }
    }
}

/// What `leian eval push` measured.
#[derive(Debug, Clone)]
pub struct PushQuality {
    /// Labelled queries registered as pending cases.
    pub queries: usize,
    /// LeCaRD candidates matched as new cases.
    pub candidates: usize,
    pub grade3_total: usize,
    pub forward_secs: f64,
    pub reverse_secs: f64,
    /// Per threshold (ascending), the registration pass (empty when skipped).
    pub forward: Vec<(f32, Tally)>,
    /// Per threshold, the ingest (reverse) pass.
    pub reverse: Vec<(f32, Tally)>,
    /// Every reverse pair's score parts as TSV (query, candidate, grade, dense, lexical,
    /// charges, statutes, score), when asked for.
    pub dump: Option<String>,
}

impl PushQuality {
    /// Both passes as the Markdown tables `leian eval push` prints (`mode`: how the
    /// engine ranked, e.g. hybrid or BM25-only).
    pub fn markdown(&self, mode: &str) -> String {
        let d = PushOptions::default();
        let header = "| threshold | pushes per pending case | recall of grade-3 | precision (grade ≥ 2) |\n|---|---|---|---|";
        let rows = |pass: &[(f32, Tally)]| {
            pass.iter()
                .map(|(t, tally)| {
                    let label = if *t == d.threshold {
                        " (default for decided cases)"
                    } else if *t == d.authority_threshold {
                        " (default for guiding/typical)"
                    } else {
                        ""
                    };
                    format!(
                        "| {t:.2}{label} | {:.1} | {:.3} | {:.3} |\n",
                        tally.per_query(self.queries),
                        tally.recall(self.grade3_total),
                        tally.precision(),
                    )
                })
                .collect::<String>()
        };
        format!(
            "push quality on LeCaRD dev: {} queries as pending cases, {} candidates as decided cases, {} grade-3 labels; {mode}\n\
             \nregister (forward: top {} engine hits scored, at most {} similar cases pushed per pending case; {:.1} s)\n\n\
             {header}\n{}\
             \ningest (reverse: each candidate matched against the open pending cases as a new guiding case would be, no cap; {:.1} s)\n\n\
             {header}\n{}",
            self.queries,
            self.candidates,
            self.grade3_total,
            d.candidate_depth,
            d.max_similar,
            self.forward_secs,
            rows(&self.forward),
            self.reverse_secs,
            rows(&self.reverse),
        )
    }
}

impl ReverseBench {
    /// The row of `leian bench --push`'s table.
    pub fn row(&self) -> String {
        format!(
            "| reverse match one new guiding case against {} pending cases | {} new cases × 3 | median {:.2} ms, p99 {:.2} ms; median {:.0} pending cases reached (threshold {}); index built in {:.2} s |",
            self.pending_cases,
            self.new_cases,
            self.median_ms,
            self.p99_ms,
            self.median_reached,
            self.threshold,
            self.build_secs
        )
    }
}

/// The pending case a LeCaRD query makes.
fn pending_of(q: &LecardQuery) -> PendingCase {
    PendingCase {
        id: q.id.clone(),
        court: String::new(),
        key_id: 0,
        judge: String::new(),
        title: String::new(),
        facts: q.fact.trim().to_string(),
        charges: q.charges.clone(),
        statutes: Vec::new(),
        category: None,
        status: PendingStatus::Open,
        created_at: String::new(),
        updated_at: String::new(),
    }
}

/// Measures push on `engine` (holding the LeCaRD candidates) with the queries of
/// `queries_path`; the default thresholds are always among `thresholds`.
pub fn push_quality(
    engine: &Engine,
    queries_path: &Path,
    qrels: &Qrels,
    thresholds: &[f32],
    forward_pass: bool,
    dump: bool,
) -> Result<PushQuality> {
    let queries = read_queries(queries_path)?;
    let defaults = PushOptions::default();
    let scratch = std::env::temp_dir().join(format!(
        "leian-push-eval-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    std::fs::create_dir_all(&scratch).map_err(|source| HarnessError::Io {
        path: scratch.clone(),
        source,
    })?;
    let out = measure(
        engine,
        &queries,
        qrels,
        thresholds,
        forward_pass,
        dump,
        &scratch,
        &defaults,
    );
    let _ = std::fs::remove_dir_all(&scratch);
    out
}

#[allow(clippy::too_many_arguments)]
fn measure(
    engine: &Engine,
    queries: &[LecardQuery],
    qrels: &Qrels,
    thresholds: &[f32],
    forward_pass: bool,
    want_dump: bool,
    scratch: &Path,
    defaults: &PushOptions,
) -> Result<PushQuality> {
    // every candidate the forward search scores, whatever its score: thresholds and the
    // cap are applied below
    let service = PushService::open(
        &scratch.join("push.sqlite"),
        PushOptions {
            threshold: f32::MIN,
            authority_threshold: f32::MIN,
            max_similar: defaults.candidate_depth,
            max_authority: defaults.candidate_depth,
            ..*defaults
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
    // forward: register each query as a judge's registration does
    let mut forward: Vec<(String, Vec<(String, f32)>)> = Vec::new();
    let mut reverse_index = PendingIndex::default();
    for q in labelled.iter().copied() {
        let pending = pending_of(q);
        let (features, vector) = PushService::matching_features(engine, &pending)?;
        if forward_pass {
            let found = service.forward_matches(
                engine,
                &features,
                &pending.query_text(),
                vector.as_deref(),
            )?;
            forward.push((
                q.id.clone(),
                found
                    .iter()
                    .map(|m| (m.case.id.to_string(), m.parts.score))
                    .collect(),
            ));
        }
        reverse_index.upsert(&q.id, features);
    }
    let forward_secs = started.elapsed().as_secs_f64();
    // reverse: every candidate as if newly ingested, matched against the pending cases
    let started = Instant::now();
    let mut reverse: HashMap<String, Vec<(String, f32)>> = HashMap::new();
    let weights = ScoreWeights::default();
    let mut candidates = 0;
    let mut dump = String::new();
    for id in engine
        .index()
        .all_ids()?
        .iter()
        .filter(|i| i.as_str().starts_with("lecard:"))
    {
        let Some(case) = engine.get(id)? else {
            continue;
        };
        candidates += 1;
        let vectors = engine.passage_vectors(&case)?.unwrap_or_default();
        for m in reverse_index.matches(&Features::of_case(&case, vectors), &weights, f32::MIN) {
            if want_dump {
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
    if candidates == 0 {
        return Err(HarnessError::MissingData(
            "the index holds no LeCaRD candidates: ingest lecard/candidates.jsonl first".into(),
        ));
    }
    let mut thresholds = thresholds.to_vec();
    for d in [defaults.threshold, defaults.authority_threshold] {
        if !thresholds.iter().any(|t| (t - d).abs() < 1e-6) {
            thresholds.push(d);
        }
    }
    thresholds.sort_by(f32::total_cmp);
    let tally = |pairs: &mut dyn Iterator<Item = (&String, &String)>| {
        let mut t = Tally::default();
        for (qid, cid) in pairs {
            let g = grade(qid, cid);
            t.pushes += 1;
            t.relevant += usize::from(g >= 2);
            t.grade3_pushed += usize::from(g == 3);
        }
        t
    };
    let forward_rows = if forward_pass {
        thresholds
            .iter()
            .map(|&t| {
                let mut pairs = forward.iter().flat_map(|(qid, found)| {
                    found
                        .iter()
                        .filter(move |(_, s)| *s >= t)
                        .take(defaults.max_similar)
                        .map(move |(cid, _)| (qid, cid))
                });
                (t, tally(&mut pairs))
            })
            .collect()
    } else {
        Vec::new()
    };
    let reverse_rows = thresholds
        .iter()
        .map(|&t| {
            let mut pairs = reverse.iter().flat_map(|(qid, found)| {
                found
                    .iter()
                    .filter(move |(_, s)| *s >= t)
                    .map(move |(cid, _)| (qid, cid))
            });
            (t, tally(&mut pairs))
        })
        .collect();
    Ok(PushQuality {
        queries: labelled.len(),
        candidates,
        grade3_total,
        forward_secs,
        reverse_secs,
        forward: forward_rows,
        reverse: reverse_rows,
        dump: want_dump.then_some(dump),
    })
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

/// One row of the reverse-matching benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct ReverseBench {
    pub pending_cases: usize,
    pub new_cases: usize,
    pub median_ms: f64,
    pub p99_ms: f64,
    pub median_reached: f64,
    pub threshold: f32,
    pub build_secs: f64,
}

/// Reverse matching of new guiding cases (the LeCaRD dev query facts of `data`, with
/// synthetic 384-d chunk vectors) against N synthetic pending cases for each N of
/// `counts`: LeCaRD candidate facts, each cut and joined with a sentence of another,
/// with its charges and a synthetic query vector; one in ten is built from a candidate
/// labelled relevant to a new case, with a vector near that case's, so that matches
/// happen as they would.
pub fn reverse_bench(data: &Path, counts: &[usize]) -> Result<Vec<ReverseBench>> {
    let candidates = data.join("lecard/candidates.jsonl");
    let qrels = Qrels::read(&data.join("lecard/qrels.dev.tsv"))?;
    let mut pool: Vec<(String, Vec<String>)> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let text = std::fs::read_to_string(&candidates).map_err(|source| HarnessError::Io {
        path: candidates.clone(),
        source,
    })?;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| HarnessError::BadRecord {
                path: candidates.clone(),
                line: i + 1,
                message: e.to_string(),
            })?;
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
        return Err(HarnessError::MissingData(format!(
            "no candidates in {}",
            candidates.display()
        )));
    }
    let queries = read_queries(&data.join("lecard/queries.dev.jsonl"))?;
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
        let build_secs = started.elapsed().as_secs_f64();
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
        rows.push(ReverseBench {
            pending_cases: n,
            new_cases: new_cases.len(),
            median_ms: median(&ms),
            p99_ms: percentile(&ms, 0.99),
            median_reached: median(&matched),
            threshold,
            build_secs,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_reads_as_rates() {
        let t = Tally {
            pushes: 10,
            relevant: 4,
            grade3_pushed: 2,
        };
        assert_eq!(t.per_query(5), 2.0);
        assert_eq!(t.recall(8), 0.25);
        assert_eq!(t.precision(), 0.4);
        assert_eq!(Tally::default().precision(), 0.0);
    }

    #[test]
    fn synthetic_vectors_are_unit_and_seeded() {
        let a = synthetic_vector(3, 384);
        assert_eq!(a, synthetic_vector(3, 384));
        assert_ne!(a, synthetic_vector(4, 384));
        let n: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 1e-4);
    }
}
