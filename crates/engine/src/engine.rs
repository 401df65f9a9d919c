//! [`Engine`]: BM25 + dense hybrid search over one index directory, re-ranked by legal
//! elements by default; [`Engine::ran`] decides, in one place, which mode and ranking ran.

use crate::error::{EngineError, Result};
use crate::fusion::{fuse, Fusion, ListPosition};
use crate::generation::{collect_garbage, lock_writer, poisoned, verify_generation, Generation};
use crate::key::doc_key;
use crate::legal::{LegalOptions, LegalQuery, LegalRanker};
use crate::model::{DenseModel, CACHE_DIR};
use leian_embed::{chunk_sections, ChunkOptions};
use leian_index::{current_generation, CaseIndex, Coverage, Filters, Hit, SearchRequest};
use leian_ingest::{AuthorityTier, Case, CaseId, Circumstance, StatuteArticle, StatuteRef};
use leian_rank::{Contribution, LinearRanker};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

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

/// Which lists a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    Bm25,
    Dense,
    #[default]
    Hybrid,
}

impl std::str::FromStr for SearchMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "bm25" => Ok(SearchMode::Bm25),
            "dense" => Ok(SearchMode::Dense),
            "hybrid" => Ok(SearchMode::Hybrid),
            other => Err(format!(
                "unknown mode {other:?}: want bm25, dense or hybrid"
            )),
        }
    }
}

impl SearchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Bm25 => "bm25",
            SearchMode::Dense => "dense",
            SearchMode::Hybrid => "hybrid",
        }
    }
}

/// Which ranking orders a search's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Ranking {
    /// The BM25 and dense lists fused (`mode`, `fusion`), nothing else.
    Fusion,
    /// The fused list, widened by the cases sharing the query's charges, re-ranked by
    /// legal elements with the shipped learned weights (`leian-rank`): the default, as
    /// the best out-of-fold ranking on the dev data (README, quality section).
    #[default]
    Legal,
}

impl Ranking {
    pub fn as_str(self) -> &'static str {
        match self {
            Ranking::Fusion => "fusion",
            Ranking::Legal => "legal",
        }
    }
}

impl std::str::FromStr for Ranking {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "fusion" => Ok(Ranking::Fusion),
            "legal" => Ok(Ranking::Legal),
            other => Err(format!("unknown ranking {other:?}: want legal or fusion")),
        }
    }
}

/// When a hit passes the relevance floor: it covers `share` of the query's informative
/// words (idf-weighted), or `matched_words` rare words' worth of them (a long pasted
/// fact description shares many words with a case on point, a small part of its own),
/// or — with a model — its best chunk has cosine `dense` to the query (a case on point
/// told in other words: 偷走 for 窃取). Chosen by 8-fold cross-validation by query
/// (`leian eval floor`, README), once without a model and once with one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FloorRule {
    pub share: f32,
    pub matched_words: f32,
    pub dense: Option<f32>,
}

impl FloorRule {
    /// Chosen on the index without vectors.
    pub const WORDS: FloorRule = FloorRule {
        share: 0.45,
        matched_words: 1.75,
        dense: None,
    };
    /// Chosen on the same index with e5-small vectors.
    pub const WITH_MODEL: FloorRule = FloorRule {
        share: 0.50,
        matched_words: 2.0,
        dense: Some(0.88),
    };

    /// A hit's relevance in `[0, 1]`: half the largest of share / `share`, words /
    /// `matched_words` and, with vectors, how far the cosine is along the 0.2 below
    /// `dense` — so that [`Query::DEFAULT_FLOOR`] (0.5) is exactly this rule's pass
    /// mark, and a query's own floor moves every part together.
    pub fn relevance(&self, c: Coverage) -> f32 {
        let mut best = (c.share / self.share.max(f32::MIN_POSITIVE))
            .max(c.matched_words / self.matched_words.max(f32::MIN_POSITIVE));
        if let (Some(d), Some(cos)) = (self.dense, c.dense) {
            best = best.max(((cos - (d - 0.2)) / 0.2).max(0.0));
        }
        (best * Query::DEFAULT_FLOOR).min(1.0)
    }

    /// Whether a hit passes this rule at the default floor.
    pub fn passes(&self, c: Coverage) -> bool {
        self.relevance(c) >= Query::DEFAULT_FLOOR
    }
}

/// Whether `case` has one of the charges / 案由 the judge gave: such a case is on topic
/// whatever words its facts use, so the relevance floor lets it through. Inferred
/// charges do not count (they are inferred from the very cases the floor judges).
fn shares_given_charge(case: &Case, given: Option<&[String]>) -> bool {
    let key = |c: &str| c.trim().trim_end_matches('罪').to_string();
    given.is_some_and(|given| {
        given
            .iter()
            .any(|g| !key(g).is_empty() && case.charges.iter().any(|c| key(c) == key(g)))
    })
}

/// What ran for a query: decided in one place ([`Engine::ran`]) and reported in every
/// answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ran {
    /// The lists used (hybrid and dense fall back to BM25 without a model).
    pub mode: SearchMode,
    pub ranking: Ranking,
    /// The ranker's name: `fusion`, or the legal ranker's weights (`learned`, a file…).
    pub ranker: String,
    /// The relevance floor applied (none for a filter-only listing or when turned off).
    pub floor: Option<f32>,
}

/// Longest query text the ranking reads, in characters. BM25 keeps the 1,024 best
/// terms of a query and e5 reads its first 512 tokens, so text past this adds cost and no
/// ranking: a 200,000-character paste costs what a 6,000-character one does.
pub const MAX_RANKED_CHARS: usize = 6_000;

/// The part of a query text the ranking uses, cut before any work: short texts as they
/// are; a longer one (a whole draft or judgment) is cut to its facts section (经审理查明 …
/// 本院认为, as ingest finds it) when it has one, and then to [`MAX_RANKED_CHARS`].
pub fn ranked_text(text: &str) -> String {
    if text.chars().count() <= MAX_RANKED_CHARS {
        return text.to_string();
    }
    let (facts, _, _) = leian_ingest::extract::split_sections(text);
    let base = if facts.trim().chars().count() >= 50 {
        facts.trim().to_string()
    } else {
        text.to_string()
    };
    base.chars().take(MAX_RANKED_CHARS).collect()
}

/// A search as a judge or a program asks it.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Keywords, facts or a whole draft.
    pub text: String,
    pub filters: Filters,
    pub top_k: usize,
    pub offset: usize,
    pub mode: SearchMode,
    pub fusion: Fusion,
    /// Order by authority tier first (指导性案例 first, per the SPC 2020 guidance), then score.
    pub authority_order: bool,
    pub snippets: bool,
    /// How deep each list is read before fusion (at least `offset + top_k`).
    pub depth: usize,
    pub ranking: Ranking,
    /// The charges / 案由 and statutes the judge gives (charges inferred when `None`).
    pub legal: LegalQuery,
    /// The relevance floor: hits whose [`RankedCase::relevance`] is below it are not
    /// answered, so an off-topic query gets an honest "nothing similar" instead of a
    /// guiding case marked 应当参照 — unless the case has a charge / 案由 the judge gave
    /// (`legal.charges`). `None`: off.
    pub floor: Option<f32>,
}

impl Query {
    /// Chosen on the dev data (`leian eval lecard|scm --sweep`): weighted fusion with
    /// alpha 0.3 is the one setting that beat BM25 on both LeCaRD (corpus NDCG@30) and
    /// SCM accuracy; RRF lost to BM25 on LeCaRD's corpus protocol.
    pub const DEFAULT_FUSION: Fusion = Fusion::Weighted { alpha: 0.3 };
    pub const DEFAULT_DEPTH: usize = 100;
    /// The relevance a hit needs to be answered: the pass mark of [`FloorRule`], whose
    /// thresholds were chosen by cross-validation (`leian eval floor`, README).
    pub const DEFAULT_FLOOR: f32 = 0.5;

    /// The floor a caller asked for: none asked is the default, 0 turns it off, anything
    /// outside 0..=1 is an error naming the value.
    pub fn floor_asked(asked: Option<f32>) -> std::result::Result<Option<f32>, String> {
        match asked {
            None => Ok(Some(Self::DEFAULT_FLOOR)),
            Some(f) if !(0.0..=1.0).contains(&f) => Err(format!("floor must be in 0..=1, got {f}")),
            Some(0.0) => Ok(None),
            Some(f) => Ok(Some(f)),
        }
    }

    /// A query for `text`, cut to what the ranking uses ([`ranked_text`]).
    pub fn new(text: impl Into<String>, top_k: usize) -> Self {
        Query {
            text: ranked_text(&text.into()),
            filters: Filters::default(),
            top_k,
            offset: 0,
            mode: SearchMode::Hybrid,
            fusion: Self::DEFAULT_FUSION,
            authority_order: false,
            snippets: true,
            depth: Self::DEFAULT_DEPTH,
            ranking: Ranking::default(),
            legal: LegalQuery::default(),
            floor: Some(Self::DEFAULT_FLOOR),
        }
    }
}

/// Why a hit ranks where it does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explain {
    /// The mode actually used (hybrid falls back to bm25 without a model).
    pub mode: SearchMode,
    pub ranking: Ranking,
    /// The ranker's name (see [`Ran::ranker`]).
    pub ranker: String,
    /// Under the legal ranking: each feature as value × weight, and what the query's
    /// charges were.
    pub legal: Option<LegalExplain>,
    pub bm25: Option<ListPosition>,
    pub dense: Option<ListPosition>,
    pub fused: f32,
    pub fusion: Option<Fusion>,
}

/// Why the legal ranking put a case where it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegalExplain {
    pub contributions: Vec<Contribution>,
    /// The query's charges the ranking used, and whether the judge gave them (else they
    /// were inferred from the nearest cases).
    pub query_charges: Vec<String>,
    pub charges_given: bool,
    /// The case's charges that share a 刑法 article with the query's.
    pub shared_charges: Vec<String>,
    /// Statutes both cite.
    pub shared_statutes: Vec<StatuteRef>,
    /// 量刑情节 both have.
    pub shared_circumstances: Vec<Circumstance>,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedCase {
    pub id: CaseId,
    /// The score the ranking used (BM25, cosine, or fused).
    pub score: f32,
    pub case: Case,
    pub snippet: Option<String>,
    pub matched_field: Option<String>,
    pub explain: Explain,
    /// How much of the query the case covers, in `[0, 1]` (what the relevance floor is
    /// applied to; see [`FloorRule::relevance`]).
    pub relevance: f32,
    /// The two parts of `relevance`.
    pub coverage: Coverage,
    /// The generation that answered (all hits of one search share it).
    pub generation: u32,
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
    /// belongs to them): (generation name, commit seq, ranker).
    legal: Mutex<Option<(String, u64, Arc<LegalRanker>)>>,
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

    /// The live generation's full-text index (a cheap handle).
    pub fn index(&self) -> CaseIndex {
        self.live
            .read()
            .map(|g| g.index.clone())
            .unwrap_or_else(|g| g.into_inner().index.clone())
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

    /// A writer: waits for any other writer (another process's ingest, a rebuild, a
    /// backup) to finish, then sees the latest commit before changing anything.
    pub fn writer(&self) -> Result<EngineWriter<'_>> {
        let lock = lock_writer(&self.root, true)?
            .ok_or_else(|| EngineError::WriterBusy(self.root.clone()))?;
        self.writer_with(lock)
    }

    /// A writer only if no other is active; [`EngineError::WriterBusy`] otherwise (for
    /// servers, which should not make a request wait for a long rebuild).
    pub fn try_writer(&self) -> Result<EngineWriter<'_>> {
        let lock = lock_writer(&self.root, false)?
            .ok_or_else(|| EngineError::WriterBusy(self.root.clone()))?;
        self.writer_with(lock)
    }

    fn writer_with(&self, lock: File) -> Result<EngineWriter<'_>> {
        self.refresh()?;
        let generation = self.live.read().map_err(|_| poisoned())?.clone();
        let writer = generation.index.writer()?;
        Ok(EngineWriter {
            _engine: std::marker::PhantomData,
            generation,
            writer,
            pending: Vec::new(),
            deleted: Vec::new(),
            sources: Vec::new(),
            _lock: lock,
        })
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

    /// What runs for `query`: the one place that decides the mode (hybrid and dense need
    /// a model; `dense` alone without one is an error at search time) and the ranking
    /// (the legal ranking needs query text: a filter-only search is newest first).
    pub fn ran(&self, query: &Query) -> Ran {
        self.decide(query, !query.text.trim().is_empty())
    }

    /// [`Engine::ran`] for a query whose text comes later: a similar-case search (the
    /// case's facts) or an evaluation's template.
    pub fn ran_with_text(&self, query: &Query) -> Ran {
        self.decide(query, true)
    }

    fn decide(&self, query: &Query, has_text: bool) -> Ran {
        let mode = match query.mode {
            SearchMode::Hybrid if !self.has_dense() => SearchMode::Bm25,
            m => m,
        };
        let ranking = if has_text {
            query.ranking
        } else {
            Ranking::Fusion
        };
        let ranker = match ranking {
            Ranking::Fusion => Ranking::Fusion.as_str().to_string(),
            Ranking::Legal => Self::default_ranker_model().source.clone(),
        };
        Ran {
            floor: query.floor.filter(|_| has_text),
            mode,
            ranking,
            ranker,
        }
    }

    /// The weights of the default legal ranking, parsed once per process.
    fn default_ranker_model() -> &'static LinearRanker {
        static SHIPPED: OnceLock<LinearRanker> = OnceLock::new();
        SHIPPED.get_or_init(|| LinearRanker::shipped().unwrap_or_else(|_| LinearRanker::hand_all()))
    }

    /// The legal ranker of the live generation and commit (made anew after a commit, so
    /// its cache of case elements never outlives the cases).
    fn legal_ranker(&self, g: &Generation) -> Result<Arc<LegalRanker>> {
        let seq = g.seq.load(Ordering::SeqCst);
        let mut slot = self.legal.lock().map_err(|_| poisoned())?;
        if let Some((name, s, r)) = slot.as_ref() {
            if *name == g.name && *s == seq {
                return Ok(r.clone());
            }
        }
        let r = Arc::new(LegalRanker::new(
            Self::default_ranker_model().clone(),
            LegalOptions::default(),
        ));
        *slot = Some((g.name.clone(), seq, r.clone()));
        Ok(r)
    }

    /// Searches in the query's mode and ranking (see [`Engine::ran`]); `hybrid` falls
    /// back to BM25 when no model is loaded (the hit's `explain.mode` says so) — except
    /// that `dense` alone, asked explicitly, is an error without a model.
    pub fn search(&self, query: &Query) -> Result<Vec<RankedCase>> {
        let g = self.current()?;
        let qvec = Self::query_vector_in(&g, query)?;
        self.search_with_vector(&g, query, qvec.as_deref(), None)
    }

    /// Cases similar to an indexed one: its facts as the query text, its charges as the
    /// query's (unless the query gives others) and its own facts embedding (from the
    /// cache) as the query vector; the case itself is left out.
    pub fn similar(&self, id: &CaseId, query: &Query) -> Result<Vec<RankedCase>> {
        let g = self.current()?;
        let case = g
            .index
            .get(id)?
            .ok_or_else(|| EngineError::CaseNotFound(id.clone()))?;
        let mut q = query.clone();
        q.text = case.fact_text().to_string();
        q.top_k += 1;
        if q.legal.charges.is_none() && !case.charges.is_empty() {
            q.legal.charges = Some(case.charges.clone());
        }
        let qvec = match (&g.dense, q.mode) {
            (Some(d), SearchMode::Dense | SearchMode::Hybrid) => {
                let m = &d.model;
                let chunks = Self::chunks_of(&case, &m.chunking);
                let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
                let mut cache = m.cache.lock().map_err(|_| poisoned())?;
                let vecs = m.embedder.embed_passages_cached(&mut cache, &refs)?;
                cache.flush()?;
                vecs.into_iter().next()
            }
            _ => None,
        };
        let mut hits = self.search_with_vector(&g, &q, qvec.as_deref(), Some(id))?;
        hits.truncate(query.top_k);
        Ok(hits)
    }

    /// The whole ranking (to the query's depth), without loading cases or snippets:
    /// what evaluations need. The query's `offset`/`top_k` only widen the depth.
    pub fn rank(&self, query: &Query) -> Result<Vec<(CaseId, f32, Explain)>> {
        let g = self.current()?;
        let qvec = Self::query_vector_in(&g, query)?;
        Ok(self.ranked_list(&g, query, qvec.as_deref(), None)?.0)
    }

    /// [`Engine::rank`] with a query vector computed earlier (evaluations that try many
    /// settings embed each query once).
    pub fn rank_with_vector(
        &self,
        query: &Query,
        qvec: Option<&[f32]>,
    ) -> Result<Vec<(CaseId, f32, Explain)>> {
        let g = self.current()?;
        Ok(self.ranked_list(&g, query, qvec, None)?.0)
    }

    /// The ranking [`Engine::ran`] says, with the BM25 hits (and their cases) when the
    /// fusion ran.
    #[allow(clippy::type_complexity)]
    fn ranked_list(
        &self,
        g: &Generation,
        query: &Query,
        qvec: Option<&[f32]>,
        exclude: Option<&CaseId>,
    ) -> Result<(Vec<(CaseId, f32, Explain)>, Vec<Hit>)> {
        let ran = self.ran(query);
        if ran.ranking == Ranking::Fusion {
            return Self::fused_ranking(g, query, qvec, exclude);
        }
        let ranker = self.legal_ranker(g)?;
        let want = query.offset + query.top_k + usize::from(exclude.is_some());
        let base = Query {
            ranking: Ranking::Fusion,
            depth: query.depth.max(want),
            ..query.clone()
        };
        let qvec = if ran.mode == SearchMode::Bm25 {
            None
        } else {
            qvec
        };
        let ranking = ranker.rank_sized(self, &base, &query.legal, qvec, want)?;
        let qel = &ranking.query.elements;
        let q_articles: HashSet<u16> = qel.articles.iter().map(|a| a.article).collect();
        let q_statutes: HashSet<&StatuteRef> = qel.statutes.iter().collect();
        let q_circ: HashSet<&Circumstance> = qel.circumstances.iter().collect();
        let list = ranking
            .hits
            .iter()
            .filter(|h| Some(&h.id) != exclude)
            .map(|h| {
                let e = &h.elements;
                let shared_charges = e
                    .charges
                    .iter()
                    .filter(|c| {
                        leian_rank::resolve_charge(c)
                            .is_some_and(|a| q_articles.contains(&a.article))
                    })
                    .cloned()
                    .collect();
                let explain = Explain {
                    mode: ran.mode,
                    ranking: Ranking::Legal,
                    ranker: ran.ranker.clone(),
                    legal: Some(LegalExplain {
                        contributions: h.contributions.clone(),
                        query_charges: qel.charges.clone(),
                        charges_given: ranking.query.charges_given,
                        shared_charges,
                        shared_statutes: e
                            .statutes
                            .iter()
                            .filter(|s| q_statutes.contains(s))
                            .cloned()
                            .collect(),
                        shared_circumstances: e
                            .circumstances
                            .iter()
                            .filter(|c| q_circ.contains(c))
                            .cloned()
                            .collect(),
                    }),
                    bm25: None,
                    dense: None,
                    fused: h.score,
                    fusion: (ran.mode == SearchMode::Hybrid).then_some(query.fusion),
                };
                (h.id.clone(), h.score, explain)
            })
            .collect();
        Ok((list, Vec::new()))
    }

    /// Cosine similarity of `qvec` to each embedded chunk (facts first) of each case
    /// in `ids`; cases without vectors are absent. For re-rankers that score a long case
    /// by its best chunks (the `legal` module).
    pub fn chunk_similarities(
        &self,
        qvec: &[f32],
        ids: &[CaseId],
    ) -> Result<HashMap<CaseId, Vec<f32>>> {
        let g = self.current()?;
        let Some(d) = &g.dense else {
            return Ok(HashMap::new());
        };
        let by_key: HashMap<u64, &CaseId> = ids.iter().map(|id| (doc_key(id), id)).collect();
        let keys: Vec<u64> = by_key.keys().copied().collect();
        let store = d.vectors.read().map_err(|_| poisoned())?;
        Ok(store
            .chunk_scores_for(qvec, &keys)?
            .into_iter()
            .filter_map(|(k, sims)| by_key.get(&k).map(|id| ((*id).clone(), sims)))
            .collect())
    }

    /// The query's embedding (`query: ` prefix), or `None` in BM25 mode, for a blank
    /// query, or without a model (an error if the mode is dense).
    pub fn query_vector(&self, query: &Query) -> Result<Option<Vec<f32>>> {
        let g = self.current()?;
        Self::query_vector_in(&g, query)
    }

    fn query_vector_in(g: &Generation, query: &Query) -> Result<Option<Vec<f32>>> {
        Ok(match (query.mode, &g.dense) {
            (SearchMode::Bm25, _) => None,
            (_, Some(d)) if !query.text.trim().is_empty() => {
                let v = d.model.embedder.embed_queries(&[query.text.as_str()])?;
                v.into_iter().next()
            }
            (SearchMode::Dense, None) => {
                return Err(EngineError::DenseUnavailable(
                    g.dense_off_reason
                        .clone()
                        .unwrap_or_else(|| "no model".into()),
                ))
            }
            _ => None,
        })
    }

    /// The passage embeddings of a case's chunks (what its dense score is the best of),
    /// from the embedding cache for an indexed case; `None` without a model.
    pub fn passage_vectors(&self, case: &Case) -> Result<Option<Vec<Vec<f32>>>> {
        let g = self.current()?;
        let Some(d) = &g.dense else {
            return Ok(None);
        };
        let m = &d.model;
        let chunks = Self::chunks_of(case, &m.chunking);
        let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
        let mut cache = m.cache.lock().map_err(|_| poisoned())?;
        let vecs = m.embedder.embed_passages_cached(&mut cache, &refs)?;
        cache.flush()?;
        Ok(Some(vecs))
    }

    #[allow(clippy::type_complexity)]
    fn fused_ranking(
        g: &Generation,
        query: &Query,
        qvec: Option<&[f32]>,
        exclude: Option<&CaseId>,
    ) -> Result<(Vec<(CaseId, f32, Explain)>, Vec<Hit>)> {
        let want = query.offset + query.top_k + usize::from(exclude.is_some());
        let depth = query.depth.max(want);
        let mode = match (query.mode, qvec) {
            (SearchMode::Bm25, _) | (_, None) => SearchMode::Bm25,
            (m, Some(_)) => m,
        };
        // BM25 list (with cases, no snippets yet)
        let bm25: Vec<Hit> = if mode == SearchMode::Dense {
            Vec::new()
        } else {
            g.index.search(&SearchRequest {
                text: query.text.clone(),
                filters: query.filters.clone(),
                top_k: depth,
                offset: 0,
                snippets: false,
            })?
        };
        let dense: Vec<(CaseId, f32)> = match (mode, qvec) {
            (SearchMode::Bm25, _) | (_, None) => Vec::new(),
            (_, Some(v)) => Self::dense_list(g, v, &query.filters, depth)?,
        };
        let bm25_list: Vec<(CaseId, f32)> = bm25.iter().map(|h| (h.id.clone(), h.score)).collect();
        let fusion = match mode {
            SearchMode::Hybrid => Some(query.fusion),
            _ => None,
        };
        let fused = match mode {
            SearchMode::Bm25 => fuse(&bm25_list, &[], Fusion::Weighted { alpha: 0.0 }),
            SearchMode::Dense => fuse(&[], &dense, Fusion::Weighted { alpha: 1.0 }),
            SearchMode::Hybrid => fuse(&bm25_list, &dense, query.fusion),
        };
        let ranked: Vec<(CaseId, f32, Explain)> = fused
            .into_iter()
            .filter(|f| Some(&f.id) != exclude)
            .map(|f| {
                // single-list modes rank by the list's own score, not a normalised one
                let score = match mode {
                    SearchMode::Bm25 => f.bm25.map(|p| p.score).unwrap_or(0.0),
                    SearchMode::Dense => f.dense.map(|p| p.score).unwrap_or(0.0),
                    SearchMode::Hybrid => f.fused,
                };
                (
                    f.id,
                    score,
                    Explain {
                        mode,
                        ranking: Ranking::Fusion,
                        ranker: Ranking::Fusion.as_str().to_string(),
                        legal: None,
                        bm25: f.bm25,
                        dense: f.dense,
                        fused: f.fused,
                        fusion,
                    },
                )
            })
            .collect();
        Ok((ranked, bm25))
    }

    fn search_with_vector(
        &self,
        g: &Generation,
        query: &Query,
        qvec: Option<&[f32]>,
        exclude: Option<&CaseId>,
    ) -> Result<Vec<RankedCase>> {
        if query.top_k == 0 {
            return Ok(Vec::new());
        }
        let (mut ranked, bm25) = self.ranked_list(g, query, qvec, exclude)?;
        let mut cases: HashMap<CaseId, Case> = bm25.into_iter().map(|h| (h.id, h.case)).collect();
        if query.authority_order {
            // needs every candidate's tier: fetch the dense-only ones
            for (id, _, _) in &ranked {
                if !cases.contains_key(id) {
                    if let Some(c) = g.index.get(id)? {
                        cases.insert(id.clone(), c);
                    }
                }
            }
            let tier = |id: &CaseId| {
                cases
                    .get(id)
                    .map(|c| c.tier)
                    .unwrap_or(AuthorityTier::Other)
            };
            ranked.sort_by(|a, b| tier(&a.0).cmp(&tier(&b.0)).then(b.1.total_cmp(&a.1)));
        }
        // the relevance floor comes before paging: walk the ranking, measuring each case,
        // until the page is full (a filter-only listing has nothing to cover)
        let measure = if query.text.trim().is_empty() {
            None
        } else {
            Some(g.index.coverage_measure(&query.text)?)
        };
        let wanted = query.offset + query.top_k;
        // the best chunk's cosine to the query, where both have vectors: a case on point
        // told in other words (偷走 for 窃取) covers few of the query's words
        let dense_of: HashMap<CaseId, f32> = match (qvec, &g.dense) {
            (Some(q), Some(d)) if measure.is_some() => {
                let ids: Vec<CaseId> = ranked.iter().map(|r| r.0.clone()).collect();
                let by_key: HashMap<u64, &CaseId> =
                    ids.iter().map(|id| (doc_key(id), id)).collect();
                let keys: Vec<u64> = by_key.keys().copied().collect();
                let store = d.vectors.read().map_err(|_| poisoned())?;
                store
                    .chunk_scores_for(q, &keys)?
                    .into_iter()
                    .filter_map(|(k, sims)| {
                        let best = sims.into_iter().fold(f32::MIN, f32::max);
                        by_key.get(&k).map(|id| ((*id).clone(), best))
                    })
                    .collect()
            }
            _ => HashMap::new(),
        };
        let rule = if qvec.is_some() && g.dense.is_some() {
            FloorRule::WITH_MODEL
        } else {
            FloorRule::WORDS
        };
        let mut passing: Vec<(CaseId, f32, Explain, Coverage)> = Vec::with_capacity(wanted);
        for (id, score, explain) in ranked {
            if passing.len() >= wanted {
                break;
            }
            let coverage = match &measure {
                None => Coverage {
                    share: 1.0,
                    matched_words: 0.0,
                    dense: None,
                },
                Some(m) => {
                    if !cases.contains_key(&id) {
                        match g.index.get(&id)? {
                            Some(c) => {
                                cases.insert(id.clone(), c);
                            }
                            None => continue, // deleted since the vector list was read
                        }
                    }
                    let mut c = cases.get(&id).map(|c| m.of(c)).unwrap_or_default();
                    c.dense = dense_of.get(&id).copied();
                    c
                }
            };
            if query.floor.is_some_and(|floor| {
                measure.is_some()
                    && rule.relevance(coverage) < floor
                    && !cases
                        .get(&id)
                        .is_some_and(|c| shares_given_charge(c, query.legal.charges.as_deref()))
            }) {
                continue;
            }
            passing.push((id, score, explain, coverage));
        }
        let page: Vec<(CaseId, f32, Explain, Coverage)> =
            passing.into_iter().skip(query.offset).collect();
        // snippets for the page only, from a BM25 pass restricted to the page's ids
        let mut snippets: HashMap<CaseId, (Option<String>, Option<String>)> = HashMap::new();
        if query.snippets && !page.is_empty() && !query.text.trim().is_empty() {
            let hits = g.index.search(&SearchRequest {
                text: query.text.clone(),
                filters: Filters {
                    ids: Some(page.iter().map(|p| p.0.clone()).collect()),
                    ..Filters::default()
                },
                top_k: page.len(),
                offset: 0,
                snippets: true,
            })?;
            for h in hits {
                snippets.insert(h.id.clone(), (h.snippet, h.matched_field));
                cases.entry(h.id).or_insert(h.case);
            }
        }
        let mut out = Vec::with_capacity(page.len());
        for (id, score, explain, coverage) in page {
            let case = match cases.remove(&id) {
                Some(c) => c,
                None => match g.index.get(&id)? {
                    Some(c) => c,
                    None => continue, // deleted since the vector list was read
                },
            };
            let (snippet, matched_field) = snippets.remove(&id).unwrap_or((None, None));
            out.push(RankedCase {
                id,
                score,
                case,
                snippet,
                matched_field,
                explain,
                relevance: rule.relevance(coverage),
                coverage,
                generation: g.number(),
            });
        }
        Ok(out)
    }

    /// The dense list: cases by cosine similarity of their best chunk, honouring the
    /// same filters as BM25 (the admitted set comes from the full-text index).
    fn dense_list(
        g: &Generation,
        qvec: &[f32],
        filters: &Filters,
        depth: usize,
    ) -> Result<Vec<(CaseId, f32)>> {
        let Some(d) = &g.dense else {
            return Ok(Vec::new());
        };
        let keys = g.keys.read().map_err(|_| poisoned())?;
        let store = d.vectors.read().map_err(|_| poisoned())?;
        let found = if filters.is_empty() {
            store.search(qvec, depth, None)?
        } else {
            let admitted: HashSet<u64> =
                g.index.matching_ids(filters)?.iter().map(doc_key).collect();
            let pred = |k: u64| admitted.contains(&k);
            store.search(qvec, depth, Some(&pred))?
        };
        Ok(found
            .into_iter()
            .filter_map(|(k, s)| keys.get(&k).map(|id| (id.clone(), s)))
            .collect())
    }
}

/// What a commit embedded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CommitStats {
    /// Chunks that needed a vector.
    pub chunks: usize,
    /// Of those, chunks the model had to compute (the rest came from the cache).
    pub chunks_computed: usize,
}

/// Buffers upserts and deletes; [`EngineWriter::commit`] embeds what needs embedding
/// (cache first), then writes both indexes. Holds the index's writer lock (one writer
/// across all processes) until dropped or committed.
pub struct EngineWriter<'a> {
    _engine: std::marker::PhantomData<&'a Engine>,
    generation: Arc<Generation>,
    writer: leian_index::CaseWriter,
    pending: Vec<Case>,
    deleted: Vec<CaseId>,
    sources: Vec<String>,
    _lock: File,
}

impl EngineWriter<'_> {
    /// Adds or replaces a case (same id = replace).
    pub fn upsert(&mut self, case: Case) -> Result<()> {
        self.writer.upsert(&case)?;
        self.deleted.retain(|id| id != &case.id);
        if self.generation.dense.is_some() {
            self.pending.push(case);
        }
        Ok(())
    }

    pub fn upsert_statute(&mut self, article: &StatuteArticle) -> Result<()> {
        Ok(self.writer.upsert_statute(article)?)
    }

    pub fn delete(&mut self, id: &CaseId) {
        self.writer.delete(id);
        self.pending.retain(|c| &c.id != id);
        self.deleted.push(id.clone());
    }

    /// Records what this commit loads (a line in the generation's source manifest).
    pub fn note_source(&mut self, line: impl Into<String>) {
        self.sources.push(line.into());
    }

    /// Number of cases waiting to be embedded at commit.
    pub fn pending_embeddings(&self) -> usize {
        self.pending.len()
    }

    /// Embeds pending cases (calling `progress(done, total)` as it goes), saves the
    /// vectors, then commits the full-text index; `meta.json` (with the new commit_seq)
    /// is written last. Embeddings are cached before anything is committed, so a crash
    /// here costs no model time on the next run; a crash after the vectors are saved but
    /// before the full-text commit leaves vectors the index does not know, which are
    /// ignored. Only when this returns are the cases acknowledged.
    pub fn commit(self, progress: &mut dyn FnMut(usize, usize)) -> Result<CommitStats> {
        let EngineWriter {
            _engine,
            generation,
            writer,
            pending,
            deleted,
            sources,
            _lock,
        } = self;
        let (stats, embedded) = embed_cases(&generation, pending, progress)?;
        if let Some(d) = &generation.dense {
            let mut store = d.vectors.write().map_err(|_| poisoned())?;
            for id in &deleted {
                store.delete_case(doc_key(id));
            }
            for (k, id, chunks) in &embedded {
                let keys = generation.keys.read().map_err(|_| poisoned())?;
                if let Some(other) = keys.get(k) {
                    if other != id {
                        return Err(EngineError::InvalidRequest(format!(
                            "case ids {other} and {id} have the same vector key; rename one"
                        )));
                    }
                }
                drop(keys);
                store.delete_case(*k);
                store.insert_case(*k, chunks)?;
            }
            store.save(&generation.vectors_dir())?;
        }
        writer.commit()?;
        let model = generation.dense.as_ref().map(|d| d.model.clone());
        let meta = generation.index.update_meta(|m| {
            if let Some(model) = &model {
                m.model_id = Some(model.id().to_string());
                m.model_dir = Some(model.dir.display().to_string());
            }
            m.sources.extend(sources);
        })?;
        {
            let mut keys = generation.keys.write().map_err(|_| poisoned())?;
            for id in &deleted {
                keys.remove(&doc_key(id));
            }
            for (k, id, _) in embedded {
                keys.insert(k, id);
            }
        }
        generation.seq.store(meta.commit_seq, Ordering::SeqCst);
        Ok(stats)
    }
}

/// A case's chunk vectors, ready for the vector store.
type EmbeddedCase = (u64, CaseId, Vec<Vec<f32>>);

/// Embeds `pending` (the last upsert of an id wins) with the generation's model, cache
/// first, in batches.
pub(crate) fn embed_cases(
    generation: &Generation,
    mut pending: Vec<Case>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(CommitStats, Vec<EmbeddedCase>)> {
    let mut stats = CommitStats::default();
    let mut seen = HashSet::new();
    pending.reverse();
    pending.retain(|c| seen.insert(c.id.clone()));
    pending.reverse();
    let mut embedded = Vec::with_capacity(pending.len());
    let Some(d) = &generation.dense else {
        return Ok((stats, embedded));
    };
    let m = &d.model;
    let total = pending.len();
    const BATCH: usize = 16;
    let mut done = 0;
    for batch in pending.chunks(BATCH) {
        let mut texts: Vec<String> = Vec::new();
        let mut spans = Vec::with_capacity(batch.len());
        for case in batch {
            let chunks = Engine::chunks_of(case, &m.chunking);
            spans.push((texts.len(), chunks.len()));
            texts.extend(chunks);
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vecs = {
            let mut cache = m.cache.lock().map_err(|_| poisoned())?;
            let before = cache.len();
            let v = m.embedder.embed_passages_cached(&mut cache, &refs)?;
            stats.chunks += refs.len();
            stats.chunks_computed += cache.len() - before;
            cache.flush()?;
            v
        };
        for (case, (start, len)) in batch.iter().zip(spans) {
            if len > 0 {
                embedded.push((
                    doc_key(&case.id),
                    case.id.clone(),
                    vecs[start..start + len].to_vec(),
                ));
            }
        }
        done += batch.len();
        progress(done, total);
    }
    Ok((stats, embedded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_cases::{case, ids};

    #[test]
    fn a_long_paste_is_cut_to_its_facts_then_to_the_cap_and_a_short_one_is_kept() {
        let short = "被告人酒后驾驶机动车";
        assert_eq!(Query::new(short, 10).text, short);
        let facts =
            "被告人于2023年5月在某超市内趁店员不备窃取手机一部，价值人民币三千元，后被抓获。被告人到案后如实供述了自己的罪行，并退赔了被害人的全部损失。";
        let draft = format!(
            "某某人民法院\n刑事判决书\n{}\n经审理查明：{facts}\n本院认为，{}判决如下：被告人犯盗窃罪。",
            "当事人信息。".repeat(2_000),
            "被告人的行为已构成盗窃罪。".repeat(2_000)
        );
        assert!(draft.chars().count() > MAX_RANKED_CHARS);
        let q = Query::new(draft.as_str(), 10);
        let head: String = q.text.chars().take(200).collect();
        assert!(q.text.contains("窃取手机一部"), "{head}");
        assert!(!q.text.contains("本院认为"));
        assert!(!q.text.contains("当事人信息"));
        // no facts section: the text itself, cut
        let rambling = "证据".repeat(150_000);
        let q = Query::new(rambling.as_str(), 10);
        assert_eq!(q.text.chars().count(), MAX_RANKED_CHARS);
        assert!(rambling.starts_with(&q.text));
    }

    #[test]
    fn ingest_replaces_by_id_deletes_and_other_engines_see_the_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = EngineOptions {
            index_dir: dir.path().to_path_buf(),
            ..EngineOptions::default()
        };
        let engine = Engine::open(&options).expect("engine");
        // a second engine on the same dir, as another process would have
        let other = Engine::open(&options).expect("other engine");
        let mut w = engine.writer().expect("writer");
        w.upsert(case("c:1", "被告人甲在超市窃取手机一部。"))
            .expect("upsert");
        w.upsert(case("c:2", "被告人乙醉酒驾驶机动车。"))
            .expect("upsert");
        w.commit(&mut |_, _| {}).expect("commit");
        assert_eq!(engine.index().num_cases(), 2);
        assert_eq!(ids(&engine, "窃取手机"), ["c:1"]);
        // the same id again replaces the case: its old words are gone
        let mut w = engine.writer().expect("writer");
        w.upsert(case("c:1", "被告人甲冒充客服骗取钱款。"))
            .expect("upsert");
        w.delete(&CaseId::new("c:2"));
        w.commit(&mut |_, _| {}).expect("commit");
        assert_eq!(engine.index().num_cases(), 1);
        assert!(ids(&engine, "窃取手机").is_empty());
        assert_eq!(ids(&engine, "冒充客服"), ["c:1"]);
        assert!(engine.get(&CaseId::new("c:2")).expect("get").is_none());
        // the other engine reloads the new commit by itself (within 100 ms of it)
        let seen = (0..50).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            ids(&other, "冒充客服") == ["c:1"]
        });
        assert!(seen, "the other engine never saw the commit");
        // a commit releases the writer lock (one writer across processes, held until then)
        assert!(crate::generation::lock_writer(dir.path(), false)
            .expect("lock")
            .is_some());
    }
}
