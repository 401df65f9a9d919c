//! What a judge or a program asks: [`Query`] (text, [`Filters`], mode, ranking, floor)
//! and the text cut the ranking reads ([`ranked_text`]).

use super::fusion::Fusion;
use super::legal::LegalQuery;
pub use leian_index::Filters;
use serde::Serialize;

/// Which lists a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    Bm25,
    Dense,
    #[default]
    Hybrid,
}

impl std::str::FromStr for SearchMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "bm25" => Ok(SearchMode::Bm25),
            "dense" => Ok(SearchMode::Dense),
            "hybrid" => Ok(SearchMode::Hybrid),
            other => Err(format!(
                "unknown mode {other:?}: want bm25, dense or hybrid"
            )),
        }
    }
}

impl SearchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Bm25 => "bm25",
            SearchMode::Dense => "dense",
            SearchMode::Hybrid => "hybrid",
        }
    }
}

/// Which ranking orders a search's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Ranking {
    /// The BM25 and dense lists fused (`mode`, `fusion`), nothing else.
    Fusion,
    /// The fused list, widened by the cases sharing the query's charges, re-ranked by
    /// legal elements with the shipped learned weights (`leian-rank`): the default, as
    /// the best out-of-fold ranking on the dev data (README, quality section).
    #[default]
    Legal,
}

impl Ranking {
    pub fn as_str(self) -> &'static str {
        match self {
            Ranking::Fusion => "fusion",
            Ranking::Legal => "legal",
        }
    }
}

impl std::str::FromStr for Ranking {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "fusion" => Ok(Ranking::Fusion),
            "legal" => Ok(Ranking::Legal),
            other => Err(format!("unknown ranking {other:?}: want legal or fusion")),
        }
    }
}

/// Longest query text the ranking reads, in characters. BM25 keeps the 1,024 best
/// terms of a query and e5 reads its first 512 tokens, so text past this adds cost and no
/// ranking: a 200,000-character paste costs what a 6,000-character one does.
pub const MAX_RANKED_CHARS: usize = 6_000;

/// The part of a query text the ranking uses, cut before any work: short texts as they
/// are; a longer one (a whole draft or judgment) is cut to its facts section (经审理查明 …
/// 本院认为, as ingest finds it) when it has one, and then to [`MAX_RANKED_CHARS`].
pub fn ranked_text(text: &str) -> String {
    if text.chars().count() <= MAX_RANKED_CHARS {
        return text.to_string();
    }
    let (facts, _, _) = leian_ingest::extract::split_sections(text);
    let base = if facts.trim().chars().count() >= 50 {
        facts.trim().to_string()
    } else {
        text.to_string()
    };
    base.chars().take(MAX_RANKED_CHARS).collect()
}

/// A search as a judge or a program asks it.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Keywords, facts or a whole draft.
    pub text: String,
    pub filters: Filters,
    pub top_k: usize,
    pub offset: usize,
    pub mode: SearchMode,
    pub fusion: Fusion,
    /// Order by authority tier first (指导性案例 first, per the SPC 2020 guidance), then score.
    pub authority_order: bool,
    pub snippets: bool,
    /// How deep each list is read before fusion (at least `offset + top_k`).
    pub depth: usize,
    pub ranking: Ranking,
    /// The charges / 案由 and statutes the judge gives (charges inferred when `None`).
    pub legal: LegalQuery,
    /// The relevance floor: hits whose [`RankedCase::relevance`] is below it are not
    /// answered, so an off-topic query gets an honest "nothing similar" instead of a
    /// guiding case marked 应当参照 — unless the case has a charge / 案由 the judge gave
    /// (`legal.charges`). `None`: off.
    pub floor: Option<f32>,
}

impl Query {
    /// Chosen on the dev data (`leian eval lecard|scm --sweep`): weighted fusion with
    /// alpha 0.3 is the one setting that beat BM25 on both LeCaRD (corpus NDCG@30) and
    /// SCM accuracy; RRF lost to BM25 on LeCaRD's corpus protocol.
    pub const DEFAULT_FUSION: Fusion = Fusion::Weighted { alpha: 0.3 };
    pub const DEFAULT_DEPTH: usize = 100;
    /// The relevance a hit needs to be answered: the pass mark of [`FloorRule`], whose
    /// thresholds were chosen by cross-validation (`leian eval floor`, README).
    pub const DEFAULT_FLOOR: f32 = 0.5;

    /// The floor a caller asked for: none asked is the default, 0 turns it off, anything
    /// outside 0..=1 is an error naming the value.
    pub fn floor_asked(asked: Option<f32>) -> std::result::Result<Option<f32>, String> {
        match asked {
            None => Ok(Some(Self::DEFAULT_FLOOR)),
            Some(f) if !(0.0..=1.0).contains(&f) => Err(format!("floor must be in 0..=1, got {f}")),
            Some(0.0) => Ok(None),
            Some(f) => Ok(Some(f)),
        }
    }

    /// A query for `text`, cut to what the ranking uses ([`ranked_text`]).
    pub fn new(text: impl Into<String>, top_k: usize) -> Self {
        Query {
            text: ranked_text(&text.into()),
            filters: Filters::default(),
            top_k,
            offset: 0,
            mode: SearchMode::Hybrid,
            fusion: Self::DEFAULT_FUSION,
            authority_order: false,
            snippets: true,
            depth: Self::DEFAULT_DEPTH,
            ranking: Ranking::default(),
            legal: LegalQuery::default(),
            floor: Some(Self::DEFAULT_FLOOR),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_paste_is_cut_to_its_facts_then_to_the_cap_and_a_short_one_is_kept() {
        let short = "被告人酒后驾驶机动车";
        assert_eq!(Query::new(short, 10).text, short);
        let facts =
            "被告人于2023年5月在某超市内趁店员不备窃取手机一部，价值人民币三千元，后被抓获。被告人到案后如实供述了自己的罪行，并退赔了被害人的全部损失。";
        let draft = format!(
            "某某人民法院\n刑事判决书\n{}\n经审理查明：{facts}\n本院认为，{}判决如下：被告人犯盗窃罪。",
            "当事人信息。".repeat(2_000),
            "被告人的行为已构成盗窃罪。".repeat(2_000)
        );
        assert!(draft.chars().count() > MAX_RANKED_CHARS);
        let q = Query::new(draft.as_str(), 10);
        let head: String = q.text.chars().take(200).collect();
        assert!(q.text.contains("窃取手机一部"), "{head}");
        assert!(!q.text.contains("本院认为"));
        assert!(!q.text.contains("当事人信息"));
        // no facts section: the text itself, cut
        let rambling = "证据".repeat(150_000);
        let q = Query::new(rambling.as_str(), 10);
        assert_eq!(q.text.chars().count(), MAX_RANKED_CHARS);
        assert!(rambling.starts_with(&q.text));
    }
}
