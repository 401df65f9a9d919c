//! [`check`]: a draft against the similar decided cases the engine finds.

use crate::draft::Draft;
use crate::error::{ConsistencyError, Result};
use crate::rule::{assess, WarningLevel, WarningRule};
use crate::stats::{quantile, similarity_weights, Distribution, Outcome};
use leian_engine::{Engine, Filters, Query, Ran, RankedCase, SearchMode};
use leian_ingest::{
    extract_circumstances, AuthorityTier, Case, Circumstance, CircumstanceEffect, MainPenalty,
    Sentence, StatuteRef,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Longest facts text accepted, in characters.
pub const MAX_FACTS_CHARS: usize = 200_000;
/// Most similar cases a check may use.
pub const MAX_TOP_K: usize = 100;

/// How a check searches and grades.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Similar decided cases used for the distribution.
    pub top_k: usize,
    /// Ranking mode (hybrid falls back to BM25 without a model; dense alone needs one).
    pub mode: SearchMode,
    /// Only cases with one of the draft's charges (the default); off compares with any case.
    pub same_charges: bool,
    /// Among those, only cases with exactly the draft's charges when at least
    /// `rule.min_cases` of them are found (the default): a sentence for 盗窃 alone is
    /// not like one for 盗窃 and 抢劫 together (数罪并罚).
    pub prefer_exact_charges: bool,
    /// Similarity weighting of the expected term (see [`similarity_weights`]).
    pub weight_power: f64,
    /// Guiding cases on point to list.
    pub guiding_k: usize,
    pub rule: WarningRule,
    /// Ids the caller may not see.
    pub hidden: HashSet<String>,
}

impl Default for CheckOptions {
    /// `top_k` 10 and `weight_power` 1 were chosen on an earlier evaluation that ranked
    /// same-charge candidates by itself; measured through this check (`leian eval
    /// consistency`, README "Consistency check") the weighted median does not beat the
    /// per-charge median (BM25: MAE 26.4 against 25.4 months), so read the distribution,
    /// not the one number.
    fn default() -> Self {
        CheckOptions {
            top_k: 10,
            mode: SearchMode::Hybrid,
            same_charges: true,
            prefer_exact_charges: true,
            weight_power: 1.0,
            guiding_k: 3,
            rule: WarningRule::default(),
            hidden: HashSet::new(),
        }
    }
}

/// A circumstance with the label a judge reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CircumstanceTag {
    pub code: Circumstance,
    pub label: &'static str,
    pub effect: CircumstanceEffect,
}

fn tags(found: &[Circumstance]) -> Vec<CircumstanceTag> {
    found
        .iter()
        .map(|c| CircumstanceTag {
            code: *c,
            label: c.label_zh(),
            effect: c.effect(),
        })
        .collect()
}

/// One similar decided case the distribution is made of.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarDecided {
    pub id: String,
    pub title: String,
    pub court: Option<String>,
    /// YYYY-MM-DD.
    pub date: Option<String>,
    pub tier: AuthorityTier,
    pub charges: Vec<String>,
    /// The ranking score.
    pub score: f32,
    /// Score relative to the most similar case (1 = the most similar).
    pub similarity: f64,
    /// Weight in the expected (weighted median) term.
    pub weight: f64,
    pub sentence: Sentence,
    /// Term in months as the distribution counts it (fine only = 0; 死刑/无期 none).
    pub term_months: Option<f64>,
    /// 量刑情节 found in its facts and reasoning.
    pub circumstances: Vec<CircumstanceTag>,
    /// How many of the draft's circumstances it shares.
    pub shared_circumstances: usize,
}

/// A guiding case on point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuidingOnPoint {
    pub id: String,
    pub number: Option<u32>,
    pub title: String,
    /// 裁判要点.
    pub gist: String,
    pub score: f32,
    pub cited_by_draft: bool,
}

/// How often the similar cases cite a statute, and whether the draft does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatuteUse {
    /// `刑法第67条`.
    pub statute: String,
    pub law: String,
    pub article: u32,
    /// Similar cases citing it.
    pub cases: usize,
    pub share: f64,
    pub cited_by_draft: bool,
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsistencyReport {
    /// The ranking mode actually used (`ran.mode`).
    pub mode: SearchMode,
    /// What ran for the similar cases, as the engine decided it ([`Engine::ran`]).
    pub ran: Ran,
    /// Charges the similar cases were restricted to (empty: any case).
    pub charges_filter: Vec<String>,
    /// Whether the similar cases have exactly the draft's charges (else: at least one).
    pub exact_charges: bool,
    pub similar: Vec<SimilarDecided>,
    pub distribution: Distribution,
    pub proposed: Sentence,
    /// Where the proposed term falls among the similar cases' terms, 0–100.
    pub percentile: Option<f64>,
    /// (proposed − median) / max(median, 1 month).
    pub deviation_from_median: Option<f64>,
    pub warning: WarningLevel,
    pub warning_label: &'static str,
    /// Every finding in words: the term, probation, statutes not cited, guiding cases.
    pub reasons: Vec<String>,
    /// The warning rule in words.
    pub rule: String,
    pub guiding: Vec<GuidingOnPoint>,
    /// Statutes cited by at least two similar cases, most cited first.
    pub statutes: Vec<StatuteUse>,
    pub draft_circumstances: Vec<CircumstanceTag>,
    /// The similar cases that share every circumstance of the draft (like with like), and
    /// the median of their terms; none when the draft states no circumstance.
    pub same_circumstances: Option<LikeCases>,
    /// The statutory penalty range (法定刑) of each charge whose defining article the
    /// index holds, with the proposal against it; a proposal outside it is a 偏离预警
    /// whatever the similar cases say.
    pub statutory: Vec<crate::statutory::StatutoryRange>,
}

/// The similar cases that share all of the draft's circumstances.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LikeCases {
    pub ids: Vec<String>,
    pub n_with_term: usize,
    pub median_months: Option<f64>,
}

/// 量刑情节 of a decided case: from its facts and its reasoning (where 自首, 累犯… are
/// usually stated).
pub fn case_circumstances(case: &Case) -> Vec<Circumstance> {
    let text = format!("{}。{}", case.fact_text(), case.sections.reasoning);
    extract_circumstances(&text)
}

fn validate(draft: &Draft, options: &CheckOptions) -> Result<()> {
    let chars = draft.facts.chars().count();
    if chars > MAX_FACTS_CHARS {
        return Err(ConsistencyError::InvalidDraft(format!(
            "`facts` has {chars} characters; at most {MAX_FACTS_CHARS}"
        )));
    }
    if draft.search_text().is_empty() {
        return Err(ConsistencyError::InvalidDraft(
            "`facts` and `charges` are both empty: give the facts or the charges".into(),
        ));
    }
    if options.top_k == 0 || options.top_k > MAX_TOP_K {
        return Err(ConsistencyError::InvalidDraft(format!(
            "`top_k` must be 1..={MAX_TOP_K}"
        )));
    }
    if !(options.weight_power >= 0.0 && options.weight_power.is_finite()) {
        return Err(ConsistencyError::InvalidDraft(
            "`weight_power` must be a non-negative number".into(),
        ));
    }
    Ok(())
}

/// Charges compared as a set, with or without the final 罪 (`盗窃` = `盗窃罪`).
pub fn charge_key(charges: &[String]) -> BTreeSet<String> {
    charges
        .iter()
        .map(|c| c.trim().trim_end_matches('罪').to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

fn has_outcome(case: &Case) -> bool {
    case.sentence.penalty.is_some() || case.sentence.term_months.is_some()
}

/// The decided cases a check compares a draft with, and how they were found: the one
/// neighbour selection of [`check`], used as it is by the check's evaluation.
#[derive(Debug, Clone)]
pub struct SimilarDecidedCases {
    /// What ran, as the engine decided it.
    pub ran: Ran,
    /// Charges the cases were restricted to (empty: any case).
    pub charges_filter: Vec<String>,
    /// Whether the cases have exactly the draft's charges (else: at least one).
    pub exact_charges: bool,
    /// At most `options.top_k` decided cases with an outcome, most similar first; no
    /// guiding case (those are listed apart) and none of `options.hidden`.
    pub hits: Vec<RankedCase>,
}

/// Finds the similar decided cases of `draft` (see [`SimilarDecidedCases`]).
pub fn similar_decided(
    engine: &Engine,
    draft: &Draft,
    options: &CheckOptions,
) -> Result<SimilarDecidedCases> {
    validate(draft, options)?;
    let charges_filter: Vec<String> = if options.same_charges {
        draft
            .charges
            .iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    } else {
        Vec::new()
    };
    // Read deep: guiding cases, cases without a sentence and hidden ones are skipped.
    let fetch = (options.top_k * 4 + options.hidden.len()).max(Query::DEFAULT_DEPTH);
    let mut query = Query::new(draft.search_text(), fetch);
    query.filters = Filters {
        charges: charges_filter.clone(),
        ..Filters::default()
    };
    query.mode = options.mode;
    query.snippets = false;
    query.depth = fetch;
    // cases of the draft's own charges are comparable in sentence whatever words their
    // facts share: the relevance floor guards only a search without that filter
    if !charges_filter.is_empty() {
        query.floor = None;
    }
    // the default (legal) ranking compares the draft's charges with each case's
    if !draft.charges.is_empty() {
        query.legal.charges = Some(draft.charges.clone());
    }
    let ran = engine.ran(&query);
    let decided: Vec<RankedCase> = engine
        .search(&query)?
        .into_iter()
        .filter(|h| !options.hidden.contains(h.id.as_str()))
        .filter(|h| h.case.tier != AuthorityTier::Guiding && has_outcome(&h.case))
        .collect();
    let draft_key = charge_key(&charges_filter);
    let exact_n = decided
        .iter()
        .filter(|h| charge_key(&h.case.charges) == draft_key)
        .count();
    let exact_charges = options.prefer_exact_charges
        && !draft_key.is_empty()
        && exact_n >= options.rule.min_cases.min(options.top_k);
    let hits: Vec<RankedCase> = decided
        .into_iter()
        .filter(|h| !exact_charges || charge_key(&h.case.charges) == draft_key)
        .take(options.top_k)
        .collect();
    Ok(SimilarDecidedCases {
        ran,
        charges_filter,
        exact_charges,
        hits,
    })
}

/// Checks `draft` against the similar decided cases in `engine`.
pub fn check(engine: &Engine, draft: &Draft, options: &CheckOptions) -> Result<ConsistencyReport> {
    let SimilarDecidedCases {
        ran,
        charges_filter,
        exact_charges,
        hits,
    } = similar_decided(engine, draft, options)?;
    let mode = ran.mode;

    let draft_found = extract_circumstances(&format!("{}。{}", draft.facts, draft.reasoning));
    let scores: Vec<f64> = hits.iter().map(|h| f64::from(h.score)).collect();
    let best = scores.iter().copied().fold(f64::MIN, f64::max);
    let weights = similarity_weights(&scores, options.weight_power);
    let similar: Vec<SimilarDecided> = hits
        .iter()
        .zip(&weights)
        .map(|(h, w)| {
            let found = case_circumstances(&h.case);
            let outcome = Outcome::from_sentence(&h.case.sentence, *w);
            SimilarDecided {
                id: h.id.to_string(),
                title: h.case.display_title(),
                court: h.case.court.clone(),
                date: h.case.date.map(|d| d.to_string()),
                tier: h.case.tier,
                charges: h.case.charges.clone(),
                score: h.score,
                similarity: if best > 0.0 {
                    f64::from(h.score) / best
                } else {
                    1.0
                },
                weight: *w,
                sentence: h.case.sentence.clone(),
                term_months: outcome.term_months,
                shared_circumstances: found.iter().filter(|c| draft_found.contains(c)).count(),
                circumstances: tags(&found),
            }
        })
        .collect();
    let outcomes: Vec<Outcome> = hits
        .iter()
        .zip(&weights)
        .map(|(h, w)| Outcome::from_sentence(&h.case.sentence, *w))
        .collect();
    let proposed = draft.proposed();
    // like with like: a term of 有期徒刑 is compared with the similar cases sentenced to
    // 有期徒刑, not in months with 拘役 ones, when the cases say which penalty they got
    let (outcomes, kind_note) = same_kind_outcomes(outcomes, proposed.penalty);
    let distribution = Distribution::of(&outcomes);
    let assessment = assess(&distribution, &proposed, &options.rule);
    let mut reasons = assessment.reasons;
    if let Some(note) = kind_note {
        reasons.push(note);
    }
    let same_circumstances = (!draft_found.is_empty()).then(|| {
        let like: Vec<&SimilarDecided> = similar
            .iter()
            .filter(|s| s.shared_circumstances == draft_found.len())
            .collect();
        let mut terms: Vec<f64> = like.iter().filter_map(|s| s.term_months).collect();
        terms.sort_by(f64::total_cmp);
        LikeCases {
            ids: like.iter().map(|s| s.id.clone()).collect(),
            n_with_term: terms.len(),
            median_months: quantile(&terms, 0.5),
        }
    });
    if let Some(like) = &same_circumstances {
        let labels: Vec<&str> = draft_found.iter().map(|c| c.label_zh()).collect();
        reasons.push(match like.median_months {
            Some(m) => format!(
                "与本案情节相同（{}）的类案{}件，刑期中位数{m:.0}个月。",
                labels.join("、"),
                like.n_with_term
            ),
            None => format!("类案中没有与本案情节（{}）全部相同的。", labels.join("、")),
        });
    }
    if charges_filter.is_empty() && options.same_charges {
        reasons.push("草稿未列罪名：类案未按罪名筛选。".into());
    } else if !charges_filter.is_empty() && !exact_charges {
        reasons.push(format!(
            "罪名完全相同的类案不足{}件：比对范围包括罪名部分相同的案件（含数罪并罚）。",
            options.rule.min_cases.min(options.top_k)
        ));
    }
    if let Some(expected) = distribution.weighted_median_months {
        reasons.push(format!("按相似度加权，类案刑期中位数为{expected:.0}个月。"));
    }

    let statutes = statute_uses(&hits, &draft.normalized_statutes());
    let uncited: Vec<String> = statutes
        .iter()
        .filter(|s| !s.cited_by_draft && s.share >= 0.5)
        .map(|s| format!("{}（{}/{}件）", s.statute, s.cases, hits.len()))
        .collect();
    if !uncited.is_empty() {
        reasons.push(format!(
            "多数类案引用而草稿未引用的法条：{}。",
            uncited.join("、")
        ));
    }

    let guiding = guiding_on_point(engine, draft, options, &charges_filter, mode)?;
    for g in guiding.iter().filter(|g| !g.cited_by_draft) {
        reasons.push(format!(
            "指导性案例{}（{}）与本案相关，草稿未引用；指导性案例应当参照。",
            g.number.map_or_else(String::new, |n| format!("第{n}号")),
            g.title
        ));
    }

    let statutory = statutory_ranges(engine, draft, &proposed)?;
    let mut level = assessment.level;
    for r in &statutory {
        if let Some(note) = &r.facts_note {
            reasons.insert(0, format!("{}（{}）：{}。", r.charge, r.article, note));
        }
        if let Some(v) = &r.verdict {
            reasons.insert(0, format!("{}（{}）：{}。", r.charge, r.article, v.message));
            if !v.within {
                level = WarningLevel::Warning;
            }
        }
    }

    Ok(ConsistencyReport {
        mode,
        ran,
        charges_filter,
        exact_charges,
        similar,
        distribution,
        proposed,
        percentile: assessment.percentile,
        deviation_from_median: assessment.deviation_from_median,
        warning: level,
        warning_label: level.label_zh(),
        reasons,
        rule: options.rule.describe(),
        guiding,
        statutes,
        draft_circumstances: tags(&draft_found),
        same_circumstances,
        statutory,
    })
}

/// Fewest similar cases of the proposed penalty's kind the distribution is made of alone.
const MIN_SAME_KIND: usize = 3;

/// The outcomes to compare a proposal with: those of the proposal's kind of custodial
/// penalty when the similar cases name other kinds too and at least [`MIN_SAME_KIND`]
/// have its kind; else all, with a note saying why.
fn same_kind_outcomes(
    outcomes: Vec<Outcome>,
    proposed: Option<MainPenalty>,
) -> (Vec<Outcome>, Option<String>) {
    let Some(kind) = proposed.filter(|k| {
        matches!(
            k,
            MainPenalty::FixedTerm | MainPenalty::Detention | MainPenalty::Surveillance
        )
    }) else {
        return (outcomes, None);
    };
    let other = outcomes
        .iter()
        .filter(|o| o.penalty.is_some_and(|p| p != kind))
        .count();
    if other == 0 {
        return (outcomes, None);
    }
    let same: Vec<Outcome> = outcomes
        .iter()
        .filter(|o| o.penalty == Some(kind))
        .copied()
        .collect();
    let name = crate::statutory::kind_zh(kind);
    if same.len() >= MIN_SAME_KIND {
        let note = format!(
            "刑种相同才比较刑期：类案中判处{name}的{}件（另有{other}件为其他刑种，未计入刑期分布）。",
            same.len()
        );
        (same, Some(note))
    } else {
        let note = format!(
            "类案中判处{name}的仅{}件，其余{other}件为其他刑种：刑期按月数与其他刑种比较，仅供参考。",
            same.len()
        );
        (outcomes, Some(note))
    }
}

/// The 法定刑 of each of the draft's charges, from the statute text in the index (none
/// for a charge whose article is not indexed: `leian ingest …/statutes/articles.jsonl`).
fn statutory_ranges(
    engine: &Engine,
    draft: &Draft,
    proposed: &Sentence,
) -> Result<Vec<crate::statutory::StatutoryRange>> {
    let mut out = Vec::new();
    for charge in &draft.charges {
        let Some(mut range) = statutory_range(engine, charge)? else {
            continue;
        };
        range.verdict = proposed
            .penalty
            .map(|kind| crate::statutory::check_against(&range.bands, kind, proposed.term_months));
        if let Some(amount) = leian_rank::elements::extract_quantities(&draft.facts).money {
            if let Some((i, note)) =
                crate::statutory::facts_band(&range.charge, &range.bands, amount)
            {
                range.facts_band = Some(i);
                range.facts_note = Some(note);
            }
        }
        out.push(range);
    }
    Ok(out)
}

/// The 法定刑 of one charge (`盗窃罪` or `盗窃`) from the statute text in `engine`'s
/// index: the charge's 刑法 article (its `之N` variant chosen by the charge name), its
/// bands; `None` when the charge is not a known criminal charge or its article is not
/// indexed.
pub fn statutory_range(
    engine: &Engine,
    charge: &str,
) -> Result<Option<crate::statutory::StatutoryRange>> {
    use crate::statutory::{article_label, defining_variant, parse_bands};
    let charge = charge
        .trim()
        .trim_end_matches(['。', '，', '；', '、', ' '])
        .trim();
    let named = if charge.ends_with('罪') {
        charge.to_string()
    } else {
        format!("{charge}罪")
    };
    let Some(place) = leian_rank::charges::resolve_charge(&named) else {
        return Ok(None);
    };
    let article = u32::from(place.article);
    let mut variants: Vec<(u8, String)> = Vec::new();
    for suffix in 0..=4u8 {
        if let Some(a) = engine.statute_variant("刑法", article, suffix)? {
            variants.push((suffix, a.text));
        }
    }
    let Some((suffix, text)) = defining_variant(&named, &variants) else {
        return Ok(None);
    };
    Ok(Some(crate::statutory::StatutoryRange {
        charge: named,
        article: article_label(article, *suffix),
        bands: parse_bands(text),
        verdict: None,
        facts_band: None,
        facts_note: None,
    }))
}

/// Statutes cited by at least two of `hits`, most cited first (ties by law and article).
fn statute_uses(hits: &[RankedCase], draft: &[StatuteRef]) -> Vec<StatuteUse> {
    let mut counts: BTreeMap<StatuteRef, usize> = BTreeMap::new();
    for h in hits {
        let unique: HashSet<&StatuteRef> = h.case.statutes.iter().collect();
        for s in unique {
            *counts.entry(s.clone()).or_default() += 1;
        }
    }
    let mut out: Vec<StatuteUse> = counts
        .into_iter()
        .filter(|(_, n)| *n >= 2)
        .map(|(s, n)| StatuteUse {
            statute: s.to_string(),
            cited_by_draft: draft.contains(&s),
            law: s.law,
            article: s.article,
            cases: n,
            share: n as f64 / hits.len().max(1) as f64,
        })
        .collect();
    out.sort_by_key(|s| std::cmp::Reverse(s.cases));
    out
}

fn guiding_on_point(
    engine: &Engine,
    draft: &Draft,
    options: &CheckOptions,
    charges: &[String],
    mode: SearchMode,
) -> Result<Vec<GuidingOnPoint>> {
    if options.guiding_k == 0 {
        return Ok(Vec::new());
    }
    let cited = draft.all_cited_guiding();
    let mut query = Query::new(
        draft.search_text(),
        options.guiding_k + options.hidden.len(),
    );
    query.filters = Filters {
        charges: charges.to_vec(),
        tiers: vec![AuthorityTier::Guiding],
        ..Filters::default()
    };
    query.mode = mode;
    query.snippets = false;
    if !charges.is_empty() {
        query.legal.charges = Some(charges.to_vec());
    }
    Ok(engine
        .search(&query)?
        .into_iter()
        .filter(|h| !options.hidden.contains(h.id.as_str()))
        .take(options.guiding_k)
        .map(|h| {
            let number = h.case.guiding.as_ref().map(|g| g.number);
            GuidingOnPoint {
                id: h.id.to_string(),
                number,
                title: h.case.display_title(),
                gist: h
                    .case
                    .guiding
                    .as_ref()
                    .map(|g| g.gist.clone())
                    .unwrap_or_default(),
                score: h.score,
                cited_by_draft: number.is_some_and(|n| cited.contains(&n)),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use leian_engine::EngineOptions;
    use leian_ingest::{CaseCategory, CaseId};

    fn theft(id: &str, charges: &[&str], months: u32) -> Case {
        let mut c = Case::new(CaseId::new(id));
        c.title = format!("{id} 盗窃案");
        c.category = CaseCategory::Criminal;
        c.charges = charges.iter().map(|s| s.to_string()).collect();
        c.sections.facts = "被告人在超市秘密窃取商品，价值人民币三千元，到案后如实供述。".into();
        c.sentence = Sentence {
            penalty: Some(MainPenalty::FixedTerm),
            term_months: Some(months),
            ..Sentence::default()
        };
        c
    }

    fn engine_with(cases: Vec<Case>) -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(&EngineOptions {
            index_dir: dir.path().to_path_buf(),
            ..EngineOptions::default()
        })
        .expect("engine");
        let mut w = engine.writer().expect("writer");
        for c in cases {
            w.upsert(c).expect("upsert");
        }
        w.commit(&mut |_, _| {}).expect("commit");
        (dir, engine)
    }

    fn draft() -> Draft {
        Draft {
            facts: "被告人在超市窃取商品价值三千元".into(),
            charges: vec!["盗窃".into()],
            proposed_term_months: Some(8),
            ..Draft::default()
        }
    }

    #[test]
    fn terms_are_compared_within_one_kind_of_penalty() {
        let o = |p: Option<MainPenalty>, t: f64| Outcome {
            term_months: Some(t),
            penalty: p,
            probation: false,
            fine_yuan: None,
            weight: 1.0,
        };
        let mixed = vec![
            o(Some(MainPenalty::Detention), 3.0),
            o(Some(MainPenalty::Detention), 4.0),
            o(Some(MainPenalty::FixedTerm), 8.0),
            o(Some(MainPenalty::FixedTerm), 10.0),
            o(Some(MainPenalty::FixedTerm), 12.0),
        ];
        let (same, note) = same_kind_outcomes(mixed.clone(), Some(MainPenalty::FixedTerm));
        assert_eq!(same.len(), 3);
        assert!(note.unwrap_or_default().contains("判处有期徒刑的3件"));
        // too few of the kind: all are kept, and the answer says the comparison is rough
        let (all, note) = same_kind_outcomes(mixed.clone(), Some(MainPenalty::Detention));
        assert_eq!(all.len(), 5);
        assert!(note.unwrap_or_default().contains("仅供参考"));
        // penalties unknown (CAIL2018 terms) or one kind only: nothing to separate
        let unknown: Vec<Outcome> = mixed
            .iter()
            .map(|x| Outcome {
                penalty: None,
                ..*x
            })
            .collect();
        assert_eq!(
            same_kind_outcomes(unknown, Some(MainPenalty::FixedTerm)).1,
            None
        );
        assert_eq!(same_kind_outcomes(mixed, None).1, None);
    }

    #[test]
    fn exact_charges_are_preferred_when_there_are_enough() {
        let mut cases: Vec<Case> = (0..6)
            .map(|i| theft(&format!("t{i}"), &["盗窃罪"], 6 + i))
            .collect();
        cases.push(theft("combo", &["盗窃罪", "抢劫罪"], 60));
        let (_dir, engine) = engine_with(cases);
        let r = check(&engine, &draft(), &CheckOptions::default()).expect("check");
        assert!(r.exact_charges);
        assert_eq!(r.similar.len(), 6);
        assert!(r.similar.iter().all(|s| s.id != "combo"));
        assert_eq!(r.distribution.max_months, Some(11.0));
    }

    #[test]
    fn too_few_exact_matches_fall_back_to_a_shared_charge_and_say_so() {
        let mut cases: Vec<Case> = (0..3)
            .map(|i| theft(&format!("t{i}"), &["盗窃罪"], 6 + i))
            .collect();
        cases.push(theft("combo", &["盗窃罪", "抢劫罪"], 60));
        cases.push(theft("other", &["诈骗罪"], 12));
        let (_dir, engine) = engine_with(cases);
        let r = check(&engine, &draft(), &CheckOptions::default()).expect("check");
        assert!(!r.exact_charges);
        let ids: Vec<&str> = r.similar.iter().map(|s| s.id.as_str()).collect();
        assert!(ids.contains(&"combo") && !ids.contains(&"other"), "{ids:?}");
        assert!(
            r.reasons.iter().any(|s| s.contains("数罪并罚")),
            "{:?}",
            r.reasons
        );
        // hidden cases are left out
        let options = CheckOptions {
            hidden: ["combo".to_string()].into_iter().collect(),
            ..CheckOptions::default()
        };
        let r = check(&engine, &draft(), &options).expect("check");
        assert!(r.similar.iter().all(|s| s.id != "combo"));
    }

    #[test]
    fn an_empty_draft_is_an_invalid_draft() {
        let (_dir, engine) = engine_with(vec![theft("t0", &["盗窃罪"], 6)]);
        let err = check(&engine, &Draft::default(), &CheckOptions::default());
        assert!(matches!(err, Err(ConsistencyError::InvalidDraft(_))));
    }
}
