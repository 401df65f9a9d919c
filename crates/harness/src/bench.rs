//! `leian bench`: ingest throughput and search latency on the shared real data, as rows of
//! a Markdown table (`| what | size | result |`).
//!
//! Numbers are medians over repeated runs and p99 over queries; the machine is noisy, so
//! compare ratios measured in one run rather than absolute figures across runs.

use crate::error::{HarnessError, Result};
use crate::timing::{median, percentile};
use leian_embed::{Embedder, EmbedderOptions, Precision};
use leian_engine::{Engine, EngineOptions, LoadOptions, Query, SearchMode};
use leian_index::{CaseIndex, SearchRequest};
use leian_ingest::Format;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The shared data files the bench reads.
struct BenchData {
    candidates: PathBuf,
    judgments: PathBuf,
    queries: PathBuf,
}

impl BenchData {
    fn under(data: &Path) -> Result<BenchData> {
        let d = BenchData {
            candidates: data.join("lecard/candidates.jsonl"),
            judgments: data.join("judgments/lecardv2_judgments.jsonl"),
            queries: data.join("lecard/queries.dev.jsonl"),
        };
        for p in [&d.candidates, &d.judgments, &d.queries] {
            if !p.exists() {
                return Err(HarnessError::MissingData(format!(
                    "{} not found: pass --data DIR with the shared data",
                    p.display()
                )));
            }
        }
        Ok(d)
    }
}

/// The `fact` of every line of a LeCaRD query file.
pub fn query_facts(path: &Path) -> Result<Vec<String>> {
    Ok(crate::lecard::read_queries(path)?
        .into_iter()
        .map(|q| q.fact)
        .collect())
}

/// Ingest throughput (LeCaRD candidates, full-text judgments; no model) and BM25 latency
/// over the candidates, `repeat` times each (the median is reported).
pub fn ingest_and_bm25_rows(data: &Path, repeat: usize) -> Result<Vec<String>> {
    let d = BenchData::under(data)?;
    let repeat = repeat.max(1);
    let mut rows = Vec::new();
    let mut keep = None;
    for (label, path, format) in [
        (
            "LeCaRD candidates (2,611 fact summaries)",
            &d.candidates,
            Format::Lecard,
        ),
        (
            "full-text judgments (320, with extraction)",
            &d.judgments,
            Format::Lecardv2,
        ),
    ] {
        let mut rates = Vec::new();
        let mut count = 0;
        for _ in 0..repeat {
            let dir = tempfile::tempdir().map_err(|source| HarnessError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
            let engine = Engine::open(&EngineOptions {
                index_dir: dir.path().to_path_buf(),
                ..EngineOptions::default()
            })?;
            let s = engine.load(
                std::slice::from_ref(path),
                &LoadOptions {
                    format,
                    ..LoadOptions::default()
                },
                &mut (),
            )?;
            count = s.cases;
            rates.push(s.cases as f64 / s.seconds);
            if format == Format::Lecard {
                keep = Some((dir, engine));
            }
        }
        rows.push(format!(
            "| ingest {label} | {count} cases | {:.0} cases/s (median of {}) |",
            median(&rates),
            rates.len()
        ));
    }
    let Some((_dir, engine)) = keep else {
        return Err(HarnessError::Bench("no index was built".into()));
    };
    let queries = query_facts(&d.queries)?;
    let per_query = bm25_latencies(&engine.index(), &queries, repeat)?;
    rows.push(format!(
        "| BM25 search, {} LeCaRD dev queries, top 10 with snippets | over 2,611 cases | median {:.2} ms, p99 {:.2} ms |",
        queries.len(),
        median(&per_query),
        percentile(&per_query, 0.99)
    ));
    Ok(rows)
}

/// Each query's median latency (ms) of a full-text search, top 10 with snippets, after
/// one warm-up.
fn bm25_latencies(index: &CaseIndex, queries: &[String], repeat: usize) -> Result<Vec<f64>> {
    let mut per_query = Vec::with_capacity(queries.len());
    for q in queries {
        let req = SearchRequest {
            text: q.clone(),
            top_k: 10,
            snippets: true,
            ..SearchRequest::default()
        };
        index.search(&req)?;
        let mut times = Vec::new();
        for _ in 0..repeat.max(1) {
            let t = Instant::now();
            index.search(&req)?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        per_query.push(median(&times));
    }
    Ok(per_query)
}

/// Embedding throughput in both precisions (same run, so their ratio is measured on one
/// machine state) and per-mode search latency, against `engine` (opened with vectors on
/// the index at `dir`) and the model at `model_dir`.
pub fn dense_rows(
    engine: &Engine,
    dir: &Path,
    model_dir: &Path,
    queries: &[String],
) -> Result<Vec<String>> {
    if !engine.has_dense() {
        return Err(HarnessError::Bench(format!(
            "{} has no usable vectors/model: {}",
            dir.display(),
            engine.dense_off_reason().unwrap_or_else(|| "?".into())
        )));
    }
    let mut rows = Vec::new();
    // short sentences (the first 20 characters of each query) and long chunks (two queries
    // joined and cut at 480 characters, ~ the 512-token limit)
    let short: Vec<String> = queries
        .iter()
        .take(32)
        .map(|q| q.chars().take(20).collect())
        .collect();
    let long: Vec<String> = queries
        .chunks(2)
        .take(8)
        .map(|p| p.concat().chars().take(480).collect())
        .collect();
    let mut speeds: Vec<(f64, f64)> = Vec::new();
    for precision in [Precision::F32, Precision::Int8] {
        let embedder = Embedder::load_with(
            model_dir,
            EmbedderOptions {
                precision,
                ..EmbedderOptions::default()
            },
        )?;
        let p = precision.as_str();
        let mut per = Vec::new();
        for s in &short {
            let t = Instant::now();
            embedder.embed_queries(&[s.as_str()])?;
            per.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let short_ms = median(&per);
        rows.push(format!(
            "| embed ({p}) one short sentence (20 chars), one at a time | {} sentences | median {short_ms:.1} ms |",
            short.len()
        ));
        let refs: Vec<&str> = short.iter().map(String::as_str).collect();
        let t = Instant::now();
        embedder.embed_passages(&refs)?;
        rows.push(format!(
            "| embed ({p}) short sentences in batches of 16 | {} sentences | {:.1} sentences/s |",
            refs.len(),
            refs.len() as f64 / t.elapsed().as_secs_f64()
        ));
        let mut per = Vec::new();
        for c in long.iter().take(4) {
            let t = Instant::now();
            embedder.embed_passages(&[c.as_str()])?;
            per.push(t.elapsed().as_secs_f64());
        }
        rows.push(format!(
            "| embed ({p}) one 480-char chunk (up to 512 tokens), one at a time | 4 chunks | median {:.2} s |",
            median(&per)
        ));
        let refs: Vec<&str> = long.iter().map(String::as_str).collect();
        let t = Instant::now();
        embedder.embed_passages(&refs)?;
        let chunks_per_s = refs.len() as f64 / t.elapsed().as_secs_f64();
        rows.push(format!(
            "| embed ({p}) 480-char chunks in one batch | {} chunks | {chunks_per_s:.2} chunks/s |",
            refs.len()
        ));
        speeds.push((short_ms, chunks_per_s));
    }
    if let [(f32_ms, f32_cps), (i8_ms, i8_cps)] = speeds[..] {
        rows.push(format!(
            "| int8 / f32 speed-up, same run | short sentence, 480-char chunks | {:.2}×, {:.2}× |",
            f32_ms / i8_ms,
            i8_cps / f32_cps
        ));
    }
    for mode in [SearchMode::Bm25, SearchMode::Dense, SearchMode::Hybrid] {
        let mut per_query = Vec::new();
        for q in queries {
            let query = Query {
                mode,
                ..Query::new(q.clone(), 10)
            };
            engine.search(&query)?;
            let t = Instant::now();
            engine.search(&query)?;
            per_query.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        rows.push(format!(
            "| {} search incl. query embedding, {} dev queries, top 10 + snippets | {} cases | median {:.1} ms, p99 {:.1} ms |",
            mode.as_str(),
            queries.len(),
            engine.num_cases(),
            median(&per_query),
            percentile(&per_query, 0.99)
        ));
    }
    rows.push(format!(
        "| on-disk size of {} (tantivy + vectors + embedding cache) | {} cases | {:.1} MiB |",
        dir.display(),
        engine.num_cases(),
        dir_size(dir) as f64 / (1024.0 * 1024.0)
    ));
    Ok(rows)
}

/// The row of this process's peak resident memory (Linux only).
pub fn peak_memory_row() -> Option<String> {
    peak_memory_kib().map(|kib| {
        format!(
            "| peak resident memory of this bench process | | {:.0} MiB |",
            kib as f64 / 1024.0
        )
    })
}

/// Rows as a Markdown table.
pub fn table(rows: &[String]) -> String {
    format!(
        "| what | size | result |\n|---|---|---|\n{}\n",
        rows.join("\n")
    )
}

/// Bytes under `dir`, recursively.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

/// Peak resident set size (VmHWM) of this process, Linux only.
pub fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_size_counts_every_file_below() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a"), [0u8; 100]).expect("write");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("sub/b"), [0u8; 23]).expect("write");
        assert_eq!(dir_size(dir.path()), 123);
        assert_eq!(dir_size(&dir.path().join("absent")), 0);
    }

    #[test]
    fn the_bench_names_the_data_it_misses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = ingest_and_bm25_rows(dir.path(), 1).expect_err("no data");
        assert!(err.to_string().contains("lecard/candidates.jsonl"), "{err}");
    }

    #[test]
    fn bm25_latencies_time_every_query() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(&EngineOptions {
            index_dir: dir.path().join("index"),
            ..EngineOptions::default()
        })
        .expect("engine");
        let input = dir.path().join("cases.jsonl");
        std::fs::write(
            &input,
            r#"{"id":"b:1","title":"b1","sections":{"facts":"被告人甲在超市窃取手机一部。"}}"#,
        )
        .expect("write");
        engine
            .load(&[input], &LoadOptions::default(), &mut ())
            .expect("load");
        let times = bm25_latencies(&engine.index(), &["窃取手机".into(), "醉酒".into()], 2)
            .expect("latencies");
        assert_eq!(times.len(), 2);
        assert!(times.iter().all(|t| *t >= 0.0 && t.is_finite()));
        assert!(peak_memory_kib().is_some_and(|k| k > 0));
    }
}
