//! Legal-element-aware ranking over an [`Engine`]: a structured query (facts plus the
//! charges and statutes a judge gives, or charges inferred from the nearest cases), a
//! candidate pool (the hybrid ranking, widened by the cases sharing the query's
//! charges), text scores (BM25, facts embedding by best chunks), legal elements of each
//! candidate, and a [`LinearRanker`] combining them with an explanation per hit.
//!
//! [`LegalRanker`] caches each case's elements and the index's charge vocabulary; it
//! belongs to one index generation (make a new one after a rebuild).

use super::query::{Filters, Query, Ranking};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use leian_index::SearchRequest;
use leian_ingest::{CaseId, StatuteRef};
use leian_rank::features::{features, normalise, TextScores};
use leian_rank::{
    infer_charges, resolve_charge, Contribution, Features, InferredCharge, LegalElements,
    LinearRanker,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

/// How a case's chunk similarities become one dense score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ChunkScore {
    /// The best chunk (max-sim).
    #[default]
    Max,
    /// The first chunk only (what truncating a case at 512 tokens gives).
    First,
    /// The mean of the best `k` chunks (all of them when fewer).
    TopMean(usize),
}

impl std::str::FromStr for ChunkScore {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "max" => Ok(ChunkScore::Max),
            "first" => Ok(ChunkScore::First),
            other => other
                .strip_prefix("top")
                .and_then(|k| k.parse::<usize>().ok())
                .filter(|k| *k > 0)
                .map(ChunkScore::TopMean)
                .ok_or_else(|| format!("unknown chunk score {other:?}: want max, first or topK")),
        }
    }
}

impl ChunkScore {
    fn aggregate(self, sims: &[f32]) -> Option<f32> {
        if sims.is_empty() {
            return None;
        }
        Some(match self {
            ChunkScore::Max => sims.iter().copied().fold(f32::NEG_INFINITY, f32::max),
            ChunkScore::First => sims[0],
            ChunkScore::TopMean(k) => {
                let mut s = sims.to_vec();
                s.sort_by(|a, b| b.total_cmp(a));
                s.truncate(k);
                s.iter().sum::<f32>() / s.len() as f32
            }
        })
    }
}

/// The legal half of a query: what the judge states besides the facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegalQuery {
    /// Charges (罪名/案由) the judge gives; `None` = infer them from the facts.
    pub charges: Option<Vec<String>>,
    /// Statutes the judge cites.
    pub statutes: Vec<StatuteRef>,
}

/// Settings of the legal ranking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LegalOptions {
    /// Candidates taken from the hybrid ranking.
    pub pool: usize,
    /// Candidates added from the cases sharing the query's charges (BM25 order).
    pub charge_pool: usize,
    /// Neighbours voting when charges are inferred.
    pub neighbours: usize,
    /// Share of the vote an inferred charge needs.
    pub min_share: f32,
    /// First-stage top cases (sharing the query's charges) whose facts form the
    /// pseudo-relevance-feedback query; 0 turns the `prf` feature off.
    pub prf_docs: usize,
    pub chunk_score: ChunkScore,
}

impl Default for LegalOptions {
    fn default() -> Self {
        LegalOptions {
            pool: 100,
            charge_pool: 200,
            neighbours: 10,
            min_share: 0.4,
            prf_docs: 3,
            chunk_score: ChunkScore::Max,
        }
    }
}

/// What the ranking understood of the query, for `explain`.
#[derive(Debug, Clone, Serialize)]
pub struct QueryUnderstanding {
    pub elements: LegalElements,
    /// Whether the charges were given (`false`: inferred, see `inferred`).
    pub charges_given: bool,
    pub inferred: Vec<InferredCharge>,
    /// The 刑法 articles of the charges, as statute references.
    pub charge_statutes: Vec<String>,
    pub ranker: String,
}

/// One ranked candidate.
#[derive(Debug, Clone, Serialize)]
pub struct LegalHit {
    pub id: CaseId,
    pub score: f32,
    pub features: Features,
    /// Each feature's part in the score.
    pub contributions: Vec<Contribution>,
    #[serde(serialize_with = "serialize_arc")]
    pub elements: Arc<LegalElements>,
}

fn serialize_arc<S: serde::Serializer>(
    e: &Arc<LegalElements>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    e.as_ref().serialize(s)
}

/// The ranking of one query.
#[derive(Debug, Clone, Serialize)]
pub struct LegalRanking {
    pub query: QueryUnderstanding,
    pub hits: Vec<LegalHit>,
}

/// Cases whose elements [`LegalRanker`] keeps in memory at most.
const ELEMENT_CACHE_CASES: usize = 50_000;

/// Ranks by legal elements; share it across queries (it caches case elements).
pub struct LegalRanker {
    pub model: LinearRanker,
    pub options: LegalOptions,
    elements: Mutex<HashMap<CaseId, Arc<LegalElements>>>,
    /// 刑法 article → the charge names indexed cases use for it.
    vocabulary: OnceLock<BTreeMap<u16, Vec<String>>>,
}

impl LegalRanker {
    pub fn new(model: LinearRanker, options: LegalOptions) -> Self {
        LegalRanker {
            model,
            options,
            elements: Mutex::new(HashMap::new()),
            vocabulary: OnceLock::new(),
        }
    }

    fn poisoned() -> EngineError {
        EngineError::InvalidRequest("an earlier panic left the legal ranker poisoned".into())
    }

    /// The elements of an indexed case (cached); `None` if it is gone.
    pub fn case_elements(
        &self,
        engine: &Engine,
        id: &CaseId,
    ) -> Result<Option<Arc<LegalElements>>> {
        if let Some(e) = self.elements.lock().map_err(|_| Self::poisoned())?.get(id) {
            return Ok(Some(e.clone()));
        }
        // stored at ingest; extracted here only for cases written before elements were
        // stored (or by an older extraction)
        let stored = engine
            .stored_elements(id)?
            .and_then(|bytes| LegalElements::from_stored(&bytes));
        let e = match stored {
            Some(e) => Arc::new(e),
            None => {
                let Some(case) = engine.get(id)? else {
                    return Ok(None);
                };
                Arc::new(LegalElements::of_case(&case))
            }
        };
        let mut cache = self.elements.lock().map_err(|_| Self::poisoned())?;
        // a court's archive would otherwise end up whole in this map: start over past the
        // cap (reading stored elements again costs microseconds a case)
        if cache.len() >= ELEMENT_CACHE_CASES {
            cache.clear();
        }
        cache.insert(id.clone(), e.clone());
        Ok(Some(e))
    }

    fn vocabulary(&self, engine: &Engine) -> Result<&BTreeMap<u16, Vec<String>>> {
        if let Some(v) = self.vocabulary.get() {
            return Ok(v);
        }
        // from the index's charge keys (a term dictionary, not a pass over the cases); a
        // key filters exactly like the names it was made from
        let mut names: BTreeMap<u16, HashSet<String>> = BTreeMap::new();
        for key in engine.charge_keys()? {
            if let Some(a) = resolve_charge(&key) {
                names.entry(a.article).or_default().insert(key);
            }
        }
        let built = names
            .into_iter()
            .map(|(a, set)| {
                let mut v: Vec<String> = set.into_iter().collect();
                v.sort();
                (a, v)
            })
            .collect();
        Ok(self.vocabulary.get_or_init(|| built))
    }

    /// Ranks the query's candidates (all of the pool, best first). `qvec` is the query
    /// embedding (`None` without a model: the dense feature is then 0).
    pub fn rank(
        &self,
        engine: &Engine,
        query: &Query,
        legal: &LegalQuery,
        qvec: Option<&[f32]>,
    ) -> Result<LegalRanking> {
        self.rank_sized(engine, query, legal, qvec, 0)
    }

    /// [`LegalRanker::rank`] with a first-stage pool of at least `want` cases (a page
    /// deeper than the pool).
    pub fn rank_sized(
        &self,
        engine: &Engine,
        query: &Query,
        legal: &LegalQuery,
        qvec: Option<&[f32]>,
        want: usize,
    ) -> Result<LegalRanking> {
        let o = &self.options;
        let pool_size = o.pool.max(want);
        let base_query = Query {
            ranking: Ranking::Fusion,
            depth: query.depth.max(pool_size),
            top_k: pool_size,
            offset: 0,
            snippets: false,
            authority_order: false,
            ..query.clone()
        };
        let base = engine.rank_with_vector(&base_query, qvec)?;
        let mut pool: Vec<CaseId> = base
            .iter()
            .take(pool_size)
            .map(|(id, _, _)| id.clone())
            .collect();
        // the query's elements, with charges given or inferred from the nearest cases
        let mut inferred = Vec::new();
        let charges = match &legal.charges {
            Some(c) => c.clone(),
            None => {
                // neighbours from the whole index: a filter narrows the answer, not
                // what the facts are
                let near = if query.filters.is_empty() {
                    pool.iter().take(o.neighbours).cloned().collect::<Vec<_>>()
                } else {
                    let q = Query {
                        filters: Filters::default(),
                        depth: o.neighbours,
                        top_k: o.neighbours,
                        ..base_query.clone()
                    };
                    engine
                        .rank_with_vector(&q, qvec)?
                        .into_iter()
                        .take(o.neighbours)
                        .map(|(id, _, _)| id)
                        .collect()
                };
                let mut neighbour_charges = Vec::new();
                for id in &near {
                    if let Some(e) = self.case_elements(engine, id)? {
                        neighbour_charges.push(e.charges.clone());
                    }
                }
                let refs: Vec<&[String]> = neighbour_charges.iter().map(Vec::as_slice).collect();
                inferred = infer_charges(&refs, o.min_share, 2);
                inferred.iter().map(|c| c.name.clone()).collect()
            }
        };
        let qel = LegalElements::from_text(&query.text, &charges, &legal.statutes);
        // widen the pool with the cases that share a charge (by the index's own names)
        // (not when the query filters by charge itself: the filter decides then)
        if o.charge_pool > 0 && !qel.articles.is_empty() && query.filters.charges.is_empty() {
            let vocab = self.vocabulary(engine)?;
            let names: Vec<String> = qel
                .articles
                .iter()
                .filter_map(|a| vocab.get(&a.article))
                .flatten()
                .cloned()
                .collect();
            if !names.is_empty() {
                let hits = engine.index().search(&SearchRequest {
                    text: query.text.clone(),
                    filters: Filters {
                        charges: names,
                        ..query.filters.clone()
                    },
                    top_k: o.charge_pool,
                    offset: 0,
                    snippets: false,
                })?;
                let have: HashSet<CaseId> = pool.iter().cloned().collect();
                pool.extend(
                    hits.into_iter()
                        .map(|h| h.id)
                        .filter(|id| !have.contains(id)),
                );
            }
        }
        // pseudo-relevance feedback: the facts of the first-stage top cases sharing the
        // query's charges (any top cases when it has none)
        let mut prf_text = String::new();
        let mut taken = 0;
        for id in &pool {
            if taken == o.prf_docs {
                break;
            }
            let Some(el) = self.case_elements(engine, id)? else {
                continue;
            };
            let shares = qel.articles.is_empty()
                || el
                    .articles
                    .iter()
                    .any(|a| qel.articles.iter().any(|b| a.article == b.article));
            if shares {
                if let Some(case) = engine.get(id)? {
                    prf_text.push_str(case.fact_text());
                    prf_text.push('\n');
                    taken += 1;
                }
            }
        }
        let prf: HashMap<CaseId, f32> = if prf_text.is_empty() {
            HashMap::new()
        } else {
            engine
                .index()
                .bm25_scores_for(&prf_text, &pool)?
                .into_iter()
                .collect()
        };
        // text scores over the pool
        let bm25: HashMap<CaseId, f32> = engine
            .index()
            .bm25_scores_for(&query.text, &pool)?
            .into_iter()
            .collect();
        let chunks = match qvec {
            Some(v) => engine.chunk_similarities(v, &pool)?,
            None => HashMap::new(),
        };
        let raw_bm25: Vec<Option<f32>> = pool.iter().map(|id| bm25.get(id).copied()).collect();
        let raw_dense: Vec<Option<f32>> = pool
            .iter()
            .map(|id| chunks.get(id).and_then(|s| o.chunk_score.aggregate(s)))
            .collect();
        let raw_prf: Vec<Option<f32>> = pool.iter().map(|id| prf.get(id).copied()).collect();
        let (nb, nd, np) = (
            normalise(&raw_bm25),
            normalise(&raw_dense),
            normalise(&raw_prf),
        );
        let mut hits = Vec::with_capacity(pool.len());
        for (i, id) in pool.iter().enumerate() {
            let Some(el) = self.case_elements(engine, id)? else {
                continue;
            };
            let f = features(
                &qel,
                &el,
                TextScores {
                    bm25: nb[i],
                    dense: nd[i],
                    prf: np[i],
                },
            );
            hits.push(LegalHit {
                id: id.clone(),
                score: self.model.score(&f),
                contributions: self.model.contributions(&f),
                features: f,
                elements: el,
            });
        }
        // stable: ties keep the hybrid order
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        let charge_statutes = qel
            .articles
            .iter()
            .map(|a| format!("刑法第{}条", a.article))
            .collect();
        Ok(LegalRanking {
            query: QueryUnderstanding {
                elements: qel,
                charges_given: legal.charges.is_some(),
                inferred,
                charge_statutes,
                ranker: self.model.source.clone(),
            },
            hits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_scores_aggregate() {
        let s = [0.5, 0.9, 0.7];
        assert_eq!(ChunkScore::Max.aggregate(&s), Some(0.9));
        assert_eq!(ChunkScore::First.aggregate(&s), Some(0.5));
        assert!((ChunkScore::TopMean(2).aggregate(&s).unwrap() - 0.8).abs() < 1e-6);
        assert_eq!(ChunkScore::TopMean(5).aggregate(&[0.4]), Some(0.4));
        assert_eq!(ChunkScore::Max.aggregate(&[]), None);
        assert_eq!("top2".parse::<ChunkScore>(), Ok(ChunkScore::TopMean(2)));
        assert!("top0".parse::<ChunkScore>().is_err());
    }
}
