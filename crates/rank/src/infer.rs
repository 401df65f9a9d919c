//! Charge prediction for a query that names none: a weighted vote of its nearest
//! indexed neighbours' charges, by 刑法 article. Shown in `explain` as inferred.

use crate::charges::resolve_charge;
use serde::Serialize;
use std::collections::BTreeMap;

/// A charge inferred for a query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InferredCharge {
    /// The name the neighbours use most for this article.
    pub name: String,
    pub article: u16,
    /// Share of the neighbours' vote, 0–1.
    pub share: f32,
}

/// Votes over `neighbours` (best first, each with its charges): neighbour i weighs
/// 1 / (i + 1); an article is inferred when it gets at least `min_share` of the vote
/// (at most `max` articles, strongest first).
pub fn infer_charges<S: AsRef<str>>(
    neighbours: &[&[S]],
    min_share: f32,
    max: usize,
) -> Vec<InferredCharge> {
    let mut votes: BTreeMap<u16, (f32, BTreeMap<String, usize>)> = BTreeMap::new();
    let mut total = 0.0f32;
    for (i, charges) in neighbours.iter().enumerate() {
        let w = 1.0 / (i as f32 + 1.0);
        total += w;
        let mut seen = Vec::new();
        for c in charges.iter() {
            let Some(a) = resolve_charge(c.as_ref()) else {
                continue;
            };
            let entry = votes.entry(a.article).or_default();
            *entry.1.entry(c.as_ref().trim().to_string()).or_default() += 1;
            if !seen.contains(&a.article) {
                seen.push(a.article);
                entry.0 += w;
            }
        }
    }
    if total == 0.0 {
        return Vec::new();
    }
    let mut out: Vec<InferredCharge> = votes
        .into_iter()
        .filter_map(|(article, (v, names))| {
            let share = v / total;
            let name = names
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                .map(|(n, _)| n)?;
            (share >= min_share).then_some(InferredCharge {
                name,
                article,
                share,
            })
        })
        .collect();
    out.sort_by(|a, b| b.share.total_cmp(&a.share));
    out.truncate(max);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_of_near_neighbours_wins() {
        let n: Vec<&[&str]> = vec![
            &["贩卖毒品罪"],
            &["走私、贩卖、运输、制造毒品罪"],
            &["容留他人吸毒罪"],
            &["贩卖毒品罪", "容留他人吸毒罪"],
            &["盗窃罪"],
        ];
        let got = infer_charges(&n, 0.4, 2);
        assert_eq!(got[0].article, 347);
        assert_eq!(got[0].name, "贩卖毒品罪");
        assert!(got[0].share > 0.7);
        assert!(got.iter().all(|c| c.article != 264), "{got:?}");
        let none: Vec<&[&str]> = vec![&["民间借贷纠纷"]];
        assert!(infer_charges(&none, 0.4, 2).is_empty());
    }
}
