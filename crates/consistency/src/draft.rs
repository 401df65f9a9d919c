//! The draft a judge checks: facts, charges, statutes cited, the proposed sentence and the
//! guiding cases it cites. Read from JSON (API body, `leian check --file x.json`) or from a
//! plain-text draft judgment.

use crate::error::{ConsistencyError, Result};
use leian_ingest::extract::find_sentence;
use leian_ingest::{
    extract_case, normalize_law_name, parse_cn_int, CaseId, MainPenalty, Sentence, StatuteRef,
};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// A draft judgment (or its key facts) to check against similar decided cases.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Draft {
    /// The facts (经审理查明…), or the whole draft.
    pub facts: String,
    /// Reasoning (本院认为…), when written; searched for circumstances and cited cases.
    pub reasoning: String,
    /// Charges (`盗窃罪` or `盗窃`).
    pub charges: Vec<String>,
    /// Statutes the draft cites.
    pub statutes: Vec<StatuteRef>,
    pub proposed_penalty: Option<MainPenalty>,
    /// Proposed term of 有期徒刑/拘役/管制 in months.
    pub proposed_term_months: Option<u32>,
    pub proposed_probation_months: Option<u32>,
    pub proposed_fine_yuan: Option<u64>,
    /// Guiding case numbers the draft cites (those written in the text count too).
    pub cited_guiding: Vec<u32>,
}

/// `指导性案例第24号`, `指导案例24号`, `第二十四号指导性案例`.
static GUIDING_CITATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"指导性?案例(?:第)?\s*([0-9０-９零〇一二两三四五六七八九十百]+)\s*号|第\s*([0-9０-９零〇一二两三四五六七八九十百]+)\s*号指导性?案例",
    )
    .unwrap_or_else(|e| panic!("guiding citation regex: {e}"))
});

/// Guiding case numbers cited in `text`, in order, without duplicates.
pub fn cited_guiding_numbers(text: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for caps in GUIDING_CITATION.captures_iter(text) {
        let digits = caps.get(1).or_else(|| caps.get(2)).map(|m| m.as_str());
        if let Some(n) = digits
            .and_then(parse_cn_int)
            .and_then(|n| u32::try_from(n).ok())
        {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

impl Draft {
    /// A draft as a file holds it: a JSON draft when the text is a JSON object, else a
    /// plain-text draft judgment ([`Draft::from_text`]); an empty or malformed one is an
    /// [`ConsistencyError::InvalidDraft`] saying why.
    pub fn parse(text: &str) -> Result<Draft> {
        if text.trim_start().starts_with('{') {
            serde_json::from_str(text)
                .map_err(|e| ConsistencyError::InvalidDraft(format!("not a valid draft JSON: {e}")))
        } else if text.trim().is_empty() {
            Err(ConsistencyError::InvalidDraft("the draft is empty".into()))
        } else {
            Ok(Draft::from_text(text))
        }
    }

    /// A draft from plain text: charges, statutes and the sentence (when the draft already
    /// has a 判决如下 part) are extracted as from a judgment; facts are the facts section
    /// when one is found, else the whole text.
    pub fn from_text(text: &str) -> Draft {
        let mut case = extract_case(CaseId::new("draft"), text);
        if case.sentence.is_empty() {
            // a draft has no 案号 saying it is criminal; its result section, if any, says
            let result = &case.sections.result;
            case.sentence = find_sentence(if result.is_empty() { text } else { result });
        }
        let facts = if case.sections.facts.trim().is_empty() {
            text.trim().to_string()
        } else {
            case.sections.facts.clone()
        };
        Draft {
            facts,
            reasoning: case.sections.reasoning.clone(),
            charges: case.charges.clone(),
            statutes: case.statutes.clone(),
            proposed_penalty: case.sentence.penalty,
            proposed_term_months: case.sentence.term_months,
            proposed_probation_months: case.sentence.probation_months,
            proposed_fine_yuan: case.sentence.fine_yuan,
            cited_guiding: Vec::new(),
        }
    }

    /// The proposed sentence; a term without a penalty is taken as 有期徒刑.
    pub fn proposed(&self) -> Sentence {
        Sentence {
            penalty: self
                .proposed_penalty
                .or(self.proposed_term_months.map(|_| MainPenalty::FixedTerm)),
            term_months: self.proposed_term_months,
            probation_months: self.proposed_probation_months,
            fine_yuan: self.proposed_fine_yuan,
        }
    }

    /// Statutes with law names normalised (`《中华人民共和国刑法》` → `刑法`).
    pub fn normalized_statutes(&self) -> Vec<StatuteRef> {
        self.statutes
            .iter()
            .map(|s| StatuteRef {
                law: normalize_law_name(&s.law),
                article: s.article,
            })
            .collect()
    }

    /// Guiding cases cited: the explicit list plus those named in facts and reasoning.
    pub fn all_cited_guiding(&self) -> Vec<u32> {
        let mut out = self.cited_guiding.clone();
        for text in [&self.facts, &self.reasoning] {
            for n in cited_guiding_numbers(text) {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        out
    }

    /// The text searched for similar cases: facts plus charges.
    pub fn search_text(&self) -> String {
        let mut text = self.facts.trim().to_string();
        for c in &self.charges {
            text.push(' ');
            text.push_str(c.trim());
        }
        text.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_file_is_json_when_it_is_an_object_else_text_and_never_empty() {
        let json = Draft::parse(r#"{"facts": "被告人窃取手机一部。", "charges": ["盗窃罪"]}"#)
            .expect("json draft");
        assert_eq!(json.charges, ["盗窃罪"]);
        let text = Draft::parse("经审理查明，被告人窃取手机一部。本院认为，其行为已构成盗窃罪。")
            .expect("text draft");
        assert!(text.facts.contains("窃取手机"), "{}", text.facts);
        for bad in ["  \n", "{\"facts\": 3"] {
            assert!(matches!(
                Draft::parse(bad),
                Err(ConsistencyError::InvalidDraft(_))
            ));
        }
    }

    #[test]
    fn guiding_citations_in_either_word_order_and_numerals() {
        assert_eq!(
            cited_guiding_numbers("参照指导性案例第24号、指导案例２５号及第二十四号指导性案例"),
            vec![24, 25]
        );
        assert!(cited_guiding_numbers("参照类似案例处理").is_empty());
    }

    #[test]
    fn the_minimal_json_draft_reads() {
        let d: Draft = serde_json::from_str(
            r#"{"facts":"被告人扒窃手机一部","charges":["盗窃罪"],"proposed_term_months":12,
               "statutes":[{"law":"《中华人民共和国刑法》","article":264}]}"#,
        )
        .expect("draft");
        assert_eq!(d.proposed().penalty, Some(MainPenalty::FixedTerm));
        assert_eq!(d.proposed().term_months, Some(12));
        assert_eq!(d.normalized_statutes()[0].to_string(), "刑法第264条");
        assert_eq!(d.search_text(), "被告人扒窃手机一部 盗窃罪");
        let bad = serde_json::from_str::<Draft>(r#"{"fact":"x"}"#);
        assert!(bad.is_err(), "unknown fields are rejected");
    }

    #[test]
    fn a_plain_text_draft_gives_charges_and_sentence() {
        let d = Draft::from_text(
            "经审理查明，被告人王某在超市盗窃香烟十条，价值人民币3000元。本院认为，被告人王某以非法占有为目的，秘密窃取他人财物，数额较大，其行为已构成盗窃罪。依照《中华人民共和国刑法》第二百六十四条之规定，判决如下：被告人王某犯盗窃罪，判处有期徒刑八个月，并处罚金人民币二千元。",
        );
        assert!(d.charges.contains(&"盗窃罪".to_string()), "{:?}", d.charges);
        assert_eq!(d.proposed_term_months, Some(8));
        assert!(d.statutes.iter().any(|s| s.article == 264));
    }
}
