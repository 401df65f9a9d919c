//! Hybrid fusion of a BM25 list and a dense list into one ranking.
//!
//! Two methods: reciprocal rank fusion (RRF: Σ 1/(k + rank)) which ignores score scales,
//! and a weighted sum of min–max normalised scores (`alpha` × dense + (1 − alpha) × BM25).
//! A document found by one list only gets nothing from the other: 0 under RRF, and a
//! normalised score of 0 — below every document that list did find — under the weighted sum.

use leian_ingest::CaseId;
use serde::Serialize;
use std::collections::HashMap;

/// How to combine the two lists.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Fusion {
    /// Reciprocal rank fusion with constant `k` (60 in the literature).
    Rrf { k: f32 },
    /// `alpha` × normalised dense + (1 − alpha) × normalised BM25.
    Weighted { alpha: f32 },
}

impl Fusion {
    /// Weighted fusion; `alpha` must be within 0..=1 (the one rule for every caller).
    pub fn weighted(alpha: f32) -> Result<Fusion, String> {
        if (0.0..=1.0).contains(&alpha) {
            Ok(Fusion::Weighted { alpha })
        } else {
            Err(format!("alpha must be in 0..=1, got {alpha}"))
        }
    }

    /// Reciprocal rank fusion; `k` must be positive and finite.
    pub fn rrf(k: f32) -> Result<Fusion, String> {
        if k > 0.0 && k.is_finite() {
            Ok(Fusion::Rrf { k })
        } else {
            Err(format!("rrf_k must be positive, got {k}"))
        }
    }
}

/// Where a fused document stood in one input list.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ListPosition {
    /// 1-based rank in that list.
    pub rank: usize,
    /// The list's own score (BM25 score or cosine similarity).
    pub score: f32,
}

/// One fused result with everything `explain` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FusedHit {
    pub id: CaseId,
    pub fused: f32,
    pub bm25: Option<ListPosition>,
    pub dense: Option<ListPosition>,
}

/// Min–max normalisation to [0, 1]; a list whose scores are all equal maps to 1.
fn normalise(list: &[(CaseId, f32)]) -> Vec<f32> {
    let (min, max) = list
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), (_, s)| {
            (lo.min(*s), hi.max(*s))
        });
    list.iter()
        .map(|(_, s)| {
            if max > min {
                (s - min) / (max - min)
            } else {
                1.0
            }
        })
        .collect()
}

/// Fuses two ranked lists (best first). Output is sorted by fused score, ties by id.
pub fn fuse(bm25: &[(CaseId, f32)], dense: &[(CaseId, f32)], fusion: Fusion) -> Vec<FusedHit> {
    let mut hits: HashMap<&CaseId, FusedHit> = HashMap::new();
    let norm_bm25 = normalise(bm25);
    let norm_dense = normalise(dense);
    for (is_dense, list, norm) in [(false, bm25, &norm_bm25), (true, dense, &norm_dense)] {
        for (i, (id, score)) in list.iter().enumerate() {
            let hit = hits.entry(id).or_insert_with(|| FusedHit {
                id: id.clone(),
                fused: 0.0,
                bm25: None,
                dense: None,
            });
            let pos = ListPosition {
                rank: i + 1,
                score: *score,
            };
            if is_dense {
                if hit.dense.is_some() {
                    continue; // a duplicate id in one list counts once, at its best rank
                }
                hit.dense = Some(pos);
            } else {
                if hit.bm25.is_some() {
                    continue;
                }
                hit.bm25 = Some(pos);
            }
            hit.fused += match fusion {
                Fusion::Rrf { k } => 1.0 / (k + (i + 1) as f32),
                Fusion::Weighted { alpha } => {
                    let w = if is_dense { alpha } else { 1.0 - alpha };
                    w * norm[i]
                }
            };
        }
    }
    let mut out: Vec<FusedHit> = hits.into_values().collect();
    out.sort_by(|a, b| b.fused.total_cmp(&a.fused).then_with(|| a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_settings_outside_their_range_are_refused_in_words() {
        assert_eq!(Fusion::weighted(0.3), Ok(Fusion::Weighted { alpha: 0.3 }));
        assert!(Fusion::weighted(1.5).is_err_and(|e| e.contains("alpha")));
        assert!(Fusion::weighted(f32::NAN).is_err());
        assert_eq!(Fusion::rrf(60.0), Ok(Fusion::Rrf { k: 60.0 }));
        for k in [0.0, -1.0, f32::INFINITY] {
            assert!(Fusion::rrf(k).is_err_and(|e| e.contains("rrf_k")), "{k}");
        }
    }

    fn list(items: &[(&str, f32)]) -> Vec<(CaseId, f32)> {
        items.iter().map(|(id, s)| (CaseId::new(*id), *s)).collect()
    }

    #[test]
    fn rrf_hand_computed() {
        // a: bm25 rank 1, dense rank 2 → 1/61 + 1/62 ; b: bm25 rank 2 → 1/62 ; c: dense rank 1 → 1/61
        let bm25 = list(&[("a", 12.0), ("b", 7.0)]);
        let dense = list(&[("c", 0.95), ("a", 0.93)]);
        let fused = fuse(&bm25, &dense, Fusion::Rrf { k: 60.0 });
        let ids: Vec<&str> = fused.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["a", "c", "b"]);
        assert!((fused[0].fused - (1.0 / 61.0 + 1.0 / 62.0)).abs() < 1e-6);
        assert!((fused[1].fused - 1.0 / 61.0).abs() < 1e-6);
        assert_eq!(
            fused[0].bm25,
            Some(ListPosition {
                rank: 1,
                score: 12.0
            })
        );
        assert_eq!(
            fused[0].dense,
            Some(ListPosition {
                rank: 2,
                score: 0.93
            })
        );
        assert_eq!(fused[1].bm25, None, "c was found by the dense list only");
    }

    #[test]
    fn weighted_normalises_each_list() {
        // bm25 a=10 → 1, b=5 → .5, c=0 → 0 ; dense c=.9 → 1, a=.8 → 0
        let bm25 = list(&[("a", 10.0), ("b", 5.0), ("c", 0.0)]);
        let dense = list(&[("c", 0.9), ("a", 0.8)]);
        let fused = fuse(&bm25, &dense, Fusion::Weighted { alpha: 0.5 });
        let by_id: HashMap<&str, f32> = fused.iter().map(|h| (h.id.as_str(), h.fused)).collect();
        assert!((by_id["a"] - 0.5).abs() < 1e-6);
        assert!((by_id["b"] - 0.25).abs() < 1e-6);
        assert!((by_id["c"] - 0.5).abs() < 1e-6);
        // alpha = 1 is dense only; a document absent from the dense list scores 0
        let dense_only = fuse(&bm25, &dense, Fusion::Weighted { alpha: 1.0 });
        assert_eq!(dense_only[0].id.as_str(), "c");
        let b = dense_only.iter().find(|h| h.id.as_str() == "b").unwrap();
        assert_eq!(b.fused, 0.0);
    }

    #[test]
    fn empty_lists_and_single_items() {
        assert!(fuse(&[], &[], Fusion::Rrf { k: 60.0 }).is_empty());
        let one = list(&[("x", 3.0)]);
        let fused = fuse(&one, &[], Fusion::Weighted { alpha: 0.3 });
        assert!(
            (fused[0].fused - 0.7).abs() < 1e-6,
            "a lone score normalises to 1"
        );
    }

    #[test]
    fn ties_are_broken_by_id_deterministically() {
        let bm25 = list(&[("b", 1.0)]);
        let dense = list(&[("a", 0.5)]);
        let fused = fuse(&bm25, &dense, Fusion::Rrf { k: 60.0 });
        assert_eq!(fused[0].id.as_str(), "a");
    }
}
