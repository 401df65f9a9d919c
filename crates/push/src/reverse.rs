//! The reverse index: every open pending case's features in memory, with postings from
//! facts bigrams and charges to pending cases, so that a newly ingested guiding case is
//! matched against thousands of pending cases without scoring each one from scratch.
//!
//! Matching one case walks the postings of its bigrams to get each pending case's
//! bigram overlap (the lexical part of the pair score, exactly), adds the pending cases
//! sharing a charge, bounds each candidate's best possible score, and computes the dense
//! part (a dot product per chunk) only for candidates whose bound reaches the threshold.
//! Rebuilt from SQLite at startup (`PushService::open`).
//!
//! A pending case sharing neither a bigram nor a charge with the case is never a
//! candidate: its lexical and charge parts are 0, and legal facts that share no
//! two-character word are not worth a push whatever their embeddings say.

use crate::similarity::{Bigram, Features, ScoreParts, ScoreWeights};
use std::collections::HashMap;

struct Entry {
    id: String,
    features: Features,
}

/// Open pending cases, indexed for reverse matching.
#[derive(Default)]
pub struct PendingIndex {
    slots: Vec<Option<Entry>>,
    by_id: HashMap<String, usize>,
    bigram_postings: HashMap<Bigram, Vec<u32>>,
    charge_postings: HashMap<String, Vec<u32>>,
    stale: usize,
}

/// A pending case a case reaches, with the pair's score.
#[derive(Debug, Clone, PartialEq)]
pub struct ReverseMatch {
    pub pending_id: String,
    pub parts: ScoreParts,
}

impl PendingIndex {
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Adds or replaces a pending case.
    pub fn upsert(&mut self, id: &str, features: Features) {
        self.remove(id);
        let slot = self.slots.len();
        let s = slot as u32;
        for b in &features.bigrams {
            self.bigram_postings.entry(*b).or_default().push(s);
        }
        for c in &features.charges {
            self.charge_postings.entry(c.clone()).or_default().push(s);
        }
        self.slots.push(Some(Entry {
            id: id.to_string(),
            features,
        }));
        self.by_id.insert(id.to_string(), slot);
    }

    /// Drops a pending case (closed); its postings are skipped and compacted later.
    pub fn remove(&mut self, id: &str) {
        if let Some(slot) = self.by_id.remove(id) {
            self.slots[slot] = None;
            self.stale += 1;
            if self.stale > 1024 && self.stale > self.by_id.len() {
                self.compact();
            }
        }
    }

    fn compact(&mut self) {
        let entries: Vec<Entry> = std::mem::take(&mut self.slots)
            .into_iter()
            .flatten()
            .collect();
        *self = PendingIndex::default();
        for e in entries {
            self.upsert(&e.id, e.features);
        }
    }

    pub fn features(&self, id: &str) -> Option<&Features> {
        self.by_id
            .get(id)
            .and_then(|&s| self.slots[s].as_ref())
            .map(|e| &e.features)
    }

    /// Every pending case whose pair score with `case` reaches `threshold`, best first.
    pub fn matches(
        &self,
        case: &Features,
        weights: &ScoreWeights,
        threshold: f32,
    ) -> Vec<ReverseMatch> {
        let mut overlap = vec![0u32; self.slots.len()];
        let mut touched: Vec<u32> = Vec::new();
        for b in &case.bigrams {
            if let Some(list) = self.bigram_postings.get(b) {
                for &s in list {
                    let o = &mut overlap[s as usize];
                    if *o == 0 {
                        touched.push(s);
                    }
                    *o += 1;
                }
            }
        }
        // pending cases sharing a charge but no bigram still get scored
        let mut seen_zero: Vec<bool> = Vec::new();
        for c in &case.charges {
            if let Some(list) = self.charge_postings.get(c) {
                if seen_zero.is_empty() {
                    seen_zero = vec![false; self.slots.len()];
                }
                for &s in list {
                    if overlap[s as usize] == 0 && !seen_zero[s as usize] {
                        seen_zero[s as usize] = true;
                        touched.push(s);
                    }
                }
            }
        }
        let mut out = Vec::new();
        for s in touched {
            let Some(entry) = &self.slots[s as usize] else {
                continue;
            };
            let o = overlap[s as usize] as usize;
            if weights.upper_bound(&entry.features, case, o) < threshold {
                continue;
            }
            let parts = weights.score_with_overlap(&entry.features, case, o);
            if parts.score >= threshold {
                out.push(ReverseMatch {
                    pending_id: entry.id.clone(),
                    parts,
                });
            }
        }
        out.sort_by(|a, b| b.parts.score.total_cmp(&a.parts.score));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(text: &str, charges: &[&str], v: Option<Vec<f32>>) -> Features {
        let charges: Vec<String> = charges.iter().map(|c| c.to_string()).collect();
        Features::new(text, &charges, &[], v.into_iter().collect())
    }

    #[test]
    fn reverse_matches_equal_forward_scores_and_respect_the_threshold() {
        let w = ScoreWeights::default();
        let mut idx = PendingIndex::default();
        let pendings = [
            (
                "a",
                f(
                    "被告人趁被害人不备用其手机登录支付宝转走钱款",
                    &["盗窃罪"],
                    Some(vec![1.0, 0.0]),
                ),
            ),
            (
                "b",
                f(
                    "原告与被告签订房屋租赁合同被告拖欠租金",
                    &["房屋租赁合同纠纷"],
                    Some(vec![0.0, 1.0]),
                ),
            ),
            ("c", f("完全无关的文字", &["盗窃罪"], Some(vec![0.6, 0.8]))),
        ];
        for (id, feat) in &pendings {
            idx.upsert(id, feat.clone());
        }
        let case = f(
            "被告人趁被害人不注意使用被害人手机登录支付宝账户转走钱款",
            &["盗窃罪"],
            Some(vec![0.99, 0.141]),
        );
        for threshold in [0.0f32, 0.05, 0.3, 0.6] {
            let got = idx.matches(&case, &w, threshold);
            // brute force over every pending case gives the same set and scores
            let mut want: Vec<(String, f32)> = pendings
                .iter()
                .map(|(id, p)| (id.to_string(), w.score(p, &case).score))
                .filter(|(_, s)| *s >= threshold)
                .collect();
            want.sort_by(|a, b| b.1.total_cmp(&a.1));
            let got: Vec<(String, f32)> = got
                .into_iter()
                .map(|m| (m.pending_id, m.parts.score))
                .collect();
            // every pending case here shares a bigram or a charge, so all are candidates
            assert_eq!(
                got.len(),
                want.len(),
                "threshold {threshold}: {got:?} vs {want:?}"
            );
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.0, w.0);
                assert!((g.1 - w.1).abs() < 1e-6);
            }
        }
        assert_eq!(idx.matches(&case, &w, 0.6)[0].pending_id, "a");
    }

    #[test]
    fn removed_and_replaced_pending_cases_are_not_matched_by_old_features() {
        let w = ScoreWeights::default();
        let mut idx = PendingIndex::default();
        idx.upsert("a", f("醉酒驾驶机动车在道路上行驶", &["危险驾驶罪"], None));
        let case = f(
            "被告人醉酒驾驶机动车在道路上行驶被查获",
            &["危险驾驶罪"],
            None,
        );
        assert_eq!(idx.matches(&case, &w, 0.3).len(), 1);
        idx.upsert("a", f("原告与被告签订借款合同", &["民间借贷纠纷"], None));
        assert!(idx.matches(&case, &w, 0.3).is_empty());
        idx.upsert("a", f("醉酒驾驶机动车在道路上行驶", &["危险驾驶罪"], None));
        idx.remove("a");
        assert!(idx.matches(&case, &w, 0.0).is_empty());
        assert!(idx.is_empty());
    }
}
