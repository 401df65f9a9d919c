//! `leian bench`: ingest throughput and search latency on the shared real data.
//!
//! Numbers are medians over repeated runs and p99 over queries; the machine is noisy,
//! so compare ratios measured in one run rather than absolute figures across runs.

use anyhow::{bail, Context, Result};
use clap::Args;
use leian_engine::{Engine, EngineOptions};
use leian_index::{Filters, SearchRequest};
use leian_ingest::Format;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args)]
pub(crate) struct BenchArgs {
    /// The shared data dir (holds lecard/, judgments/ …).
    #[arg(long, default_value = "../shared/data")]
    data: PathBuf,
    /// How many times to repeat each measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Write the Markdown table here as well as to stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Median of a sample (0 for an empty one).
pub(crate) fn median(xs: &[f64]) -> f64 {
    percentile(xs, 0.5)
}

/// Nearest-rank percentile of a sample, `p` in 0..=1 (0 for an empty one).
pub(crate) fn percentile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

pub(crate) fn run(args: BenchArgs) -> Result<()> {
    let candidates = args.data.join("lecard/candidates.jsonl");
    let judgments = args.data.join("judgments/lecardv2_judgments.jsonl");
    let queries_path = args.data.join("lecard/queries.dev.jsonl");
    for p in [&candidates, &judgments, &queries_path] {
        if !p.exists() {
            bail!(
                "{} not found: pass --data DIR with the shared data",
                p.display()
            );
        }
    }
    let mut rows = Vec::new();
    let mut keep = None;
    for (label, path, format) in [
        (
            "LeCaRD candidates (2,611 fact summaries)",
            &candidates,
            Format::Lecard,
        ),
        (
            "full-text judgments (320, with extraction)",
            &judgments,
            Format::Lecardv2,
        ),
    ] {
        let mut rates = Vec::new();
        let mut count = 0;
        for _ in 0..args.repeat.max(1) {
            let dir = tempfile::tempdir().context("scratch dir")?;
            let engine = Engine::open(&EngineOptions {
                index_dir: dir.path().to_path_buf(),
                model_dir: None,
                cache_dir: None,
            })?;
            let s = crate::ingest::ingest_paths(&engine, std::slice::from_ref(path), format, true)?;
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
        bail!("no index was built");
    };
    let index = engine.index();
    let text = std::fs::read_to_string(&queries_path)?;
    let queries: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .map(|v| v["fact"].as_str().unwrap_or_default().to_string())
        })
        .collect::<std::result::Result<_, _>>()?;
    // warm up once, then time every query `repeat` times and keep each query's median
    let mut per_query = Vec::new();
    for q in &queries {
        let req = SearchRequest {
            text: q.clone(),
            filters: Filters::default(),
            top_k: 10,
            offset: 0,
            snippets: true,
        };
        index.search(&req)?;
        let mut times = Vec::new();
        for _ in 0..args.repeat.max(1) {
            let t = Instant::now();
            index.search(&req)?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        per_query.push(median(&times));
    }
    rows.push(format!(
        "| BM25 search, {} LeCaRD dev queries, top 10 with snippets | over 2,611 cases | median {:.2} ms, p99 {:.2} ms |",
        queries.len(),
        median(&per_query),
        percentile(&per_query, 0.99)
    ));
    let table = format!(
        "| what | size | result |\n|---|---|---|\n{}\n",
        rows.join("\n")
    );
    print!("{table}");
    if let Some(out) = &args.out {
        std::fs::write(out, &table).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let xs = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(median(&xs), 3.0);
        assert_eq!(percentile(&xs, 0.99), 5.0);
        assert_eq!(percentile(&xs, 0.2), 1.0);
        assert_eq!(median(&[]), 0.0);
    }
}
