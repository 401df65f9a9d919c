//! Admin endpoints: the audit log and case visibility; and `whoami` for every key.

use crate::api::VisibilityBody;
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
    Ok(Json(state.db(move |s| s.audit(&filter)).await?))
}

/// Restricts a case to the given courts (empty: public). Admin only.
#[utoipa::path(
    put, path = "/v1/admin/cases/{id}/visibility", tag = "admin",
    params(("id" = String, Path, description = "case id")),
    request_body = VisibilityBody,
    responses(
        (status = 200, body = VisibilityBody),
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
) -> Result<Json<VisibilityBody>> {
    caller.require_admin()?;
    let courts = state
        .blocking(move |s| {
            if s.engine.get(&CaseId::new(id.clone()))?.is_none() {
                return Err(AppError::NotFound(format!("no case {id}")));
            }
            s.store.set_visibility(&id, &body.courts)?;
            let courts = s.store.visibility(&id)?;
            s.store.append_audit(
                &caller.0,
                "set_visibility",
                &format!(
                    "{id} → {}",
                    if courts.is_empty() {
                        "public".to_string()
                    } else {
                        courts.join("、")
                    }
                ),
                std::slice::from_ref(&id),
            )?;
            Ok(courts)
        })
        .await?;
    Ok(Json(VisibilityBody { courts }))
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
