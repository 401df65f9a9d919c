//! leian-server owns everything HTTP: the JSON API under `/v1` (search, cases, similar
//! cases, statutes, 类案检索报告, 裁判偏离预警, audit, admin), its OpenAPI document, `/healthz`,
//! `/metrics`, the web page's static files, API keys and roles, case visibility and the
//! append-only audit log (SQLite, `<index>/leian.sqlite`), and precise push over HTTP
//! (pending cases, subscriptions, inbox, SSE stream, webhooks, feedback) on top of
//! leian-push (`routes/push.rs`, `webhook.rs`). Admins add and delete cases, read the audit
//! log and set case visibility (`routes/admin.rs`) and rebuild as a background job
//! (`routes/lifecycle.rs`, `jobs.rs`). Route modules depend on the state, never the other
//! way round.
//!
//! Engine crates know nothing of HTTP; this crate calls [`leian_engine::Engine`] from
//! blocking worker threads, at most [`ServerOptions::max_concurrent`] at a time. The index
//! is built by `leian ingest` / `leian demo`; admins may add or delete single cases.
//!
//! Entry points: [`app`] (the router, for tests with any transport), [`run`] (serve a
//! listener until a shutdown future completes, finishing in-flight requests) and
//! [`ServerHandle::start`] (a server on its own thread and runtime).

mod api;
mod clock;
mod error;
mod extract;
mod fair_use;
mod jobs;
mod metrics;
mod report;
mod routes;
mod state;
mod store;
mod webhook;

pub use api::{
    FilterParams, HitOut, ModeParam, PendingCase, RankingParam, ReportBody, ReportFormat,
    SearchBody, SearchResponse, StatuteParam, StatuteResponse, TierGroup, VisibilityBody,
    VisibilityResponse, MAX_QUERY_CHARS,
};
pub use error::{AppError, ErrorBody, ErrorDetail, Result};
pub use fair_use::{KeyLimits, HEAVY_QUERY_CHARS, MIN_CONCURRENT_PER_KEY};
pub use jobs::{JobState, JobStatus};
pub use report::{Report, ReportCase, ReportTier, Searcher};
pub use routes::consistency::ConsistencyBody;
pub use routes::lifecycle::RebuildBody;
pub use routes::push::{
    FeedbackBody, PendingCaseBody, PendingCaseResponse, PendingCaseUpdateBody, SubscriptionBody,
    WebhookBody,
};
pub use state::{AppState, ServerOptions};
pub use store::{AuditFilter, AuditRow, KeyInfo, KeyListing, Role, Store, DB_FILE};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use std::future::Future;
use std::time::Instant;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The OpenAPI document, generated from the handlers and types.
#[derive(OpenApi)]
#[openapi(
    info(title = "leian 类案检索 API", description = "Similar-case search for Chinese courts."),
    paths(
        routes::search::search,
        routes::search::charges,
        routes::consistency::consistency,
        routes::cases::get_case,
        routes::cases::similar,
        routes::statutes::statute,
        routes::reports::create,
        routes::reports::get,
        routes::admin::audit,
        routes::admin::set_visibility,
        routes::admin::whoami,
        routes::lifecycle::stats,
        routes::lifecycle::rebuild,
        routes::lifecycle::job,
        routes::system::healthz,
        routes::system::metrics,
        routes::system::openapi,
        routes::push::register,
        routes::push::list_pending,
        routes::push::get_pending,
        routes::push::update,
        routes::push::close,
        routes::push::subscribe,
        routes::push::list_subscriptions,
        routes::push::cancel_subscription,
        routes::push::inbox,
        routes::push::ack,
        routes::push::feedback,
        routes::push::delivery,
        routes::push::stream,
        routes::push::set_webhook,
        routes::push::get_webhook,
        routes::push::feedback_report,
        routes::admin::ingest,
        routes::admin::delete_case,
    ),
    components(schemas(
        SearchBody, FilterParams, StatuteParam, ModeParam, RankingParam, SearchResponse, HitOut, TierGroup,
        routes::search::ChargesResponse,
        StatuteResponse, ReportBody, PendingCase, ReportFormat, Report, Searcher,
        ReportTier, ReportCase, VisibilityBody, VisibilityResponse, AuditRow, KeyInfo, Role,
        routes::lifecycle::RebuildBody, jobs::JobStatus, jobs::JobState,
        ErrorBody, ErrorDetail, ConsistencyBody,
        PendingCaseBody, PendingCaseUpdateBody, PendingCaseResponse, SubscriptionBody,
        FeedbackBody, WebhookBody,
    )),
    modifiers(&BearerAuth, &ErrorResponses)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// Documents on every operation the errors any of them can answer, in the one error shape:
/// 400 (bad JSON or field), 401/403 (key, role), 404 (an id in the path), 413 (body too
/// large), 429 (fair use, with `Retry-After`) and 503 (time limit), and marks every `/v1`
/// route but this document as needing the bearer key.
struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, SecurityRequirement};
        let error = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let public = !path.starts_with("/v1/") || path == "/v1/openapi.json";
            let has_id = path.contains('{');
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let mut add = |code: &str, what: &str| {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| error(what).into());
                };
                if public {
                    continue;
                }
                add("400", "bad JSON, a bad field or parameter");
                add("401", "missing or unknown API key");
                add("403", "the key's role may not do this");
                if has_id {
                    add("404", "no such id (or not visible to the key's court)");
                }
                add("413", "request body too large");
                add(
                    "429",
                    "past the key's fair-use limits; retry after `Retry-After` seconds",
                );
                add(
                    "503",
                    "the request took longer than the server's time limit",
                );
                if op.security.is_none() {
                    op.security = Some(vec![SecurityRequirement::new(
                        "bearer",
                        Vec::<String>::new(),
                    )]);
                }
            }
        }
    }
}

/// Counts every request by matched route and status, and times it.
async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let bearer = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let path: String = req.uri().path().chars().take(200).collect();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    state
        .inner
        .metrics
        .record(&method, &route, status, started.elapsed());
    if status == 401 || status == 403 {
        // every denied request is in the audit log: who (the key, when it is one), when,
        // what was asked
        let what = format!("{method} {path}");
        let logged = state
            .db(move |s| {
                let key = match bearer {
                    Some(secret) => s.key_by_secret(&secret)?,
                    None => None,
                };
                s.append_denied(key.as_ref(), status, &what)
            })
            .await;
        if let Err(e) = logged {
            tracing::error!("audit of a denied request failed: {e}");
        }
    }
    resp
}

/// Answers `timeout` when a request runs longer than the configured limit.
async fn time_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(state.options().request_timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => AppError::Timeout.into_response(),
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    use routes::{admin, cases, consistency, lifecycle, push, reports, search, statutes, system};
    let body_limit = state.options().body_limit;
    Router::new()
        .route("/", get(system::index_html))
        .route("/app.js", get(system::app_js))
        .route("/style.css", get(system::style_css))
        .route("/favicon.ico", get(system::favicon))
        .route("/healthz", get(system::healthz))
        .route("/metrics", get(system::metrics))
        .route("/v1/openapi.json", get(system::openapi))
        .route("/v1/search", post(search::search))
        .route("/v1/charges", get(search::charges))
        .route("/v1/consistency", post(consistency::consistency))
        .route(
            "/v1/cases/{id}",
            get(cases::get_case).delete(admin::delete_case),
        )
        .route("/v1/cases/{id}/similar", get(cases::similar))
        .route("/v1/statutes/{law}/{article}", get(statutes::statute))
        .route("/v1/reports", post(reports::create))
        .route("/v1/reports/{id}", get(reports::get))
        .route("/v1/audit", get(admin::audit))
        .route(
            "/v1/admin/cases/{id}/visibility",
            put(admin::set_visibility),
        )
        .route("/v1/whoami", get(admin::whoami))
        .route("/v1/admin/stats", get(lifecycle::stats))
        .route("/v1/admin/rebuild", post(lifecycle::rebuild))
        .route("/v1/admin/jobs/{id}", get(lifecycle::job))
        .route("/v1/cases", post(admin::ingest))
        .route(
            "/v1/pending-cases",
            post(push::register).get(push::list_pending),
        )
        .route(
            "/v1/pending-cases/{id}",
            get(push::get_pending).put(push::update),
        )
        .route("/v1/pending-cases/{id}/close", post(push::close))
        .route(
            "/v1/subscriptions",
            post(push::subscribe).get(push::list_subscriptions),
        )
        .route(
            "/v1/subscriptions/{id}",
            axum::routing::delete(push::cancel_subscription),
        )
        .route("/v1/pushes", get(push::inbox))
        .route("/v1/pushes/stream", get(push::stream))
        .route("/v1/pushes/{id}/ack", post(push::ack))
        .route("/v1/pushes/{id}/feedback", post(push::feedback))
        .route("/v1/pushes/{id}/delivery", get(push::delivery))
        .route(
            "/v1/webhooks",
            put(push::set_webhook).get(push::get_webhook),
        )
        .route("/v1/admin/push-feedback", get(push::feedback_report))
        .fallback(system::not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .route_layer(middleware::from_fn_with_state(state.clone(), record))
        .with_state(state)
}

/// Serves `listener` until `shutdown` completes, then stops accepting and waits for
/// in-flight requests to finish. Webhooks of the push outbox are delivered meanwhile.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sender = tokio::spawn(webhook::deliver_forever(state.clone()));
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await;
    sender.abort();
    served
}

/// A server running on its own thread and tokio runtime (for the CLI and tests).
pub struct ServerHandle {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl ServerHandle {
    /// Starts serving an already bound listener (bind port 0 for a free port).
    pub fn start(listener: std::net::TcpListener, state: AppState) -> Result<ServerHandle> {
        let io = |context: &str| {
            let context = context.to_string();
            move |source| AppError::Io { context, source }
        };
        let addr = listener.local_addr().map_err(io("listener address"))?;
        listener
            .set_nonblocking(true)
            .map_err(io("non-blocking listener"))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(io("starting the runtime"))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("leian-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    run(listener, state, async {
                        let _ = stopped.await;
                    })
                    .await
                })
            })
            .map_err(io("spawning the server thread"))?;
        Ok(ServerHandle {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Stops accepting, waits for in-flight requests, and joins the thread.
    pub fn shutdown(mut self) -> Result<()> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(r)) => r.map_err(|source| AppError::Io {
                context: "serving".into(),
                source,
            }),
            Some(Err(_)) => Err(AppError::Internal("the server thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

/// Binds `addr`, calls `on_ready` with the bound address, and serves until Ctrl-C, then
/// finishes in-flight requests. Blocks the calling thread (it builds its own runtime).
pub fn serve_until_ctrl_c(
    addr: std::net::SocketAddr,
    state: AppState,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> Result<()> {
    let io = |context: String| move |source| AppError::Io { context, source };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(io("starting the runtime".into()))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(io(format!("binding {addr}")))?;
        on_ready(
            listener
                .local_addr()
                .map_err(io("listener address".into()))?,
        );
        run(listener, state, async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down: finishing in-flight requests");
        })
        .await
        .map_err(io("serving".into()))
    })
}
