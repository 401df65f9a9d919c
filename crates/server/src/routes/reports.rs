//! `POST /v1/reports` and `GET /v1/reports/{id}`: the 类案检索报告.

use crate::api::{ReportBody, ReportFormat};
use crate::clock::now_iso;
use crate::error::{AppError, Result};
use crate::extract::AppPath as Path;
use crate::extract::{AppJson, AppQuery, Caller};
use crate::report::{Report, Searcher};
use crate::routes::cases::similar_cases;
use crate::routes::search::search_cases;
use crate::state::AppState;
use crate::store::Store;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

fn render(report: &Report, format: ReportFormat, status: StatusCode) -> Result<Response> {
    let location = format!("/v1/reports/{}", report.id);
    let (ctype, body) = match format {
        ReportFormat::Json => (
            "application/json",
            serde_json::to_string(report)
                .map_err(|e| AppError::Internal(format!("report json: {e}")))?,
        ),
        ReportFormat::Markdown => ("text/markdown; charset=utf-8", report.to_markdown()),
        ReportFormat::Html => ("text/html; charset=utf-8", report.to_html()),
    };
    Ok((
        status,
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (header::LOCATION, location),
        ],
        body,
    )
        .into_response())
}

/// Runs the search (and the case-linked search when `similar_to` is given), saves the
/// report and answers it in the asked format (`Location` says where it is kept).
#[utoipa::path(
    post, path = "/v1/reports", tag = "reports",
    request_body = ReportBody,
    responses(
        (status = 201, description = "the report (JSON, Markdown or HTML per `format`)", content(
            (Report = "application/json"), (String = "text/markdown"), (String = "text/html"),
        )),
        (status = 400, body = crate::error::ErrorBody),
        (status = 404, description = "similar_to names no visible case", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<ReportBody>,
) -> Result<Response> {
    let format = body.format;
    let heavy = caller.heavy(&state, body.query.query.chars().count())?;
    let report = state
        .blocking(move |s| {
            let _heavy = heavy;
            let hidden = caller.hidden(s.visibility())?;
            let (mut hits, _) = search_cases(&s.engine, &hidden, &body.query)?;
            if let Some(id) = &body.similar_to {
                if hidden.contains(id) {
                    return Err(AppError::NotFound(format!("no case {id}")));
                }
                let mode = body.query.mode;
                let (more, _) = similar_cases(s, &hidden, id, body.query.top_k, mode, true)?;
                for h in more {
                    if !hits.iter().any(|x| x.id == h.id) {
                        hits.push(h);
                    }
                }
            }
            let k = &caller.0;
            let report = Report::build(
                Store::new_report_id()?,
                now_iso(),
                Searcher {
                    key_id: k.id,
                    name: k.name.clone(),
                    court: k.court.clone(),
                    role: k.role.as_str().into(),
                },
                body.pending_case,
                body.query,
                body.similar_to,
                &hits,
            );
            let json = serde_json::to_string(&report)
                .map_err(|e| AppError::Internal(format!("report json: {e}")))?;
            s.store.save_report(k, &report.id, &json)?;
            let ids: Vec<String> = hits.iter().map(|h| h.id.to_string()).collect();
            s.store
                .append_audit(k, "report", &report.query_text, &ids)?;
            Ok(report)
        })
        .await?;
    render(&report, format, StatusCode::CREATED)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FormatParam {
    /// json (default), markdown or html.
    #[serde(default)]
    format: ReportFormat,
}

/// A saved report (its court's keys and admins only).
#[utoipa::path(
    get, path = "/v1/reports/{id}", tag = "reports",
    params(("id" = String, Path, description = "report id"), FormatParam),
    responses(
        (status = 200, description = "the report (JSON, Markdown or HTML per `format`)", content(
            (Report = "application/json"), (String = "text/markdown"), (String = "text/html"),
        )),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppQuery(p): AppQuery<FormatParam>,
) -> Result<Response> {
    let report = state
        .db(move |s| {
            let not_found = || AppError::NotFound(format!("no report {id}"));
            let (court, json) = s.report(&id)?.ok_or_else(not_found)?;
            if !caller.sees_all() && court != caller.0.court {
                return Err(not_found());
            }
            let report: Report = serde_json::from_str(&json)
                .map_err(|e| AppError::Internal(format!("stored report {id}: {e}")))?;
            let ids: Vec<String> = report
                .tiers
                .iter()
                .flat_map(|t| t.cases.iter().map(|c| c.id.clone()))
                .collect();
            s.append_audit(&caller.0, "view_report", &id, &ids)?;
            Ok(report)
        })
        .await?;
    render(&report, p.format, StatusCode::OK)
}
