//! The consistency check (裁判偏离预警) measured on real sentences: CAIL2018 facts with a
//! prison term, leave-one-out. Each case is put to the check as a draft (its facts and
//! charges) with the case itself hidden; its neighbours are found by
//! [`leian_consistency::similar_decided`], the very function `leian check` and
//! `POST /v1/consistency` use, and its term is predicted as the check predicts it (the
//! similarity-weighted median of those neighbours' terms). The trivial baseline is the
//! median term of all other cases with the same charges. The warning rule is applied to
//! each real judgment as if it were a draft: every `warning` is a false alarm.

use crate::{HarnessError, Result};
use leian_consistency::{
    assess, charge_key, similar_decided, similarity_weights, CheckOptions, Distribution, Draft,
    Outcome, WarningLevel, WarningRule,
};
use leian_engine::{Engine, SearchMode};
use leian_ingest::{read_path, Case, Format, Item, MainPenalty, Sentence};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;

/// One fact with a known term.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub case: Case,
    pub term: f64,
}

/// The CAIL2018 records of `path` that have a `term_months`.
pub fn read_labelled(path: &Path) -> Result<Vec<Labelled>> {
    let mut out = Vec::new();
    for r in read_path(path, Format::Cail2018)? {
        let Ok(Item::Case(case)) = r else { continue };
        if let Some(t) = case.sentence.term_months {
            out.push(Labelled {
                case: *case,
                term: f64::from(t),
            });
        }
    }
    if out.is_empty() {
        return Err(HarnessError::MissingData(format!(
            "{}: no record has a term_months",
            path.display()
        )));
    }
    Ok(out)
}

/// Puts the labelled cases into `engine` when any is missing (or lacks vectors while a
/// model is loaded); says whether it did. Only these cases: they are all the check ranks.
pub fn ensure_indexed(engine: &Engine, cases: &[Labelled]) -> Result<bool> {
    let mut missing = false;
    for c in cases {
        let absent = engine.get(&c.case.id)?.is_none();
        if absent || (engine.has_dense() && !engine.has_vectors(&c.case.id)) {
            missing = true;
            break;
        }
    }
    if missing {
        let mut writer = engine.writer()?;
        for c in cases {
            writer.upsert(c.case.clone())?;
        }
        writer.commit(&mut |_, _| {})?;
    }
    Ok(missing)
}

/// Which cases count as having the draft's charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeMatch {
    /// At least one charge in common.
    Any,
    /// The same set of charges when at least the rule's `min_cases` such cases exist,
    /// else one in common: the check's default.
    PreferExact,
}

impl std::str::FromStr for ChargeMatch {
    type Err = HarnessError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "any" => Ok(ChargeMatch::Any),
            "prefer-exact" => Ok(ChargeMatch::PreferExact),
            other => Err(HarnessError::MissingData(format!(
                "unknown charge match {other:?}: want any or prefer-exact"
            ))),
        }
    }
}

/// The draft a labelled case makes: what a judge would paste (its facts and charges).
pub fn draft_of(case: &Case) -> Draft {
    Draft {
        facts: case.fact_text().to_string(),
        charges: case.charges.clone(),
        ..Draft::default()
    }
}

/// How the check is asked: its mode, neighbours, charge match and warning rule.
#[derive(Debug, Clone, Copy)]
pub struct Asked {
    pub mode: SearchMode,
    pub k: usize,
    pub charge_match: ChargeMatch,
    pub rule: WarningRule,
}

impl Asked {
    /// The check's options for one leave-one-out draft: the check's defaults but for
    /// these, with the case itself hidden.
    pub fn options(&self, leave_out: &str) -> CheckOptions {
        CheckOptions {
            top_k: self.k,
            mode: self.mode,
            prefer_exact_charges: self.charge_match == ChargeMatch::PreferExact,
            rule: self.rule,
            hidden: HashSet::from([leave_out.to_string()]),
            ..CheckOptions::default()
        }
    }
}

/// A case's neighbours as the check finds them, most similar first: (id, sentence, score).
pub type Neighbours = Vec<(String, Sentence, f64)>;

/// Every labelled case's neighbours (`None`: the check found none).
pub fn neighbours(
    engine: &Engine,
    cases: &[Labelled],
    asked: &Asked,
) -> Result<Vec<Option<Neighbours>>> {
    let mut out = Vec::with_capacity(cases.len());
    for c in cases {
        let options = asked.options(c.case.id.as_str());
        let found = similar_decided(engine, &draft_of(&c.case), &options)?;
        let list: Neighbours = found
            .hits
            .into_iter()
            .map(|h| (h.id.to_string(), h.case.sentence, f64::from(h.score)))
            .collect();
        out.push((!list.is_empty()).then_some(list));
    }
    Ok(out)
}

/// Every labelled case's same-charge group for the baseline: the terms of all other
/// labelled cases with its charges (`None`: no other case has them).
pub fn charge_groups(
    cases: &[Labelled],
    charge_match: ChargeMatch,
    min_cases: usize,
) -> Vec<Option<Vec<f64>>> {
    let keys: Vec<BTreeSet<String>> = cases.iter().map(|c| charge_key(&c.case.charges)).collect();
    (0..cases.len())
        .map(|i| {
            let group = |exact: bool| -> Vec<f64> {
                (0..cases.len())
                    .filter(|&j| {
                        j != i
                            && if exact {
                                keys[j] == keys[i]
                            } else {
                                !keys[j].is_disjoint(&keys[i])
                            }
                    })
                    .map(|j| cases[j].term)
                    .collect()
            };
            let terms = match charge_match {
                ChargeMatch::Any => group(false),
                ChargeMatch::PreferExact => {
                    let exact = group(true);
                    if exact.len() >= min_cases {
                        exact
                    } else {
                        group(false)
                    }
                }
            };
            (!terms.is_empty()).then_some(terms)
        })
        .collect()
}

/// One evaluated case: the predicted and the true term, the level the rule gives the
/// true sentence, and the number of cases compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub predicted: f64,
    pub truth: f64,
    pub level: WarningLevel,
    pub n: usize,
}

fn fixed_term(term: f64) -> Sentence {
    Sentence {
        penalty: Some(MainPenalty::FixedTerm),
        term_months: Some(term.round() as u32),
        ..Sentence::default()
    }
}

/// Rows of the check's own predictor: the distribution of the neighbours weighted by
/// relative score to `power`, its weighted median. Only cases that also have a charge
/// group, so that both predictors are scored on the same cases.
pub fn check_rows(
    cases: &[Labelled],
    neighbours: &[Option<Neighbours>],
    groups: &[Option<Vec<f64>>],
    power: f64,
    rule: &WarningRule,
) -> Vec<Row> {
    cases
        .iter()
        .zip(neighbours.iter().zip(groups))
        .filter_map(|(c, (n, g))| {
            let (n, _) = (n.as_ref()?, g.as_ref()?);
            let scores: Vec<f64> = n.iter().map(|(_, _, s)| *s).collect();
            let weights = similarity_weights(&scores, power);
            let outcomes: Vec<Outcome> = n
                .iter()
                .zip(weights)
                .map(|((_, sentence, _), w)| Outcome::from_sentence(sentence, w))
                .collect();
            let d = Distribution::of(&outcomes);
            let level = assess(&d, &fixed_term(c.term), rule).level;
            Some(Row {
                predicted: d.weighted_median_months?,
                truth: c.term,
                level,
                n: d.n,
            })
        })
        .collect()
}

/// Rows of the baseline: the median of the charge group, on the cases the check found
/// neighbours for.
pub fn baseline_rows(
    cases: &[Labelled],
    neighbours: &[Option<Neighbours>],
    groups: &[Option<Vec<f64>>],
    rule: &WarningRule,
) -> Vec<Row> {
    cases
        .iter()
        .zip(neighbours.iter().zip(groups))
        .filter_map(|(c, (n, g))| {
            let (_, g) = (n.as_ref()?, g.as_ref()?);
            let outcomes: Vec<Outcome> = g
                .iter()
                .map(|t| Outcome::from_sentence(&fixed_term(*t), 1.0))
                .collect();
            let d = Distribution::of(&outcomes);
            let level = assess(&d, &fixed_term(c.term), rule).level;
            Some(Row {
                predicted: d.median_months?,
                truth: c.term,
                level,
                n: d.n,
            })
        })
        .collect()
}

/// What one predictor scores over the evaluated cases.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub n: usize,
    pub mae: f64,
    /// Share predicted within ±25 % of the true term (a true 0 only when exact).
    pub within_25: f64,
    pub warning: f64,
    pub notice: f64,
    /// Cases with at least `min_cases` cases compared (the only ones that can warn), and
    /// the warning share among them: the false-alarm rate once the corpus is large enough.
    pub n_can_warn: usize,
    pub warning_can_warn: f64,
}

pub fn score(rows: &[Row], rule: &WarningRule) -> Score {
    let n = rows.len().max(1) as f64;
    let share = |level: WarningLevel| rows.iter().filter(|r| r.level == level).count() as f64 / n;
    let can_warn: Vec<&Row> = rows.iter().filter(|r| r.n >= rule.min_cases).collect();
    Score {
        n: rows.len(),
        mae: rows
            .iter()
            .map(|r| (r.predicted - r.truth).abs())
            .sum::<f64>()
            / n,
        within_25: rows
            .iter()
            .filter(|r| (r.predicted - r.truth).abs() <= 0.25 * r.truth)
            .count() as f64
            / n,
        warning: share(WarningLevel::Warning),
        notice: share(WarningLevel::Notice),
        n_can_warn: can_warn.len(),
        warning_can_warn: can_warn
            .iter()
            .filter(|r| r.level == WarningLevel::Warning)
            .count() as f64
            / can_warn.len().max(1) as f64,
    }
}

/// The header of the evaluation's Markdown table.
pub const TABLE_HEADER: &str = "| predictor | k | weight power | warning rule (min cases/far factor) | n | MAE months | within ±25 % | warning (false alarm) | warning where n ≥ min cases | notice |\n|---|---|---|---|---|---|---|---|---|---|\n";

/// One row of the evaluation's table.
pub fn table_row(name: &str, k: &str, power: &str, rule: &WarningRule, s: &Score) -> String {
    format!(
        "| {name} | {k} | {power} | {}/×{} | {} | {:.2} | {:.1}% | {:.1}% | {:.1}% of {} | {:.1}% |\n",
        rule.min_cases,
        rule.far_factor,
        s.n,
        s.mae,
        s.within_25 * 100.0,
        s.warning * 100.0,
        s.warning_can_warn * 100.0,
        s.n_can_warn,
        s.notice * 100.0
    )
}

/// The baseline's row and the check's row for one set of neighbours and one rule.
pub fn predictor_rows(
    cases: &[Labelled],
    found: &[Option<Neighbours>],
    charge_match: ChargeMatch,
    power: f64,
    asked: &Asked,
) -> String {
    let rule = &asked.rule;
    let groups = charge_groups(cases, charge_match, rule.min_cases);
    table_row(
        "per-charge median",
        "all",
        "-",
        rule,
        &score(&baseline_rows(cases, found, &groups, rule), rule),
    ) + &table_row(
        "the check (weighted median)",
        &asked.k.to_string(),
        &power.to_string(),
        rule,
        &score(&check_rows(cases, found, &groups, power, rule), rule),
    )
}

/// The rows of a sweep around `asked` (whose neighbours `found` are reused): the check at
/// other k and weighting powers, then both predictors under other warning rules.
pub fn sweep_rows(
    engine: &Engine,
    cases: &[Labelled],
    asked: &Asked,
    found: &[Option<Neighbours>],
    power: f64,
) -> Result<String> {
    let rule = asked.rule;
    let mut out = String::new();
    // the baseline's groups depend on the rule, not on k
    let groups = charge_groups(cases, asked.charge_match, rule.min_cases);
    for k in [1, 3, 5, 10, 20, 50] {
        let other;
        let found_k = if k == asked.k {
            found
        } else {
            other = neighbours(engine, cases, &Asked { k, ..*asked })?;
            &other[..]
        };
        for p in [0.0, 1.0, 2.0, 4.0] {
            out += &table_row(
                "the check (weighted median)",
                &k.to_string(),
                &p.to_string(),
                &rule,
                &score(&check_rows(cases, found_k, &groups, p, &rule), &rule),
            );
        }
    }
    for min_cases in [3, 5, 8] {
        for far_factor in [1.5, 2.0, 3.0] {
            let r = WarningRule {
                min_cases,
                far_factor,
                ..rule
            };
            // the rule's min cases also decides when the check prefers the exact set
            let with_rule = Asked { rule: r, ..*asked };
            let found_r = neighbours(engine, cases, &with_rule)?;
            out += &predictor_rows(cases, &found_r, asked.charge_match, power, &with_rule);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use leian_consistency::check;
    use leian_engine::EngineOptions;
    use leian_ingest::CaseId;

    /// Fictional thefts and frauds with terms, written for this test.
    fn case(id: &str, facts: &str, charge: &str, term: u32) -> Case {
        let mut c = Case::new(CaseId::new(id));
        c.full_text = facts.to_string();
        c.sections.facts = facts.to_string();
        c.category = leian_ingest::CaseCategory::Criminal;
        c.charges = vec![charge.to_string()];
        c.sentence = fixed_term(f64::from(term));
        c
    }

    fn labelled() -> Vec<Labelled> {
        let rows = [
            (
                "t1",
                "被告人甲在超市窃取手机一部，价值三千元。",
                "盗窃罪",
                6,
            ),
            (
                "t2",
                "被告人乙在商场窃取他人钱包，内有现金二千元。",
                "盗窃罪",
                5,
            ),
            (
                "t3",
                "被告人丙入户窃取笔记本电脑一台，价值五千元。",
                "盗窃罪",
                10,
            ),
            (
                "t4",
                "被告人丁在公交车上窃取乘客手机，价值四千元。",
                "盗窃罪",
                8,
            ),
            (
                "t5",
                "被告人戊多次在小区窃取电动车电瓶，共计价值六千元。",
                "盗窃罪",
                12,
            ),
            (
                "t6",
                "被告人己在地铁上窃取他人手机两部，价值七千元。",
                "盗窃罪",
                14,
            ),
            ("f1", "被告人庚冒充客服骗取被害人转账四万元。", "诈骗罪", 36),
            ("f2", "被告人辛以投资为名骗取他人钱款十万元。", "诈骗罪", 60),
        ];
        rows.iter()
            .map(|(id, f, ch, t)| Labelled {
                case: case(id, f, ch, *t),
                term: f64::from(*t),
            })
            .collect()
    }

    fn engine(dir: &Path) -> Engine {
        Engine::open(&EngineOptions {
            index_dir: dir.to_path_buf(),
            ..EngineOptions::default()
        })
        .expect("engine")
    }

    #[test]
    fn neighbours_are_the_checks_own_without_the_case_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(dir.path());
        let cases = labelled();
        assert!(ensure_indexed(&engine, &cases).expect("ingest"));
        assert!(
            !ensure_indexed(&engine, &cases).expect("again"),
            "already there"
        );
        let asked = Asked {
            mode: SearchMode::Bm25,
            k: 3,
            charge_match: ChargeMatch::PreferExact,
            rule: WarningRule::default(),
        };
        let all = neighbours(&engine, &cases, &asked).expect("neighbours");
        for (c, n) in cases.iter().zip(&all) {
            let n = n.as_ref().expect("every case has a same-charge neighbour");
            assert!(n.len() <= 3);
            assert!(
                n.iter().all(|(id, _, _)| id != c.case.id.as_str()),
                "left out"
            );
            // the check itself, asked the same, compares with exactly these cases
            let options = asked.options(c.case.id.as_str());
            let report = check(&engine, &draft_of(&c.case), &options).expect("check");
            let ids: Vec<&str> = report.similar.iter().map(|s| s.id.as_str()).collect();
            let mine: Vec<&str> = n.iter().map(|(id, _, _)| id.as_str()).collect();
            assert_eq!(ids, mine, "{}", c.case.id);
            // same charges only
            let charge = &c.case.charges[0];
            assert!(report.similar.iter().all(|s| s.charges.contains(charge)));
        }
    }

    #[test]
    fn baseline_is_the_median_of_the_other_cases_with_the_charges() {
        let cases = labelled();
        let groups = charge_groups(&cases, ChargeMatch::PreferExact, 5);
        // t1's group: the five other thefts, terms 5 8 10 12 14 → median 10
        assert_eq!(groups[0].as_deref().map(<[f64]>::len), Some(5));
        // f1 has one other fraud: fewer than 5 with the exact set, so any shared charge
        assert_eq!(groups[6], Some(vec![60.0]));
        let fake: Vec<Option<Neighbours>> = cases
            .iter()
            .map(|_| Some(vec![("x".to_string(), fixed_term(1.0), 1.0)]))
            .collect();
        let rule = WarningRule::default();
        let rows = baseline_rows(&cases, &fake, &groups, &rule);
        assert_eq!(rows[0].predicted, 10.0);
        assert_eq!(rows[0].truth, 6.0);
        let s = score(&rows, &rule);
        assert_eq!(s.n, cases.len());
        let mae = rows
            .iter()
            .map(|r| (r.predicted - r.truth).abs())
            .sum::<f64>()
            / 8.0;
        assert!((s.mae - mae).abs() < 1e-9);
        assert!(s.mae > 0.0);
        // the check's predictor on neighbours all sentenced to 1 month predicts 1
        let rows = check_rows(&cases, &fake, &groups, 1.0, &rule);
        assert!(rows.iter().all(|r| r.predicted == 1.0));
    }
}
