//! The warning rule: how far a proposed term may sit from the similar cases' terms
//! before the check says `notice` or `warning`, with the reasons in words.
//!
//! The rule, with the defaults chosen on CAIL2018 (see `WarningRule::default`):
//! - `none`: no similar case has a term, or the proposed term lies within the middle half
//!   of their terms ([Q1, Q3]);
//! - `notice`: outside [Q1, Q3] but not far; or far, but with fewer than `min_cases`
//!   similar cases to go on; or a proposed 缓刑 where the similar cases are rarely
//!   suspended;
//! - `warning`: with at least `min_cases` similar cases, the term is outside their range
//!   [min, max] **and** more than `far_factor` times their median or less than
//!   1/`far_factor` of it (both floored at one month, so that 0 months against a median
//!   of 24 is far, and far above and far below count alike).

use crate::stats::{percentile_of, Distribution};
use leian_ingest::{MainPenalty, Sentence};
use serde::{Deserialize, Serialize};

/// How strongly the check flags a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningLevel {
    None,
    Notice,
    Warning,
}

impl WarningLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            WarningLevel::None => "none",
            WarningLevel::Notice => "notice",
            WarningLevel::Warning => "warning",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            WarningLevel::None => "未偏离",
            WarningLevel::Notice => "提示",
            WarningLevel::Warning => "偏离预警",
        }
    }
}

/// The thresholds of the rule (module docs say how they combine).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WarningRule {
    /// Fewest similar cases with a term for a `warning` (fewer only ever give `notice`).
    pub min_cases: usize,
    /// How many times the median (or 1/this of it) a term outside the range must reach
    /// to warn (2 = more than twice or less than half the median).
    pub far_factor: f64,
    /// A proposed 缓刑 gets a notice when fewer than this share of similar cases were
    /// suspended.
    pub rare_probation_share: f64,
}

impl Default for WarningRule {
    /// Chosen with `leian eval consistency --sweep` on the 441 CAIL2018 facts with terms
    /// (README, "Consistency check"): hybrid neighbours, k 10. With 5 cases and a factor
    /// of 2, 9.6 % of real judgments get `warning`, 16.2 % of those with at least 5
    /// same-charge cases. A factor of 3 lowers that only to 14.5 %, a minimum of 3 cases
    /// raises it to 20 %: the spread of terms within one charge, not the threshold,
    /// drives false alarms, so the simpler "twice or half the median" is kept.
    fn default() -> Self {
        WarningRule {
            min_cases: 5,
            far_factor: 2.0,
            rare_probation_share: 0.1,
        }
    }
}

impl WarningRule {
    /// The rule in words, for the report.
    pub fn describe(&self) -> String {
        format!(
            "拟判刑期在类案刑期四分位区间[Q1, Q3]内为未偏离；超出该区间为提示；类案不少于{}件且拟判刑期超出类案刑期范围[最低, 最高]、并为类案中位数的{}倍以上或1/{}以下时为偏离预警；类案缓刑比例低于{:.0}%而拟适用缓刑时提示。",
            self.min_cases,
            self.far_factor,
            self.far_factor,
            self.rare_probation_share * 100.0
        )
    }
}

/// What the rule found for one proposed sentence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub level: WarningLevel,
    /// Where the proposed term falls among the similar cases' terms, 0–100 (mid-rank).
    pub percentile: Option<f64>,
    /// (proposed − median) / max(median, 1 month): +1.0 is twice the median.
    pub deviation_from_median: Option<f64>,
    /// Every finding, in words (Chinese, for the judge).
    pub reasons: Vec<String>,
}

fn months(m: f64) -> String {
    if m.fract() == 0.0 {
        format!("{m:.0}个月")
    } else {
        format!("{m:.1}个月")
    }
}

/// Grades `proposed` against `dist` with `rule`.
pub fn assess(dist: &Distribution, proposed: &Sentence, rule: &WarningRule) -> Assessment {
    let mut level = WarningLevel::None;
    let mut reasons = Vec::new();
    let mut percentile = None;
    let mut deviation = None;
    let term = match proposed.penalty {
        Some(MainPenalty::Death | MainPenalty::Life) => None,
        Some(MainPenalty::FineOnly | MainPenalty::Exempt) => Some(0.0),
        _ => proposed.term_months.map(f64::from),
    };
    let summary = (|| {
        Some((
            dist.median_months?,
            dist.q1_months?,
            dist.q3_months?,
            dist.min_months?,
            dist.max_months?,
        ))
    })();
    match (term, summary) {
        (None, _) => reasons.push("草稿未给出拟判刑期，未作刑期比对。".into()),
        (Some(_), None) => reasons.push("没有判处刑期的类案可供比对。".into()),
        (Some(p), Some((median, q1, q3, min, max))) => {
            let n = dist.n;
            percentile = percentile_of(&dist.terms_months, p);
            let dev = (p - median) / median.max(1.0);
            deviation = Some(dev);
            let pct = percentile.unwrap_or(50.0);
            if (q1..=q3).contains(&p) {
                reasons.push(format!(
                    "拟判刑期{}在{}件类案刑期的四分位区间[{}, {}]内（百分位{:.0}），中位数{}。",
                    months(p),
                    n,
                    months(q1),
                    months(q3),
                    pct,
                    months(median)
                ));
            } else {
                let side = if p > q3 { "高于" } else { "低于" };
                let outside_range = p < min || p > max;
                let ratio = p.max(1.0) / median.max(1.0);
                let far = ratio > rule.far_factor || ratio * rule.far_factor < 1.0;
                let mut text = format!(
                    "拟判刑期{}{}{}件类案刑期的四分位区间[{}, {}]（百分位{:.0}），与中位数{}相差{:+.0}%",
                    months(p),
                    side,
                    n,
                    months(q1),
                    months(q3),
                    pct,
                    months(median),
                    dev * 100.0
                );
                if outside_range {
                    text.push_str(&format!(
                        "，且超出类案刑期范围[{}, {}]",
                        months(min),
                        months(max)
                    ));
                }
                if outside_range && far && n >= rule.min_cases {
                    level = WarningLevel::Warning;
                    text.push_str(&format!(
                        "，为中位数的{}倍以上或1/{}以下：偏离预警。",
                        rule.far_factor, rule.far_factor
                    ));
                } else {
                    level = WarningLevel::Notice;
                    if outside_range && far {
                        text.push_str(&format!(
                            "；类案仅{}件（少于{}件），只作提示。",
                            n, rule.min_cases
                        ));
                    } else {
                        text.push_str("：提示。");
                    }
                }
                reasons.push(text);
            }
        }
    }
    if proposed.probation_months.is_some() {
        if let Some(share) = dist.probation_share {
            if share < rule.rare_probation_share && dist.n >= rule.min_cases {
                level = level.max(WarningLevel::Notice);
                reasons.push(format!(
                    "拟适用缓刑，而类案中适用缓刑的仅占{:.0}%：提示。",
                    share * 100.0
                ));
            }
        }
    }
    Assessment {
        level,
        percentile,
        deviation_from_median: deviation,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Outcome;

    fn dist(terms: &[f64]) -> Distribution {
        let outcomes: Vec<Outcome> = terms
            .iter()
            .map(|t| Outcome {
                term_months: Some(*t),
                penalty: Some(MainPenalty::FixedTerm),
                probation: false,
                fine_yuan: None,
                weight: 1.0,
            })
            .collect();
        Distribution::of(&outcomes)
    }

    fn proposed(months: u32) -> Sentence {
        Sentence {
            penalty: Some(MainPenalty::FixedTerm),
            term_months: Some(months),
            ..Sentence::default()
        }
    }

    const TERMS: [f64; 8] = [6.0, 8.0, 9.0, 10.0, 10.0, 12.0, 14.0, 18.0];

    #[test]
    fn inside_the_quartiles_is_none() {
        let d = dist(&TERMS);
        // q1 = 8.75, q3 = 12.5
        let a = assess(&d, &proposed(10), &WarningRule::default());
        assert_eq!(a.level, WarningLevel::None);
        assert_eq!(a.percentile, Some(50.0));
        assert!(a.reasons[0].contains("四分位区间"), "{:?}", a.reasons);
    }

    #[test]
    fn outside_the_quartiles_but_in_range_is_a_notice() {
        let d = dist(&TERMS);
        let a = assess(&d, &proposed(16), &WarningRule::default());
        assert_eq!(a.level, WarningLevel::Notice);
        assert!(a.reasons[0].contains("高于"), "{:?}", a.reasons);
        let a = assess(&d, &proposed(7), &WarningRule::default());
        assert_eq!(a.level, WarningLevel::Notice);
        assert!(a.reasons[0].contains("低于"), "{:?}", a.reasons);
    }

    #[test]
    fn far_outside_the_range_is_a_warning() {
        let d = dist(&TERMS);
        // median 10: 36 months is outside [6, 18] and +260 %
        let a = assess(&d, &proposed(36), &WarningRule::default());
        assert_eq!(a.level, WarningLevel::Warning);
        assert!(a.reasons[0].contains("偏离预警"), "{:?}", a.reasons);
        assert_eq!(a.percentile, Some(100.0));
        // 3 months is outside the range and −70 %
        let a = assess(&d, &proposed(3), &WarningRule::default());
        assert_eq!(a.level, WarningLevel::Warning);
    }

    #[test]
    fn far_below_counts_like_far_above() {
        let d = dist(&[18.0, 20.0, 24.0, 24.0, 30.0, 36.0]);
        let rule = WarningRule::default();
        // no custody against a median of 24 months
        let fine_only = Sentence {
            penalty: Some(MainPenalty::FineOnly),
            fine_yuan: Some(5000),
            ..Sentence::default()
        };
        assert_eq!(assess(&d, &fine_only, &rule).level, WarningLevel::Warning);
        // below the range: less than half the median warns, more than half only notes
        assert_eq!(
            assess(&d, &proposed(11), &rule).level,
            WarningLevel::Warning
        );
        assert_eq!(assess(&d, &proposed(13), &rule).level, WarningLevel::Notice);
        // above the range, symmetrically: more than twice warns
        assert_eq!(
            assess(&d, &proposed(49), &rule).level,
            WarningLevel::Warning
        );
        assert_eq!(assess(&d, &proposed(47), &rule).level, WarningLevel::Notice);
    }

    #[test]
    fn just_outside_the_range_but_near_the_median_is_only_a_notice() {
        // median 10, range [8, 12]: 13 is outside the range but only +30 %
        let d = dist(&[8.0, 9.0, 10.0, 10.0, 11.0, 12.0]);
        let a = assess(&d, &proposed(13), &WarningRule::default());
        assert_eq!(a.level, WarningLevel::Notice);
    }

    #[test]
    fn too_few_cases_never_warn() {
        let d = dist(&[10.0, 12.0, 14.0]);
        let a = assess(&d, &proposed(60), &WarningRule::default());
        assert_eq!(a.level, WarningLevel::Notice);
        assert!(a.reasons[0].contains("只作提示"), "{:?}", a.reasons);
        let strict = WarningRule {
            min_cases: 3,
            ..WarningRule::default()
        };
        assert_eq!(
            assess(&d, &proposed(60), &strict).level,
            WarningLevel::Warning
        );
    }

    #[test]
    fn no_terms_or_no_proposal_is_none_with_a_reason() {
        let a = assess(&dist(&[]), &proposed(12), &WarningRule::default());
        assert_eq!(a.level, WarningLevel::None);
        assert_eq!(a.reasons.len(), 1);
        let a = assess(&dist(&TERMS), &Sentence::default(), &WarningRule::default());
        assert_eq!(a.level, WarningLevel::None);
        assert!(a.reasons[0].contains("未给出"));
    }

    #[test]
    fn rare_probation_is_a_notice() {
        let d = dist(&TERMS); // nobody suspended
        let mut p = proposed(10);
        p.probation_months = Some(12);
        let a = assess(&d, &p, &WarningRule::default());
        assert_eq!(a.level, WarningLevel::Notice);
        assert!(a.reasons.iter().any(|r| r.contains("缓刑")));
    }

    #[test]
    fn the_rule_in_words_names_its_thresholds() {
        let text = WarningRule::default().describe();
        assert!(text.contains("5件") && text.contains("2倍"), "{text}");
    }
}
