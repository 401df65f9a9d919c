//! leian's half of the side-by-side benchmarks in `benches/peers.sh` (`leian
//! bench-peers`). Each function measures leian and writes a JSON result (merged into
//! Markdown by `benches/peers.py report`), and `bm25` also exports what the Python peers
//! need to run the very same work: the corpus cut by leian's own tokenizer (so SQLite
//! FTS5 and `rank_bm25` index the same tokens) and the query tokens leian searches.
//!
//! - [`bm25`]: query latency over an index built by `leian ingest` from `leian gen` output;
//! - [`hnsw`]: recall@10 vs queries per second of [`VectorStore`] over `.fvecs` vectors
//!   against exact ground truth (`.ivecs`), for a list of `ef_search` values;
//! - [`hybrid`]: end-to-end engine latency including the query embedding;
//! - [`shards`]: scatter-gather over shard indexes vs one index.
//!
//! Not run by CI: these are minutes-long and machine-dependent.

use crate::synthetic::Generator;
use crate::timing::{median, percentile};
use crate::{HarnessError, Result};
use leian_engine::{Engine, Query, SearchMode};
use leian_index::{CaseIndex, SearchRequest};
use leian_vector::{HnswParams, VectorStore};
use serde_json::json;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A benchmark that cannot run, in words.
macro_rules! bench_error {
    ($($t:tt)*) => { HarnessError::Bench(format!($($t)*)) };
}

/// An I/O error with the path it happened on.
fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> HarnessError + '_ {
    move |source| HarnessError::Io {
        path: path.to_path_buf(),
        source,
    }
}

// With the `cli` feature these are the command's arguments themselves (`leian
// bench-peers …`), so each benchmark's inputs are declared once.

/// `leian bench-peers bm25`.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct Bm25Peers {
    /// Index built with `leian ingest` from the `leian gen` file.
    #[cfg_attr(feature = "cli", arg(long))]
    pub index: PathBuf,
    /// The `leian gen` file the index was built from (exported tokenised for the peers).
    #[cfg_attr(feature = "cli", arg(long))]
    pub cases: Option<PathBuf>,
    /// How many queries: facts of generated cases that are not in the corpus.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 200))]
    pub queries: u64,
    /// Seed of the query cases (any; they are drawn from ids the corpus never uses).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 8))]
    pub seed: u64,
    /// Directory for corpus.tok, queries.jsonl and leian-bm25.json.
    #[cfg_attr(feature = "cli", arg(long))]
    pub out_dir: PathBuf,
}

/// `leian bench-peers hnsw`: HNSW recall@10 and queries/s over shared .fvecs files.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct HnswPeers {
    #[cfg_attr(feature = "cli", arg(long))]
    pub base: PathBuf,
    #[cfg_attr(feature = "cli", arg(long))]
    pub queries: PathBuf,
    /// Exact top-k neighbours of each query (row ids into `base`), `.ivecs`.
    #[cfg_attr(feature = "cli", arg(long))]
    pub gt: PathBuf,
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 16))]
    pub m: usize,
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 200))]
    pub ef_construction: usize,
    /// `ef_search` values to sweep, comma-separated.
    #[cfg_attr(feature = "cli", arg(long, default_value = "16,32,64,128,256,512"))]
    pub ef: String,
    /// Threads that build the graph (searches run one at a time on one thread).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1))]
    pub threads: usize,
    /// Passes over the queries per `ef`; the median rate is reported.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 3))]
    pub repeat: usize,
    /// Label of this configuration in the report.
    #[cfg_attr(feature = "cli", arg(long, default_value = "leian"))]
    pub label: String,
    #[cfg_attr(feature = "cli", arg(long))]
    pub out: PathBuf,
}

/// `leian bench-peers hybrid` (the engine is opened by the caller, with its model).
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct HybridPeers {
    /// An index with vectors (e.g. a copy of index/lecard).
    #[cfg_attr(feature = "cli", arg(long))]
    pub index: PathBuf,
    /// LeCaRD query file (`fact` per line).
    #[cfg_attr(
        feature = "cli",
        arg(long, default_value = "../shared/data/lecard/queries.dev.jsonl")
    )]
    pub queries: PathBuf,
    /// How many queries (each embedding costs ~0.1–0.5 s here).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 16))]
    pub n: usize,
    #[cfg_attr(feature = "cli", arg(long))]
    pub out: PathBuf,
}

/// `leian bench-peers shards`: scatter-gather over shard indexes vs one index.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct ShardsPeers {
    /// The index holding every case.
    #[cfg_attr(feature = "cli", arg(long))]
    pub whole: PathBuf,
    /// Indexes that together hold the same cases (each a disjoint part).
    #[cfg_attr(feature = "cli", arg(long, num_args = 1.., required = true))]
    pub shards: Vec<PathBuf>,
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 100))]
    pub queries: u64,
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 8))]
    pub seed: u64,
    #[cfg_attr(feature = "cli", arg(long))]
    pub out: PathBuf,
}

/// Query cases come from ids far beyond any corpus size, so they are never in the index.
const QUERY_ID_BASE: u64 = 1 << 40;

pub fn bm25(args: &Bm25Peers) -> Result<()> {
    std::fs::create_dir_all(&args.out_dir).map_err(io_at(&args.out_dir))?;
    let index = CaseIndex::open_or_create(&args.index)?;
    if index.num_cases() == 0 {
        return Err(bench_error!("{} holds no cases", args.index.display()));
    }
    let generator = Generator::new(args.seed, Default::default());
    let texts: Vec<String> = (0..args.queries)
        .map(|i| generator.case(QUERY_ID_BASE + i).sections.facts)
        .collect();
    // the peers get exactly the tokens leian searches (≤ max_query_terms, no stop words)
    let qpath = args.out_dir.join("queries.jsonl");
    let mut qfile = BufWriter::new(std::fs::File::create(&qpath).map_err(io_at(&qpath))?);
    let mut n_tokens = Vec::new();
    for t in &texts {
        let tokens = index.query_tokens(t)?;
        n_tokens.push(tokens.len() as f64);
        writeln!(qfile, "{}", json!({ "text": t, "tokens": tokens })).map_err(io_at(&qpath))?;
    }
    qfile.flush().map_err(io_at(&qpath))?;
    let mut results = serde_json::Map::new();
    for snippets in [false, true] {
        let reqs: Vec<SearchRequest> = texts
            .iter()
            .map(|t| SearchRequest {
                snippets,
                ..SearchRequest::text(t.clone(), 10)
            })
            .collect();
        for r in &reqs {
            index.search(r)?; // warm-up pass: first reads, page cache
        }
        let mut ms = Vec::new();
        let started = Instant::now();
        for r in &reqs {
            let t = Instant::now();
            let hits = index.search(r)?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            if hits.is_empty() {
                return Err(bench_error!("a query found nothing: {}", r.text));
            }
        }
        let key = if snippets { "snippets" } else { "plain" };
        results.insert(
            key.into(),
            json!({
                "p50_ms": median(&ms),
                "p99_ms": percentile(&ms, 0.99),
                "qps": reqs.len() as f64 / started.elapsed().as_secs_f64(),
            }),
        );
    }
    results.insert("queries".into(), json!(texts.len()));
    results.insert("median_query_tokens".into(), json!(median(&n_tokens)));
    results.insert("cases".into(), json!(index.num_cases()));
    results.insert("peak_rss_kib".into(), json!(peak_rss_kib()));
    if let Some(cases) = &args.cases {
        let started = Instant::now();
        let n = export_tokens(&index, cases, &args.out_dir.join("corpus.tok"))?;
        results.insert(
            "tokenise_cases_per_s".into(),
            json!(n as f64 / started.elapsed().as_secs_f64()),
        );
    }
    let out = args.out_dir.join("leian-bm25.json");
    std::fs::write(&out, serde_json::to_string_pretty(&results)?).map_err(io_at(&out))?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// One line per case, `id<TAB>tokens separated by spaces`, over title, facts, reasoning and
/// result: the text leian indexes for a generated case, cut by the index's tokenizer.
fn export_tokens(index: &CaseIndex, cases: &Path, out: &Path) -> Result<usize> {
    let file = std::fs::File::open(cases).map_err(io_at(cases))?;
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out).map_err(io_at(out))?);
    let tokenizer = index.tokenizer();
    let mut n = 0;
    for (i, line) in std::io::BufRead::lines(reader).enumerate() {
        let line = line.map_err(io_at(cases))?;
        if line.trim().is_empty() {
            continue;
        }
        let case: leian_ingest::Case =
            serde_json::from_str(&line).map_err(|e| HarnessError::BadRecord {
                path: cases.to_path_buf(),
                line: i + 1,
                message: format!("not a native case: {e}"),
            })?;
        w.write_all(case.id.as_str().as_bytes())
            .map_err(io_at(out))?;
        w.write_all(b"\t").map_err(io_at(out))?;
        let mut first = true;
        for text in [
            &case.title,
            &case.sections.facts,
            &case.sections.reasoning,
            &case.sections.result,
        ] {
            for t in tokenizer.tokens(text) {
                if !first {
                    w.write_all(b" ").map_err(io_at(out))?;
                }
                first = false;
                w.write_all(t.text.as_bytes()).map_err(io_at(out))?;
            }
        }
        w.write_all(b"\n").map_err(io_at(out))?;
        n += 1;
    }
    w.flush().map_err(io_at(out))?;
    Ok(n)
}

pub fn hnsw(args: &HnswPeers) -> Result<()> {
    let (dim, base) = read_fvecs(&args.base)?;
    let (qdim, queries) = read_fvecs(&args.queries)?;
    let gt = read_ivecs(&args.gt)?;
    if dim != qdim || queries.len() / qdim != gt.len() {
        return Err(bench_error!(
            "base/queries/gt do not match: dims {dim}/{qdim}, {} gt rows",
            gt.len()
        ));
    }
    let efs: Vec<usize> = args
        .ef
        .split(',')
        .map(|s| s.trim().parse().map_err(|_| bench_error!("bad ef {s:?}")))
        .collect::<Result<_>>()?;
    let rss_before = rss_kib();
    let mut store = VectorStore::create(
        dim,
        HnswParams {
            max_nb_connection: args.m,
            ef_construction: args.ef_construction,
            ef_search: efs[0],
        },
    )?;
    let n = base.len() / dim;
    let started = Instant::now();
    for (i, row) in base.chunks_exact(dim).enumerate() {
        store.insert_case(i as u64, &[row])?;
    }
    store.build_graph_on(args.threads);
    let build_s = started.elapsed().as_secs_f64();
    let rss_after = rss_kib();
    drop(base);
    // Saving writes the graph; opening reads it back instead of building it again.
    let saved = tempfile::tempdir().map_err(io_at(Path::new("a temporary dir")))?;
    let dir = saved.path().join("vectors");
    let started = Instant::now();
    store.save(&dir)?;
    let save_s = started.elapsed().as_secs_f64();
    drop(store);
    let started = Instant::now();
    let mut store = VectorStore::open(&dir)?;
    let open_s = started.elapsed().as_secs_f64();
    if !store.has_graph() {
        return Err(bench_error!("the reopened store has no graph"));
    }
    let graph_file_bytes = std::fs::metadata(dir.join("graph.bin"))
        .map_err(io_at(&dir))?
        .len();
    let nq = gt.len();
    // one untimed pass: page faults and cold caches are not part of a query's cost
    store.set_ef_search(efs[0])?;
    for q in queries.chunks_exact(dim) {
        store.search(q, 10, None)?;
    }
    let mut curve = Vec::new();
    for &ef in &efs {
        store.set_ef_search(ef)?;
        let mut rates = Vec::with_capacity(args.repeat);
        let mut hits_all = Vec::with_capacity(nq);
        for _ in 0..args.repeat.max(1) {
            hits_all.clear();
            let started = Instant::now();
            for q in queries.chunks_exact(dim) {
                hits_all.push(store.search(q, 10, None)?);
            }
            rates.push(nq as f64 / started.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        let qps = rates[rates.len() / 2];
        let mut found = 0usize;
        for (hits, truth) in hits_all.iter().zip(&gt) {
            let truth: Vec<u64> = truth.iter().take(10).map(|&t| t as u64).collect();
            found += hits.iter().filter(|(d, _)| truth.contains(d)).count();
        }
        let recall = found as f64 / (nq * 10) as f64;
        eprintln!(
            "{} ef {ef}: recall@10 {recall:.4}, {qps:.0} q/s (median of {})",
            args.label,
            rates.len()
        );
        curve.push(json!({ "ef": ef, "recall": recall, "qps": qps }));
    }
    let result = json!({
        "label": args.label,
        "n": n,
        "dim": dim,
        "m": args.m,
        "ef_construction": args.ef_construction,
        "build_s": build_s,
        "build_threads": args.threads,
        "save_s": save_s,
        "open_s": open_s,
        "graph_file_bytes_per_vector": graph_file_bytes as f64 / n as f64,
        "bytes_per_vector": (rss_after.saturating_sub(rss_before) as f64 * 1024.0) / n as f64,
        "curve": curve,
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&result)?).map_err(io_at(&args.out))?;
    Ok(())
}

pub fn hybrid(engine: &Engine, args: &HybridPeers) -> Result<()> {
    if !engine.has_dense() {
        return Err(bench_error!(
            "{} has no usable vectors/model: {}",
            args.index.display(),
            engine.dense_off_reason().unwrap_or_else(|| "?".into())
        ));
    }
    let text = std::fs::read_to_string(&args.queries).map_err(io_at(&args.queries))?;
    let mut queries = Vec::new();
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| HarnessError::BadRecord {
                path: args.queries.clone(),
                line: i + 1,
                message: format!("invalid JSON: {e}"),
            })?;
        match v["fact"].as_str() {
            Some(f) => queries.push(f.to_string()),
            None => {
                return Err(bench_error!(
                    "{}:{}: no `fact`",
                    args.queries.display(),
                    i + 1
                ))
            }
        }
        if queries.len() == args.n {
            break;
        }
    }
    // the first search loads the model and builds the graph: not part of a query's latency
    engine.search(&Query::new("醉酒驾驶", 10))?;
    let mut out = serde_json::Map::new();
    for mode in [SearchMode::Bm25, SearchMode::Dense, SearchMode::Hybrid] {
        let mut ms = Vec::new();
        for q in &queries {
            let query = Query {
                mode,
                snippets: true,
                ..Query::new(q.clone(), 10)
            };
            let t = Instant::now();
            engine.search(&query)?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        out.insert(
            mode.as_str().into(),
            json!({ "p50_ms": median(&ms), "p99_ms": percentile(&ms, 0.99) }),
        );
    }
    let chars: Vec<f64> = queries.iter().map(|q| q.chars().count() as f64).collect();
    out.insert("queries".into(), json!(queries.len()));
    out.insert("median_query_chars".into(), json!(median(&chars)));
    out.insert("cases".into(), json!(engine.index().num_cases()));
    std::fs::write(&args.out, serde_json::to_string_pretty(&out)?).map_err(io_at(&args.out))?;
    Ok(())
}

/// What a distributed engine does with a sharded corpus: every shard ranks with its own
/// statistics (document frequencies, average lengths), the top 10 of each are merged by
/// score. Measures how many of the whole index's top 10 that finds, and the latency of
/// the slowest shard (shards run in parallel on their own nodes) vs the whole index.
pub fn shards(args: &ShardsPeers) -> Result<()> {
    let whole = CaseIndex::open_or_create(&args.whole)?;
    let parts: Vec<CaseIndex> = args
        .shards
        .iter()
        .map(|p| Ok(CaseIndex::open_or_create(p)?))
        .collect::<Result<_>>()?;
    let in_parts: u64 = parts.iter().map(CaseIndex::num_cases).sum();
    if in_parts != whole.num_cases() {
        return Err(bench_error!(
            "the shards hold {in_parts} cases, the whole index {}",
            whole.num_cases()
        ));
    }
    let generator = Generator::new(args.seed, Default::default());
    let mut overlap = Vec::new();
    let (mut whole_ms, mut slowest_ms) = (Vec::new(), Vec::new());
    for i in 0..args.queries {
        let req = SearchRequest::text(generator.case(QUERY_ID_BASE + i).sections.facts, 10);
        whole.search(&req)?;
        let t = Instant::now();
        let truth = whole.search(&req)?;
        whole_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let mut merged = Vec::new();
        let mut slowest = 0.0f64;
        for part in &parts {
            part.search(&req)?;
            let t = Instant::now();
            merged.extend(part.search(&req)?);
            slowest = slowest.max(t.elapsed().as_secs_f64() * 1000.0);
        }
        slowest_ms.push(slowest);
        merged.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        merged.truncate(10);
        let found = merged
            .iter()
            .filter(|h| truth.iter().any(|t| t.id == h.id))
            .count();
        overlap.push(found as f64 / truth.len().max(1) as f64);
    }
    let mean = overlap.iter().sum::<f64>() / overlap.len().max(1) as f64;
    let result = json!({
        "cases": whole.num_cases(),
        "shards": parts.len(),
        "queries": args.queries,
        "mean_overlap_at_10": mean,
        "min_overlap_at_10": overlap.iter().cloned().fold(f64::INFINITY, f64::min),
        "whole_p50_ms": median(&whole_ms),
        "whole_p99_ms": percentile(&whole_ms, 0.99),
        "slowest_shard_p50_ms": median(&slowest_ms),
        "slowest_shard_p99_ms": percentile(&slowest_ms, 0.99),
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&result)?).map_err(io_at(&args.out))?;
    eprintln!("{result}");
    Ok(())
}

/// `.fvecs`: per row a little-endian i32 dimension, then that many f32.
fn read_fvecs(path: &Path) -> Result<(usize, Vec<f32>)> {
    let bytes = read_all(path)?;
    let mut out = Vec::new();
    let mut dim = 0;
    let mut at = 0;
    while at < bytes.len() {
        let d = le_u32(&bytes, at, path)? as usize;
        if dim == 0 {
            dim = d;
        } else if d != dim {
            return Err(bench_error!(
                "{}: row of dim {d} after rows of dim {dim}",
                path.display()
            ));
        }
        at += 4;
        for _ in 0..d {
            out.push(f32::from_bits(le_u32(&bytes, at, path)?));
            at += 4;
        }
    }
    if dim == 0 {
        return Err(bench_error!("{}: no vectors", path.display()));
    }
    Ok((dim, out))
}

/// `.ivecs`: like `.fvecs` with i32 values.
fn read_ivecs(path: &Path) -> Result<Vec<Vec<u32>>> {
    let bytes = read_all(path)?;
    let mut rows = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let d = le_u32(&bytes, at, path)? as usize;
        at += 4;
        let mut row = Vec::with_capacity(d);
        for _ in 0..d {
            row.push(le_u32(&bytes, at, path)?);
            at += 4;
        }
        rows.push(row);
    }
    Ok(rows)
}

fn read_all(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_at(path))?;
    Ok(bytes)
}

fn le_u32(bytes: &[u8], at: usize, path: &Path) -> Result<u32> {
    match bytes.get(at..at + 4) {
        Some(b) => Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(bench_error!("{}: truncated at byte {at}", path.display())),
    }
}

fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fvecs_and_ivecs_round_trip_and_reject_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.fvecs");
        let mut bytes = Vec::new();
        for row in [[1.0f32, -2.5], [0.25, 4.0]] {
            bytes.extend(2u32.to_le_bytes());
            for x in row {
                bytes.extend(x.to_le_bytes());
            }
        }
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(read_fvecs(&p).unwrap(), (2, vec![1.0, -2.5, 0.25, 4.0]));
        assert_eq!(read_ivecs(&p).unwrap().len(), 2);
        std::fs::write(&p, &bytes[..bytes.len() - 2]).unwrap();
        assert!(read_fvecs(&p)
            .unwrap_err()
            .to_string()
            .contains("truncated"));
    }
}
