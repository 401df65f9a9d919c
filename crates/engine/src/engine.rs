//! [`Engine`]: BM25 + dense hybrid search over one index directory.

use crate::error::{EngineError, Result};
use crate::fusion::{fuse, Fusion, ListPosition};
use crate::key::doc_key;
use leian_embed::{chunk_sections, ChunkOptions, Embedder, EmbeddingCache};
use leian_index::{CaseIndex, Filters, Hit, SearchRequest};
use leian_ingest::{AuthorityTier, Case, CaseId, StatuteArticle};
use leian_vector::{HnswParams, VectorStore};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// Vectors live beside the tantivy index, in the same generation directory.
const VECTORS_DIR: &str = "vectors";
/// The embedding cache lives at the index root: it outlives generations.
const CACHE_DIR: &str = "embed-cache";

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
}

impl Query {
    /// Chosen on the dev data (`leian eval lecard|scm --sweep`): weighted fusion with
    /// alpha 0.3 is the one setting that beat BM25 on both LeCaRD (corpus NDCG@30) and
    /// SCM accuracy; RRF lost to BM25 on LeCaRD's corpus protocol.
    pub const DEFAULT_FUSION: Fusion = Fusion::Weighted { alpha: 0.3 };
    pub const DEFAULT_DEPTH: usize = 100;

    pub fn new(text: impl Into<String>, top_k: usize) -> Self {
        Query {
            text: text.into(),
            filters: Filters::default(),
            top_k,
            offset: 0,
            mode: SearchMode::Hybrid,
            fusion: Self::DEFAULT_FUSION,
            authority_order: false,
            snippets: true,
            depth: Self::DEFAULT_DEPTH,
        }
    }
}

/// Why a hit ranks where it does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explain {
    /// The mode actually used (hybrid falls back to bm25 without a model).
    pub mode: SearchMode,
    pub bm25: Option<ListPosition>,
    pub dense: Option<ListPosition>,
    pub fused: f32,
    pub fusion: Option<Fusion>,
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
}

/// The dense half: model, vectors, cache. Absent without a model.
struct Dense {
    embedder: Embedder,
    vectors: RwLock<VectorStore>,
    cache: Mutex<EmbeddingCache>,
    chunking: ChunkOptions,
}

/// BM25 + dense search over one index directory. `Send + Sync`: share it in an `Arc`.
pub struct Engine {
    index: CaseIndex,
    dense: Option<Arc<Dense>>,
    /// Why dense search is off, when it is.
    dense_off_reason: Option<String>,
    /// Vector key → case id, for every case that has vectors.
    keys: RwLock<HashMap<u64, CaseId>>,
}

impl Engine {
    /// Opens (or creates) the index and, when the model dir holds a model, the dense half.
    /// Without a model the engine is BM25-only and logs one warning saying how to get it.
    pub fn open(options: &EngineOptions) -> Result<Engine> {
        let index = CaseIndex::open_or_create(&options.index_dir)?;
        let (dense, reason) = match &options.model_dir {
            Some(dir) if dir.join("config.json").exists() => {
                match Self::open_dense(&index, dir, options)? {
                    Ok(d) => (Some(Arc::new(d)), None),
                    Err(reason) => (None, Some(reason)),
                }
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
        if let Some(r) = &reason {
            tracing::info!("{r}");
        }
        let mut keys = HashMap::new();
        if let Some(d) = &dense {
            let store = d.vectors.read().map_err(|_| poisoned())?;
            for id in index.all_ids()? {
                let k = doc_key(&id);
                if store.contains(k) {
                    keys.insert(k, id);
                }
            }
        }
        Ok(Engine {
            index,
            dense,
            dense_off_reason: reason,
            keys: RwLock::new(keys),
        })
    }

    /// Loads the model and the vectors; `Ok(Err(reason))` when they exist but don't fit
    /// together (e.g. vectors made by another model), so the engine runs BM25-only.
    fn open_dense(
        index: &CaseIndex,
        model_dir: &Path,
        options: &EngineOptions,
    ) -> Result<std::result::Result<Dense, String>> {
        let cache_dir = options.cache_dir.as_deref();
        let embedder = Embedder::load(model_dir)?;
        let vec_dir = index.generation_dir().join(VECTORS_DIR);
        let vectors = if vec_dir.join("meta.json").exists() {
            let store = VectorStore::open(&vec_dir)?;
            if store.model_id() != embedder.model_id() {
                return Ok(Err(format!(
                    "the index's vectors were made by model {} but the loaded model is {}: \
                     dense search is off until the index is rebuilt with this model",
                    store.model_id(),
                    embedder.model_id()
                )));
            }
            store
        } else {
            VectorStore::create(embedder.dim(), HnswParams::default())?
                .with_model_id(embedder.model_id())
        };
        let cache_dir = cache_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| index.root().join(CACHE_DIR));
        let cache = EmbeddingCache::open(&cache_dir, embedder.model_id())?;
        Ok(Ok(Dense {
            embedder,
            vectors: RwLock::new(vectors),
            cache: Mutex::new(cache),
            chunking: ChunkOptions {
                max_chunks: options
                    .max_chunks
                    .unwrap_or(ChunkOptions::default().max_chunks)
                    .max(1),
                ..ChunkOptions::default()
            },
        }))
    }

    pub fn index(&self) -> &CaseIndex {
        &self.index
    }

    /// Whether the case has vectors (false without a model).
    pub fn has_vectors(&self, id: &CaseId) -> bool {
        self.keys
            .read()
            .map(|k| k.get(&doc_key(id)) == Some(id))
            .unwrap_or(false)
    }

    /// Whether dense and hybrid search are available.
    pub fn has_dense(&self) -> bool {
        self.dense.is_some()
    }

    /// Why dense search is off, when it is.
    pub fn dense_off_reason(&self) -> Option<&str> {
        self.dense_off_reason.as_deref()
    }

    /// The embedding model id, when one is loaded.
    pub fn model_id(&self) -> Option<&str> {
        self.dense.as_ref().map(|d| d.embedder.model_id())
    }

    pub fn get(&self, id: &CaseId) -> Result<Option<Case>> {
        Ok(self.index.get(id)?)
    }

    pub fn statute(&self, law: &str, article: u32) -> Result<Option<StatuteArticle>> {
        Ok(self.index.statute(law, article)?)
    }

    pub fn writer(&self) -> Result<EngineWriter<'_>> {
        Ok(EngineWriter {
            engine: self,
            writer: self.index.writer()?,
            pending: Vec::new(),
            deleted: Vec::new(),
        })
    }

    /// The text chunks of a case that get embedded: facts first (they carry what makes
    /// two cases alike), then a guiding case's 裁判要点; see `leian_embed::chunk_sections`
    /// for the cap and why.
    fn chunks_of(case: &Case, options: &ChunkOptions) -> Vec<String> {
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

    /// Searches in the query's mode; `hybrid` and `dense` fall back to BM25 when no
    /// model is loaded (the hit's `explain.mode` says so) — except that `dense` alone,
    /// asked explicitly, is an error without a model.
    pub fn search(&self, query: &Query) -> Result<Vec<RankedCase>> {
        let qvec = self.query_vector(query)?;
        self.search_with_vector(query, qvec.as_deref(), None)
    }

    /// Cases similar to an indexed one: its facts as the query text and its own facts
    /// embedding (from the cache) as the query vector; the case itself is left out.
    pub fn similar(&self, id: &CaseId, query: &Query) -> Result<Vec<RankedCase>> {
        let case = self
            .index
            .get(id)?
            .ok_or_else(|| EngineError::CaseNotFound(id.clone()))?;
        let mut q = query.clone();
        q.text = case.fact_text().to_string();
        q.top_k += 1;
        let qvec = match (&self.dense, q.mode) {
            (Some(d), SearchMode::Dense | SearchMode::Hybrid) => {
                let chunks = Self::chunks_of(&case, &d.chunking);
                let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
                let mut cache = d.cache.lock().map_err(|_| poisoned())?;
                let vecs = d.embedder.embed_passages_cached(&mut cache, &refs)?;
                cache.flush()?;
                vecs.into_iter().next()
            }
            _ => None,
        };
        let mut hits = self.search_with_vector(&q, qvec.as_deref(), Some(id))?;
        hits.truncate(query.top_k);
        Ok(hits)
    }

    /// The whole fused ranking (to the query's depth), without loading cases or
    /// snippets: what evaluations need. The query's `offset`/`top_k` only widen the depth.
    pub fn rank(&self, query: &Query) -> Result<Vec<(CaseId, f32, Explain)>> {
        let qvec = self.query_vector(query)?;
        self.rank_with_vector(query, qvec.as_deref())
    }

    /// [`Engine::rank`] with a query vector computed earlier (evaluations that try many
    /// settings embed each query once).
    pub fn rank_with_vector(
        &self,
        query: &Query,
        qvec: Option<&[f32]>,
    ) -> Result<Vec<(CaseId, f32, Explain)>> {
        Ok(self.fused_ranking(query, qvec, None)?.0)
    }

    /// Cosine similarity of `qvec` to each embedded chunk (facts first) of each case
    /// in `ids`; cases without vectors are absent. For re-rankers that score a long case
    /// by its best chunks (the `legal` module).
    pub fn chunk_similarities(
        &self,
        qvec: &[f32],
        ids: &[CaseId],
    ) -> Result<HashMap<CaseId, Vec<f32>>> {
        let Some(d) = &self.dense else {
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
        Ok(match (query.mode, &self.dense) {
            (SearchMode::Bm25, _) => None,
            (_, Some(d)) if !query.text.trim().is_empty() => {
                let v = d.embedder.embed_queries(&[query.text.as_str()])?;
                v.into_iter().next()
            }
            (SearchMode::Dense, None) => {
                return Err(EngineError::DenseUnavailable(
                    self.dense_off_reason
                        .clone()
                        .unwrap_or_else(|| "no model".into()),
                ))
            }
            _ => None,
        })
    }

    #[allow(clippy::type_complexity)]
    fn fused_ranking(
        &self,
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
            self.index.search(&SearchRequest {
                text: query.text.clone(),
                filters: query.filters.clone(),
                top_k: depth,
                offset: 0,
                snippets: false,
            })?
        };
        let dense: Vec<(CaseId, f32)> = match (mode, qvec) {
            (SearchMode::Bm25, _) | (_, None) => Vec::new(),
            (_, Some(v)) => self.dense_list(v, &query.filters, depth)?,
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
        query: &Query,
        qvec: Option<&[f32]>,
        exclude: Option<&CaseId>,
    ) -> Result<Vec<RankedCase>> {
        if query.top_k == 0 {
            return Ok(Vec::new());
        }
        let (mut ranked, bm25) = self.fused_ranking(query, qvec, exclude)?;
        let mut cases: HashMap<CaseId, Case> = bm25.into_iter().map(|h| (h.id, h.case)).collect();
        if query.authority_order {
            // needs every candidate's tier: fetch the dense-only ones
            for (id, _, _) in &ranked {
                if !cases.contains_key(id) {
                    if let Some(c) = self.index.get(id)? {
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
        let page: Vec<(CaseId, f32, Explain)> = ranked
            .into_iter()
            .skip(query.offset)
            .take(query.top_k)
            .collect();
        // snippets for the page only, from a BM25 pass restricted to the page's ids
        let mut snippets: HashMap<CaseId, (Option<String>, Option<String>)> = HashMap::new();
        if query.snippets && !page.is_empty() && !query.text.trim().is_empty() {
            let hits = self.index.search(&SearchRequest {
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
        for (id, score, explain) in page {
            let case = match cases.remove(&id) {
                Some(c) => c,
                None => match self.index.get(&id)? {
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
            });
        }
        Ok(out)
    }

    /// The dense list: cases by cosine similarity of their best chunk, honouring the
    /// same filters as BM25 (the admitted set comes from the full-text index).
    fn dense_list(
        &self,
        qvec: &[f32],
        filters: &Filters,
        depth: usize,
    ) -> Result<Vec<(CaseId, f32)>> {
        let Some(d) = &self.dense else {
            return Ok(Vec::new());
        };
        let keys = self.keys.read().map_err(|_| poisoned())?;
        let store = d.vectors.read().map_err(|_| poisoned())?;
        let found = if filters.is_empty() {
            store.search(qvec, depth, None)?
        } else {
            let admitted: HashSet<u64> = self
                .index
                .search(&SearchRequest {
                    text: String::new(),
                    filters: filters.clone(),
                    top_k: self.index.num_cases() as usize,
                    offset: 0,
                    snippets: false,
                })?
                .iter()
                .map(|h| doc_key(&h.id))
                .collect();
            let pred = |k: u64| admitted.contains(&k);
            store.search(qvec, depth, Some(&pred))?
        };
        Ok(found
            .into_iter()
            .filter_map(|(k, s)| keys.get(&k).map(|id| (id.clone(), s)))
            .collect())
    }
}

fn poisoned() -> EngineError {
    EngineError::InvalidRequest("an earlier panic left the engine's state poisoned".into())
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
/// (cache first), then writes both indexes.
pub struct EngineWriter<'a> {
    engine: &'a Engine,
    writer: leian_index::CaseWriter,
    pending: Vec<Case>,
    deleted: Vec<CaseId>,
}

impl EngineWriter<'_> {
    /// Adds or replaces a case (same id = replace).
    pub fn upsert(&mut self, case: Case) -> Result<()> {
        self.writer.upsert(&case)?;
        if self.engine.dense.is_some() {
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

    /// Number of cases waiting to be embedded at commit.
    pub fn pending_embeddings(&self) -> usize {
        self.pending.len()
    }

    /// Embeds pending cases (calling `progress(done, total)` as it goes), then commits the
    /// full-text index and saves the vectors. Embeddings are cached before anything is
    /// committed, so a crash here costs no model time on the next run.
    pub fn commit(self, progress: &mut dyn FnMut(usize, usize)) -> Result<CommitStats> {
        let mut stats = CommitStats::default();
        let EngineWriter {
            engine,
            writer,
            mut pending,
            deleted,
        } = self;
        // the last upsert of an id wins
        let mut seen = HashSet::new();
        pending.reverse();
        pending.retain(|c| seen.insert(c.id.clone()));
        pending.reverse();
        let mut embedded: Vec<(u64, CaseId, Vec<Vec<f32>>)> = Vec::with_capacity(pending.len());
        if let Some(d) = &engine.dense {
            let total = pending.len();
            const BATCH: usize = 16;
            let mut done = 0;
            for batch in pending.chunks(BATCH) {
                let mut texts: Vec<String> = Vec::new();
                let mut spans = Vec::with_capacity(batch.len());
                for case in batch {
                    let chunks = Engine::chunks_of(case, &d.chunking);
                    spans.push((texts.len(), chunks.len()));
                    texts.extend(chunks);
                }
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                let vecs = {
                    let mut cache = d.cache.lock().map_err(|_| poisoned())?;
                    let before = cache.len();
                    let v = d.embedder.embed_passages_cached(&mut cache, &refs)?;
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
        }
        writer.commit()?;
        if let Some(d) = &engine.dense {
            let mut keys = engine.keys.write().map_err(|_| poisoned())?;
            let mut store = d.vectors.write().map_err(|_| poisoned())?;
            for id in &deleted {
                let k = doc_key(id);
                store.delete_case(k);
                keys.remove(&k);
            }
            for (k, id, chunks) in embedded {
                if let Some(other) = keys.get(&k) {
                    if other != &id {
                        return Err(EngineError::InvalidRequest(format!(
                            "case ids {other} and {id} have the same vector key; rename one"
                        )));
                    }
                }
                store.delete_case(k);
                store.insert_case(k, &chunks)?;
                keys.insert(k, id);
            }
            store.save(&engine.index.generation_dir().join(VECTORS_DIR))?;
        }
        Ok(stats)
    }
}
