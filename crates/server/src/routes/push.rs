//! Precise push over HTTP: pending cases, subscriptions, the push inbox (read/ack,
//! feedback), the SSE stream, webhooks per court, the admin feedback view, and admin
//! ingest/delete of cases (which create or withdraw pushes). The logic lives in
//! leian-push; this module only maps requests onto it.

use crate::api::StatuteParam;
use crate::error::{AppError, Result};
use crate::extract::AppPath as Path;
use crate::extract::{AppJson, AppQuery, Caller};
use crate::state::{AppState, Shared};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures_util::stream::Stream;
use leian_ingest::{AuthorityTier, CaseCategory};
use leian_push::{
    FeedbackReport, Owner, PendingCase, PendingCaseInput, PendingCaseUpdate, Push, PushFilter,
    Subscription, SubscriptionInput, WebhookInfo,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

/// Push and database work off the runtime (no engine permit needed).
async fn on_pushes<T, F>(state: &AppState, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Shared) -> Result<T> + Send + 'static,
{
    let inner = state.inner.clone();
    tokio::task::spawn_blocking(move || f(&inner))
        .await
        .map_err(|e| AppError::Internal(format!("worker failed: {e}")))?
}

fn owner(caller: &Caller) -> Owner {
    Owner {
        court: caller.0.court.clone(),
        key_id: caller.0.id,
    }
}

fn parse_category(c: &Option<String>) -> Result<Option<CaseCategory>> {
    c.as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(|c| {
            CaseCategory::parse(c)
                .ok_or_else(|| AppError::InvalidRequest(format!("unknown category {c:?}")))
        })
        .transpose()
}

/// `POST /v1/pending-cases`: a case a judge is handling (在办案件).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PendingCaseBody {
    /// The facts as known so far (required).
    pub facts: String,
    /// Charges (罪名) or causes of action (案由).
    #[serde(default)]
    pub charges: Vec<String>,
    #[serde(default)]
    pub statutes: Vec<StatuteParam>,
    #[serde(default)]
    pub title: String,
    /// criminal, civil, administrative, enforcement, other (or 刑事/民事…).
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub judge: String,
}

/// `PUT /v1/pending-cases/{id}`: fields to change; absent ones stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PendingCaseUpdateBody {
    pub facts: Option<String>,
    pub charges: Option<Vec<String>>,
    pub statutes: Option<Vec<StatuteParam>>,
    pub title: Option<String>,
    pub category: Option<String>,
    pub judge: Option<String>,
    /// `closed` closes the case (no more pushes).
    pub status: Option<String>,
}

/// A pending case with its pushes.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingCaseResponse {
    pub id: String,
    #[schema(value_type = Object)]
    pub pending_case: PendingCase,
    #[schema(value_type = Vec<Object>)]
    pub pushes: Vec<Push>,
}

fn respond(hidden: &HashSet<String>, p: PendingCase, pushes: Vec<Push>) -> PendingCaseResponse {
    PendingCaseResponse {
        id: p.id.clone(),
        pending_case: p,
        pushes: pushes
            .into_iter()
            .filter(|x| !hidden.contains(&x.case_id))
            .collect(),
    }
}

/// Registers a pending case and answers at once with its pushes: guiding and typical
/// cases and the most similar decided cases above the push threshold, each with a reason.
#[utoipa::path(
    post, path = "/v1/pending-cases", tag = "push",
    request_body = PendingCaseBody,
    responses((status = 200, body = PendingCaseResponse), (status = 400, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<PendingCaseBody>,
) -> Result<Json<PendingCaseResponse>> {
    let input = PendingCaseInput {
        title: body.title,
        facts: crate::api::normalize_width(&body.facts),
        charges: body
            .charges
            .iter()
            .map(|c| crate::api::normalize_width(c))
            .collect(),
        statutes: body.statutes.iter().map(StatuteParam::to_ref).collect(),
        category: parse_category(&body.category)?,
        judge: body.judge,
    };
    let heavy = caller.heavy(&state, input.facts.chars().count())?;
    let out = state
        .blocking(move |s| {
            let _heavy = heavy;
            let (p, pushes) = s.pushes.register(&s.engine, &owner(&caller), input)?;
            let ids: Vec<String> = pushes.iter().map(|x| x.case_id.clone()).collect();
            s.store.append_audit(
                &caller.0,
                "register_pending",
                &format!("{} {}", p.id, p.title),
                &ids,
            )?;
            Ok(respond(&caller.hidden(s.visibility())?, p, pushes))
        })
        .await?;
    state.pushes_created();
    Ok(Json(out))
}

/// Updates a pending case (its pushes are computed again; no pair is pushed twice), or
/// closes it with `{"status": "closed"}`.
#[utoipa::path(
    put, path = "/v1/pending-cases/{id}", tag = "push",
    params(("id" = String, Path, description = "pending case id")),
    request_body = PendingCaseUpdateBody,
    responses((status = 200, body = PendingCaseResponse), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<PendingCaseUpdateBody>,
) -> Result<Json<PendingCaseResponse>> {
    let close = match body.status.as_deref() {
        None | Some("open") => false,
        Some("closed") => true,
        Some(other) => {
            return Err(AppError::InvalidRequest(format!(
                "field `status`: {other:?}; want open or closed"
            )))
        }
    };
    let update = PendingCaseUpdate {
        title: body.title,
        facts: body.facts.map(|f| crate::api::normalize_width(&f)),
        charges: body
            .charges
            .map(|cs| cs.iter().map(|c| crate::api::normalize_width(c)).collect()),
        statutes: body
            .statutes
            .map(|ss| ss.iter().map(StatuteParam::to_ref).collect()),
        category: parse_category(&body.category)?,
        judge: body.judge,
    };
    let out = state
        .blocking(move |s| {
            let o = owner(&caller);
            let (mut p, pushes) = s.pushes.update(&s.engine, &o, &id, update)?;
            if close {
                p = s.pushes.close(&o, &id)?;
            }
            let ids: Vec<String> = pushes.iter().map(|x| x.case_id.clone()).collect();
            let action = if close {
                "close_pending"
            } else {
                "update_pending"
            };
            s.store.append_audit(&caller.0, action, &id, &ids)?;
            Ok(respond(&caller.hidden(s.visibility())?, p, pushes))
        })
        .await?;
    state.pushes_created();
    Ok(Json(out))
}

/// Closes a pending case: no more pushes for it.
#[utoipa::path(
    post, path = "/v1/pending-cases/{id}/close", tag = "push",
    params(("id" = String, Path, description = "pending case id")),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PendingCase>> {
    let p = on_pushes(&state, move |s| {
        let p = s.pushes.close(&owner(&caller), &id)?;
        s.store.append_audit(&caller.0, "close_pending", &id, &[])?;
        Ok(p)
    })
    .await?;
    Ok(Json(p))
}

/// One pending case of the caller's court, with its pushes.
#[utoipa::path(
    get, path = "/v1/pending-cases/{id}", tag = "push",
    params(("id" = String, Path, description = "pending case id")),
    responses((status = 200, body = PendingCaseResponse), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn get_pending(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PendingCaseResponse>> {
    let out = on_pushes(&state, move |s| {
        let p = s.pushes.pending(&owner(&caller), &id)?;
        let pushes = s.pushes.store().pushes(
            &p.court,
            &PushFilter {
                pending_case: Some(p.id.clone()),
                limit: Some(1000),
                ..PushFilter::default()
            },
        )?;
        Ok(respond(&caller.hidden(s.visibility())?, p, pushes))
    })
    .await?;
    Ok(Json(out))
}

/// The caller's court's pending cases, newest first.
#[utoipa::path(
    get, path = "/v1/pending-cases", tag = "push",
    responses((status = 200, body = Object)),
    security(("bearer" = []))
)]
pub(crate) async fn list_pending(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>> {
    let list = on_pushes(&state, move |s| {
        Ok(s.pushes.store().pending_of_court(&caller.0.court)?)
    })
    .await?;
    Ok(Json(json!({ "pending_cases": list })))
}

/// `POST /v1/subscriptions`: what a court wants pushed when new guiding or typical cases
/// arrive. Every non-empty criterion must hold; values within one are alternatives.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionBody {
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub charges: Vec<String>,
    #[serde(default)]
    pub statutes: Vec<StatuteParam>,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Default guiding and typical.
    #[serde(default)]
    pub tiers: Vec<String>,
}

/// Subscribes the caller's court.
#[utoipa::path(
    post, path = "/v1/subscriptions", tag = "push",
    request_body = SubscriptionBody,
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<SubscriptionBody>,
) -> Result<Json<Subscription>> {
    let categories = body
        .categories
        .iter()
        .map(|c| {
            CaseCategory::parse(c)
                .ok_or_else(|| AppError::InvalidRequest(format!("unknown category {c:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let tiers = body
        .tiers
        .iter()
        .map(|t| {
            AuthorityTier::parse(t)
                .ok_or_else(|| AppError::InvalidRequest(format!("unknown tier {t:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let criteria = SubscriptionInput {
        categories,
        charges: body
            .charges
            .iter()
            .map(|c| crate::api::normalize_width(c).trim().to_string())
            .filter(|c| !c.is_empty())
            .collect(),
        statutes: body.statutes.iter().map(StatuteParam::to_ref).collect(),
        keywords: body
            .keywords
            .iter()
            .map(|k| crate::api::normalize_width(k).trim().to_string())
            .filter(|k| !k.is_empty())
            .collect(),
        tiers,
    };
    let sub = on_pushes(&state, move |s| {
        let sub = s.pushes.subscribe(&owner(&caller), criteria)?;
        let what = serde_json::to_string(&sub.criteria).unwrap_or_default();
        s.store
            .append_audit(&caller.0, "subscribe", &what, std::slice::from_ref(&sub.id))?;
        Ok(sub)
    })
    .await?;
    Ok(Json(sub))
}

/// The caller's court's subscriptions.
#[utoipa::path(
    get, path = "/v1/subscriptions", tag = "push",
    responses((status = 200, body = Object)),
    security(("bearer" = []))
)]
pub(crate) async fn list_subscriptions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>> {
    let list = on_pushes(&state, move |s| {
        Ok(s.pushes.store().subscriptions_of_court(&caller.0.court)?)
    })
    .await?;
    Ok(Json(json!({ "subscriptions": list })))
}

/// Cancels a subscription of the caller's court.
#[utoipa::path(
    delete, path = "/v1/subscriptions/{id}", tag = "push",
    params(("id" = String, Path, description = "subscription id")),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn cancel_subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let ok = on_pushes(&state, {
        let id = id.clone();
        move |s| {
            let ok = s.pushes.store().cancel_subscription(&caller.0.court, &id)?;
            if ok {
                s.store.append_audit(
                    &caller.0,
                    "cancel_subscription",
                    &id,
                    std::slice::from_ref(&id),
                )?;
            }
            Ok(ok)
        }
    })
    .await?;
    if !ok {
        return Err(AppError::NotFound(format!("no subscription {id}")));
    }
    Ok(Json(json!({ "id": id, "active": false })))
}

/// Query string of the inbox.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct InboxParams {
    /// Only pushes to this pending case.
    pending_case: Option<String>,
    /// Only pushes to this subscription.
    subscription: Option<String>,
    /// Only pushes not yet acknowledged.
    #[serde(default)]
    unacked: bool,
    /// Only pushes with a larger id.
    after: Option<i64>,
    /// Default 100, 1..=1000.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Also answer `groups`: the same pushes grouped by pending case or subscription,
    /// 指导性案例 first then by score, each group titled with its pending case.
    #[serde(default)]
    grouped: bool,
}

/// The caller's court's pushes (inbox), oldest first; with `grouped=true` also grouped
/// by what they were pushed for.
#[utoipa::path(
    get, path = "/v1/pushes", tag = "push",
    params(InboxParams),
    responses((status = 200, description = "`{\"pushes\": [...]}`", body = Object)),
    security(("bearer" = []))
)]
pub(crate) async fn inbox(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(p): AppQuery<InboxParams>,
) -> Result<Json<Value>> {
    crate::api::check_list_limit(p.limit)?;
    let filter = PushFilter {
        pending_case: p.pending_case,
        subscription: p.subscription,
        unacked: p.unacked,
        after: p.after,
        limit: p.limit,
    };
    let grouped = p.grouped;
    let out = on_pushes(&state, move |s| {
        // visibility is checked by the push store as they are read
        let pushes = s.pushes.store().pushes(&caller.0.court, &filter)?;
        if !grouped {
            return Ok(json!({ "pushes": pushes }));
        }
        let titles: std::collections::HashMap<String, String> = s
            .pushes
            .store()
            .pending_of_court(&caller.0.court)?
            .into_iter()
            .map(|p| {
                let title = if p.title.trim().is_empty() {
                    let start: String = p.facts.trim().chars().take(24).collect();
                    format!("待决案件：{start}…")
                } else {
                    p.title.trim().to_string()
                };
                (p.id, title)
            })
            .collect();
        let groups = leian_push::inbox::group_inbox(pushes.clone(), |id| titles.get(id).cloned());
        Ok(json!({ "pushes": pushes, "groups": groups }))
    })
    .await?;
    Ok(Json(out))
}

fn no_push(id: i64) -> AppError {
    AppError::NotFound(format!("no push {id}"))
}

/// Acknowledges (marks read) a push of the caller's court.
#[utoipa::path(
    post, path = "/v1/pushes/{id}/ack", tag = "push",
    params(("id" = i64, Path, description = "push id")),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn ack(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Push>> {
    let p = on_pushes(&state, move |s| {
        let court = &caller.0.court;
        if !s.pushes.store().ack(court, id)? {
            return Err(no_push(id));
        }
        let p = s
            .pushes
            .store()
            .push(court, id)?
            .ok_or_else(|| no_push(id))?;
        s.store.append_audit(
            &caller.0,
            "ack_push",
            &format!("push {id}"),
            std::slice::from_ref(&p.case_id),
        )?;
        Ok(p)
    })
    .await?;
    Ok(Json(p))
}

/// `POST /v1/pushes/{id}/feedback`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    /// Whether the pushed case helped with the pending case.
    pub useful: bool,
}

/// A judge's verdict on a push (useful or not); the latest one counts.
#[utoipa::path(
    post, path = "/v1/pushes/{id}/feedback", tag = "push",
    params(("id" = i64, Path, description = "push id")),
    request_body = FeedbackBody,
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn feedback(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    AppJson(body): AppJson<FeedbackBody>,
) -> Result<Json<Push>> {
    let p = on_pushes(&state, move |s| {
        let court = &caller.0.court;
        if !s
            .pushes
            .store()
            .feedback(court, id, caller.0.id, body.useful)?
        {
            return Err(no_push(id));
        }
        let p = s
            .pushes
            .store()
            .push(court, id)?
            .ok_or_else(|| no_push(id))?;
        s.store.append_audit(
            &caller.0,
            "push_feedback",
            &format!(
                "push {id}: {}",
                if body.useful { "useful" } else { "not useful" }
            ),
            std::slice::from_ref(&p.case_id),
        )?;
        Ok(p)
    })
    .await?;
    Ok(Json(p))
}

/// Webhook delivery state of a push of the caller's court.
#[utoipa::path(
    get, path = "/v1/pushes/{id}/delivery", tag = "push",
    params(("id" = i64, Path, description = "push id")),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn delivery(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<leian_push::DeliveryState>> {
    let d = on_pushes(&state, move |s| {
        s.pushes
            .store()
            .push(&caller.0.court, id)?
            .ok_or_else(|| no_push(id))?;
        s.pushes
            .store()
            .delivery(id)?
            .ok_or_else(|| AppError::NotFound(format!("push {id} has no webhook delivery")))
    })
    .await?;
    Ok(Json(d))
}

/// Query string of the stream.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StreamParams {
    /// Resume after this push id (the `Last-Event-ID` header wins when both are given).
    last_event_id: Option<i64>,
}

struct StreamState {
    state: AppState,
    court: String,
    last: i64,
    tick: tokio::sync::watch::Receiver<u64>,
    queue: VecDeque<Push>,
}

/// Server-Sent Events: every push of the caller's court as event `push` with the push id
/// as event id, from the one after `Last-Event-ID` (or from the first), then live.
#[utoipa::path(
    get, path = "/v1/pushes/stream", tag = "push",
    params(StreamParams, ("Last-Event-ID" = Option<i64>, Header, description = "resume after this push id")),
    responses((status = 200, description = "text/event-stream of `push` events", content_type = "text/event-stream")),
    security(("bearer" = []))
)]
pub(crate) async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    AppQuery(p): AppQuery<StreamParams>,
) -> Result<Sse<impl Stream<Item = std::result::Result<Event, Infallible>>>> {
    let header = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let last = match header {
        Some(v) => v.parse::<i64>().map_err(|_| {
            AppError::InvalidRequest(format!("Last-Event-ID {v:?} is not a push id"))
        })?,
        None => p.last_event_id.unwrap_or(0),
    };
    let tick = state.inner.push_tick.subscribe();
    let init = StreamState {
        court: caller.0.court.clone(),
        state,
        last,
        tick,
        queue: VecDeque::new(),
    };
    let events = futures_util::stream::unfold(init, |mut st| async move {
        loop {
            if let Some(push) = st.queue.pop_front() {
                // checked again as it is sent: a push withdrawn, or of a case restricted
                // since it was read, is not delivered
                let (court, id) = (st.court.clone(), push.id);
                match on_pushes(&st.state, move |s| Ok(s.pushes.store().push(&court, id)?)).await {
                    Ok(Some(push)) => {
                        let event = Event::default()
                            .id(push.id.to_string())
                            .event("push")
                            .json_data(&push)
                            .unwrap_or_else(|_| Event::default().comment("unserialisable push"));
                        return Some((Ok(event), st));
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!("push stream ends: {e}");
                        return None;
                    }
                }
            }
            st.tick.borrow_and_update();
            let (court, last) = (st.court.clone(), st.last);
            let batch = on_pushes(&st.state, move |s| {
                Ok(s.pushes.store().pushes(
                    &court,
                    &PushFilter {
                        after: Some(last),
                        limit: Some(100),
                        ..PushFilter::default()
                    },
                )?)
            })
            .await;
            match batch {
                Ok(list) if !list.is_empty() => {
                    if let Some(l) = list.last() {
                        st.last = l.id;
                    }
                    st.queue.extend(list);
                }
                Ok(_) => {
                    // nothing new: wait for a push here, or poll (pushes made by `leian ingest`)
                    let _ = tokio::time::timeout(Duration::from_secs(1), st.tick.changed()).await;
                }
                Err(e) => {
                    tracing::warn!("push stream ends: {e}");
                    return None;
                }
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// `PUT /v1/webhooks`: the caller's court's webhook.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// `http://host:port/path` (plain HTTP; put a TLS terminator in front for https).
    pub url: String,
    /// Signing secret (HMAC-SHA256 of the body in `X-Leian-Signature: sha256=<hex>`),
    /// at least 16 characters; generated and returned once when absent.
    #[serde(default)]
    pub secret: Option<String>,
}

/// Sets the webhook of the caller's court (court and admin keys).
#[utoipa::path(
    put, path = "/v1/webhooks", tag = "push",
    request_body = WebhookBody,
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn set_webhook(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<WebhookBody>,
) -> Result<Json<Value>> {
    if caller.0.role == crate::store::Role::Judge {
        return Err(AppError::Forbidden(
            "a court's webhook is set with a court or admin key".into(),
        ));
    }
    crate::webhook::check_url(&body.url).map_err(AppError::InvalidRequest)?;
    let (secret, shown) = match body.secret {
        Some(s) if s.trim().chars().count() >= 16 => (s.trim().to_string(), false),
        Some(_) => {
            return Err(AppError::InvalidRequest(
                "field `secret`: at least 16 characters".into(),
            ))
        }
        None => (
            crate::store::Store::new_report_id()? + &crate::store::Store::new_report_id()?,
            true,
        ),
    };
    let info: WebhookInfo = on_pushes(&state, {
        let secret = secret.clone();
        move |s| {
            let info = s
                .pushes
                .store()
                .set_webhook(&caller.0.court, body.url.trim(), &secret)?;
            // the URL, never the secret
            s.store
                .append_audit(&caller.0, "set_webhook", body.url.trim(), &[])?;
            Ok(info)
        }
    })
    .await?;
    let mut out = serde_json::to_value(&info).map_err(|e| AppError::Internal(e.to_string()))?;
    if shown {
        out["secret"] = json!(secret);
    }
    Ok(Json(out))
}

/// The caller's court's webhook (without the secret).
#[utoipa::path(
    get, path = "/v1/webhooks", tag = "push",
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<WebhookInfo>> {
    let court = caller.0.court.clone();
    let info = on_pushes(&state, move |s| Ok(s.pushes.store().webhook(&court)?))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("{} has no webhook", caller.0.court)))?;
    Ok(Json(info))
}

/// How useful pushes were, overall, per tier and per charge (admin only).
#[utoipa::path(
    get, path = "/v1/admin/push-feedback", tag = "admin",
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn feedback_report(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<FeedbackReport>> {
    caller.require_admin()?;
    Ok(Json(
        on_pushes(&state, |s| Ok(s.pushes.store().feedback_report()?)).await?,
    ))
}
