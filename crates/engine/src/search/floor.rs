//! The relevance floor: when a hit covers enough of the query to be answered at all.

use super::query::Query;
use leian_index::Coverage;
use leian_ingest::Case;
use serde::Serialize;

/// When a hit passes the relevance floor: it covers `share` of the query's informative
/// words (idf-weighted), or `matched_words` rare words' worth of them (a long pasted
/// fact description shares many words with a case on point, a small part of its own),
/// or — with a model — its best chunk has cosine `dense` to the query (a case on point
/// told in other words: 偷走 for 窃取). Chosen by 8-fold cross-validation by query
/// (`leian eval floor`, README), once without a model and once with one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FloorRule {
    pub share: f32,
    pub matched_words: f32,
    pub dense: Option<f32>,
}

impl FloorRule {
    /// Chosen on the index without vectors.
    pub const WORDS: FloorRule = FloorRule {
        share: 0.45,
        matched_words: 1.75,
        dense: None,
    };
    /// Chosen on the same index with e5-small vectors.
    pub const WITH_MODEL: FloorRule = FloorRule {
        share: 0.50,
        matched_words: 2.0,
        dense: Some(0.88),
    };

    /// A hit's relevance in `[0, 1]`: half the largest of share / `share`, words /
    /// `matched_words` and, with vectors, how far the cosine is along the 0.2 below
    /// `dense` — so that [`Query::DEFAULT_FLOOR`] (0.5) is exactly this rule's pass
    /// mark, and a query's own floor moves every part together.
    pub fn relevance(&self, c: Coverage) -> f32 {
        let mut best = (c.share / self.share.max(f32::MIN_POSITIVE))
            .max(c.matched_words / self.matched_words.max(f32::MIN_POSITIVE));
        if let (Some(d), Some(cos)) = (self.dense, c.dense) {
            best = best.max(((cos - (d - 0.2)) / 0.2).max(0.0));
        }
        (best * Query::DEFAULT_FLOOR).min(1.0)
    }

    /// Whether a hit passes this rule at the default floor.
    pub fn passes(&self, c: Coverage) -> bool {
        self.relevance(c) >= Query::DEFAULT_FLOOR
    }
}

/// In words: `share ≥ … or matched words ≥ …[ or cosine ≥ …]`.
impl std::fmt::Display for FloorRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "share ≥ {:.2} or matched words ≥ {:.2}",
            self.share, self.matched_words
        )?;
        match self.dense {
            Some(d) => write!(f, " or cosine ≥ {d:.2}"),
            None => Ok(()),
        }
    }
}

/// Whether `case` has one of the charges / 案由 the judge gave: such a case is on topic
/// whatever words its facts use, so the relevance floor lets it through. Inferred
/// charges do not count (they are inferred from the very cases the floor judges).
pub(super) fn shares_given_charge(case: &Case, given: Option<&[String]>) -> bool {
    let key = |c: &str| c.trim().trim_end_matches('罪').to_string();
    given.is_some_and(|given| {
        given
            .iter()
            .any(|g| !key(g).is_empty() && case.charges.iter().any(|c| key(c) == key(g)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use leian_ingest::CaseId;

    fn covers(share: f32, matched_words: f32, dense: Option<f32>) -> Coverage {
        Coverage {
            share,
            matched_words,
            dense,
        }
    }

    #[test]
    fn a_hit_passes_on_any_one_part_and_the_pass_mark_is_the_default_floor() {
        let rule = FloorRule::WITH_MODEL;
        assert!(rule.passes(covers(0.5, 0.0, None)), "share alone");
        assert!(rule.passes(covers(0.0, 2.0, None)), "rare words alone");
        assert!(rule.passes(covers(0.0, 0.0, Some(0.9))), "cosine alone");
        assert!(!rule.passes(covers(0.49, 1.9, Some(0.80))));
        // without vectors a cosine counts for nothing
        assert!(!FloorRule::WORDS.passes(covers(0.0, 0.0, Some(0.99))));
        assert_eq!(rule.relevance(covers(1.0, 10.0, Some(1.0))), 1.0);
        assert_eq!(
            FloorRule::WORDS.to_string(),
            "share ≥ 0.45 or matched words ≥ 1.75"
        );
        assert!(rule.to_string().ends_with("or cosine ≥ 0.88"));
    }

    #[test]
    fn only_a_charge_the_judge_gave_lets_a_hit_through() {
        let mut case = Case::new(CaseId::new("c:1"));
        case.charges = vec!["盗窃罪".into()];
        assert!(shares_given_charge(&case, Some(&["盗窃罪".to_string()])));
        assert!(!shares_given_charge(&case, Some(&["诈骗罪".to_string()])));
        assert!(
            !shares_given_charge(&case, None),
            "inferred charges do not count"
        );
    }
}
