//! leian-eval owns retrieval metrics and the LeCaRD evaluation protocols: reading graded
//! relevance labels (qrels) and TREC run files, and computing NDCG@k (linear gain), P@k,
//! MAP and Recall@k. It knows nothing of how rankings are produced.
//!
//! Protocols (see the shared data README):
//! - [`Protocol::Paper`]: each query's ranking is restricted to its labelled candidates, in
//!   run order; labelled candidates missing from the run count as absent. NDCG gain is the
//!   grade (0–3), the ideal ranking is the query's labels sorted; P@k and MAP count grade 3
//!   as relevant.
//! - [`Protocol::Corpus`]: the ranking is over the whole corpus; unlabelled documents have
//!   grade 0. Recall@100 counts grade ≥ 1 as relevant.

pub mod cv;

use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Errors reading evaluation inputs.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

pub type Result<T> = std::result::Result<T, EvalError>;

/// Graded relevance labels: query id → (document id → grade).
#[derive(Debug, Clone, Default)]
pub struct Qrels {
    pub by_query: HashMap<String, HashMap<String, u8>>,
}

impl Qrels {
    /// Parses TREC qrels lines `query_id 0 doc_id grade` (whitespace separated).
    pub fn parse(text: &str, path: &Path) -> Result<Qrels> {
        let mut by_query: HashMap<String, HashMap<String, u8>> = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split_whitespace().collect();
            let parse_err = |message: String| EvalError::Parse {
                path: path.to_path_buf(),
                line: i + 1,
                message,
            };
            if cols.len() != 4 {
                return Err(parse_err(format!(
                    "want 4 columns `query 0 doc grade`, got {}",
                    cols.len()
                )));
            }
            let grade: u8 = cols[3]
                .parse()
                .map_err(|_| parse_err(format!("grade {:?} is not a small integer", cols[3])))?;
            by_query
                .entry(cols[0].to_string())
                .or_default()
                .insert(cols[2].to_string(), grade);
        }
        Ok(Qrels { by_query })
    }

    pub fn read(path: &Path) -> Result<Qrels> {
        Qrels::parse(&read(path)?, path)
    }

    pub fn grade(&self, query: &str, doc: &str) -> u8 {
        self.by_query
            .get(query)
            .and_then(|m| m.get(doc))
            .copied()
            .unwrap_or(0)
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A ranking per query: query id → document ids, best first.
pub type Run = HashMap<String, Vec<String>>;

/// Parses a TREC run (`qid Q0 doc rank score tag`), ordering each query's documents by rank.
pub fn parse_trec_run(text: &str, path: &Path) -> Result<Run> {
    let mut rows: HashMap<String, Vec<(u32, String)>> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 4 {
            return Err(EvalError::Parse {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!(
                    "want `qid Q0 doc rank score tag`, got {} columns",
                    cols.len()
                ),
            });
        }
        let rank: u32 = cols[3].parse().map_err(|_| EvalError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            message: format!("rank {:?} is not an integer", cols[3]),
        })?;
        rows.entry(cols[0].to_string())
            .or_default()
            .push((rank, cols[2].to_string()));
    }
    Ok(rows
        .into_iter()
        .map(|(q, mut docs)| {
            docs.sort_by_key(|(rank, _)| *rank);
            (q, docs.into_iter().map(|(_, d)| d).collect())
        })
        .collect())
}

pub fn read_trec_run(path: &Path) -> Result<Run> {
    parse_trec_run(&read(path)?, path)
}

/// Which LeCaRD protocol to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Paper,
    Corpus,
}

impl std::str::FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "paper" => Ok(Protocol::Paper),
            "corpus" => Ok(Protocol::Corpus),
            other => Err(format!("unknown protocol {other:?}: want paper or corpus")),
        }
    }
}

/// Mean metrics over the evaluated queries.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Metrics {
    #[serde(rename = "ndcg@10")]
    pub ndcg10: f64,
    #[serde(rename = "ndcg@20")]
    pub ndcg20: f64,
    #[serde(rename = "ndcg@30")]
    pub ndcg30: f64,
    #[serde(rename = "p@5")]
    pub p5: f64,
    #[serde(rename = "p@10")]
    pub p10: f64,
    pub map: f64,
    #[serde(rename = "recall@100")]
    pub recall100: f64,
    /// Number of queries averaged over.
    pub queries: usize,
}

/// Grade at or above which a document counts as relevant for P@k and MAP.
pub const RELEVANT_GRADE: u8 = 3;

/// DCG@k with linear gain: Σ grade_i / log2(i + 1), i from 1.
pub fn dcg(grades: &[u8], k: usize) -> f64 {
    grades
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &g)| f64::from(g) / ((i + 2) as f64).log2())
        .sum()
}

/// NDCG@k of `ranked` grades against the ideal ordering of `labels`; 0 when the ideal is 0.
pub fn ndcg(ranked: &[u8], labels: &[u8], k: usize) -> f64 {
    let mut ideal = labels.to_vec();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg = dcg(&ideal, k);
    if idcg == 0.0 {
        0.0
    } else {
        dcg(ranked, k) / idcg
    }
}

/// Share of the first k ranked documents that are relevant (denominator k).
pub fn precision_at(ranked: &[u8], k: usize, relevant: u8) -> f64 {
    ranked.iter().take(k).filter(|&&g| g >= relevant).count() as f64 / k as f64
}

/// Average precision: mean of precision at each relevant rank, over all relevant labels.
pub fn average_precision(ranked: &[u8], total_relevant: usize, relevant: u8) -> f64 {
    if total_relevant == 0 {
        return 0.0;
    }
    let mut hits = 0usize;
    let mut sum = 0.0;
    for (i, &g) in ranked.iter().enumerate() {
        if g >= relevant {
            hits += 1;
            sum += hits as f64 / (i + 1) as f64;
        }
    }
    sum / total_relevant as f64
}

/// Evaluates a run against qrels under a protocol. Queries without labels are ignored;
/// labelled queries missing from the run score 0.
pub fn evaluate(qrels: &Qrels, run: &Run, protocol: Protocol) -> Metrics {
    let per_query: Vec<Metrics> = evaluate_per_query(qrels, run, protocol)
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    mean_metrics(&per_query)
}

/// The metrics of each labelled query (sorted by query id; `queries` is 1 in each): what
/// cross-validation and per-query comparisons need.
pub fn evaluate_per_query(qrels: &Qrels, run: &Run, protocol: Protocol) -> Vec<(String, Metrics)> {
    let mut queries: Vec<&String> = qrels.by_query.keys().collect();
    queries.sort();
    let empty = Vec::new();
    let mut out = Vec::with_capacity(queries.len());
    for q in queries {
        let labels = &qrels.by_query[q];
        let docs = run.get(q).unwrap_or(&empty);
        let mut seen = HashSet::new();
        let ranked: Vec<u8> = docs
            .iter()
            .filter(|d| seen.insert(d.as_str()))
            .filter(|d| protocol == Protocol::Corpus || labels.contains_key(d.as_str()))
            .map(|d| labels.get(d.as_str()).copied().unwrap_or(0))
            .collect();
        let label_grades: Vec<u8> = labels.values().copied().collect();
        let total_rel = label_grades
            .iter()
            .filter(|&&g| g >= RELEVANT_GRADE)
            .count();
        let any_rel = label_grades.iter().filter(|&&g| g >= 1).count();
        let recall100 = if any_rel > 0 {
            ranked.iter().take(100).filter(|&&g| g >= 1).count() as f64 / any_rel as f64
        } else {
            0.0
        };
        out.push((
            q.clone(),
            Metrics {
                ndcg10: ndcg(&ranked, &label_grades, 10),
                ndcg20: ndcg(&ranked, &label_grades, 20),
                ndcg30: ndcg(&ranked, &label_grades, 30),
                p5: precision_at(&ranked, 5, RELEVANT_GRADE),
                p10: precision_at(&ranked, 10, RELEVANT_GRADE),
                map: average_precision(&ranked, total_rel, RELEVANT_GRADE),
                recall100,
                queries: 1,
            },
        ));
    }
    out
}

/// The mean of per-query metrics (`queries` = how many were averaged).
pub fn mean_metrics(per_query: &[Metrics]) -> Metrics {
    let mut m = Metrics::default();
    for q in per_query {
        m.ndcg10 += q.ndcg10;
        m.ndcg20 += q.ndcg20;
        m.ndcg30 += q.ndcg30;
        m.p5 += q.p5;
        m.p10 += q.p10;
        m.map += q.map;
        m.recall100 += q.recall100;
    }
    let n = per_query.len().max(1) as f64;
    for v in [
        &mut m.ndcg10,
        &mut m.ndcg20,
        &mut m.ndcg30,
        &mut m.p5,
        &mut m.p10,
        &mut m.map,
        &mut m.recall100,
    ] {
        *v /= n;
    }
    m.queries = per_query.len();
    m
}

/// Accuracy of choosing the more similar of B and C: `choices[i]` is the model's pick,
/// `answers[i]` the label. Empty input gives 0.
pub fn accuracy<T: PartialEq>(choices: &[T], answers: &[T]) -> f64 {
    if answers.is_empty() {
        return 0.0;
    }
    let right = choices.iter().zip(answers).filter(|(c, a)| c == a).count();
    right as f64 / answers.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-4
    }

    #[test]
    fn ndcg_hand_computed() {
        // ranked grades 3,0,2 ; labels {3,2,0}: ideal 3,2,0
        // dcg = 3/1 + 0/log2(3) + 2/2 = 4 ; idcg = 3 + 2/log2(3) = 3 + 1.26186 = 4.26186
        let v = ndcg(&[3, 0, 2], &[3, 2, 0], 3);
        assert!(close(v, 4.0 / (3.0 + 2.0 / 3f64.log2())), "{v}");
        assert!(close(ndcg(&[3, 2, 0], &[0, 2, 3], 3), 1.0));
        assert_eq!(ndcg(&[0, 0], &[0, 0], 2), 0.0);
    }

    #[test]
    fn precision_and_ap_hand_computed() {
        // relevant = grade 3 at ranks 1 and 3, 3 relevant in all
        let ranked = [3, 1, 3, 0, 2];
        assert!(close(precision_at(&ranked, 5, 3), 0.4));
        assert!(close(precision_at(&ranked, 10, 3), 0.2));
        // AP = (1/1 + 2/3) / 3
        assert!(close(
            average_precision(&ranked, 3, 3),
            (1.0 + 2.0 / 3.0) / 3.0
        ));
    }

    #[test]
    fn paper_protocol_ignores_unlabelled_and_corpus_counts_them() {
        let qrels = Qrels::parse("q 0 a 3\nq 0 b 1\n", Path::new("x")).unwrap();
        let mut run = Run::new();
        run.insert("q".into(), vec!["z".into(), "b".into(), "a".into()]);
        let paper = evaluate(&qrels, &run, Protocol::Paper);
        let corpus = evaluate(&qrels, &run, Protocol::Corpus);
        // paper ranking b,a: dcg = 1 + 3/log2 3 ; ideal 3 + 1/log2 3
        let l3 = 3f64.log2();
        assert!(close(paper.ndcg10, (1.0 + 3.0 / l3) / (3.0 + 1.0 / l3)));
        // corpus ranking z,b,a: dcg = 0 + 1/log2 3 + 3/2
        assert!(close(corpus.ndcg10, (1.0 / l3 + 1.5) / (3.0 + 1.0 / l3)));
        assert!(close(corpus.recall100, 1.0));
        assert!(close(paper.map, 0.5));
        assert_eq!(paper.queries, 1);
    }

    #[test]
    fn bad_qrels_line_names_line() {
        let e = Qrels::parse("q 0 a 3\nq 0 b x\n", Path::new("f.tsv")).unwrap_err();
        assert_eq!(e.to_string(), "f.tsv:2: grade \"x\" is not a small integer");
    }

    #[test]
    fn run_sorted_by_rank_not_file_order() {
        let run = parse_trec_run("q Q0 b 2 1.0 t\nq Q0 a 1 2.0 t\n", Path::new("r")).unwrap();
        assert_eq!(run["q"], vec!["a".to_string(), "b".to_string()]);
    }

    /// The published LeCaRD BM25 and LMIR runs must reproduce the paper-protocol figures
    /// recorded beside them (checks this evaluator against the paper's).
    #[test]
    fn reproduces_published_lecard_dev_metrics() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/lecard");
        if !dir.exists() {
            eprintln!("skipping: {} not present", dir.display());
            return;
        }
        let qrels = Qrels::read(&dir.join("qrels.dev.tsv")).unwrap();
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("published_runs/expected_dev_metrics.json")).unwrap(),
        )
        .unwrap();
        for (name, file) in [("bm25", "bm25.dev.run"), ("lm", "lm.dev.run")] {
            let run = read_trec_run(&dir.join("published_runs").join(file)).unwrap();
            let m = evaluate(&qrels, &run, Protocol::Paper);
            let want = &expected["metrics"][name];
            for (key, got) in [
                ("ndcg@10", m.ndcg10),
                ("ndcg@20", m.ndcg20),
                ("ndcg@30", m.ndcg30),
                ("p@5", m.p5),
                ("p@10", m.p10),
                ("map", m.map),
            ] {
                let w = want[key].as_f64().unwrap();
                assert!(
                    (got - w).abs() < 6e-4,
                    "{name} {key}: got {got:.4}, want {w}"
                );
            }
        }
    }
}
