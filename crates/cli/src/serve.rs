//! `leian serve`: the HTTP API and web page over an index (see leian-server).

use anyhow::{Context, Result};
use clap::Args;
use leian_server::{AppState, Role, ServerOptions, Store};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Court of the demo keys.
pub(crate) const DEMO_COURT: &str = "演示法院";

#[derive(Args, Clone)]
pub(crate) struct ServeArgs {
    /// Index dir (built by `leian ingest` or `leian demo`).
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    pub(crate) index: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) addr: SocketAddr,
    #[command(flatten)]
    pub(crate) model: crate::model::ModelArgs,
    /// Demo mode: create and print a judge key and an admin key for the demo court,
    /// and give the web page the judge key.
    #[arg(long)]
    pub(crate) demo: bool,
    /// Engine calls (search/embedding) running at once.
    #[arg(long)]
    pub(crate) max_concurrent: Option<usize>,
    /// Requests of one key in flight at once; more get 429 (default: half the engine
    /// calls, at least 3 but never all: a judge's page sends a few together).
    #[arg(long)]
    pub(crate) per_key_concurrent: Option<usize>,
    /// Requests one key may make per minute (bursts of a fifth of it); more get 429 with
    /// `Retry-After`.
    #[arg(long, default_value_t = 600)]
    pub(crate) per_key_per_minute: u32,
    /// Long queries (pasted drafts, over 1,000 characters) of one key in flight at once.
    #[arg(long, default_value_t = 1)]
    pub(crate) per_key_heavy: usize,
    /// Per-request time limit, seconds.
    #[arg(long, default_value_t = 30)]
    pub(crate) timeout_secs: u64,
    /// First webhook retry after this many ms; each later retry waits twice as long.
    #[arg(long, default_value_t = 2_000)]
    pub(crate) webhook_retry_ms: u64,
}

pub(crate) fn run(args: ServeArgs) -> Result<()> {
    serve_blocking(args)
}

/// Opens the index, starts the server and blocks until Ctrl-C (then finishes in-flight
/// requests). `leian demo` calls this after ingesting the sample corpus.
pub(crate) fn serve_blocking(args: ServeArgs) -> Result<()> {
    let engine = args.model.open_engine(&args.index)?;
    let store = Store::open_in(&args.index).with_context(|| {
        format!(
            "opening {}",
            args.index.join(leian_server::DB_FILE).display()
        )
    })?;
    let mut options = ServerOptions {
        request_timeout: std::time::Duration::from_secs(args.timeout_secs.max(1)),
        ..ServerOptions::default()
    };
    options.push.retry_base_ms = args.webhook_retry_ms.max(1);
    if let Some(n) = args.max_concurrent {
        options.max_concurrent = n.max(1);
    }
    options.per_key = leian_server::KeyLimits {
        concurrent: args
            .per_key_concurrent
            .unwrap_or(leian_server::KeyLimits::for_workers(options.max_concurrent).concurrent)
            .max(1),
        per_minute: args.per_key_per_minute.max(1),
        burst: (args.per_key_per_minute / 5).max(1),
        heavy_concurrent: args.per_key_heavy.max(1),
    };
    if args.demo {
        let (_, judge) = store.create_key(Role::Judge, DEMO_COURT, "demo-judge")?;
        let (_, admin) = store.create_key(Role::Admin, DEMO_COURT, "demo-admin")?;
        println!("demo judge key ({DEMO_COURT}): {judge}");
        println!("demo admin key ({DEMO_COURT}): {admin}");
        options.demo_key = Some(judge);
    }
    let cases = engine.num_cases();
    let mode = if engine.has_dense() {
        "hybrid"
    } else {
        "BM25-only"
    };
    let state = AppState::new(engine, store, options)?;
    leian_server::serve_until_ctrl_c(args.addr, state, |addr| {
        println!(
            "leian serving {cases} cases ({mode}) at http://{addr}/  \
             (API: http://{addr}/v1/openapi.json; Ctrl-C stops)"
        );
    })?;
    Ok(())
}
