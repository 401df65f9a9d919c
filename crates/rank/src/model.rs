//! [`LinearRanker`]: a weighted sum of the features, with hand-set presets and learned
//! weights stored as a small JSON file (`{"kind": "linear", "weights": {"bm25": …}}`).

use crate::error::{RankError, Result};
use crate::features::{Features, FEATURE_NAMES, NUM_FEATURES};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The weights leian ships: learned by `leian train-ranker` on the LeCaRD dev labels
/// (corpus protocol), see the file's `trained_on` note.
pub const SHIPPED_WEIGHTS: &str = include_str!("../weights/legal-linear.json");

/// A linear ranker: score = Σ weight × feature.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRanker {
    pub weights: [f32; NUM_FEATURES],
    /// Where the weights came from (`hand:charges`, a file path…), for `explain`.
    pub source: String,
}

#[derive(Serialize, Deserialize)]
struct WeightsFile {
    kind: String,
    weights: BTreeMap<String, f32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    trained_on: String,
}

/// One feature's part in a score, for `explain`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub feature: &'static str,
    pub value: f32,
    pub weight: f32,
    /// value × weight.
    pub contribution: f32,
}

impl LinearRanker {
    fn from_pairs(pairs: &[(&str, f32)], source: &str) -> Self {
        let mut weights = [0.0; NUM_FEATURES];
        for (name, w) in pairs {
            if let Some(i) = FEATURE_NAMES.iter().position(|n| n == name) {
                weights[i] = *w;
            }
        }
        LinearRanker {
            weights,
            source: source.to_string(),
        }
    }

    /// Text only: BM25 and the facts embedding, as the default weighted fusion (α = .3).
    pub fn hand_text() -> Self {
        Self::from_pairs(&[("bm25", 0.7), ("dense", 0.3)], "hand:text")
    }

    /// Text plus charge agreement (same article, section, chapter; extra charges cost).
    pub fn hand_charges() -> Self {
        Self::from_pairs(
            &[
                ("bm25", 0.7),
                ("dense", 0.3),
                ("charge", 0.6),
                ("charge_section", 0.2),
                ("charge_chapter", 0.1),
                ("charge_extra", -0.2),
            ],
            "hand:charges",
        )
    }

    /// Text plus every legal element.
    pub fn hand_all() -> Self {
        Self::from_pairs(
            &[
                ("bm25", 0.7),
                ("dense", 0.3),
                ("charge", 0.6),
                ("charge_section", 0.2),
                ("charge_chapter", 0.1),
                ("charge_extra", -0.2),
                ("prf", 0.3),
                ("statute", 0.2),
                ("circumstances", 0.1),
                ("amount", 0.1),
                ("harm", 0.1),
            ],
            "hand:all",
        )
    }

    /// The learned weights shipped with leian.
    pub fn shipped() -> Result<Self> {
        Self::parse(SHIPPED_WEIGHTS, Path::new("<shipped legal-linear.json>"))
    }

    /// A preset by name (`text`, `charges`, `all`, `learned`) or a weights file path.
    pub fn by_name(name: &str) -> Result<Self> {
        match name {
            "text" => Ok(Self::hand_text()),
            "charges" => Ok(Self::hand_charges()),
            "all" => Ok(Self::hand_all()),
            "learned" => Self::shipped(),
            path => Self::load(Path::new(path)),
        }
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| RankError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    fn parse(text: &str, path: &Path) -> Result<Self> {
        let bad = |message: String| RankError::BadModel {
            path: path.to_path_buf(),
            message,
        };
        let file: WeightsFile = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if file.kind != "linear" {
            return Err(bad(format!("kind {:?}: want \"linear\"", file.kind)));
        }
        let mut weights = [0.0; NUM_FEATURES];
        for (name, w) in &file.weights {
            let i = FEATURE_NAMES
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| bad(format!("unknown feature {name:?}")))?;
            if !w.is_finite() {
                return Err(bad(format!("weight of {name} is not a number")));
            }
            weights[i] = *w;
        }
        Ok(LinearRanker {
            weights,
            source: path.display().to_string(),
        })
    }

    /// The weights as the JSON file `leian train-ranker` writes.
    pub fn to_json(&self, trained_on: &str) -> String {
        let file = WeightsFile {
            kind: "linear".into(),
            weights: FEATURE_NAMES
                .iter()
                .zip(self.weights)
                .map(|(n, w)| (n.to_string(), (w * 1e4).round() / 1e4))
                .collect(),
            trained_on: trained_on.to_string(),
        };
        serde_json::to_string_pretty(&file).unwrap_or_default() + "\n"
    }

    pub fn score(&self, f: &Features) -> f32 {
        self.weights.iter().zip(f.0).map(|(w, v)| w * v).sum()
    }

    /// Each feature's part in the score, largest magnitude first, zeros left out.
    pub fn contributions(&self, f: &Features) -> Vec<Contribution> {
        let mut out: Vec<Contribution> = FEATURE_NAMES
            .iter()
            .zip(self.weights.iter().zip(f.0))
            .filter(|(_, (w, v))| **w != 0.0 && *v != 0.0)
            .map(|(name, (w, v))| Contribution {
                feature: name,
                value: v,
                weight: *w,
                contribution: w * v,
            })
            .collect();
        out.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_round_trip_through_json() {
        let m = LinearRanker::hand_all();
        let back = LinearRanker::parse(&m.to_json("test"), Path::new("x")).unwrap();
        assert_eq!(back.weights, m.weights);
        assert!(LinearRanker::shipped().is_ok());
    }

    #[test]
    fn bad_weight_files_are_rejected_by_name() {
        let err = LinearRanker::parse(r#"{"kind":"linear","weights":{"nope":1}}"#, Path::new("w"))
            .unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        assert!(LinearRanker::parse(r#"{"kind":"gbdt","weights":{}}"#, Path::new("w")).is_err());
    }

    #[test]
    fn contributions_sum_to_the_score() {
        let m = LinearRanker::hand_all();
        let mut f = Features::default();
        f.0[0] = 0.5;
        f.0[3] = 1.0;
        let sum: f32 = m.contributions(&f).iter().map(|c| c.contribution).sum();
        assert!((sum - m.score(&f)).abs() < 1e-6);
        assert_eq!(m.contributions(&f)[0].feature, "charge");
    }
}
