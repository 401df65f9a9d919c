//! `POST /v1/consistency`: a draft against how similar cases were decided (裁判偏离预警).
//! The check itself is `leian_consistency::check`; this module only reads the body,
//! hides what the caller may not see and writes the audit row.

use crate::api::{ModeParam, StatuteParam};
use crate::error::{AppError, Result};
use crate::extract::{AppJson, Caller};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use leian_consistency::{check, CheckOptions, ConsistencyError, ConsistencyReport, Draft};
use leian_ingest::MainPenalty;
use serde::Deserialize;
use utoipa::ToSchema;

impl From<ConsistencyError> for AppError {
    fn from(e: ConsistencyError) -> AppError {
        match e {
            ConsistencyError::InvalidDraft(m) => AppError::InvalidRequest(m),
            ConsistencyError::Engine(e) => AppError::Engine(e),
        }
    }
}

fn default_top_k() -> usize {
    CheckOptions::default().top_k
}
fn yes() -> bool {
    true
}

const MAX_MONTHS: u32 = 600;
const MAX_FINE_YUAN: u64 = 1_000_000_000_000;
const MAX_GUIDING_NUMBER: u32 = 9_999;

fn months<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<u32>, D::Error> {
    let m = Option::<u32>::deserialize(d)?;
    match m {
        Some(n) if n > MAX_MONTHS => Err(serde::de::Error::custom(format!(
            "{n} months: at most {MAX_MONTHS}"
        ))),
        _ => Ok(m),
    }
}

fn fine_yuan<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    let f = Option::<u64>::deserialize(d)?;
    match f {
        Some(n) if n > MAX_FINE_YUAN => Err(serde::de::Error::custom(format!(
            "a fine of {n} 元: at most {MAX_FINE_YUAN}"
        ))),
        _ => Ok(f),
    }
}

fn guiding_numbers<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<u32>, D::Error> {
    let v = Vec::<u32>::deserialize(d)?;
    match v.iter().find(|n| !(1..=MAX_GUIDING_NUMBER).contains(*n)) {
        Some(n) => Err(serde::de::Error::custom(format!(
            "guiding case number {n}: a number is 1..={MAX_GUIDING_NUMBER}"
        ))),
        None => Ok(v),
    }
}

fn guiding_numbers_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(MAX_GUIDING_NUMBER)),
        )
        .build()
}

/// `POST /v1/consistency`: the draft and how to compare it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyBody {
    /// The draft's facts (or the whole draft).
    #[serde(default)]
    pub facts: String,
    /// The draft's reasoning (本院认为…), searched for circumstances and cited cases.
    #[serde(default)]
    pub reasoning: String,
    #[serde(default)]
    pub charges: Vec<String>,
    /// Statutes the draft cites.
    #[serde(default)]
    pub statutes: Vec<StatuteParam>,
    /// fixed_term, detention, surveillance, fine_only, exempt, life, death (default
    /// fixed_term when a term is given).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub proposed_penalty: Option<MainPenalty>,
    /// Months, at most 600.
    #[serde(default, deserialize_with = "months")]
    #[schema(maximum = 600)]
    pub proposed_term_months: Option<u32>,
    /// Months, at most 600.
    #[serde(default, deserialize_with = "months")]
    #[schema(maximum = 600)]
    pub proposed_probation_months: Option<u32>,
    /// 元, at most 10¹².
    #[serde(default, deserialize_with = "fine_yuan")]
    #[schema(maximum = 1_000_000_000_000_i64)]
    pub proposed_fine_yuan: Option<u64>,
    /// Guiding case numbers the draft cites, each 1..=9999 (those written in the text
    /// count too).
    #[serde(default, deserialize_with = "guiding_numbers")]
    #[schema(schema_with = guiding_numbers_schema)]
    pub cited_guiding: Vec<u32>,
    /// Similar decided cases compared with, 1..=100 (default 10).
    #[serde(default = "default_top_k")]
    #[schema(minimum = 1, maximum = 100)]
    pub top_k: usize,
    #[serde(default)]
    pub mode: ModeParam,
    /// Only cases with one of the draft's charges (default true).
    #[serde(default = "yes")]
    pub same_charges: bool,
}

impl ConsistencyBody {
    fn draft(&self) -> Draft {
        Draft {
            facts: crate::api::normalize_width(&self.facts),
            reasoning: crate::api::normalize_width(&self.reasoning),
            charges: self
                .charges
                .iter()
                .map(|c| crate::api::normalize_width(c))
                .collect(),
            statutes: self.statutes.iter().map(StatuteParam::to_ref).collect(),
            proposed_penalty: self.proposed_penalty,
            proposed_term_months: self.proposed_term_months,
            proposed_probation_months: self.proposed_probation_months,
            proposed_fine_yuan: self.proposed_fine_yuan,
            cited_guiding: self.cited_guiding.clone(),
        }
    }
}

/// How similar decided cases were sentenced, where the proposed term falls, and a
/// warning level (none / notice / warning) with the rule and reasons in words.
#[utoipa::path(
    post, path = "/v1/consistency", tag = "consistency",
    request_body = ConsistencyBody,
    responses(
        (status = 200, description = "`similar` (cases used, with similarity, sentence and 量刑情节), \
            `distribution` (n, median_months, q1_months, q3_months, min_months, max_months, \
            weighted_median_months, terms_months, probation_share, fine_median_yuan), `percentile`, \
            `warning` (none|notice|warning), `reasons`, `rule`, `guiding` (cited_by_draft), \
            `statutes` (cited_by_draft), `draft_circumstances`", body = Object),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn consistency(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<ConsistencyBody>,
) -> Result<Json<ConsistencyReport>> {
    let heavy = caller.heavy(&state, body.facts.chars().count())?;
    let out = state
        .blocking(move |s| {
            let _heavy = heavy;
            let draft = body.draft();
            let options = CheckOptions {
                top_k: body.top_k,
                mode: body.mode.to_mode(),
                same_charges: body.same_charges,
                hidden: caller.hidden(s.visibility())?,
                ..CheckOptions::default()
            };
            let report = check(&s.engine, &draft, &options)?;
            let ids: Vec<String> = report
                .similar
                .iter()
                .map(|c| c.id.clone())
                .chain(report.guiding.iter().map(|g| g.id.clone()))
                .collect();
            s.store
                .append_audit(&caller.0, "consistency", &draft.search_text(), &ids)?;
            Ok(report)
        })
        .await?;
    Ok(Json(out))
}
