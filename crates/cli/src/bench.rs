//! `leian bench`: ingest throughput and search latency on the shared real data.
//!
//! Numbers are medians over repeated runs and p99 over queries; the machine is noisy,
//! so compare ratios measured in one run rather than absolute figures across runs.

use anyhow::{bail, Context, Result};
use clap::Args;
use leian_engine::{Engine, EngineOptions, Query, SearchMode};
use leian_harness::timing::{median, percentile};
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
    /// An index holding the LeCaRD candidates ingested WITH the model (e.g. `index/lecard`):
    /// adds embedding throughput and per-mode query latency.
    #[arg(long)]
    hybrid_index: Option<PathBuf>,
    #[command(flatten)]
    model: crate::model::ModelArgs,
    /// Only measure push matching: one new guiding case against 1,000 and 10,000
    /// synthetic pending cases (no model needed).
    #[arg(long)]
    push: bool,
}

pub(crate) fn run(args: BenchArgs) -> Result<()> {
    if args.push {
        let mut out = vec![
            "| what | size | result |".to_string(),
            "|---|---|---|".to_string(),
        ];
        out.extend(crate::push::bench_rows(
            &args.data,
            &[1_000, 10_000, 20_000],
        )?);
        let table = out.join("\n");
        println!("{table}");
        if let Some(p) = &args.out {
            std::fs::write(p, format!("{table}\n"))
                .with_context(|| format!("writing {}", p.display()))?;
        }
        return Ok(());
    }
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
                ..EngineOptions::default()
            })?;
            let s = crate::ingest::ingest_paths(
                &engine,
                std::slice::from_ref(path),
                format,
                true,
                None,
                &[],
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
    if let Some(dir) = &args.hybrid_index {
        rows.extend(dense_rows(&args, dir, &queries)?);
    }
    if let Some(kib) = peak_memory_kib() {
        rows.push(format!(
            "| peak resident memory of this bench process | | {:.0} MiB |",
            kib as f64 / 1024.0
        ));
    }
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

/// Embedding throughput and per-mode latency against an index built with the model.
fn dense_rows(args: &BenchArgs, dir: &std::path::Path, queries: &[String]) -> Result<Vec<String>> {
    let mut rows = Vec::new();
    let engine = crate::search::open_existing(dir, &args.model)?;
    if !engine.has_dense() {
        bail!(
            "{} has no usable vectors/model: {}",
            dir.display(),
            engine.dense_off_reason().unwrap_or_else(|| "?".into())
        );
    }
    let model_dir = args
        .model
        .model
        .clone()
        .unwrap_or_else(crate::model::default_model_dir);
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
    // both precisions in the same run, so their ratio is measured on one machine state
    let mut speeds: Vec<(leian_embed::Precision, f64, f64)> = Vec::new();
    for precision in [leian_embed::Precision::F32, leian_embed::Precision::Int8] {
        let embedder = leian_embed::Embedder::load_with(
            &model_dir,
            leian_embed::EmbedderOptions {
                precision,
                ..leian_embed::EmbedderOptions::default()
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
        speeds.push((precision, short_ms, chunks_per_s));
    }
    if let [(_, f32_ms, f32_cps), (_, i8_ms, i8_cps)] = speeds[..] {
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
            engine.index().num_cases(),
            median(&per_query),
            percentile(&per_query, 0.99)
        ));
    }
    rows.push(format!(
        "| on-disk size of {} (tantivy + vectors + embedding cache) | {} cases | {:.1} MiB |",
        dir.display(),
        engine.index().num_cases(),
        dir_size(dir) as f64 / (1024.0 * 1024.0)
    ));
    Ok(rows)
}

fn dir_size(dir: &std::path::Path) -> u64 {
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
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
