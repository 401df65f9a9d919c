//! The in-memory vector store: raw vectors, case bookkeeping, tombstones and the HNSW graph.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Instant;

use crate::error::{Result, VectorError};
use crate::graph::{self, GraphShape, HnswGraph, Rows};
use crate::params::HnswParams;

/// A search scans exactly instead of walking the graph when it would look at most this many
/// vectors (all live vectors, or those the filter admits). Scanning 20,000 × 384-d vectors is a
/// few milliseconds, exact, and needs no graph — building one costs ~5 ms per vector on these
/// machines (single-threaded), so small stores never build it at all.
pub const EXACT_SCAN_MAX_VECTORS: usize = 20_000;

/// A filtered search also uses exact scan when the filter admits less than
/// `1 / EXACT_SCAN_MIN_FRACTION_INV` (5 %) of the live vectors: below that, a graph walk visits
/// mostly rejected nodes and its recall drops.
pub const EXACT_SCAN_MIN_FRACTION_INV: usize = 20;

/// Upper bound for the widened `ef` of a graph search.
const MAX_EF: usize = 4_096;

/// How a search is carried out; chosen by [`VectorStore::search`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SearchPlan {
    /// Brute force over the admitted live vectors.
    Exact,
    /// HNSW graph search (falls back to exact if the graph cannot deliver `k` docs).
    Graph,
}

/// A persisted, filtered cosine vector store for case embeddings.
///
/// A case (identified by the caller's `u64` doc number) has one or more vectors (chunks).
/// Searches return docs ranked by the best cosine similarity over their chunks.
///
/// The store keeps every vector it was given (normalised, row-major) in insertion order;
/// internal id `i` is row `i`. Deleting or replacing a case only tombstones its rows, which
/// every search then skips. The HNSW graph ([`crate::graph`]) links rows by id and holds no
/// vectors. It is built on the first graph search, by [`VectorStore::build_graph`], or by
/// [`VectorStore::save`] once the store is past [`EXACT_SCAN_MAX_VECTORS`] (on all cores);
/// later inserts join the built graph, and `save` writes it so `open` need not rebuild it.
pub struct VectorStore {
    pub(crate) dim: usize,
    pub(crate) params: HnswParams,
    pub(crate) model_id: String,
    /// Row-major normalised vectors of all internal ids, tombstoned ones included.
    pub(crate) vectors: Vec<f32>,
    /// Doc of each internal id.
    pub(crate) owners: Vec<u64>,
    /// `false` for tombstoned internal ids.
    pub(crate) alive: Vec<bool>,
    /// Live docs and their internal ids.
    pub(crate) cases: BTreeMap<u64, Vec<usize>>,
    pub(crate) live_vectors: usize,
    pub(crate) graph: OnceLock<HnswGraph>,
}

impl std::fmt::Debug for VectorStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorStore")
            .field("dim", &self.dim)
            .field("params", &self.params)
            .field("model_id", &self.model_id)
            .field("cases", &self.cases.len())
            .field("live_vectors", &self.live_vectors)
            .field("rows", &self.owners.len())
            .field("graph", &self.graph.get())
            .finish()
    }
}

impl VectorStore {
    /// An empty store for vectors of dimension `dim`.
    pub fn create(dim: usize, params: HnswParams) -> Result<Self> {
        if dim == 0 {
            return Err(VectorError::InvalidParams("dim must be > 0".into()));
        }
        params.validate()?;
        Ok(VectorStore {
            dim,
            params,
            model_id: String::new(),
            vectors: Vec::new(),
            owners: Vec::new(),
            alive: Vec::new(),
            cases: BTreeMap::new(),
            live_vectors: 0,
            graph: OnceLock::new(),
        })
    }

    /// Records which embedding model produced the vectors; saved in `meta.json`.
    pub fn with_model_id(mut self, model_id: impl Into<String>) -> Self {
        self.model_id = model_id.into();
        self
    }

    /// The embedding model id given with [`Self::with_model_id`] (empty if none).
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// HNSW parameters.
    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// Sets the base search width (`ef_search`) without rebuilding the graph, which does
    /// not depend on it: lets a caller trade recall for speed on a built store.
    pub fn set_ef_search(&mut self, ef_search: usize) -> Result<()> {
        let params = HnswParams {
            ef_search,
            ..self.params
        };
        params.validate()?;
        self.params = params;
        Ok(())
    }

    /// Number of live (not deleted) cases.
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// `true` when no live case is stored.
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// Number of live vectors (chunks) over all live cases.
    pub fn vector_count(&self) -> usize {
        self.live_vectors
    }

    /// `true` if `doc` is a live case.
    pub fn contains(&self, doc: u64) -> bool {
        self.cases.contains_key(&doc)
    }

    /// Inserts case `doc` with its chunk vectors, replacing (tombstoning) any previous version.
    ///
    /// Vectors are L2-normalised. Nothing is changed if any vector is rejected (wrong
    /// dimension, NaN/infinite, zero length) or `chunks` is empty. When the graph exists,
    /// the new rows are linked into it right away.
    pub fn insert_case<V: AsRef<[f32]>>(&mut self, doc: u64, chunks: &[V]) -> Result<()> {
        self.insert_cases(&[(doc, chunks)])
    }

    /// [`Self::insert_case`] for many cases at once; when the graph exists, their rows are
    /// linked into it on all cores (a commit of thousands of cases costs one link pass of
    /// its rows spread over the machine, not one row after the other). Nothing is changed
    /// if any case is empty or any vector is rejected.
    pub fn insert_cases<V: AsRef<[f32]>>(&mut self, cases: &[(u64, &[V])]) -> Result<()> {
        let mut normalised = Vec::with_capacity(cases.len());
        let mut rows = 0;
        for (doc, chunks) in cases {
            if chunks.is_empty() {
                return Err(VectorError::EmptyCase { doc: *doc });
            }
            let n = chunks
                .iter()
                .map(|c| normalise(c.as_ref(), self.dim))
                .collect::<Result<Vec<_>>>()?;
            rows += n.len();
            normalised.push((*doc, n));
        }
        if self.owners.len() + rows > u32::MAX as usize {
            return Err(VectorError::InvalidParams(format!(
                "a store holds at most {} vectors",
                u32::MAX
            )));
        }
        let first = self.owners.len();
        crate::memory::reserve_huge(&mut self.vectors, rows * self.dim);
        for (doc, vectors) in normalised {
            self.delete_case(doc);
            let mut ids = Vec::with_capacity(vectors.len());
            for v in vectors {
                ids.push(self.owners.len());
                self.vectors.extend_from_slice(&v);
                self.owners.push(doc);
                self.alive.push(true);
            }
            self.live_vectors += ids.len();
            self.cases.insert(doc, ids);
        }
        let end = self.owners.len();
        if let Some(graph) = self.graph.get_mut() {
            graph.reserve(end);
            let rows = Rows {
                data: &self.vectors,
                dim: self.dim,
            };
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            graph.insert_all(rows, first as u32..end as u32, threads);
        }
        Ok(())
    }

    /// Deletes case `doc` (tombstones its vectors). Returns whether it was live.
    pub fn delete_case(&mut self, doc: u64) -> bool {
        match self.cases.remove(&doc) {
            Some(ids) => {
                for &id in &ids {
                    self.alive[id] = false;
                }
                self.live_vectors -= ids.len();
                true
            }
            None => false,
        }
    }

    /// Builds the HNSW graph now if it is not built yet (otherwise the first graph search
    /// does), inserting on all available cores.
    pub fn build_graph(&self) {
        self.graph();
    }

    /// Builds the HNSW graph now on `threads` threads (1 gives the same graph on every run),
    /// if it is not built yet.
    pub fn build_graph_on(&self, threads: usize) {
        self.graph.get_or_init(|| self.new_graph(threads));
    }

    /// `true` once the HNSW graph is built (or was loaded by `open`).
    pub fn has_graph(&self) -> bool {
        self.graph.get().is_some()
    }

    /// Bytes held by the HNSW graph's links (0 if it is not built); the vectors are counted
    /// once, in the store.
    pub fn graph_bytes(&self) -> usize {
        self.graph.get().map_or(0, HnswGraph::heap_bytes)
    }

    /// The `k` live docs most similar to `query` (max cosine over their chunks), best first,
    /// restricted to docs for which `filter` returns `true`.
    ///
    /// Uses the HNSW graph, except when the store (or the filter) admits at most [`EXACT_SCAN_MAX_VECTORS`]
    /// vectors or less than 1/[`EXACT_SCAN_MIN_FRACTION_INV`] of the live vectors: then it scans
    /// the admitted docs exactly. Ties are broken by ascending doc number.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&dyn Fn(u64) -> bool>,
    ) -> Result<Vec<(u64, f32)>> {
        let plan = match filter {
            None if self.live_vectors <= EXACT_SCAN_MAX_VECTORS => SearchPlan::Exact,
            None => SearchPlan::Graph,
            Some(f) => {
                let admitted: usize = self
                    .cases
                    .iter()
                    .filter(|(doc, _)| f(**doc))
                    .map(|(_, ids)| ids.len())
                    .sum();
                if admitted <= EXACT_SCAN_MAX_VECTORS
                    || admitted * EXACT_SCAN_MIN_FRACTION_INV < self.live_vectors
                {
                    SearchPlan::Exact
                } else {
                    SearchPlan::Graph
                }
            }
        };
        self.search_with_plan(query, k, filter, plan)
    }

    /// Same as [`Self::search`] but always by brute force.
    pub fn exact_search(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&dyn Fn(u64) -> bool>,
    ) -> Result<Vec<(u64, f32)>> {
        self.search_with_plan(query, k, filter, SearchPlan::Exact)
    }

    /// Exact cosine similarity of `query` to each of `docs` (max over chunks), best first.
    /// Duplicates are merged; docs that are not live are left out.
    pub fn scores_for(&self, query: &[f32], docs: &[u64]) -> Result<Vec<(u64, f32)>> {
        let q = normalise(query, self.dim)?;
        let mut scored: BTreeMap<u64, f32> = BTreeMap::new();
        for &doc in docs {
            if let Some(ids) = self.cases.get(&doc) {
                scored.insert(doc, self.max_sim(&q, ids));
            }
        }
        let mut out: Vec<(u64, f32)> = scored.into_iter().collect();
        sort_best_first(&mut out);
        Ok(out)
    }

    /// Cosine similarity of `query` to every chunk of each of `docs`, chunks in the
    /// order they were inserted (facts first); docs that are not live are left out.
    pub fn chunk_scores_for(&self, query: &[f32], docs: &[u64]) -> Result<Vec<(u64, Vec<f32>)>> {
        let q = normalise(query, self.dim)?;
        Ok(docs
            .iter()
            .filter_map(|d| {
                self.cases.get(d).map(|ids| {
                    let sims = ids
                        .iter()
                        .map(|&id| cosine(&q, self.vectors_row(id)))
                        .collect();
                    (*d, sims)
                })
            })
            .collect())
    }

    pub(crate) fn search_with_plan(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&dyn Fn(u64) -> bool>,
        plan: SearchPlan,
    ) -> Result<Vec<(u64, f32)>> {
        let q = normalise(query, self.dim)?;
        if k == 0 || self.cases.is_empty() {
            return Ok(Vec::new());
        }
        if plan == SearchPlan::Graph {
            if let Some(hits) = self.graph_search(&q, k, filter) {
                return Ok(hits);
            }
            tracing::debug!(k, "graph search returned too few docs; exact scan");
        }
        Ok(self.exact_scan(&q, k, filter))
    }

    /// Graph search; `None` when the graph could not deliver `min(k, admitted docs)` docs.
    fn graph_search(
        &self,
        q: &[f32],
        k: usize,
        filter: Option<&dyn Fn(u64) -> bool>,
    ) -> Option<Vec<(u64, f32)>> {
        let graph = self.graph();
        let rows = self.rows();
        let has_tombstones = self.live_vectors < self.owners.len();
        let admit = |id: u32| -> bool {
            let id = id as usize;
            match (self.alive.get(id), self.owners.get(id)) {
                (Some(true), Some(doc)) => filter.is_none_or(|f| f(*doc)),
                _ => false,
            }
        };
        // Without filter or tombstones the walk stops as soon as it cannot improve; with one
        // it keeps walking until it holds `ef` admitted rows.
        let graph_filter: Option<&dyn Fn(u32) -> bool> = if filter.is_some() || has_tombstones {
            Some(&admit)
        } else {
            None
        };

        let avg_chunks = self.live_vectors.div_ceil(self.cases.len()).max(1);
        let mut want = (k * avg_chunks).min(self.live_vectors).max(1);
        loop {
            let ef = self.params.ef_search.max(want).min(MAX_EF.max(want));
            let neighbours = graph.search(rows, q, ef, graph_filter);
            let mut best: BTreeMap<u64, f32> = BTreeMap::new();
            for n in &neighbours {
                let doc = self.owners[n.id as usize];
                let sim = 1.0 - n.dist;
                let e = best.entry(doc).or_insert(sim);
                if sim > *e {
                    *e = sim;
                }
            }
            if best.len() >= k {
                let mut out: Vec<(u64, f32)> = best.into_iter().collect();
                sort_best_first(&mut out);
                out.truncate(k);
                return Some(out);
            }
            if want >= self.live_vectors || neighbours.len() < want {
                // The graph has nothing more to give; let exact scan decide.
                return None;
            }
            want = (want * 2).min(self.live_vectors);
        }
    }

    fn exact_scan(
        &self,
        q: &[f32],
        k: usize,
        filter: Option<&dyn Fn(u64) -> bool>,
    ) -> Vec<(u64, f32)> {
        let mut out: Vec<(u64, f32)> = self
            .cases
            .iter()
            .filter(|(doc, _)| filter.is_none_or(|f| f(**doc)))
            .map(|(doc, ids)| (*doc, self.max_sim(q, ids)))
            .collect();
        sort_best_first(&mut out);
        out.truncate(k);
        out
    }

    fn max_sim(&self, q: &[f32], ids: &[usize]) -> f32 {
        ids.iter()
            .map(|&id| cosine(q, self.vectors_row(id)))
            .fold(f32::NEG_INFINITY, f32::max)
    }

    pub(crate) fn vectors_row(&self, id: usize) -> &[f32] {
        &self.vectors[id * self.dim..(id + 1) * self.dim]
    }

    pub(crate) fn rows(&self) -> Rows<'_> {
        Rows {
            data: &self.vectors,
            dim: self.dim,
        }
    }

    fn graph(&self) -> &HnswGraph {
        self.graph.get_or_init(|| {
            self.new_graph(std::thread::available_parallelism().map_or(1, |n| n.get()))
        })
    }

    fn new_graph(&self, threads: usize) -> HnswGraph {
        let started = Instant::now();
        let graph = HnswGraph::build(GraphShape::of(&self.params), self.rows(), threads);
        tracing::info!(
            rows = self.owners.len(),
            threads,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "built HNSW graph"
        );
        graph
    }

    /// Assembles a store from validated parts (used by `open`).
    pub(crate) fn from_parts(
        dim: usize,
        params: HnswParams,
        model_id: String,
        vectors: Vec<f32>,
        owners: Vec<u64>,
        alive: Vec<bool>,
        graph: Option<HnswGraph>,
    ) -> Self {
        let mut cases: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        let mut live_vectors = 0;
        for (id, (&doc, &is_alive)) in owners.iter().zip(&alive).enumerate() {
            if is_alive {
                cases.entry(doc).or_default().push(id);
                live_vectors += 1;
            }
        }
        VectorStore {
            dim,
            params,
            model_id,
            vectors,
            owners,
            alive,
            cases,
            live_vectors,
            graph: graph.map(OnceLock::from).unwrap_or_default(),
        }
    }
}

/// Cosine similarity of unit vectors, computed exactly as the graph's distance does so that
/// exact and graph scores agree bit for bit.
fn cosine(a: &[f32], b: &[f32]) -> f32 {
    1.0 - graph::distance(a, b)
}

/// Checks dimension and values, then scales to unit length.
pub(crate) fn normalise(v: &[f32], dim: usize) -> Result<Vec<f32>> {
    if v.len() != dim {
        return Err(VectorError::DimMismatch {
            expected: dim,
            got: v.len(),
        });
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(VectorError::NonFinite);
    }
    let norm = v
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    if !(norm.is_normal() && norm > f64::from(f32::MIN_POSITIVE)) {
        return Err(VectorError::ZeroVector);
    }
    Ok(v.iter().map(|&x| (f64::from(x) / norm) as f32).collect())
}

fn sort_best_first(hits: &mut [(u64, f32)]) {
    hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store3() -> VectorStore {
        VectorStore::create(3, HnswParams::default()).expect("valid params")
    }

    #[test]
    fn chunk_scores_keep_insertion_order_and_skip_unknown_docs() {
        let mut s = store3();
        s.insert_case(7, &[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
            .expect("valid");
        s.insert_case(8, &[[1.0, 1.0, 0.0]]).expect("valid");
        let got = s
            .chunk_scores_for(&[1.0, 0.0, 0.0], &[7, 8, 99])
            .expect("valid");
        assert_eq!(got.len(), 2);
        let (doc, sims) = &got[0];
        assert_eq!(*doc, 7);
        assert!(
            sims[0].abs() < 1e-6 && (sims[1] - 1.0).abs() < 1e-6,
            "{sims:?}"
        );
        assert!((got[1].1[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-5);
        s.delete_case(7);
        assert_eq!(
            s.chunk_scores_for(&[1.0, 0.0, 0.0], &[7])
                .expect("valid")
                .len(),
            0
        );
    }

    #[test]
    fn create_rejects_zero_dim_and_bad_params() {
        assert!(matches!(
            VectorStore::create(0, HnswParams::default()),
            Err(VectorError::InvalidParams(_))
        ));
        let params = HnswParams {
            max_nb_connection: 300,
            ..HnswParams::default()
        };
        assert!(matches!(
            VectorStore::create(4, params),
            Err(VectorError::InvalidParams(_))
        ));
    }

    #[test]
    fn insert_rejects_bad_vectors_without_changing_the_store() {
        let mut s = store3();
        s.insert_case(1, &[vec![1.0, 0.0, 0.0]]).expect("valid");
        let err = s.insert_case(1, &[vec![0.0, 1.0, 0.0], vec![1.0, 2.0]]);
        assert!(matches!(
            err,
            Err(VectorError::DimMismatch {
                expected: 3,
                got: 2
            })
        ));
        assert!(matches!(
            s.insert_case(2, &[vec![0.0, 0.0, 0.0]]),
            Err(VectorError::ZeroVector)
        ));
        assert!(matches!(
            s.insert_case(2, &[vec![f32::NAN, 1.0, 0.0]]),
            Err(VectorError::NonFinite)
        ));
        assert!(matches!(
            s.insert_case(2, &[] as &[Vec<f32>]),
            Err(VectorError::EmptyCase { doc: 2 })
        ));
        // Case 1 still has its original single vector.
        assert_eq!(s.len(), 1);
        assert_eq!(s.vector_count(), 1);
        let hits = s.exact_search(&[1.0, 0.0, 0.0], 5, None).expect("valid");
        assert_eq!(hits.len(), 1);
        assert!((hits[0].1 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn search_returns_docs_by_max_chunk_similarity_deduplicated() {
        let mut s = store3();
        // doc 1: two chunks, one of them exactly the query direction.
        s.insert_case(1, &[vec![2.0, 0.0, 0.0], vec![0.0, 5.0, 0.0]])
            .expect("valid");
        // doc 2: cos with (0,1,0) = 0.8
        s.insert_case(2, &[vec![0.6, 0.8, 0.0]]).expect("valid");
        // doc 3: orthogonal, cos 0
        s.insert_case(3, &[vec![0.0, 0.0, 1.0]]).expect("valid");
        for hits in [
            s.search(&[0.0, 3.0, 0.0], 10, None).expect("valid"),
            s.exact_search(&[0.0, 3.0, 0.0], 10, None).expect("valid"),
        ] {
            let docs: Vec<u64> = hits.iter().map(|h| h.0).collect();
            assert_eq!(docs, vec![1, 2, 3]);
            assert!((hits[0].1 - 1.0).abs() < 1e-6);
            assert!((hits[1].1 - 0.8).abs() < 1e-6);
            assert!(hits[2].1.abs() < 1e-6);
        }
        let top1 = s.search(&[0.0, 1.0, 0.0], 1, None).expect("valid");
        assert_eq!(top1.len(), 1);
        assert_eq!(top1[0].0, 1);
    }

    #[test]
    fn filter_and_tombstones_are_honoured_by_every_search() {
        let mut s = store3();
        s.insert_case(1, &[vec![1.0, 0.0, 0.0]]).expect("valid");
        s.insert_case(2, &[vec![0.9, 0.1, 0.0]]).expect("valid");
        s.insert_case(3, &[vec![0.8, 0.2, 0.0]]).expect("valid");
        s.build_graph();
        assert!(s.delete_case(1));
        assert!(!s.delete_case(1));
        assert_eq!(s.len(), 2);
        let q = [1.0, 0.0, 0.0];
        let not_two = |d: u64| d != 2;
        for hits in [
            s.search(&q, 10, None).expect("valid"),
            s.exact_search(&q, 10, None).expect("valid"),
        ] {
            assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![2, 3]);
        }
        for hits in [
            s.search(&q, 10, Some(&not_two)).expect("valid"),
            s.exact_search(&q, 10, Some(&not_two)).expect("valid"),
            s.search_with_plan(&q, 10, Some(&not_two), SearchPlan::Graph)
                .expect("valid"),
        ] {
            assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![3]);
        }
        let scored = s.scores_for(&q, &[3, 1, 2, 3, 99]).expect("valid");
        assert_eq!(scored.iter().map(|h| h.0).collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn replacing_a_case_tombstones_its_old_vectors() {
        let mut s = store3();
        s.insert_case(7, &[vec![1.0, 0.0, 0.0]]).expect("valid");
        s.insert_case(8, &[vec![0.0, 1.0, 0.0]]).expect("valid");
        s.build_graph(); // later inserts go into the built graph
        s.insert_case(7, &[vec![0.0, 0.0, 1.0]]).expect("valid");
        assert_eq!(s.len(), 2);
        assert_eq!(s.vector_count(), 2);
        let hits = s
            .search_with_plan(&[1.0, 0.0, 0.0], 2, None, SearchPlan::Graph)
            .expect("valid");
        // Old direction of 7 is gone: both remaining docs are orthogonal to the query.
        assert_eq!(hits.len(), 2);
        assert!(hits.iter().all(|h| h.1.abs() < 1e-6), "{hits:?}");
        let hits = s.search(&[0.0, 0.0, 1.0], 1, None).expect("valid");
        assert_eq!(hits[0].0, 7);
    }

    #[test]
    fn querying_with_a_stored_vector_does_not_panic_and_scores_one() {
        // Regression: hnsw_rs's DistDot asserted 1 - dot >= 0 and panicked on this.
        let mut rng = crate::recall_tests::TestRng::new(3);
        let mut s = VectorStore::create(384, HnswParams::default()).expect("valid");
        let vs: Vec<Vec<f32>> = (0..50).map(|_| rng.gaussian_vec(384)).collect();
        for (i, v) in vs.iter().enumerate() {
            // Every vector twice (duplicate chunks are common in judgments).
            s.insert_case(i as u64, &[v.clone(), v.clone()])
                .expect("valid");
        }
        for (i, v) in vs.iter().enumerate() {
            let hits = s
                .search_with_plan(v, 1, None, SearchPlan::Graph)
                .expect("valid");
            assert_eq!(hits[0].0, i as u64);
            assert!((hits[0].1 - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn query_errors_are_reported() {
        let mut s = store3();
        s.insert_case(1, &[vec![1.0, 0.0, 0.0]]).expect("valid");
        assert!(matches!(
            s.search(&[1.0, 0.0], 1, None),
            Err(VectorError::DimMismatch { .. })
        ));
        assert!(matches!(
            s.scores_for(&[0.0, 0.0, 0.0], &[1]),
            Err(VectorError::ZeroVector)
        ));
        assert!(s
            .search(&[1.0, 0.0, 0.0], 0, None)
            .expect("valid")
            .is_empty());
    }

    #[test]
    fn selective_filter_uses_exact_scan_and_finds_the_true_best() {
        let mut rng = crate::recall_tests::TestRng::new(5);
        let mut s = VectorStore::create(16, HnswParams::default()).expect("valid");
        for doc in 0..3000u64 {
            s.insert_case(doc, &[rng.gaussian_vec(16)]).expect("valid");
        }
        let only = |d: u64| d % 500 == 1; // 6 docs
        let q = rng.gaussian_vec(16);
        let got = s.search(&q, 3, Some(&only)).expect("valid");
        let want = s.exact_search(&q, 3, Some(&only)).expect("valid");
        assert_eq!(got, want);
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|h| only(h.0)));
    }

    #[test]
    fn store_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<VectorStore>();
    }
}
