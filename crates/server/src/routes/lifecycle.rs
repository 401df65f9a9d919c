//! Admin endpoints of the index lifecycle: stats, rebuild as a background job, and the
//! job's progress. The rebuild runs on its own thread; searches keep answering from the
//! old generation until the new one is verified and switched in.

use crate::clock::now_iso;
use crate::error::{AppError, Result};
use crate::extract::AppPath as Path;
use crate::extract::Caller;
use crate::jobs::{JobState, JobStatus};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use leian_engine::RebuildOptions;
use serde::Deserialize;

/// `POST /v1/admin/rebuild` body.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RebuildBody {
    /// A model dir on the server (HF layout) to re-embed with; default the current one.
    #[serde(default)]
    pub model: Option<String>,
}

/// What the index holds (admin only): cases per tier, category and court level,
/// generations, disk size, model, last commit.
#[utoipa::path(
    get, path = "/v1/admin/stats", tag = "admin",
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn stats(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<leian_engine::IndexStats>> {
    caller.require_admin()?;
    Ok(Json(state.blocking(|s| Ok(s.engine.stats()?)).await?))
}

/// Starts rebuilding the index into a new generation (admin only); answers 202 with the
/// job to poll. One rebuild at a time: 409 while one runs.
#[utoipa::path(
    post, path = "/v1/admin/rebuild", tag = "admin",
    request_body = Option<RebuildBody>,
    responses(
        (status = 202, body = JobStatus),
        (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn rebuild(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<JobStatus>)> {
    caller.require_admin()?;
    let body: RebuildBody = if body.iter().all(u8::is_ascii_whitespace) {
        RebuildBody::default()
    } else {
        serde_json::from_slice::<crate::extract::ObjectOnly<RebuildBody>>(&body)
            .map_err(|e| AppError::BadJson(e.to_string()))?
            .0
    };
    let body_model = body.model.clone();
    let options = RebuildOptions {
        model_dir: body.model.map(std::path::PathBuf::from),
    };
    if let Some(dir) = &options.model_dir {
        if !dir.join("config.json").is_file() {
            return Err(AppError::InvalidRequest(format!(
                "no model at {} (config.json missing)",
                dir.display()
            )));
        }
    }
    let jobs = &state.inner.jobs;
    let status = jobs.start("rebuild")?;
    let inner = state.inner.clone();
    let id = status.id.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("leian-{id}"))
        .spawn(move || {
            let result = inner.engine.try_rebuild(&options, &mut |p| {
                inner.jobs.update(&id, |j| j.progress = Some(p.clone()));
            });
            inner.jobs.update(&id, |j| {
                j.finished_at = Some(now_iso());
                match result {
                    Ok(report) => {
                        j.state = JobState::Succeeded;
                        j.report = Some(report);
                    }
                    Err(e) => {
                        tracing::error!("rebuild failed: {e}");
                        j.state = JobState::Failed;
                        j.error = Some(e.to_string());
                    }
                }
            });
        });
    if spawned.is_ok() {
        let (key, what, job) = (
            caller.0.clone(),
            match &body_model {
                Some(m) => format!("rebuild with model {m}"),
                None => "rebuild".to_string(),
            },
            status.id.clone(),
        );
        state
            .db(move |s| s.append_audit(&key, "rebuild", &what, &[job]))
            .await?;
    }
    if let Err(e) = spawned {
        jobs.update(&status.id, |j| {
            j.state = JobState::Failed;
            j.error = Some(format!("could not start: {e}"));
        });
        return Err(AppError::Internal(format!("spawning the rebuild: {e}")));
    }
    Ok((StatusCode::ACCEPTED, Json(status)))
}

/// A background job's state and progress (admin only).
#[utoipa::path(
    get, path = "/v1/admin/jobs/{id}", tag = "admin",
    params(("id" = String, Path, description = "job id")),
    responses(
        (status = 200, body = JobStatus),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobStatus>> {
    caller.require_admin()?;
    state
        .inner
        .jobs
        .get(&id)?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("no job {id}")))
}
