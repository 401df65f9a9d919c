//! k-fold cross-validation by query: how every tuned value of leian is chosen, so that
//! the figures quoted for it come from queries the choice never saw.
//!
//! Folds are a fixed shuffle of the query indices (query at shuffled position p goes to
//! fold p mod k), the same for every caller, so a ranker trained by `leian-rank` and a
//! setting chosen here split the dev queries identically.

/// The fold of each of `n` queries for `k` folds: a fixed permutation (LCG), then round
/// robin, so folds do not follow file order and differ in size by at most one.
pub fn fold_assignment(n: usize, k: usize) -> Vec<usize> {
    let k = k.max(1);
    let mut perm: Vec<usize> = (0..n).collect();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..perm.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = (state >> 33) as usize % (i + 1);
        perm.swap(i, j);
    }
    let mut fold_of = vec![0; n];
    for (pos, &qi) in perm.iter().enumerate() {
        fold_of[qi] = pos % k;
    }
    fold_of
}

/// What cross-validated selection chose and what it scored out of fold.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// For each fold, the index of the setting chosen on the other folds.
    pub chosen: Vec<usize>,
    /// Each query's score under the setting chosen without it.
    pub out_of_fold: Vec<f64>,
    /// The mean of `out_of_fold`.
    pub mean: f64,
    /// The setting chosen on all queries (what ships), and its in-sample mean — never a
    /// figure to quote, only the choice.
    pub chosen_on_all: usize,
}

/// Chooses one of several settings by k-fold cross-validation: `scores[s][q]` is query
/// q's score (higher is better) under setting s. For each fold the setting with the best
/// mean over the other folds' queries is chosen (ties: the lower index, so list the
/// simplest or current setting first) and scored on the fold's own queries.
///
/// Panics if the rows differ in length or there is no setting.
pub fn select(scores: &[Vec<f64>], fold_of: &[usize]) -> Selection {
    assert!(!scores.is_empty(), "no setting to choose from");
    let n = fold_of.len();
    assert!(
        scores.iter().all(|row| row.len() == n),
        "every setting needs a score per query"
    );
    let folds = fold_of.iter().copied().max().map_or(0, |m| m + 1);
    let best_on = |keep: &dyn Fn(usize) -> bool| -> usize {
        let mut best = (0, f64::NEG_INFINITY);
        for (s, row) in scores.iter().enumerate() {
            let (sum, count) = row
                .iter()
                .enumerate()
                .filter(|(q, _)| keep(*q))
                .fold((0.0, 0usize), |(a, c), (_, v)| (a + v, c + 1));
            let mean = if count == 0 { 0.0 } else { sum / count as f64 };
            if mean > best.1 + 1e-12 {
                best = (s, mean);
            }
        }
        best.0
    };
    let mut chosen = Vec::with_capacity(folds);
    let mut out_of_fold = vec![0.0; n];
    for fold in 0..folds {
        let s = best_on(&|q| fold_of[q] != fold);
        chosen.push(s);
        for q in 0..n {
            if fold_of[q] == fold {
                out_of_fold[q] = scores[s][q];
            }
        }
    }
    let mean = if n == 0 {
        0.0
    } else {
        out_of_fold.iter().sum::<f64>() / n as f64
    };
    Selection {
        chosen,
        out_of_fold,
        mean,
        chosen_on_all: best_on(&|_| true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_cover_every_query_evenly() {
        let f = fold_assignment(64, 8);
        for k in 0..8 {
            assert_eq!(f.iter().filter(|&&x| x == k).count(), 8);
        }
        // a shuffle, not file order
        assert_ne!(f, (0..64).map(|i| i % 8).collect::<Vec<_>>());
        assert_eq!(f, fold_assignment(64, 8), "deterministic");
        let g = fold_assignment(10, 3);
        let sizes: Vec<usize> = (0..3)
            .map(|k| g.iter().filter(|&&x| x == k).count())
            .collect();
        assert!(sizes.iter().all(|&s| s == 3 || s == 4), "{sizes:?}");
    }

    #[test]
    fn selection_never_sees_the_held_out_query() {
        // Setting 1 wins on folds 1 and 2 and is terrible on fold 0. Held out, fold 0 gets
        // what folds 1-2 prefer (setting 1) and so scores 0; folds 1 and 2, each trained
        // with fold 0 in, prefer setting 0. In sample setting 1 still wins.
        let fold_of = vec![0, 0, 1, 1, 2, 2];
        let scores = vec![vec![0.5; 6], vec![0.0, 0.0, 0.9, 0.9, 0.9, 0.9]];
        let sel = select(&scores, &fold_of);
        assert_eq!(sel.chosen, vec![1, 0, 0]);
        assert_eq!(sel.out_of_fold, vec![0.0, 0.0, 0.5, 0.5, 0.5, 0.5]);
        assert!((sel.mean - 2.0 / 6.0).abs() < 1e-12);
        assert_eq!(sel.chosen_on_all, 1);
        // a setting that only wins on the held-out fold is not picked for it
        let scores = vec![vec![0.5; 6], vec![0.9, 0.9, 0.1, 0.1, 0.1, 0.1]];
        let sel = select(&scores, &fold_of);
        assert_eq!(sel.chosen[0], 0);
        assert_eq!(sel.out_of_fold[0], 0.5);
    }

    #[test]
    fn ties_keep_the_first_setting() {
        let sel = select(&[vec![0.3, 0.3], vec![0.3, 0.3]], &[0, 1]);
        assert_eq!(sel.chosen, vec![0, 0]);
        assert_eq!(sel.chosen_on_all, 0);
    }
}
