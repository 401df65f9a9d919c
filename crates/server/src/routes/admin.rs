//! Admin endpoints: cases in and out (`POST /v1/cases`, `DELETE /v1/cases/{id}`), the
//! audit log and case visibility; and `whoami` for every key.

use crate::api::{VisibilityBody, VisibilityResponse};
use crate::error::{AppError, Result};
use crate::extract::AppPath as Path;
use crate::extract::{AppJson, AppJsonAny, AppQuery, Caller};
use crate::state::AppState;
use crate::store::{AuditFilter, AuditRow, KeyInfo};
use axum::extract::State;
use axum::Json;
use leian_ingest::{Case, CaseId};
use serde_json::{json, Value};

/// Audit rows, newest first (admin only).
#[utoipa::path(
    get, path = "/v1/audit", tag = "admin",
    params(AuditFilter),
    responses(
        (status = 200, body = Vec<AuditRow>),
        (status = 403, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(filter): AppQuery<AuditFilter>,
) -> Result<Json<Vec<AuditRow>>> {
    caller.require_admin()?;
    crate::api::check_list_limit(filter.limit)?;
    Ok(Json(state.db(move |s| s.audit(&filter)).await?))
}

/// Restricts a case to the given courts (empty: public). Admin only. Pushes of the case
/// to courts that may no longer see it are withdrawn, undelivered webhooks cancelled.
#[utoipa::path(
    put, path = "/v1/admin/cases/{id}/visibility", tag = "admin",
    params(("id" = String, Path, description = "case id")),
    request_body = VisibilityBody,
    responses(
        (status = 200, body = VisibilityResponse),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn set_visibility(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<VisibilityBody>,
) -> Result<Json<VisibilityResponse>> {
    caller.require_admin()?;
    let out = state
        .blocking(move |s| {
            if s.engine.get(&CaseId::new(id.clone()))?.is_none() {
                return Err(AppError::NotFound(format!("no case {id}")));
            }
            let courts = s.visibility().restrict(&id, &body.courts)?;
            // what courts can no longer see is taken back from them, delivered or not
            let withdrawn = s.pushes.on_visibility_changed(&id)?;
            s.store.append_audit(
                &caller.0,
                "set_visibility",
                &format!(
                    "{id} → {}; {withdrawn} pushes withdrawn",
                    if courts.is_empty() {
                        "public".to_string()
                    } else {
                        courts.join("、")
                    }
                ),
                std::slice::from_ref(&id),
            )?;
            Ok(VisibilityResponse {
                courts,
                pushes_withdrawn: withdrawn,
            })
        })
        .await?;
    if out.pushes_withdrawn > 0 {
        state.pushes_created(); // wakes streams, which re-check what they hold
    }
    Ok(Json(out))
}

/// The calling key: name, court, role.
#[utoipa::path(
    get, path = "/v1/whoami", tag = "admin",
    responses((status = 200, body = KeyInfo), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn whoami(caller: Caller) -> Json<KeyInfo> {
    Json(caller.0)
}

/// A native case record from a request, normalised as `leian ingest` normalises it.
fn case_from_json(i: usize, v: &Value) -> Result<Case> {
    leian_ingest::case_from_native(v)
        .map_err(|m| AppError::InvalidRequest(format!("case {i}: {m}")))
}

/// Ingests one case, a list, or `{"cases": [...]}` (admin only); new guiding and typical
/// cases are matched against every open pending case and subscription and pushed. A
/// case's `visible_to` (court names) restricts it before it is committed; without it a
/// case keeps the visibility it had (new cases: public).
#[utoipa::path(
    post, path = "/v1/cases", tag = "admin",
    request_body(content = Object, description = "a `Case` (as `GET /v1/cases/{id}` shows it), a list of them, or `{\"cases\": [...]}`"),
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn ingest(
    State(state): State<AppState>,
    caller: Caller,
    AppJsonAny(body): AppJsonAny<Value>,
) -> Result<Json<Value>> {
    caller.require_admin()?;
    let records = match body {
        Value::Array(a) => a,
        Value::Object(mut o) if o.contains_key("cases") => match o.remove("cases") {
            Some(Value::Array(a)) => a,
            _ => {
                return Err(AppError::InvalidRequest(
                    "field `cases`: expected a list".into(),
                ))
            }
        },
        v @ Value::Object(_) => vec![v],
        _ => {
            return Err(AppError::InvalidRequest(
                "expected a case object, a list of cases, or {\"cases\": [...]}".into(),
            ))
        }
    };
    if records.is_empty() {
        return Err(AppError::InvalidRequest("no cases given".into()));
    }
    // all or nothing: every record is checked before anything is written
    let cases = records
        .into_iter()
        .enumerate()
        .map(|(i, v)| case_from_json(i, &v))
        .collect::<Result<Vec<Case>>>()?;
    let out = state
        .blocking(move |s| {
            let ids: Vec<String> = cases.iter().map(|c| c.id.to_string()).collect();
            let created = {
                let _one_writer = s
                    .writing
                    .lock()
                    .map_err(|_| AppError::Internal("writer lock poisoned".into()))?;
                let mut w = s.engine.try_writer()?;
                // visibility first: a restricted case is never searchable nor pushed
                // before its restriction holds
                let restricted: Vec<(&str, &[String])> = cases
                    .iter()
                    .filter(|c| !c.visible_to.is_empty())
                    .map(|c| (c.id.as_str(), c.visible_to.as_slice()))
                    .collect();
                s.visibility().restrict_many(&restricted)?;
                for c in &cases {
                    w.upsert(c.clone())?;
                }
                w.commit(&mut |_, _| {})?;
                s.pushes.on_cases_added(&s.engine, &cases)?
            };
            s.store.append_audit(&caller.0, "ingest", "", &ids)?;
            Ok(json!({ "ingested": ids.len(), "ids": ids, "pushes_created": created.len() }))
        })
        .await?;
    state.pushes_created();
    Ok(Json(out))
}

/// Deletes a case (admin only); its pushes are withdrawn and it is never pushed again.
#[utoipa::path(
    delete, path = "/v1/cases/{id}", tag = "admin",
    params(("id" = String, Path, description = "case id")),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn delete_case(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    caller.require_admin()?;
    let out = state
        .blocking(move |s| {
            let case_id = CaseId::new(id.clone());
            if s.engine.get(&case_id)?.is_none() {
                return Err(AppError::NotFound(format!("no case {id}")));
            }
            {
                let _one_writer = s
                    .writing
                    .lock()
                    .map_err(|_| AppError::Internal("writer lock poisoned".into()))?;
                let mut w = s.engine.try_writer()?;
                w.delete(&case_id);
                w.commit(&mut |_, _| {})?;
            }
            let withdrawn = s.pushes.on_case_deleted(&id)?;
            s.store
                .append_audit(&caller.0, "delete_case", &id, std::slice::from_ref(&id))?;
            Ok(json!({ "deleted": id, "pushes_withdrawn": withdrawn }))
        })
        .await?;
    Ok(Json(out))
}
