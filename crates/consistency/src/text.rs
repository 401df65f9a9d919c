//! The consistency report as plain text, for a terminal (`leian check`) or a log.

use crate::check::{CircumstanceTag, ConsistencyReport};
use crate::rule::WarningLevel;
use std::fmt::Write as _;

fn fmt_months(m: Option<f64>) -> String {
    m.map_or_else(|| "-".into(), |m| format!("{m:.0}"))
}

/// A one-line strip: every similar case's term as `|`, the proposed term as `▼`.
fn strip_of(terms: &[f64], proposed: Option<f64>) -> Option<String> {
    let lo = terms
        .iter()
        .copied()
        .chain(proposed)
        .fold(f64::MAX, f64::min);
    let hi = terms
        .iter()
        .copied()
        .chain(proposed)
        .fold(f64::MIN, f64::max);
    if terms.is_empty() {
        return None;
    }
    const WIDTH: usize = 50;
    let pos = |m: f64| {
        if hi > lo {
            (((m - lo) / (hi - lo)) * (WIDTH - 1) as f64).round() as usize
        } else {
            WIDTH / 2
        }
    };
    let mut line = vec!['·'; WIDTH];
    for t in terms {
        line[pos(*t)] = '|';
    }
    if let Some(p) = proposed {
        line[pos(p)] = '▼';
    }
    Some(format!(
        "{lo:>5.0} {} {hi:.0} months",
        line.into_iter().collect::<String>()
    ))
}

impl ConsistencyReport {
    /// The report as plain text for a terminal (`leian check`): the warning and its
    /// reasons, the distribution of the similar cases' terms with a strip placing the
    /// proposal, each similar case, the guiding cases on point, statutes not cited.
    pub fn to_text(&self) -> String {
        let r = self;
        let mut out = String::new();
        let level = match r.warning {
            WarningLevel::None => "none",
            WarningLevel::Notice => "NOTICE",
            WarningLevel::Warning => "WARNING",
        };
        let _ = writeln!(out, "consistency: {level} ({})", r.warning_label);
        for reason in &r.reasons {
            let _ = writeln!(out, "  - {reason}");
        }
        let d = &r.distribution;
        let _ = writeln!(
            out,
            "\n{} similar decided cases ({}; charges: {}): {} with a term, median {} months, \
         Q1–Q3 {}–{}, range {}–{}, weighted median {}, probation {}, fine median {}",
            r.similar.len(),
            r.mode.as_str(),
            if r.charges_filter.is_empty() {
                "any".to_string()
            } else {
                r.charges_filter.join("、")
            },
            d.n,
            fmt_months(d.median_months),
            fmt_months(d.q1_months),
            fmt_months(d.q3_months),
            fmt_months(d.min_months),
            fmt_months(d.max_months),
            fmt_months(d.weighted_median_months),
            d.probation_share
                .map_or_else(|| "-".into(), |s| format!("{:.0}%", s * 100.0)),
            d.fine_median_yuan
                .map_or_else(|| "-".into(), |f| format!("{f:.0} yuan")),
        );
        if let Some(s) = strip_of(
            &r.distribution.terms_months,
            r.proposed.term_months.map(f64::from),
        ) {
            let _ = writeln!(out, "{s}");
        }
        let labels =
            |tags: &[CircumstanceTag]| tags.iter().map(|t| t.label).collect::<Vec<_>>().join("、");
        let _ = writeln!(
            out,
            "\ndraft circumstances: {}",
            labels(&r.draft_circumstances)
        );
        for (i, s) in r.similar.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:>2}. {} sim {:.2}  term {}  {}{}  [{}]  {}",
                i + 1,
                s.id,
                s.similarity,
                fmt_months(s.term_months),
                s.sentence
                    .probation_months
                    .map_or_else(String::new, |p| format!("缓{p} ")),
                s.charges.join("、"),
                labels(&s.circumstances),
                s.title
            );
        }
        for g in &r.guiding {
            let _ = writeln!(
                out,
                "guiding {} {} — {}",
                g.number
                    .map_or_else(|| g.id.clone(), |n| format!("第{n}号")),
                if g.cited_by_draft {
                    "cited"
                } else {
                    "NOT cited"
                },
                g.title
            );
        }
        let missing: Vec<String> = r
            .statutes
            .iter()
            .filter(|s| !s.cited_by_draft)
            .map(|s| format!("{} ({}/{})", s.statute, s.cases, r.similar.len()))
            .collect();
        if !missing.is_empty() {
            let _ = writeln!(
                out,
                "statutes cited by similar cases, not by the draft: {}",
                missing.join(", ")
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strip_spans_the_terms_and_marks_the_proposal() {
        let terms = [6.0, 8.0, 12.0];
        let line = strip_of(&terms, Some(24.0)).expect("strip");
        assert!(line.trim_start().starts_with("6 "), "{line}");
        assert!(line.ends_with("24 months"), "{line}");
        assert_eq!(line.matches('|').count(), 3, "{line}");
        assert_eq!(line.matches('▼').count(), 1, "{line}");
        // the proposal is the longest term: the mark is the strip's last cell
        assert!(line.contains("▼ 24"), "{line}");
        assert!(strip_of(&[], Some(3.0)).is_none());
    }
}
