//! Query → ranked cases: [`Engine::ran`] decides, in one place, which mode, ranking and
//! floor a query runs with; [`Engine::search`], [`Engine::similar`] and [`Engine::rank`]
//! run it over one generation snapshot (the BM25 list, the dense list, their fusion, the
//! legal re-ranking, the relevance floor, snippets for the page).

use super::floor::{shares_given_charge, FloorRule};
use super::fusion::{fuse, Fusion, ListPosition};
use super::legal::{LegalOptions, LegalRanker};
use super::query::{Filters, Query, Ranking, SearchMode};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::key::doc_key;
use crate::maintenance::generation::{poisoned, Generation};
use leian_index::{Coverage, Hit, SearchRequest};
use leian_ingest::{AuthorityTier, Case, CaseId, Circumstance, StatuteRef};
use leian_rank::{Contribution, LinearRanker};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

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

/// A case of a filter-only listing ([`Engine::newest`]), with the start of its facts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListedCase {
    pub case: Case,
    /// The first characters of its facts, HTML-escaped.
    pub excerpt: Option<String>,
}

impl Engine {
    /// The newest `top_k` cases that pass `filters` (no text, no ranking: e.g. the cases
    /// citing a statute), each with the start of its facts.
    pub fn newest(&self, filters: &Filters, top_k: usize) -> Result<Vec<ListedCase>> {
        let g = self.current()?;
        Ok(g.index
            .search(&SearchRequest {
                text: String::new(),
                filters: filters.clone(),
                top_k,
                offset: 0,
                snippets: true,
            })?
            .into_iter()
            .map(|h| ListedCase {
                case: h.case,
                excerpt: h.snippet,
            })
            .collect())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_cases::{case, engine_with, ids};

    /// A BM25-only engine over three fictional cases (a guiding theft case among them).
    fn engine(dir: &std::path::Path) -> Engine {
        let cases = [
            (
                "s:1",
                "被告人甲在超市趁店员不备窃取手机一部，价值三千元。",
                "盗窃罪",
                AuthorityTier::Other,
            ),
            (
                "s:2",
                "被告人乙在商场窃取他人手机一部，价值两千元。",
                "盗窃罪",
                AuthorityTier::Guiding,
            ),
            (
                "s:3",
                "被告人丙醉酒驾驶机动车在道路上行驶。",
                "危险驾驶罪",
                AuthorityTier::Other,
            ),
        ]
        .into_iter()
        .map(|(id, facts, charge, tier)| {
            let mut c = case(id, facts);
            c.charges = vec![charge.into()];
            c.tier = tier;
            c
        })
        .collect();
        engine_with(dir, cases)
    }

    #[test]
    fn ran_is_decided_once_hybrid_falls_back_and_a_listing_has_no_ranking_or_floor() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(dir.path());
        let q = Query::new("窃取手机", 10);
        let ran = engine.ran(&q);
        assert_eq!(ran.mode, SearchMode::Bm25, "no model: hybrid runs as BM25");
        assert_eq!(ran.ranking, Ranking::Legal);
        assert_eq!(ran.floor, Some(Query::DEFAULT_FLOOR));
        // every hit says what ran
        let hits = engine.search(&q).expect("search");
        assert!(!hits.is_empty());
        for h in &hits {
            assert_eq!((h.explain.mode, h.explain.ranking), (ran.mode, ran.ranking));
            assert_eq!(h.explain.ranker, ran.ranker);
        }
        let listing = engine.ran(&Query::new("", 10));
        assert_eq!((listing.ranking, listing.floor), (Ranking::Fusion, None));
        // dense alone, asked for, is an error without a model
        let dense = Query {
            mode: SearchMode::Dense,
            ..Query::new("窃取手机", 10)
        };
        assert!(matches!(
            engine.search(&dense),
            Err(EngineError::DenseUnavailable(_))
        ));
    }

    #[test]
    fn similar_leaves_the_case_out_and_the_floor_answers_nothing_off_topic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(dir.path());
        let similar: Vec<String> = engine
            .similar(&CaseId::new("s:1"), &Query::new("", 10))
            .expect("similar")
            .into_iter()
            .map(|h| h.id.to_string())
            .collect();
        assert_eq!(similar.first().map(String::as_str), Some("s:2"));
        assert!(!similar.contains(&"s:1".to_string()));
        assert!(matches!(
            engine.similar(&CaseId::new("s:9"), &Query::new("", 10)),
            Err(EngineError::CaseNotFound(_))
        ));
        // a query about something no case covers: nothing, rather than a guiding case
        assert!(ids(&engine, "原告请求判令被告支付货款及违约金").is_empty());
        let off = Query {
            floor: None,
            ..Query::new("原告请求判令被告支付货款及违约金", 10)
        };
        let unfloored = engine.search(&off).expect("search");
        assert!(unfloored.iter().all(|h| h.relevance < Query::DEFAULT_FLOOR));
    }

    #[test]
    fn authority_order_puts_the_guiding_case_first_and_newest_lists_by_filter() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(dir.path());
        let q = Query {
            authority_order: true,
            ..Query::new("超市窃取手机", 10)
        };
        let hits = engine.search(&q).expect("search");
        assert_eq!(hits.first().map(|h| h.id.as_str()), Some("s:2"));
        let listed = engine
            .newest(
                &Filters {
                    charges: vec!["危险驾驶".into()],
                    ..Filters::default()
                },
                10,
            )
            .expect("newest");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].case.id.as_str(), "s:3");
        assert!(listed[0]
            .excerpt
            .as_deref()
            .is_some_and(|e| e.contains("醉酒")));
    }
}
