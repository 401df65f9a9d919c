//! `POST /v1/search` and the search core that reports share.

use crate::api::{groups, HitOut, SearchBody, SearchResponse};
use crate::clock::{now_unix, years_before};
use crate::error::Result;
use crate::extract::{AppJson, Caller};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use leian_engine::{Engine, Ran, RankedCase};
use std::collections::HashSet;
use std::time::Instant;

/// Runs a search for a caller who may not see `hidden`: fetches enough to fill the
/// page after dropping hidden cases, puts recent judgments first when asked, then pages.
pub(crate) fn search_cases(
    engine: &Engine,
    hidden: &HashSet<String>,
    body: &SearchBody,
) -> Result<(Vec<RankedCase>, Ran)> {
    let mut fetch = body.offset + body.top_k + hidden.len();
    if body.recent_first {
        fetch = fetch.max(leian_engine::Query::DEFAULT_DEPTH);
    }
    let query = body.to_query(fetch)?;
    let ran = engine.ran(&query);
    let mut hits: Vec<RankedCase> = engine
        .search(&query)?
        .into_iter()
        .filter(|h| !hidden.contains(h.id.as_str()))
        .collect();
    if body.recent_first {
        let cutoff = years_before(now_unix(), 3);
        let old = |h: &RankedCase| match (h.case.date, cutoff) {
            (Some(d), Some(c)) => d < c,
            _ => true,
        };
        // stable: keeps score order inside each (tier, recent) bucket
        if body.authority_order {
            hits.sort_by_key(|h| (h.case.tier, old(h)));
        } else {
            hits.sort_by_key(old);
        }
    }
    let page = hits
        .into_iter()
        .skip(body.offset)
        .take(body.top_k)
        .collect();
    Ok((page, ran))
}

pub(crate) fn response(
    hits: &[RankedCase],
    explain: bool,
    ran: &Ran,
    started: Instant,
) -> SearchResponse {
    let hits: Vec<HitOut> = hits
        .iter()
        .map(|h| HitOut::from_ranked(h, explain))
        .collect();
    SearchResponse {
        groups: groups(&hits),
        nothing_similar: hits.is_empty() && ran.floor.is_some(),
        hits,
        mode: ran.mode.as_str().into(),
        ranking: ran.ranking.as_str().into(),
        ranker: ran.ranker.clone(),
        floor: ran.floor,
        took_ms: started.elapsed().as_millis() as u64,
    }
}

/// Searches by keywords or a whole draft; guiding cases first by default.
#[utoipa::path(
    post, path = "/v1/search", tag = "search",
    request_body = SearchBody,
    responses(
        (status = 200, body = SearchResponse),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<SearchBody>,
) -> Result<Json<SearchResponse>> {
    let started = Instant::now();
    let heavy = caller.heavy(&state, body.query.chars().count())?;
    let out = state
        .blocking(move |s| {
            let _heavy = heavy;
            let hidden = caller.hidden(s.visibility())?;
            let (hits, ran) = search_cases(&s.engine, &hidden, &body)?;
            let ids: Vec<String> = hits.iter().map(|h| h.id.to_string()).collect();
            s.store
                .append_audit(&caller.0, "search", &body.text(), &ids)?;
            Ok(response(&hits, body.explain, &ran, started))
        })
        .await?;
    Ok(Json(out))
}

/// `GET /v1/charges`: the charges and 案由 the indexed cases carry (for completion).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ChargesResponse {
    pub(crate) charges: Vec<String>,
}

/// The charge / 案由 names of the indexed cases, for completion in the page.
#[utoipa::path(
    get, path = "/v1/charges", tag = "search",
    responses(
        (status = 200, body = ChargesResponse),
        (status = 401, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn charges(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<ChargesResponse>> {
    let out = state
        .blocking(move |s| {
            let charges = s
                .engine
                .charge_keys()?
                .into_iter()
                .map(|k| {
                    // keys drop a trailing 罪; civil causes end in 纠纷/争议
                    if k.ends_with("纠纷") || k.ends_with("争议") || k.ends_with('案') {
                        k
                    } else {
                        format!("{k}罪")
                    }
                })
                .collect();
            Ok(ChargesResponse { charges })
        })
        .await?;
    Ok(Json(out))
}
