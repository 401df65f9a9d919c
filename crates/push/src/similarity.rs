//! The pair score of (pending case, decided case): the one number a push threshold is
//! compared with, computed the same way whichever side arrives first.
//!
//! A pending case registered later finds decided cases through the engine's hybrid
//! search, a guiding case ingested later finds pending cases through the reverse index
//! ([`crate::reverse`]); both then score the pair here, so the threshold means the same
//! thing in both directions. The score mixes, with weights renormalised over the parts
//! that exist for the pair:
//! - **dense**: the cosine of the pending facts' query embedding with the case's best
//!   facts chunk (the engine's own dense score), rescaled from `[dense_floor, dense_ceil]`
//!   to 0..1 (e5 cosines of unrelated Chinese legal texts are already ≈ .78);
//! - **lexical**: the cosine of the two facts' sets of Chinese character bigrams,
//!   rescaled by `lexical_ceil`;
//! - **charges**: the share of the pending case's charges / causes of action the case has;
//! - **statutes**: the share of the pending case's statute articles the case cites.

use leian_ingest::{Case, StatuteRef};
use serde::Serialize;
use std::collections::HashSet;

/// Weights and scales of the pair score; see the module docs. The defaults were chosen on
/// the LeCaRD dev data (`leian eval push --dump`, a grid over all six): most settings
/// near them give the same precision (≈ .36 at ten pushes per pending case), so they
/// are not finely tuned; statutes are untested there (LeCaRD queries cite none).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoreWeights {
    pub dense: f32,
    pub lexical: f32,
    pub charges: f32,
    pub statutes: f32,
    pub dense_floor: f32,
    pub dense_ceil: f32,
    pub lexical_ceil: f32,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        ScoreWeights {
            dense: 0.4,
            lexical: 0.5,
            charges: 0.3,
            statutes: 0.15,
            dense_floor: 0.80,
            dense_ceil: 0.95,
            lexical_ceil: 0.45,
        }
    }
}

/// A charge or cause of action as compared: width-normalised, no trailing `罪`.
pub fn normalize_charge(c: &str) -> String {
    let c: String = c
        .trim()
        .chars()
        .map(|ch| match ch {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(ch as u32 - 0xFEE0).unwrap_or(ch),
            _ => ch,
        })
        .collect();
    c.trim().trim_end_matches('罪').trim().to_string()
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// One bigram as a number: the two chars' code points.
pub(crate) type Bigram = u64;

/// The distinct bigrams of consecutive Chinese characters (runs broken by anything else).
pub fn bigrams(text: &str) -> HashSet<Bigram> {
    let mut out = HashSet::new();
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if is_cjk(c) {
            if let Some(p) = prev {
                out.insert((u64::from(p) << 32) | u64::from(c));
            }
            prev = Some(c);
        } else {
            prev = None;
        }
    }
    out
}

/// What a side of a pair is scored by.
#[derive(Debug, Clone, Default)]
pub struct Features {
    pub bigrams: HashSet<Bigram>,
    /// Normalised ([`normalize_charge`]).
    pub charges: Vec<String>,
    pub statutes: Vec<StatuteRef>,
    /// A pending case: one query embedding; a decided case: its chunks' passage
    /// embeddings. Empty without a model.
    pub vectors: Vec<Vec<f32>>,
}

impl Features {
    pub fn new(
        facts: &str,
        charges: &[String],
        statutes: &[StatuteRef],
        vectors: Vec<Vec<f32>>,
    ) -> Features {
        let mut cs: Vec<String> = charges
            .iter()
            .map(|c| normalize_charge(c))
            .filter(|c| !c.is_empty())
            .collect();
        cs.sort();
        cs.dedup();
        let mut st = statutes.to_vec();
        st.sort();
        st.dedup();
        Features {
            bigrams: bigrams(facts),
            charges: cs,
            statutes: st,
            vectors,
        }
    }

    /// A decided case's features; `vectors` are its chunks' passage embeddings.
    pub fn of_case(case: &Case, vectors: Vec<Vec<f32>>) -> Features {
        Features::new(case.fact_text(), &case.charges, &case.statutes, vectors)
    }
}

/// The parts of a pair score, for the push's reason.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct ScoreParts {
    /// The combined score, 0..1.
    pub score: f32,
    /// Raw cosine of the embeddings, when both sides have them.
    pub dense: Option<f32>,
    /// Raw bigram cosine.
    pub lexical: f32,
    /// Share of the pending case's charges the case has (none when it names none).
    pub charges: Option<f32>,
    /// Share of the pending case's statutes the case cites.
    pub statutes: Option<f32>,
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Best cosine between the pending side's query vector and the case's chunks (vectors
/// are L2-normalised by the embedder).
pub(crate) fn dense_cosine(pending: &[Vec<f32>], case: &[Vec<f32>]) -> Option<f32> {
    let q = pending.first()?;
    case.iter().map(|c| dot(q, c)).reduce(f32::max)
}

/// Bigram cosine from the overlap count and the two set sizes.
pub(crate) fn lexical_from_overlap(overlap: usize, a: usize, b: usize) -> f32 {
    if a == 0 || b == 0 {
        0.0
    } else {
        overlap as f32 / ((a as f32) * (b as f32)).sqrt()
    }
}

/// Share of `wanted` found in `have` (both sorted, deduplicated); `None` when nothing is wanted.
fn share<T: Ord>(wanted: &[T], have: &[T]) -> Option<f32> {
    if wanted.is_empty() {
        return None;
    }
    let hits = wanted
        .iter()
        .filter(|w| have.binary_search(w).is_ok())
        .count();
    Some(hits as f32 / wanted.len() as f32)
}

impl ScoreWeights {
    fn scale(x: f32, lo: f32, hi: f32) -> f32 {
        if hi <= lo {
            return if x >= hi { 1.0 } else { 0.0 };
        }
        ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
    }

    /// Combines raw parts into the score (weights renormalised over present parts).
    pub fn combine(
        &self,
        dense: Option<f32>,
        lexical: f32,
        charges: Option<f32>,
        statutes: Option<f32>,
    ) -> ScoreParts {
        let mut num = self.lexical * Self::scale(lexical, 0.0, self.lexical_ceil);
        let mut den = self.lexical;
        if let Some(d) = dense {
            num += self.dense * Self::scale(d, self.dense_floor, self.dense_ceil);
            den += self.dense;
        }
        if let Some(c) = charges {
            num += self.charges * c;
            den += self.charges;
        }
        if let Some(s) = statutes {
            num += self.statutes * s;
            den += self.statutes;
        }
        ScoreParts {
            score: if den > 0.0 { num / den } else { 0.0 },
            dense,
            lexical,
            charges,
            statutes,
        }
    }

    /// Scores a pair; `lexical_overlap` lets the reverse index pass a count it already has.
    pub fn score(&self, pending: &Features, case: &Features) -> ScoreParts {
        let overlap = if pending.bigrams.len() <= case.bigrams.len() {
            pending
                .bigrams
                .iter()
                .filter(|b| case.bigrams.contains(b))
                .count()
        } else {
            case.bigrams
                .iter()
                .filter(|b| pending.bigrams.contains(b))
                .count()
        };
        self.score_with_overlap(pending, case, overlap)
    }

    pub(crate) fn score_with_overlap(
        &self,
        pending: &Features,
        case: &Features,
        overlap: usize,
    ) -> ScoreParts {
        let lexical = lexical_from_overlap(overlap, pending.bigrams.len(), case.bigrams.len());
        self.combine(
            dense_cosine(&pending.vectors, &case.vectors),
            lexical,
            share(&pending.charges, &case.charges),
            if case.statutes.is_empty() {
                None
            } else {
                share(&pending.statutes, &case.statutes)
            },
        )
    }

    /// The highest score a pair can still reach before its dense part is computed (1.0
    /// for dense): lets the reverse index skip the dot products of hopeless pairs.
    pub(crate) fn upper_bound(&self, pending: &Features, case: &Features, overlap: usize) -> f32 {
        let lexical = lexical_from_overlap(overlap, pending.bigrams.len(), case.bigrams.len());
        let has_dense = !pending.vectors.is_empty() && !case.vectors.is_empty();
        self.combine(
            has_dense.then_some(self.dense_ceil),
            lexical,
            share(&pending.charges, &case.charges),
            if case.statutes.is_empty() {
                None
            } else {
                share(&pending.statutes, &case.statutes)
            },
        )
        .score
    }
}

/// The sentence of `case_facts` sharing most bigrams with the pending facts, cut to
/// `max_chars`: the matching passage shown as a push's reason.
pub fn best_passage(case_facts: &str, pending: &HashSet<Bigram>, max_chars: usize) -> String {
    let mut best = ("", 0usize);
    for sentence in case_facts.split(['。', '；', '！', '？', '\n']) {
        let s = sentence.trim();
        if s.is_empty() {
            continue;
        }
        let n = bigrams(s).iter().filter(|b| pending.contains(b)).count();
        if n > best.1 {
            best = (s, n);
        }
    }
    let s = if best.0.is_empty() {
        case_facts.trim()
    } else {
        best.0
    };
    let mut out: String = s.chars().take(max_chars).collect();
    if s.chars().count() > max_chars {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigrams_do_not_cross_punctuation_or_latin() {
        let b = bigrams("盗窃，手机abc被盗");
        assert_eq!(b.len(), 3); // 盗窃 手机 被盗
        assert!(b.contains(&((u64::from('盗') << 32) | u64::from('窃'))));
        assert!(!b.contains(&((u64::from('窃') << 32) | u64::from('手'))));
    }

    #[test]
    fn charges_compare_without_trailing_zui_and_width() {
        assert_eq!(normalize_charge(" 盗窃罪 "), "盗窃");
        assert_eq!(normalize_charge("盗窃"), "盗窃");
    }

    #[test]
    fn related_pairs_outscore_unrelated_ones_and_parts_renormalise() {
        let w = ScoreWeights::default();
        let p = Features::new(
            "被告人趁被害人不备，用其手机登录支付宝转走钱款。",
            &["盗窃罪".into()],
            &[],
            vec![],
        );
        let near = Features::new(
            "被告人趁被害人不注意，使用被害人手机登录支付宝账户转走钱款。",
            &["盗窃".into()],
            &[],
            vec![],
        );
        let far = Features::new(
            "原告与被告签订房屋租赁合同，被告拖欠租金。",
            &["房屋租赁合同纠纷".into()],
            &[],
            vec![],
        );
        let a = w.score(&p, &near);
        let b = w.score(&p, &far);
        assert!(a.score > 0.5, "{a:?}");
        assert!(b.score < 0.1, "{b:?}");
        assert_eq!(a.charges, Some(1.0));
        assert_eq!(a.dense, None);
        // no dense part: the score is a weighted mean of lexical and charges only
        let lex = (a.lexical / w.lexical_ceil).min(1.0);
        let want = (w.lexical * lex + w.charges) / (w.lexical + w.charges);
        assert!((a.score - want).abs() < 1e-5);
    }

    #[test]
    fn upper_bound_is_never_below_the_score() {
        let w = ScoreWeights::default();
        let v = |x: f32| {
            let n = (x * x + (1.0 - x * x)).sqrt();
            vec![x / n, (1.0 - x * x).sqrt() / n]
        };
        let p = Features::new("甲乙丙丁", &["盗窃罪".into()], &[], vec![v(0.9)]);
        let c = Features::new("甲乙丙戊", &["诈骗罪".into()], &[], vec![v(0.95), v(0.1)]);
        let overlap = 2;
        let s = w.score_with_overlap(&p, &c, overlap).score;
        assert!(w.upper_bound(&p, &c, overlap) >= s);
    }

    #[test]
    fn the_best_passage_is_the_most_overlapping_sentence() {
        let pending = bigrams("使用被害人手机登录支付宝");
        let p = best_passage(
            "某日案发。被告人使用被害人手机登录支付宝转账。后被抓获。",
            &pending,
            100,
        );
        assert_eq!(p, "被告人使用被害人手机登录支付宝转账");
    }
}
