//! [`Engine`]: the handle on one index directory that both sides share. It opens and
//! verifies the live generation, notices other processes' commits and switches, holds the
//! model, and answers what the live generation holds (a case, a statute, counts). Asking
//! it for ranked cases is the search side's job (`search/`); writing, generations,
//! rebuild, backup and restore are the maintenance side's (`maintenance/`).

use crate::error::{EngineError, Result};
use crate::key::doc_key;
use crate::maintenance::generation::{collect_garbage, poisoned, verify_generation, Generation};
use crate::model::{DenseModel, CACHE_DIR};
use crate::search::LegalRanker;
use leian_embed::{chunk_sections, ChunkOptions};
use leian_index::{current_generation, CaseIndex, GenerationMeta};
use leian_ingest::{Case, CaseId, StatuteArticle};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The index directory's database (`DIR/leian.sqlite`): API keys, audit, reports and
/// pushes (the server's and push's tables) and case visibility (leian-visibility's).
pub const DB_FILE: &str = "leian.sqlite";

/// Whether `dir` holds an index (its `CURRENT` file): commands that read an index refuse a
/// dir without one rather than open (and so create) an empty index on a mistyped path.
pub fn holds_index(dir: &Path) -> bool {
    dir.join("CURRENT").is_file()
}

/// How to open an [`Engine`]; `EngineOptions { index_dir, ..Default::default() }` is BM25-only.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    pub index_dir: PathBuf,
    /// HF-layout model dir (config.json, model.safetensors, tokenizer.json); `None` or a
    /// missing dir means BM25 only.
    pub model_dir: Option<PathBuf>,
    /// Where embeddings are cached; default `<index_dir>/embed-cache`.
    pub cache_dir: Option<PathBuf>,
    /// Chunks embedded per case (facts first); default `leian_embed::DEFAULT_MAX_CHUNKS`.
    pub max_chunks: Option<usize>,
    /// Arithmetic of the encoder (default: int8 where the CPU runs it fast, else f32).
    pub precision: leian_embed::Precision,
}
/// BM25 + dense search over one index directory. `Send + Sync`: share it in an `Arc`.
///
/// The engine serves the live generation of the directory. Every search takes the
/// generation that is live when it starts and uses only it, so a rebuild that switches
/// generations never gives a search a mix of two. Commits and switches made by other
/// processes (`leian ingest`, `leian rebuild` beside a running server) are noticed within
/// [`Engine::REFRESH_INTERVAL`].
pub struct Engine {
    root: PathBuf,
    options: EngineOptions,
    /// The model loaded at open (or by a rebuild with a new model).
    model: RwLock<Option<Arc<DenseModel>>>,
    /// Why there is no model, when there is none.
    model_off_reason: Option<String>,
    live: RwLock<Arc<Generation>>,
    last_refresh: Mutex<Instant>,
    /// The default legal ranker of the live generation and commit (its element cache
    /// belongs to them): (generation name, commit seq, ranker); the search side's.
    pub(crate) legal: Mutex<Option<(String, u64, Arc<LegalRanker>)>>,
}

impl Engine {
    /// How often a search checks whether another process committed or switched.
    pub const REFRESH_INTERVAL: Duration = Duration::from_millis(100);

    /// Opens (or creates) the index and, when the model dir holds a model, the dense half.
    /// Without a model the engine is BM25-only and logs one warning saying how to get it.
    ///
    /// The live generation is verified (checksums, stored cases, vectors) and refused
    /// with [`EngineError::CorruptGeneration`] when damaged; generations no process uses
    /// any more (older ones, half-built ones a crash left) are removed.
    pub fn open(options: &EngineOptions) -> Result<Engine> {
        let root = options.index_dir.clone();
        let index = CaseIndex::open_or_create(&root)?;
        if let Err(reason) = verify_generation(&index) {
            return Err(EngineError::CorruptGeneration {
                root,
                generation: index.generation_name().to_string(),
                reason,
            });
        }
        let (model, reason) = match &options.model_dir {
            Some(dir) if dir.join("config.json").exists() => {
                let cache_dir = Self::cache_dir_of(options);
                (
                    Some(Arc::new(DenseModel::load(
                        dir,
                        &cache_dir,
                        options.max_chunks,
                        options.precision,
                    )?)),
                    None,
                )
            }
            Some(dir) => (
                None,
                Some(format!(
                    "no embedding model at {}: search is BM25-only; run `leian model fetch` to get it",
                    dir.display()
                )),
            ),
            None => (None, Some("no embedding model configured: search is BM25-only".into())),
        };
        let generation = Generation::open(index, model.as_ref(), reason.as_deref())?;
        if let Some(r) = &generation.dense_off_reason {
            tracing::info!("{r}");
        }
        if let Err(e) = collect_garbage(&root, &generation.name) {
            tracing::warn!("could not clean old generations: {e}");
        }
        Ok(Engine {
            root,
            options: options.clone(),
            model: RwLock::new(model),
            model_off_reason: reason,
            live: RwLock::new(Arc::new(generation)),
            last_refresh: Mutex::new(Instant::now()),
            legal: Mutex::new(None),
        })
    }

    fn cache_dir_of(options: &EngineOptions) -> PathBuf {
        options
            .cache_dir
            .clone()
            .unwrap_or_else(|| options.index_dir.join(CACHE_DIR))
    }

    /// The index directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The live generation, after noticing other processes' commits and switches (at
    /// most every [`Engine::REFRESH_INTERVAL`]).
    pub(crate) fn current(&self) -> Result<Arc<Generation>> {
        let due = match self.last_refresh.try_lock() {
            Ok(mut last) if last.elapsed() >= Self::REFRESH_INTERVAL => {
                *last = Instant::now();
                true
            }
            _ => false,
        };
        if due {
            self.refresh()?;
        }
        Ok(self.live.read().map_err(|_| poisoned())?.clone())
    }

    /// The live generation as it is (no refresh).
    pub(crate) fn live(&self) -> Result<Arc<Generation>> {
        Ok(self.live.read().map_err(|_| poisoned())?.clone())
    }

    /// Checks now for commits and generation switches made by other processes.
    pub fn refresh(&self) -> Result<()> {
        let live = self.live.read().map_err(|_| poisoned())?.clone();
        let current = current_generation(&self.root)?;
        match current {
            Some(name) if name != live.name => {
                let index = CaseIndex::open_generation(&self.root, &name, Default::default())?;
                let model = self.model_for(&index)?;
                let generation =
                    Generation::open(index, model.as_ref(), self.model_off_reason.as_deref())?;
                tracing::info!(from = %live.name, to = %name, "switched to the new live generation");
                self.install(generation)?;
            }
            _ => {
                let seq = live.index.meta()?.commit_seq;
                if seq != live.seq.load(Ordering::SeqCst) {
                    live.reload(seq)?;
                }
            }
        }
        Ok(())
    }

    /// The model for a generation another process made: ours when the ids match, else
    /// the one its meta names (loaded once and kept).
    fn model_for(&self, index: &CaseIndex) -> Result<Option<Arc<DenseModel>>> {
        let ours = self.model.read().map_err(|_| poisoned())?.clone();
        let meta = index.meta()?;
        let Some(want) = meta.model_id else {
            return Ok(ours);
        };
        if ours.as_ref().is_some_and(|m| m.id() == want) {
            return Ok(ours);
        }
        if let Some(dir) = meta.model_dir.map(PathBuf::from) {
            if dir.join("config.json").exists() {
                let m = Arc::new(DenseModel::load(
                    &dir,
                    &Self::cache_dir_of(&self.options),
                    self.options.max_chunks,
                    self.options.precision,
                )?);
                if m.id() == want {
                    *self.model.write().map_err(|_| poisoned())? = Some(m.clone());
                    return Ok(Some(m));
                }
            }
        }
        Ok(ours)
    }

    /// Makes `generation` the one searches use; the old one is removed when its last
    /// reader is done.
    fn install(&self, generation: Generation) -> Result<()> {
        let mut live = self.live.write().map_err(|_| poisoned())?;
        live.retired.store(true, Ordering::SeqCst);
        *live = Arc::new(generation);
        Ok(())
    }

    pub(crate) fn cache_dir(&self) -> PathBuf {
        Self::cache_dir_of(&self.options)
    }

    pub(crate) fn max_chunks(&self) -> Option<usize> {
        self.options.max_chunks
    }

    pub(crate) fn precision(&self) -> leian_embed::Precision {
        self.options.precision
    }

    pub(crate) fn loaded_model(&self) -> Result<Option<Arc<DenseModel>>> {
        Ok(self.model.read().map_err(|_| poisoned())?.clone())
    }

    pub(crate) fn set_loaded_model(&self, model: Option<Arc<DenseModel>>) -> Result<()> {
        *self.model.write().map_err(|_| poisoned())? = model;
        Ok(())
    }

    pub(crate) fn install_generation(&self, generation: Generation) -> Result<()> {
        self.install(generation)
    }

    /// The chunks of `case` that `model` embeds.
    pub(crate) fn chunk_texts(case: &Case, model: &DenseModel) -> Vec<String> {
        Self::chunks_of(case, &model.chunking)
    }

    /// The live generation's full-text index (a cheap handle), for evaluating the BM25
    /// plan itself (`leian-harness`); everything else asks the engine.
    pub fn index(&self) -> CaseIndex {
        self.live
            .read()
            .map(|g| g.index.clone())
            .unwrap_or_else(|g| g.into_inner().index.clone())
    }

    /// Cases in the live generation.
    pub fn num_cases(&self) -> u64 {
        self.index().num_cases()
    }

    /// The live generation's number (2 for `gen-000002`).
    pub fn generation_number(&self) -> u32 {
        self.live.read().map(|g| g.number()).unwrap_or(0)
    }

    /// The live generation's meta: commits, the model its vectors were made with, sources.
    pub fn meta(&self) -> Result<GenerationMeta> {
        Ok(self.current()?.index.meta()?)
    }

    /// Every case id of the live generation.
    pub fn all_ids(&self) -> Result<Vec<CaseId>> {
        Ok(self.current()?.index.all_ids()?)
    }

    /// The charge / 案由 keys the indexed cases carry (trailing 罪 dropped).
    pub fn charge_keys(&self) -> Result<Vec<String>> {
        Ok(self.current()?.index.charge_keys()?)
    }

    /// The live generation's name (`gen-000002`).
    pub fn generation(&self) -> String {
        self.live.read().map(|g| g.name.clone()).unwrap_or_default()
    }

    /// Whether the case has vectors (false without a model).
    pub fn has_vectors(&self, id: &CaseId) -> bool {
        self.live
            .read()
            .ok()
            .and_then(|g| g.keys.read().ok().map(|k| k.get(&doc_key(id)) == Some(id)))
            .unwrap_or(false)
    }

    /// Whether dense and hybrid search are available.
    pub fn has_dense(&self) -> bool {
        self.live.read().map(|g| g.dense.is_some()).unwrap_or(false)
    }

    /// Why dense search is off, when it is.
    pub fn dense_off_reason(&self) -> Option<String> {
        self.live
            .read()
            .ok()
            .and_then(|g| g.dense_off_reason.clone())
    }

    /// The embedding model id of the live generation, when dense search is on.
    pub fn model_id(&self) -> Option<String> {
        self.live
            .read()
            .ok()
            .and_then(|g| g.dense.as_ref().map(|d| d.model.id().to_string()))
    }

    pub fn get(&self, id: &CaseId) -> Result<Option<Case>> {
        Ok(self.current()?.index.get(id)?)
    }

    /// The bytes stored with case `id` at ingest for ranking (see
    /// `leian_rank::LegalElements::to_stored`), without loading the case.
    pub fn stored_elements(&self, id: &CaseId) -> Result<Option<Vec<u8>>> {
        Ok(self.current()?.index.stored_elements(id)?)
    }

    pub fn statute(&self, law: &str, article: u32) -> Result<Option<StatuteArticle>> {
        Ok(self.current()?.index.statute(law, article)?)
    }

    /// An article with its `之N` suffix (see [`CaseIndex::statute_variant`]).
    pub fn statute_variant(
        &self,
        law: &str,
        article: u32,
        suffix: u8,
    ) -> Result<Option<StatuteArticle>> {
        Ok(self
            .current()?
            .index
            .statute_variant(law, article, suffix)?)
    }

    /// The text chunks of a case that get embedded: facts first (they carry what makes
    /// two cases alike), then a guiding case's 裁判要点; see `leian_embed::chunk_sections`
    /// for the cap and why.
    pub(crate) fn chunks_of(case: &Case, options: &ChunkOptions) -> Vec<String> {
        let gist = case.guiding.as_ref().map(|g| g.gist.as_str()).unwrap_or("");
        let facts = case.fact_text();
        let mut sections = vec![facts];
        if !gist.is_empty() && gist != facts {
            sections.push(gist);
        }
        if facts.trim().is_empty() && !case.title.is_empty() {
            sections.push(case.title.as_str());
        }
        chunk_sections(&sections, options)
    }
}
