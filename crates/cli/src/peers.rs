//! `leian bench-peers`: the arguments of `leian_harness::peers`, leian's half of the
//! side-by-side benchmarks in `benches/peers.sh`. Not run by CI.

use anyhow::Result;
use clap::{Args, Subcommand};
use leian_harness::peers;
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum PeersCommand {
    /// BM25 latency of leian; exports the tokenised corpus and queries for the peers.
    Bm25(Bm25Args),
    /// HNSW recall@10 and queries/s of leian's vector store over shared .fvecs files.
    Hnsw(HnswArgs),
    /// End-to-end search latency including the query embedding (needs the model).
    Hybrid(HybridArgs),
    /// Scatter-gather over shard indexes vs one index: top-10 overlap and latency.
    Shards(ShardsArgs),
}

#[derive(Args)]
pub(crate) struct ShardsArgs {
    /// The index holding every case.
    #[arg(long)]
    whole: PathBuf,
    /// Indexes that together hold the same cases (each a disjoint part).
    #[arg(long, num_args = 1.., required = true)]
    shards: Vec<PathBuf>,
    #[arg(long, default_value_t = 100)]
    queries: u64,
    #[arg(long, default_value_t = 8)]
    seed: u64,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub(crate) struct Bm25Args {
    /// Index built with `leian ingest` from the `leian gen` file.
    #[arg(long)]
    index: PathBuf,
    /// The `leian gen` file the index was built from (exported tokenised for the peers).
    #[arg(long)]
    cases: Option<PathBuf>,
    /// How many queries: facts of generated cases that are not in the corpus.
    #[arg(long, default_value_t = 200)]
    queries: u64,
    /// Seed of the query cases (any; they are drawn from ids the corpus never uses).
    #[arg(long, default_value_t = 8)]
    seed: u64,
    /// Directory for corpus.tok, queries.jsonl and leian-bm25.json.
    #[arg(long)]
    out_dir: PathBuf,
}

#[derive(Args)]
pub(crate) struct HnswArgs {
    #[arg(long)]
    base: PathBuf,
    #[arg(long)]
    queries: PathBuf,
    /// Exact top-k neighbours of each query (row ids into `base`), `.ivecs`.
    #[arg(long)]
    gt: PathBuf,
    #[arg(long, default_value_t = 16)]
    m: usize,
    #[arg(long, default_value_t = 200)]
    ef_construction: usize,
    /// `ef_search` values to sweep, comma-separated.
    #[arg(long, default_value = "16,32,64,128,256,512")]
    ef: String,
    /// Threads that build the graph (searches run one at a time on one thread).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Passes over the queries per `ef`; the median rate is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Label of this configuration in the report.
    #[arg(long, default_value = "leian")]
    label: String,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub(crate) struct HybridArgs {
    /// An index with vectors (e.g. a copy of index/lecard).
    #[arg(long)]
    index: PathBuf,
    /// LeCaRD query file (`fact` per line).
    #[arg(long, default_value = "../shared/data/lecard/queries.dev.jsonl")]
    queries: PathBuf,
    /// How many queries (each embedding costs ~0.1–0.5 s here).
    #[arg(long, default_value_t = 16)]
    n: usize,
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    model: crate::model::ModelArgs,
}

pub(crate) fn run(cmd: PeersCommand) -> Result<()> {
    match cmd {
        PeersCommand::Bm25(a) => peers::bm25(&peers::Bm25Peers {
            index: a.index,
            cases: a.cases,
            queries: a.queries,
            seed: a.seed,
            out_dir: a.out_dir,
        })?,
        PeersCommand::Hnsw(a) => peers::hnsw(&peers::HnswPeers {
            base: a.base,
            queries: a.queries,
            gt: a.gt,
            m: a.m,
            ef_construction: a.ef_construction,
            ef: a.ef,
            threads: a.threads,
            repeat: a.repeat,
            label: a.label,
            out: a.out,
        })?,
        PeersCommand::Hybrid(a) => {
            let engine = crate::search::open_existing(&a.index, &a.model)?;
            peers::hybrid(
                &engine,
                &peers::HybridPeers {
                    index: a.index,
                    queries: a.queries,
                    n: a.n,
                    out: a.out,
                },
            )?
        }
        PeersCommand::Shards(a) => peers::shards(&peers::ShardsPeers {
            whole: a.whole,
            shards: a.shards,
            queries: a.queries,
            seed: a.seed,
            out: a.out,
        })?,
    }
    Ok(())
}
