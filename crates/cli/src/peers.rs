//! `leian bench-peers`: leian's half of the side-by-side benchmarks in `benches/peers.sh`
//! (`leian_harness::peers`, whose input structs are these commands' arguments). Not run by
//! CI.

use anyhow::Result;
use clap::{Args, Subcommand};
use leian_harness::peers;

#[derive(Subcommand)]
pub(crate) enum PeersCommand {
    /// BM25 latency of leian; exports the tokenised corpus and queries for the peers.
    Bm25(peers::Bm25Peers),
    /// HNSW recall@10 and queries/s of leian's vector store over shared .fvecs files.
    Hnsw(peers::HnswPeers),
    /// End-to-end search latency including the query embedding (needs the model).
    Hybrid(HybridArgs),
    /// Scatter-gather over shard indexes vs one index: top-10 overlap and latency.
    Shards(peers::ShardsPeers),
}

#[derive(Args)]
pub(crate) struct HybridArgs {
    #[command(flatten)]
    peers: peers::HybridPeers,
    #[command(flatten)]
    model: crate::model::ModelArgs,
}

pub(crate) fn run(cmd: PeersCommand) -> Result<()> {
    match cmd {
        PeersCommand::Bm25(a) => peers::bm25(&a)?,
        PeersCommand::Hnsw(a) => peers::hnsw(&a)?,
        PeersCommand::Hybrid(a) => {
            let engine = crate::search::open_existing(&a.peers.index, &a.model)?;
            peers::hybrid(&engine, &a.peers)?
        }
        PeersCommand::Shards(a) => peers::shards(&a)?,
    }
    Ok(())
}
