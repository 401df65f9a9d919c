//! Health, metrics, the OpenAPI document, the web page's files and the JSON 404.

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::OpenApi;

const INDEX_HTML: &str = include_str!("../../assets/index.html");
const APP_JS: &str = include_str!("../../assets/app.js");
const STYLE_CSS: &str = include_str!("../../assets/style.css");
const DEMO_META: &str = "<meta name=\"leian-demo-key\" content=\"\">";

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    status: String,
    cases: u64,
    generation: u64,
    dense: bool,
    model: Option<String>,
}

/// Liveness and what is loaded.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
pub(crate) async fn healthz(State(state): State<AppState>) -> Json<Health> {
    let e = state.engine();
    Json(Health {
        status: "ok".into(),
        cases: e.num_cases(),
        generation: u64::from(e.generation_number()),
        dense: e.has_dense(),
        model: e.model_id(),
    })
}

/// Prometheus text.
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, body = String, content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let e = state.engine();
    let text = state.inner.metrics.render(
        e.num_cases(),
        u64::from(e.generation_number()),
        e.has_dense(),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "system", responses((status = 200, body = Object)))]
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::ApiDoc::openapi())
}

/// The web page; in demo mode with the demo judge key filled in.
pub(crate) async fn index_html(State(state): State<AppState>) -> Html<String> {
    match &state.options().demo_key {
        Some(key) => Html(INDEX_HTML.replacen(
            DEMO_META,
            &format!("<meta name=\"leian-demo-key\" content=\"{key}\">"),
            1,
        )),
        None => Html(INDEX_HTML.to_string()),
    }
}

pub(crate) async fn app_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
        .into_response()
}

pub(crate) async fn style_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLE_CSS,
    )
        .into_response()
}

/// The page's icon (a 类 in a seal-red square), so browsers asking for it get one.
const FAVICON_SVG: &str = concat!(
    r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">"##,
    r##"<rect width="32" height="32" rx="6" fill="#9b1c1c"/>"##,
    r##"<text x="16" y="23" font-size="20" text-anchor="middle" fill="#fff">类</text></svg>"##
);

pub(crate) async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON_SVG,
    )
        .into_response()
}

pub(crate) async fn not_found() -> AppError {
    AppError::NotFound("no such endpoint; see /v1/openapi.json".into())
}
