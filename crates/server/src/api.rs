//! Request and response bodies of the JSON API, and how engine results become them.

use crate::error::{AppError, Result};
use leian_engine::{Filters, Fusion, LegalQuery, Query, RankedCase, Ranking, SearchMode};
use leian_ingest::{AuthorityTier, Case, CaseCategory, CourtLevel, StatuteRef};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest query text accepted, in characters (a long draft fits comfortably).
pub const MAX_QUERY_CHARS: usize = 200_000;
/// Most results one page may ask for.
pub(crate) const MAX_TOP_K: usize = 100;
/// Deepest page offset.
pub(crate) const MAX_OFFSET: usize = 10_000;

/// A statute article: `{"law": "刑法", "article": 264}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatuteParam {
    /// Short law name; `中华人民共和国` and 《》 are dropped.
    pub law: String,
    /// 1..=9999.
    #[serde(deserialize_with = "article_number")]
    #[schema(minimum = 1, maximum = 9999)]
    pub article: u32,
}

/// The most rows a listing (`limit` of the inbox, the audit log) answers at once.
pub(crate) const MAX_LIST_LIMIT: u32 = 1000;

/// Refuses a listing's `limit` outside 1..=[`MAX_LIST_LIMIT`] (absent: the default).
pub(crate) fn check_list_limit(limit: Option<u32>) -> Result<()> {
    match limit {
        Some(n) if n == 0 || n > MAX_LIST_LIMIT => Err(AppError::InvalidRequest(format!(
            "limit must be 1..={MAX_LIST_LIMIT}, not {n}"
        ))),
        _ => Ok(()),
    }
}

/// An article number as laws have them: 1..=9999 (anything else is refused by name).
fn article_number<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if (1..=9999).contains(&n) {
        Ok(n)
    } else {
        Err(serde::de::Error::custom(format!(
            "article {n}: an article number is 1..=9999"
        )))
    }
}

impl StatuteParam {
    pub(crate) fn to_ref(&self) -> StatuteRef {
        StatuteRef {
            law: normalize_law(&self.law),
            article: self.article,
        }
    }
}

/// Search filters; empty means no restriction. Values within a field are OR-ed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FilterParams {
    /// guiding, typical, higher_court, same_court, other.
    pub tiers: Vec<String>,
    /// criminal, civil, administrative, enforcement, other (or 刑事/民事…).
    pub categories: Vec<String>,
    pub charges: Vec<String>,
    /// basic, intermediate, high, supreme (or 基层/中级/高级/最高).
    pub court_levels: Vec<String>,
    pub regions: Vec<String>,
    /// Only cases citing one of these articles (法条关联检索).
    pub statutes: Vec<StatuteParam>,
    pub year_from: Option<u16>,
    pub year_to: Option<u16>,
}

/// Ranking mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModeParam {
    Bm25,
    Dense,
    #[default]
    Hybrid,
}

impl ModeParam {
    pub(crate) fn to_mode(self) -> SearchMode {
        match self {
            ModeParam::Bm25 => SearchMode::Bm25,
            ModeParam::Dense => SearchMode::Dense,
            ModeParam::Hybrid => SearchMode::Hybrid,
        }
    }
}

/// Which ranking orders the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RankingParam {
    #[default]
    Legal,
    Fusion,
}

impl RankingParam {
    pub(crate) fn to_ranking(self) -> Ranking {
        match self {
            RankingParam::Legal => Ranking::Legal,
            RankingParam::Fusion => Ranking::Fusion,
        }
    }
}

fn default_top_k() -> usize {
    10
}
fn yes() -> bool {
    true
}

/// `POST /v1/search`: keywords or a whole draft, with the draft's charges and statutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// Keywords, facts or a whole draft (at most 200,000 characters).
    #[serde(default)]
    pub query: String,
    /// Results to answer, 1..=100 (default 10).
    #[serde(default = "default_top_k")]
    #[schema(minimum = 1, maximum = 100)]
    pub top_k: usize,
    /// Results to skip, at most 10,000.
    #[serde(default)]
    #[schema(maximum = 10000)]
    pub offset: usize,
    /// Charges (罪名) of the pending case: the legal ranking compares them with each
    /// case's (inferred from the nearest cases when absent). Searched as text when the
    /// query is empty.
    #[serde(default)]
    pub charges: Vec<String>,
    /// 案由 of a civil or administrative pending case (used as a charge is).
    #[serde(default)]
    pub cause: Option<String>,
    /// Statutes of the pending case, compared with those each case cites (use
    /// `filters.statutes` to keep only cases citing them). Searched as text when the
    /// query is empty.
    #[serde(default)]
    pub statutes: Vec<StatuteParam>,
    /// `legal` (default: legal elements re-rank the fused lists) or `fusion` (BM25 and
    /// dense fused only).
    #[serde(default)]
    pub ranking: RankingParam,
    #[serde(default)]
    pub filters: FilterParams,
    #[serde(default)]
    pub mode: ModeParam,
    /// Weighted fusion with this dense weight (0..=1) instead of RRF.
    #[serde(default)]
    pub alpha: Option<f32>,
    /// RRF constant (default 60).
    #[serde(default)]
    pub rrf_k: Option<f32>,
    /// Guiding cases first, then typical, higher court… (default true).
    #[serde(default = "yes")]
    pub authority_order: bool,
    /// Within each tier, judgments of the last 3 years before older ones.
    #[serde(default)]
    pub recent_first: bool,
    /// Add each hit's ranking explanation.
    #[serde(default)]
    pub explain: bool,
    /// The relevance floor (0..=1): hits below it are not answered, so a query nothing
    /// is similar to gets `nothing_similar` rather than a weak match. Default: the
    /// engine's cross-validated floor; 0 turns it off.
    #[serde(default)]
    pub floor: Option<f32>,
}

/// Full-width ASCII (ＡＢＣ１２３) to half-width and the ideographic space to a space.
pub(crate) fn normalize_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// `《中华人民共和国刑法》` → `刑法`.
pub(crate) fn normalize_law(law: &str) -> String {
    let law = normalize_width(law);
    let law = law.trim().trim_start_matches('《').trim_end_matches('》');
    law.strip_prefix("中华人民共和国")
        .unwrap_or(law)
        .trim()
        .to_string()
}

fn parse_all<T>(values: &[String], what: &str, parse: fn(&str) -> Option<T>) -> Result<Vec<T>> {
    values
        .iter()
        .map(|v| parse(v).ok_or_else(|| AppError::InvalidRequest(format!("unknown {what} {v:?}"))))
        .collect()
}

impl FilterParams {
    pub(crate) fn to_filters(&self) -> Result<Filters> {
        let filters = Filters {
            tiers: parse_all(&self.tiers, "tier", AuthorityTier::parse)?,
            categories: parse_all(&self.categories, "category", CaseCategory::parse)?,
            charges: self.charges.iter().map(|c| normalize_width(c)).collect(),
            court_levels: parse_all(&self.court_levels, "court level", CourtLevel::parse)?,
            regions: self.regions.iter().map(|c| normalize_width(c)).collect(),
            statutes: self.statutes.iter().map(StatuteParam::to_ref).collect(),
            year_from: self.year_from,
            year_to: self.year_to,
            ids: None,
        };
        filters.check().map_err(AppError::InvalidRequest)?;
        Ok(filters)
    }
}

impl SearchBody {
    /// The text searched: the query (width-normalised) plus the draft's charges and statutes.
    pub fn text(&self) -> String {
        let mut text = normalize_width(&self.query).trim().to_string();
        for c in &self.charges {
            text.push(' ');
            text.push_str(normalize_width(c).trim());
        }
        for s in &self.statutes {
            text.push(' ');
            text.push_str(&s.to_ref().to_string());
        }
        text.trim().to_string()
    }

    /// The engine query for `fetch` results from the top, after validating the body.
    pub(crate) fn to_query(&self, fetch: usize) -> Result<Query> {
        let chars = self.query.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(AppError::InvalidRequest(format!(
                "query has {chars} characters; at most {MAX_QUERY_CHARS}"
            )));
        }
        let text = self.text();
        if text.is_empty() && self.filters.statutes.is_empty() {
            return Err(AppError::InvalidRequest(
                "query is empty: give query text, charges or statutes".into(),
            ));
        }
        if self.top_k == 0 || self.top_k > MAX_TOP_K {
            return Err(AppError::InvalidRequest(format!(
                "top_k must be 1..={MAX_TOP_K}"
            )));
        }
        if self.offset > MAX_OFFSET {
            return Err(AppError::InvalidRequest(format!(
                "offset must be at most {MAX_OFFSET}"
            )));
        }
        let fusion = match (self.alpha, self.rrf_k) {
            (Some(alpha), _) => Fusion::weighted(alpha),
            (None, Some(k)) => Fusion::rrf(k),
            (None, None) => Ok(Query::DEFAULT_FUSION),
        }
        .map_err(AppError::InvalidRequest)?;
        // the facts are the query; charges and statutes feed the legal ranking, and are
        // searched as text only when there are no facts
        let query_text = normalize_width(&self.query).trim().to_string();
        let mut q = Query::new(
            if query_text.is_empty() {
                text
            } else {
                query_text
            },
            fetch,
        );
        let mut charges: Vec<String> = self
            .charges
            .iter()
            .chain(self.cause.iter())
            .map(|c| normalize_width(c).trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        charges.dedup();
        q.legal = LegalQuery {
            charges: (!charges.is_empty()).then_some(charges),
            statutes: self.statutes.iter().map(|s| s.to_ref()).collect(),
        };
        q.ranking = self.ranking.to_ranking();
        q.floor = Query::floor_asked(self.floor).map_err(AppError::InvalidRequest)?;
        q.filters = self.filters.to_filters()?;
        q.mode = self.mode.to_mode();
        q.fusion = fusion;
        q.authority_order = self.authority_order;
        q.snippets = true;
        q.depth = q.depth.max(fetch);
        Ok(q)
    }
}

/// One result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HitOut {
    pub id: String,
    pub score: f32,
    /// guiding, typical, higher_court, same_court, other.
    pub tier: String,
    /// 指导性案例, 典型案例…
    pub tier_label: String,
    /// True for guiding cases: 应当参照.
    pub must_follow: bool,
    pub title: String,
    pub court: Option<String>,
    pub court_level: Option<String>,
    /// 案号 as written.
    pub case_number: Option<String>,
    /// YYYY-MM-DD.
    pub date: Option<String>,
    pub charges: Vec<String>,
    /// `刑法第264条`…
    pub statutes: Vec<String>,
    /// HTML: escaped text with matched terms in `<mark>`.
    pub snippet: Option<String>,
    /// 裁判要点 of a guiding case.
    pub gist: Option<String>,
    /// How much of the query the case covers (0..=1), what the relevance floor is
    /// applied to; absent outside a search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relevance: Option<f32>,
    /// Ranking explanation, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub explain: Option<serde_json::Value>,
}

impl HitOut {
    pub(crate) fn new(
        case: &Case,
        score: f32,
        snippet: Option<String>,
        explain: Option<serde_json::Value>,
    ) -> HitOut {
        HitOut {
            id: case.id.to_string(),
            score,
            tier: case.tier.as_str().into(),
            tier_label: case.tier.label_zh().into(),
            must_follow: case.tier.must_follow(),
            title: case.display_title(),
            court: case.court.clone(),
            court_level: case.court_level.map(|l| l.as_str().to_string()),
            case_number: case.case_number.as_ref().map(|n| n.raw.clone()),
            date: case.date.map(|d| d.to_string()),
            charges: case.charges.clone(),
            statutes: case.statutes.iter().map(ToString::to_string).collect(),
            snippet,
            gist: case
                .guiding
                .as_ref()
                .map(|g| g.gist.clone())
                .filter(|g| !g.is_empty()),
            relevance: None,
            explain,
        }
    }

    pub(crate) fn from_ranked(r: &RankedCase, explain: bool) -> HitOut {
        let explain = if explain {
            serde_json::to_value(&r.explain).ok()
        } else {
            None
        };
        HitOut {
            relevance: Some(r.relevance),
            ..HitOut::new(&r.case, r.score, r.snippet.clone(), explain)
        }
    }
}

/// The ids of one authority tier, in result order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TierGroup {
    pub tier: String,
    pub label: String,
    pub must_follow: bool,
    pub ids: Vec<String>,
}

/// Groups hits by tier, most authoritative first; empty tiers are left out.
pub(crate) fn groups(hits: &[HitOut]) -> Vec<TierGroup> {
    AuthorityTier::ALL
        .iter()
        .filter_map(|t| {
            let ids: Vec<String> = hits
                .iter()
                .filter(|h| h.tier == t.as_str())
                .map(|h| h.id.clone())
                .collect();
            (!ids.is_empty()).then(|| TierGroup {
                tier: t.as_str().into(),
                label: t.label_zh().into(),
                must_follow: t.must_follow(),
                ids,
            })
        })
        .collect()
}

/// Answer of search and similar.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResponse {
    pub hits: Vec<HitOut>,
    pub groups: Vec<TierGroup>,
    /// The mode actually used (hybrid is bm25 without a model).
    pub mode: String,
    /// The ranking that ran (`legal` or `fusion`) and the ranker's weights, as the
    /// engine decided them ([`leian_engine::Engine::ran`]).
    pub ranking: String,
    pub ranker: String,
    /// True when the query had text and no case passed the relevance floor: an honest
    /// "nothing similar" (the page says so instead of showing weak matches).
    pub nothing_similar: bool,
    /// The relevance floor applied (absent: off).
    pub floor: Option<f32>,
    pub took_ms: u64,
}

/// `GET /v1/statutes/{law}/{article}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatuteResponse {
    pub law: String,
    pub article: u32,
    pub law_title: Option<String>,
    /// The article's text, when the statute corpus is loaded.
    pub text: Option<String>,
    /// Cases citing this article (法条关联检索), authority tier first.
    pub citing_cases: Vec<HitOut>,
}

/// `PUT /v1/admin/cases/{id}/visibility`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisibilityBody {
    /// Courts allowed to see the case; empty makes it public.
    pub courts: Vec<String>,
}

/// The answer of `PUT /v1/admin/cases/{id}/visibility`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VisibilityResponse {
    /// Courts now allowed to see the case; empty: public.
    pub courts: Vec<String>,
    /// Pushes of the case to courts that may no longer see it, withdrawn now.
    pub pushes_withdrawn: usize,
}

/// The case the judge is deciding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PendingCase {
    pub title: String,
    pub case_number: String,
    pub court: String,
    pub facts: String,
}

/// Report output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    #[default]
    Json,
    Markdown,
    Html,
}

/// `POST /v1/reports`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    #[serde(default)]
    pub pending_case: PendingCase,
    /// The search, as for `POST /v1/search`.
    pub query: SearchBody,
    /// Also list cases similar to this indexed case (案例关联检索).
    #[serde(default)]
    pub similar_to: Option<String>,
    #[serde(default)]
    pub format: ReportFormat,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_digits_and_law_names_normalise() {
        assert_eq!(normalize_width("刑法第２６４条　盗窃"), "刑法第264条 盗窃");
        assert_eq!(normalize_law("《中华人民共和国刑法》"), "刑法");
    }

    #[test]
    fn draft_charges_and_statutes_join_the_text() {
        let body: SearchBody = serde_json::from_str(
            r#"{"query":"偷手机","charges":["盗窃罪"],"statutes":[{"law":"刑法","article":264}]}"#,
        )
        .expect("body");
        assert_eq!(body.text(), "偷手机 盗窃罪 刑法第264条");
        assert!(body.authority_order);
        assert_eq!(body.top_k, 10);
    }

    #[test]
    fn invalid_bodies_are_user_errors() {
        let mut body: SearchBody = serde_json::from_str(r#"{"query":"  "}"#).expect("body");
        assert!(matches!(
            body.to_query(10),
            Err(AppError::InvalidRequest(_))
        ));
        body.query = "盗窃".into();
        body.filters.tiers = vec!["nope".into()];
        assert!(matches!(
            body.to_query(10),
            Err(AppError::InvalidRequest(_))
        ));
        body.filters.tiers.clear();
        body.alpha = Some(2.0);
        assert!(matches!(
            body.to_query(10),
            Err(AppError::InvalidRequest(_))
        ));
    }
}
