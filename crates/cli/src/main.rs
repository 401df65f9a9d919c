//! The `leian` binary: the command line over the crates — it parses arguments, makes one
//! call into the crate that owns the work (`leian-engine` for search and index
//! maintenance, `leian-harness` for evaluations and benchmarks, `leian-consistency`,
//! `leian-push`, `leian-server`) and prints what comes back. It computes nothing itself.
//! All `anyhow` lives here; the libraries have typed errors.

mod bench;
mod check;
mod demo;
mod embed;
mod eval;
mod eval_consistency;
mod gen;
mod ingest;
mod keys;
mod legal;
mod lifecycle;
mod malloc_arenas;
mod model;
mod peers;
mod push;
mod search;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// 类案检索 — similar-case search for Chinese courts.
#[derive(Parser)]
#[command(name = "leian", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load cases (or statutes) from files or directories into an index.
    Ingest(ingest::IngestArgs),
    /// Search the index with Chinese text (keywords, facts or a whole draft).
    Search(search::SearchArgs),
    /// Find cases similar to an indexed case.
    Similar(search::SimilarArgs),
    /// Evaluate ranking quality on labelled data.
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// Learn legal-ranker weights on labelled queries (k-fold cross-validated).
    TrainRanker(legal::TrainRankerArgs),
    /// Fetch and import the embedding model.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Embed one shard of the input into the embedding cache (bulk job; run shards on
    /// many machines, copy their part files into one cache, then ingest reads only hits).
    Embed(embed::EmbedArgs),
    /// Measure ingest throughput and search latency.
    Bench(bench::BenchArgs),
    /// Write a deterministic corpus of synthetic criminal judgments (native JSON lines).
    Gen(gen::GenArgs),
    /// leian's half of the side-by-side benchmarks of `benches/peers.sh`.
    #[command(subcommand, hide = true)]
    BenchPeers(peers::PeersCommand),
    /// Ingest the built-in fictional sample corpus and answer demo queries.
    Demo(demo::DemoArgs),
    /// Serve the HTTP API and the web page for judges.
    Serve(serve::ServeArgs),
    /// Check a draft against how similar cases were decided (裁判偏离预警).
    Check(check::CheckArgs),
    /// Manage API keys for the server.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Rebuild the index into a new generation (e.g. with a new model) while it serves.
    Rebuild(lifecycle::RebuildArgs),
    /// Write a consistent snapshot of the index (and the server's database) to a file.
    Backup(lifecycle::BackupArgs),
    /// Restore an index from a backup file.
    Restore(lifecycle::RestoreArgs),
    /// Show what the index holds: cases per tier/category/court level, generations, disk.
    Stats(lifecycle::StatsArgs),
}

/// Default data dir, relative to the working directory.
pub(crate) fn default_index_dir() -> PathBuf {
    PathBuf::from("index")
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    malloc_arenas::cap();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ingest(a) => ingest::run(a),
        Command::Search(a) => search::run(a),
        Command::Similar(a) => search::run_similar(a),
        Command::Eval(c) => eval::run(c),
        Command::TrainRanker(a) => legal::run_train(a),
        Command::Model(c) => model::run(c),
        Command::Embed(a) => embed::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Gen(a) => gen::run(a),
        Command::BenchPeers(c) => peers::run(c),
        Command::Demo(a) => demo::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Keys(c) => keys::run(c),
        Command::Rebuild(a) => lifecycle::rebuild(a),
        Command::Backup(a) => lifecycle::backup(a),
        Command::Restore(a) => lifecycle::restore(a),
        Command::Stats(a) => lifecycle::stats(a),
        Command::Check(a) => check::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
