//! How a set of decided cases was sentenced: quantiles, the similarity-weighted median,
//! and where a proposed term falls. Pure functions on numbers.

use leian_ingest::{MainPenalty, Sentence};
use serde::Serialize;

/// The outcome of one decided case as the distribution needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Term of 有期徒刑 / 拘役 / 管制 in months; `None` for 死刑, 无期, fine only, unknown.
    pub term_months: Option<f64>,
    pub penalty: Option<MainPenalty>,
    pub probation: bool,
    pub fine_yuan: Option<u64>,
    /// Similarity weight (> 0) for the weighted median.
    pub weight: f64,
}

impl Outcome {
    pub fn from_sentence(s: &Sentence, weight: f64) -> Outcome {
        let term_months = match s.penalty {
            Some(MainPenalty::Death | MainPenalty::Life) => None,
            // 单处罚金 and 免予刑事处罚 carry no custody: a term of 0 months
            Some(MainPenalty::FineOnly | MainPenalty::Exempt) => Some(0.0),
            _ => s.term_months.map(f64::from),
        };
        Outcome {
            term_months,
            penalty: s.penalty,
            probation: s.probation_months.is_some(),
            fine_yuan: s.fine_yuan,
            weight,
        }
    }
}

/// The distribution of the similar cases' outcomes. Months are totals; quartiles are
/// linear-interpolated (type 7, as numpy and R by default).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    /// Cases with a term (the rest: 死刑/无期 or unknown).
    pub n: usize,
    pub median_months: Option<f64>,
    pub q1_months: Option<f64>,
    pub q3_months: Option<f64>,
    pub min_months: Option<f64>,
    pub max_months: Option<f64>,
    /// Median with each case weighted by its similarity: the term the check expects.
    pub weighted_median_months: Option<f64>,
    /// Every term, ascending (for the chart).
    pub terms_months: Vec<f64>,
    /// Share of the cases with a known penalty that were suspended (缓刑).
    pub probation_share: Option<f64>,
    /// Cases sentenced to 死刑 or 无期徒刑 (no term, not in `n`).
    pub death_or_life: usize,
    /// Cases with a fine, and its median.
    pub fined: usize,
    pub fine_median_yuan: Option<f64>,
}

impl Distribution {
    pub fn of(outcomes: &[Outcome]) -> Distribution {
        let mut terms: Vec<f64> = outcomes.iter().filter_map(|o| o.term_months).collect();
        terms.sort_by(f64::total_cmp);
        let weighted: Vec<(f64, f64)> = outcomes
            .iter()
            .filter_map(|o| o.term_months.map(|t| (t, o.weight)))
            .collect();
        // only a case whose penalty is known says whether it was suspended (CAIL2018
        // gives terms without penalties: its probation share is unknown, not 0 %)
        let known = outcomes.iter().filter(|o| o.penalty.is_some());
        let known_n = known.clone().count();
        let suspended = known.filter(|o| o.probation).count();
        let mut fines: Vec<f64> = outcomes
            .iter()
            .filter_map(|o| o.fine_yuan.map(|f| f as f64))
            .collect();
        fines.sort_by(f64::total_cmp);
        Distribution {
            n: terms.len(),
            median_months: quantile(&terms, 0.5),
            q1_months: quantile(&terms, 0.25),
            q3_months: quantile(&terms, 0.75),
            min_months: terms.first().copied(),
            max_months: terms.last().copied(),
            weighted_median_months: weighted_median(&weighted),
            probation_share: (known_n > 0).then(|| suspended as f64 / known_n as f64),
            death_or_life: outcomes
                .iter()
                .filter(|o| matches!(o.penalty, Some(MainPenalty::Death | MainPenalty::Life)))
                .count(),
            fined: fines.len(),
            fine_median_yuan: quantile(&fines, 0.5),
            terms_months: terms,
        }
    }
}

/// The `p` quantile (0..=1) of ascending `sorted` values, linear between order statistics;
/// `None` when empty.
pub fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    let (first, last) = (sorted.first()?, sorted.last()?);
    if sorted.len() == 1 || p <= 0.0 {
        return Some(*first);
    }
    if p >= 1.0 {
        return Some(*last);
    }
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// The weighted median of `(value, weight)` pairs: the smallest value whose cumulative
/// weight reaches half the total; when it reaches exactly half, the midpoint with the next
/// value (so equal weights give the ordinary median). Non-positive weights are ignored;
/// `None` when nothing is left.
pub fn weighted_median(values: &[(f64, f64)]) -> Option<f64> {
    let mut v: Vec<(f64, f64)> = values
        .iter()
        .copied()
        .filter(|(x, w)| *w > 0.0 && w.is_finite() && x.is_finite())
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|(_, w)| w).sum();
    let half = total / 2.0;
    let mut acc = 0.0;
    for (i, (x, w)) in v.iter().enumerate() {
        acc += w;
        if (acc - half).abs() <= total * 1e-12 {
            return Some(v.get(i + 1).map_or(*x, |(next, _)| (x + next) / 2.0));
        }
        if acc > half {
            return Some(*x);
        }
    }
    v.last().map(|(x, _)| *x)
}

/// Similarity weights from ranking scores: each score relative to the best one, raised to
/// `power` (0 = equal weights, 1 = proportional, higher = the closest cases dominate).
/// Scores ≤ 0 get a tiny weight rather than none, so every neighbour still counts a little.
pub fn similarity_weights(scores: &[f64], power: f64) -> Vec<f64> {
    let best = scores.iter().copied().fold(f64::MIN, f64::max);
    scores
        .iter()
        .map(|s| {
            let rel = if best > 0.0 {
                (s / best).max(1e-3)
            } else {
                1.0
            };
            rel.powf(power)
        })
        .collect()
}

/// Where `value` falls among ascending `sorted` values, 0–100: the share below it plus
/// half the share equal to it (mid-rank), so the median of the values scores 50.
pub fn percentile_of(sorted: &[f64], value: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let below = sorted.iter().filter(|x| **x < value).count() as f64;
    let equal = sorted.iter().filter(|x| **x == value).count() as f64;
    Some(100.0 * (below + equal / 2.0) / sorted.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(m: f64) -> Outcome {
        Outcome {
            term_months: Some(m),
            penalty: Some(MainPenalty::FixedTerm),
            probation: false,
            fine_yuan: None,
            weight: 1.0,
        }
    }

    #[test]
    fn quartiles_interpolate_like_numpy() {
        let v = [6.0, 8.0, 10.0, 12.0, 36.0];
        assert_eq!(quantile(&v, 0.5), Some(10.0));
        assert_eq!(quantile(&v, 0.25), Some(8.0));
        assert_eq!(quantile(&v, 0.75), Some(12.0));
        // numpy.percentile([1, 2, 3, 4], 25) == 1.75
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.25), Some(1.75));
        assert_eq!(quantile(&[7.0], 0.75), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn weighted_median_follows_the_weights() {
        // equal weights: the ordinary median, even n averages the middle two
        assert_eq!(
            weighted_median(&[(1.0, 1.0), (2.0, 1.0), (9.0, 1.0)]),
            Some(2.0)
        );
        assert_eq!(
            weighted_median(&[(4.0, 1.0), (1.0, 1.0), (2.0, 1.0), (3.0, 1.0)]),
            Some(2.5)
        );
        // one very similar case pulls the median to its term
        assert_eq!(
            weighted_median(&[(1.0, 1.0), (2.0, 1.0), (9.0, 5.0)]),
            Some(9.0)
        );
        assert_eq!(weighted_median(&[(3.0, 0.0)]), None);
    }

    #[test]
    fn similarity_weights_are_relative_to_the_best() {
        assert_eq!(similarity_weights(&[10.0, 5.0], 1.0), vec![1.0, 0.5]);
        assert_eq!(similarity_weights(&[10.0, 5.0], 0.0), vec![1.0, 1.0]);
        assert_eq!(similarity_weights(&[10.0, 5.0], 2.0), vec![1.0, 0.25]);
        assert!(similarity_weights(&[10.0, -1.0], 1.0)[1] > 0.0);
    }

    #[test]
    fn percentile_is_mid_rank() {
        let v = [6.0, 8.0, 10.0, 12.0];
        assert_eq!(percentile_of(&v, 10.0), Some(62.5));
        assert_eq!(percentile_of(&v, 1.0), Some(0.0));
        assert_eq!(percentile_of(&v, 99.0), Some(100.0));
        assert_eq!(percentile_of(&[], 3.0), None);
    }

    #[test]
    fn distribution_counts_probation_fines_and_life_apart() {
        let mut suspended = term(12.0);
        suspended.probation = true;
        suspended.fine_yuan = Some(3000);
        let mut fined = term(6.0);
        fined.fine_yuan = Some(1000);
        let life = Outcome {
            term_months: None,
            penalty: Some(MainPenalty::Life),
            probation: false,
            fine_yuan: None,
            weight: 1.0,
        };
        let d = Distribution::of(&[suspended, fined, term(24.0), life]);
        assert_eq!(d.n, 3);
        assert_eq!(d.median_months, Some(12.0));
        assert_eq!((d.min_months, d.max_months), (Some(6.0), Some(24.0)));
        assert_eq!(d.death_or_life, 1);
        assert_eq!(d.probation_share, Some(0.25));
        assert_eq!(d.fined, 2);
        assert_eq!(d.fine_median_yuan, Some(2000.0));
        assert_eq!(d.terms_months, vec![6.0, 12.0, 24.0]);
    }

    #[test]
    fn fine_only_counts_as_zero_months() {
        let s = Sentence {
            penalty: Some(MainPenalty::FineOnly),
            fine_yuan: Some(5000),
            ..Sentence::default()
        };
        assert_eq!(Outcome::from_sentence(&s, 1.0).term_months, Some(0.0));
    }
}
