//! Choosing BM25's query plan by cross-validation: every setting of the grid is run on
//! every LeCaRD dev query (both protocols) and SCM triplet, then for each fold the setting
//! with the best summed mean over the other folds (corpus NDCG@30 + paper NDCG@30 + SCM
//! accuracy) is scored on the fold. Only those out-of-fold figures are quoted.

use crate::error::Result;
use crate::lecard::{bm25_run, corpus_ids, LecardQuery};
use crate::scm;
use leian_eval::cv::fold_assignment;
use leian_eval::{evaluate_per_query, mean_metrics, Metrics, Protocol, Qrels};
use leian_index::{CaseIndex, FactFields, Idf, QueryTf, SearchOptions};
use leian_ingest::ScmTriplet;
use serde::Serialize;

/// One BM25 query plan of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bm25Setting {
    pub fact_fields: &'static str,
    pub query_tf: &'static str,
    pub max_query_terms: usize,
    pub drop_names_numbers: bool,
    pub idf: &'static str,
}

impl Bm25Setting {
    /// The setting of `options`.
    pub fn of(options: &SearchOptions) -> Self {
        Bm25Setting {
            fact_fields: options.fact_fields.as_str(),
            query_tf: options.query_tf.as_str(),
            max_query_terms: options.max_query_terms,
            drop_names_numbers: options.drop_names_numbers,
            idf: options.idf.as_str(),
        }
    }
}

/// The grid: the options the index was opened with first (ties keep them), then every
/// combination of query-tf weighting, term cap, name/number removal and idf, on
/// the facts plan. (The facts and all-fields plans rank LeCaRD and SCM identically, as
/// their cases have facts only; the facts plan is the one tantivy can prune.)
pub fn grid(current: &SearchOptions) -> Vec<SearchOptions> {
    let mut out = vec![current.clone()];
    for query_tf in [QueryTf::Log, QueryTf::Linear] {
        for max_query_terms in [128, 1024] {
            for drop_names_numbers in [true, false] {
                for idf in [Idf::Lucene, Idf::Okapi] {
                    let o = SearchOptions {
                        fact_fields: FactFields::Facts,
                        query_tf,
                        max_query_terms,
                        drop_names_numbers,
                        idf,
                        ..current.clone()
                    };
                    if !out.contains(&o) {
                        out.push(o);
                    }
                }
            }
        }
    }
    out
}

/// The inputs of a BM25 cross-validation.
pub struct Bm25CvData<'a> {
    /// Holds the LeCaRD candidates.
    pub lecard: &'a CaseIndex,
    pub queries: &'a [LecardQuery],
    pub qrels: &'a Qrels,
    /// Holds the SCM triplets' texts (may be the same index).
    pub scm: &'a CaseIndex,
    pub triplets: &'a [ScmTriplet],
}

/// Per-query results of one setting.
#[derive(Debug, Clone)]
pub struct SettingScores {
    pub options: SearchOptions,
    pub paper: Vec<Metrics>,
    pub corpus: Vec<Metrics>,
    /// 1.0 when the triplet is answered right.
    pub scm: Vec<f64>,
}

impl SettingScores {
    /// Mean paper and corpus metrics and SCM accuracy over every query: the landscape of
    /// the grid, never a figure to quote.
    pub fn in_sample(&self) -> (Metrics, Metrics, f64) {
        (
            mean_metrics(&self.paper),
            mean_metrics(&self.corpus),
            mean(&self.scm),
        )
    }

    /// [`SettingScores::in_sample`] as the JSON line `eval bm25-cv --grid` prints.
    pub fn in_sample_json(&self) -> serde_json::Value {
        let (paper, corpus, scm) = self.in_sample();
        serde_json::json!({
            "in_sample": true,
            "setting": Bm25Setting::of(&self.options),
            "paper_ndcg30": paper.ndcg30,
            "corpus_ndcg30": corpus.ndcg30,
            "corpus_r100": corpus.recall100,
            "scm_accuracy": scm,
        })
    }
}

/// Out-of-fold figures of a cross-validated choice.
#[derive(Debug, Clone, Serialize)]
pub struct CvReport {
    pub folds: usize,
    pub settings_tried: usize,
    /// The setting each fold chose (on the other folds).
    pub chosen_per_fold: Vec<Bm25Setting>,
    /// The setting chosen on all dev data: the one to ship.
    pub chosen_on_all: Bm25Setting,
    pub paper: Metrics,
    pub corpus: Metrics,
    pub scm_accuracy: f64,
    /// The same figures for the first setting (the options the index was opened with),
    /// which involves no choice.
    pub current: Bm25Setting,
    pub current_paper: Metrics,
    pub current_corpus: Metrics,
    pub current_scm_accuracy: f64,
}

/// The whole cross-validation: every setting of [`grid`] around the LeCaRD engine's BM25
/// options, run on every query and triplet, then chosen fold by fold.
pub fn run(
    lecard: &leian_engine::Engine,
    scm: &leian_engine::Engine,
    queries: &[LecardQuery],
    qrels: &Qrels,
    triplets: &[ScmTriplet],
    folds: usize,
) -> Result<(Vec<SettingScores>, CvReport)> {
    let lecard_index = lecard.index();
    let scm_index = scm.index();
    let data = Bm25CvData {
        lecard: &lecard_index,
        queries,
        qrels,
        scm: &scm_index,
        triplets,
    };
    let scores = score_grid(&data, &grid(lecard_index.options()))?;
    let report = cross_validate(&scores, folds);
    Ok((scores, report))
}

/// Runs every setting on every query and triplet.
pub fn score_grid(data: &Bm25CvData<'_>, settings: &[SearchOptions]) -> Result<Vec<SettingScores>> {
    let corpus = corpus_ids(data.lecard)?;
    let collection = scm::collection(data.scm, data.triplets)?;
    let mut out = Vec::with_capacity(settings.len());
    for options in settings {
        let lecard = data.lecard.with_options(options.clone());
        let per = |protocol| -> Result<Vec<Metrics>> {
            let run = bm25_run(&lecard, data.queries, data.qrels, protocol, &corpus)?;
            Ok(evaluate_per_query(data.qrels, &run, protocol)
                .into_iter()
                .map(|(_, m)| m)
                .collect())
        };
        let paper = per(Protocol::Paper)?;
        let corpus_m = per(Protocol::Corpus)?;
        let scm_index = data.scm.with_options(options.clone());
        let scm = scm::bm25_correct(&scm_index, data.triplets, &collection)?
            .into_iter()
            .map(|ok| if ok { 1.0 } else { 0.0 })
            .collect();
        out.push(SettingScores {
            options: options.clone(),
            paper,
            corpus: corpus_m,
            scm,
        });
    }
    Ok(out)
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Cross-validates the choice among `scores` with `folds` folds (LeCaRD by query, SCM by
/// triplet, fold i of both held out together).
pub fn cross_validate(scores: &[SettingScores], folds: usize) -> CvReport {
    assert!(!scores.is_empty(), "no setting scored");
    let nq = scores[0].corpus.len();
    let nt = scores[0].scm.len();
    let fq = fold_assignment(nq, folds);
    let ft = fold_assignment(nt, folds);
    let objective = |s: &SettingScores, fold: Option<usize>| -> f64 {
        let keep_q = |i: &usize| fold.is_none_or(|f| fq[*i] != f);
        let keep_t = |i: &usize| fold.is_none_or(|f| ft[*i] != f);
        let pick =
            |v: &[Metrics]| -> Vec<f64> { (0..nq).filter(keep_q).map(|i| v[i].ndcg30).collect() };
        let scm: Vec<f64> = (0..nt).filter(keep_t).map(|i| s.scm[i]).collect();
        mean(&pick(&s.corpus)) + mean(&pick(&s.paper)) + mean(&scm)
    };
    let best = |fold: Option<usize>| -> usize {
        let mut best = (0, f64::NEG_INFINITY);
        for (i, s) in scores.iter().enumerate() {
            let v = objective(s, fold);
            if v > best.1 + 1e-12 {
                best = (i, v);
            }
        }
        best.0
    };
    let mut chosen = Vec::with_capacity(folds);
    let mut paper = vec![Metrics::default(); nq];
    let mut corpus = vec![Metrics::default(); nq];
    let mut scm = vec![0.0; nt];
    for fold in 0..folds {
        let s = best(Some(fold));
        chosen.push(s);
        for i in (0..nq).filter(|i| fq[*i] == fold) {
            paper[i] = scores[s].paper[i];
            corpus[i] = scores[s].corpus[i];
        }
        for i in (0..nt).filter(|i| ft[*i] == fold) {
            scm[i] = scores[s].scm[i];
        }
    }
    let setting = |i: usize| Bm25Setting::of(&scores[i].options);
    CvReport {
        folds,
        settings_tried: scores.len(),
        chosen_per_fold: chosen.iter().map(|&i| setting(i)).collect(),
        chosen_on_all: setting(best(None)),
        paper: mean_metrics(&paper),
        corpus: mean_metrics(&corpus),
        scm_accuracy: mean(&scm),
        current: setting(0),
        current_paper: mean_metrics(&scores[0].paper),
        current_corpus: mean_metrics(&scores[0].corpus),
        current_scm_accuracy: mean(&scores[0].scm),
    }
}
