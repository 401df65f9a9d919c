//! Admin endpoints: the audit log and case visibility; and `whoami` for every key.

use crate::api::{VisibilityBody, VisibilityResponse};
use crate::error::{AppError, Result};
use crate::extract::AppPath as Path;
use crate::extract::{AppJson, AppQuery, Caller};
use crate::state::AppState;
use crate::store::{AuditFilter, AuditRow, KeyInfo};
use axum::extract::State;
use axum::Json;
use leian_ingest::CaseId;

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
