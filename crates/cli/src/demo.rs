//! `leian demo`: everything on the built-in fictional corpus in one command — fetch the
//! model when missing, ingest `sample/`, and answer a few typical queries.

use anyhow::Result;
use clap::Args;
use leian_engine::Query;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Where the demo index lives.
    #[arg(long, default_value = "index/demo")]
    index: PathBuf,
    /// The sample corpus.
    #[arg(long, default_value = "sample")]
    sample: PathBuf,
    /// Skip fetching the embedding model (BM25 only).
    #[arg(long)]
    no_model: bool,
}

const DEMO_QUERIES: [&str; 3] = [
    "被告人酒后驾驶机动车，经检测血液中乙醇含量超过80mg/100ml",
    "被告人趁被害人不备，偷走其手机一部",
    "原告出借款项后被告到期未归还借款及利息",
];

pub(crate) fn run(args: DemoArgs) -> Result<()> {
    if !args.no_model {
        if let Err(e) = crate::model::fetch(
            std::path::Path::new("models"),
            &leian_embed::FetchOptions::default(),
        ) {
            eprintln!(
                "warning: could not fetch the embedding model ({e:#}); the demo runs BM25 only"
            );
        }
    }
    let model = crate::model::ModelArgs {
        no_model: args.no_model,
        ..Default::default()
    };
    let engine = model.open_engine(&args.index)?;
    let summary = crate::ingest::ingest_paths(
        &engine,
        std::slice::from_ref(&args.sample),
        &leian_engine::LoadOptions::default(),
        false,
    )?;
    println!(
        "demo index {}: {} cases ({} ingested now, {} skipped)\n",
        args.index.display(),
        engine.num_cases(),
        summary.cases,
        summary.skipped
    );
    for q in DEMO_QUERIES {
        println!("== {q}");
        let hits = engine.search(&Query::new(q, 3))?;
        crate::search::print_hits(&hits, false, true)?;
        println!();
    }
    Ok(())
}
