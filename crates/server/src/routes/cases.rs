//! `GET /v1/cases/{id}` and `GET /v1/cases/{id}/similar`.

use crate::api::{ModeParam, SearchResponse};
use crate::error::{AppError, Result};
use crate::extract::AppPath as Path;
use crate::extract::{AppQuery, Caller};
use crate::routes::search::response;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use leian_engine::{Query, SearchMode};
use leian_ingest::CaseId;
use serde::Deserialize;
use std::time::Instant;

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no case {id}"))
}

/// One case with its tier label and whether it must be followed.
#[utoipa::path(
    get, path = "/v1/cases/{id}", tag = "cases",
    params(("id" = String, Path, description = "case id, e.g. sample:001")),
    responses(
        (status = 200, description = "the case (all `Case` fields) plus tier_label and must_follow", body = Object),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn get_case(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>> {
    let out = state
        .blocking(move |s| {
            if caller.hidden(s.visibility())?.contains(&id) {
                return Err(not_found(&id));
            }
            let case = s
                .engine
                .get(&CaseId::new(id.clone()))?
                .ok_or_else(|| not_found(&id))?;
            s.store
                .append_audit(&caller.0, "view_case", &id, std::slice::from_ref(&id))?;
            let tier = case.tier;
            let display_title = case.display_title();
            let mut v = serde_json::to_value(&case)
                .map_err(|e| AppError::Internal(format!("case json: {e}")))?;
            if let Some(o) = v.as_object_mut() {
                o.insert("tier_label".into(), tier.label_zh().into());
                o.insert("must_follow".into(), tier.must_follow().into());
                // the stored title may be empty; what to show is made from what the case has
                o.insert("display_title".into(), display_title.into());
            }
            Ok(v)
        })
        .await?;
    Ok(Json(out))
}

fn default_similar_k() -> usize {
    10
}
fn yes() -> bool {
    true
}

/// Query string of `similar`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SimilarParams {
    /// 1..=100, default 10.
    #[serde(default = "default_similar_k")]
    #[param(minimum = 1, maximum = 100)]
    top_k: usize,
    #[serde(default)]
    mode: ModeParam,
    /// Guiding cases first (default true).
    #[serde(default = "yes")]
    authority_order: bool,
    #[serde(default)]
    explain: bool,
}

/// Cases similar to an indexed one (案例关联检索).
#[utoipa::path(
    get, path = "/v1/cases/{id}/similar", tag = "cases",
    params(("id" = String, Path, description = "case id"), SimilarParams),
    responses(
        (status = 200, body = SearchResponse),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn similar(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppQuery(p): AppQuery<SimilarParams>,
) -> Result<Json<SearchResponse>> {
    let started = Instant::now();
    if p.top_k == 0 || p.top_k > crate::api::MAX_TOP_K {
        return Err(AppError::InvalidRequest(format!(
            "top_k must be 1..={}",
            crate::api::MAX_TOP_K
        )));
    }
    let out = state
        .blocking(move |s| {
            let hidden = caller.hidden(s.visibility())?;
            if hidden.contains(&id) {
                return Err(not_found(&id));
            }
            let (hits, ran) = similar_cases(s, &hidden, &id, p.top_k, p.mode, p.authority_order)?;
            let ids: Vec<String> = hits.iter().map(|h| h.id.to_string()).collect();
            s.store.append_audit(&caller.0, "similar", &id, &ids)?;
            Ok(response(&hits, p.explain, &ran, started))
        })
        .await?;
    Ok(Json(out))
}

/// Similar cases the caller may see.
pub(crate) fn similar_cases(
    s: &crate::state::Shared,
    hidden: &std::collections::HashSet<String>,
    id: &str,
    top_k: usize,
    mode: ModeParam,
    authority_order: bool,
) -> Result<(Vec<leian_engine::RankedCase>, leian_engine::Ran)> {
    let mut q = Query::new(String::new(), top_k + hidden.len());
    q.mode = match mode {
        ModeParam::Bm25 => SearchMode::Bm25,
        ModeParam::Dense => SearchMode::Dense,
        ModeParam::Hybrid => SearchMode::Hybrid,
    };
    q.authority_order = authority_order;
    let ran = s.engine.ran_with_text(&q);
    let hits = s
        .engine
        .similar(&CaseId::new(id), &q)?
        .into_iter()
        .filter(|h| !hidden.contains(h.id.as_str()))
        .take(top_k)
        .collect();
    Ok((hits, ran))
}
