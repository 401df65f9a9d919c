//! Ranking features of one (query, candidate) pair: text similarity (BM25, facts
//! embedding) and legal similarity (charges, their 刑法 section and chapter, cited
//! statutes, circumstances, amounts, harm). Every feature lies in [0, 1] so that
//! hand-set weights read as shares, and `explain` shows each one.

use crate::elements::{LegalElements, QuantityKind};
use serde::Serialize;
use std::collections::BTreeSet;

/// Feature names, in vector order.
pub const FEATURE_NAMES: [&str; NUM_FEATURES] = [
    "bm25",
    "dense",
    "prf",
    "charge",
    "charge_section",
    "charge_chapter",
    "charge_extra",
    "statute",
    "circumstances",
    "amount",
    "harm",
];
pub const NUM_FEATURES: usize = 11;

/// Feature values of one candidate, in [`FEATURE_NAMES`] order.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Features(pub [f32; NUM_FEATURES]);

impl Features {
    pub fn get(&self, name: &str) -> Option<f32> {
        FEATURE_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| self.0[i])
    }
}

/// Text scores of a candidate, already normalised to [0, 1] over the candidate pool.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TextScores {
    pub bm25: f32,
    pub dense: f32,
    /// BM25 against the facts of the first-stage top cases that share the query's
    /// charges (pseudo-relevance feedback): likeness to the likeliest similar cases.
    pub prf: f32,
}

/// Share of `q` found in `d`; 0 when `q` is empty.
fn recall<T: Ord>(q: &BTreeSet<T>, d: &BTreeSet<T>) -> f32 {
    if q.is_empty() {
        return 0.0;
    }
    q.intersection(d).count() as f32 / q.len() as f32
}

fn jaccard<T: Ord>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> f32 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f32 / union as f32
}

/// Similarity of two positive amounts on a log scale: 1 when equal, 0 at a factor of
/// 100 or more apart (one bucket = a factor of 10 costs 0.5).
pub fn amount_similarity(a: f64, b: f64) -> f32 {
    if a <= 0.0 || b <= 0.0 {
        return 0.0;
    }
    let d = (a.log10() - b.log10()).abs();
    (1.0 - d / 2.0).max(0.0) as f32
}

/// The features of candidate `d` for query `q`.
pub fn features(q: &LegalElements, d: &LegalElements, text: TextScores) -> Features {
    let qa: BTreeSet<u16> = q.articles.iter().map(|a| a.article).collect();
    let da: BTreeSet<u16> = d.articles.iter().map(|a| a.article).collect();
    let qs: BTreeSet<u16> = q.articles.iter().map(|a| a.section_key()).collect();
    let ds: BTreeSet<u16> = d.articles.iter().map(|a| a.section_key()).collect();
    let qc: BTreeSet<u8> = q.articles.iter().map(|a| a.chapter).collect();
    let dc: BTreeSet<u8> = d.articles.iter().map(|a| a.chapter).collect();
    // charges of the candidate the query does not have
    let extra = if da.is_empty() || qa.is_empty() {
        0.0
    } else {
        da.difference(&qa).count() as f32 / da.len() as f32
    };
    let qst: BTreeSet<_> = q.statutes.iter().collect();
    let dst: BTreeSet<_> = d.statutes.iter().collect();
    let statute = if qst.is_empty() || dst.is_empty() {
        0.0
    } else {
        jaccard(&qst, &dst)
    };
    let qci: BTreeSet<_> = q.circumstances.iter().collect();
    let dci: BTreeSet<_> = d.circumstances.iter().collect();
    let amount = [
        QuantityKind::Money,
        QuantityKind::Mass,
        QuantityKind::Alcohol,
        QuantityKind::Timber,
    ]
    .iter()
    .filter_map(|&k| match (q.quantities.get(k), d.quantities.get(k)) {
        (Some(a), Some(b)) => Some(amount_similarity(a, b)),
        _ => None,
    })
    .fold(0.0f32, f32::max);
    let harm = match (q.harm, d.harm) {
        (Some(a), Some(b)) => 1.0 - f32::from(a.level().abs_diff(b.level())) / 3.0,
        _ => 0.0,
    };
    Features([
        text.bm25,
        text.dense,
        text.prf,
        recall(&qa, &da),
        recall(&qs, &ds),
        recall(&qc, &dc),
        extra,
        statute,
        jaccard(&qci, &dci),
        amount,
        harm,
    ])
}

/// Min–max normalisation of raw scores to [0, 1] (all equal → 1; missing → 0).
pub fn normalise(scores: &[Option<f32>]) -> Vec<f32> {
    let present = scores.iter().flatten();
    let (lo, hi) = present.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &s| {
        (lo.min(s), hi.max(s))
    });
    scores
        .iter()
        .map(|s| match s {
            Some(s) if hi > lo => (s - lo) / (hi - lo),
            Some(_) => 1.0,
            None => 0.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elements::LegalElements;

    fn el(text: &str, charges: &[&str]) -> LegalElements {
        let c: Vec<String> = charges.iter().map(|s| s.to_string()).collect();
        LegalElements::from_text(text, &c, &[])
    }

    #[test]
    fn same_charge_beats_same_chapter_beats_other_chapter() {
        let q = el("", &["走私、贩卖、运输、制造毒品罪"]);
        let same = features(&q, &el("", &["贩卖毒品罪"]), TextScores::default());
        let section = features(&q, &el("", &["容留他人吸毒罪"]), TextScores::default());
        let chapter = features(&q, &el("", &["开设赌场罪"]), TextScores::default());
        let other = features(&q, &el("", &["盗窃罪"]), TextScores::default());
        let key = |f: &Features| {
            (
                f.get("charge").unwrap(),
                f.get("charge_section").unwrap(),
                f.get("charge_chapter").unwrap(),
            )
        };
        assert_eq!(key(&same), (1.0, 1.0, 1.0));
        assert_eq!(key(&section), (0.0, 1.0, 1.0));
        assert_eq!(key(&chapter), (0.0, 0.0, 1.0));
        assert_eq!(key(&other), (0.0, 0.0, 0.0));
        let two = features(
            &q,
            &el("", &["贩卖毒品罪", "盗窃罪"]),
            TextScores::default(),
        );
        assert_eq!(two.get("charge_extra"), Some(0.5));
    }

    #[test]
    fn amounts_harm_and_circumstances_compare() {
        let q = el("盗窃价值3000元的手机，到案后自首。", &["盗窃罪"]);
        let near = el("窃得现金3500元，系自首。", &["盗窃罪"]);
        let far = el("窃得财物价值30万元。", &["盗窃罪"]);
        let fnear = features(&q, &near, TextScores::default());
        let ffar = features(&q, &far, TextScores::default());
        assert!(fnear.get("amount").unwrap() > 0.9);
        assert!(ffar.get("amount").unwrap() < 0.1);
        assert_eq!(fnear.get("circumstances"), Some(1.0));
        assert_eq!(ffar.get("circumstances"), Some(0.0));
        let hq = el("致被害人轻伤二级", &["故意伤害罪"]);
        let hd = el("致被害人死亡", &["故意伤害罪"]);
        let h = features(&hq, &hd, TextScores::default())
            .get("harm")
            .unwrap();
        assert!((h - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(amount_similarity(100.0, 1000.0), 0.5);
    }

    #[test]
    fn normalise_maps_to_unit_range() {
        assert_eq!(
            normalise(&[Some(2.0), Some(4.0), None, Some(3.0)]),
            vec![0.0, 1.0, 0.0, 0.5]
        );
        assert_eq!(normalise(&[Some(1.0)]), vec![1.0]);
    }
}
