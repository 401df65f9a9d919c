//! `GET /v1/statutes/{law}/{article}`: an article and the cases citing it (法条关联检索).

use crate::api::{normalize_law, normalize_width, HitOut, StatuteResponse};
use crate::error::{AppError, Result};
use crate::extract::AppPath as Path;
use crate::extract::{AppQuery, Caller};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use leian_engine::Filters;
use leian_ingest::StatuteRef;
use serde::Deserialize;

/// `264`, `２６４`, `第264条` → 264.
fn parse_article(s: &str) -> Option<u32> {
    let s = normalize_width(s);
    let digits = s.strip_prefix('第').unwrap_or(&s);
    let digits = digits.strip_suffix('条').unwrap_or(digits);
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn default_k() -> usize {
    20
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatuteParams {
    /// Citing cases to list, 1..=100 (default 20).
    #[serde(default = "default_k")]
    #[param(minimum = 1, maximum = 100)]
    top_k: usize,
}

/// The article's text and the cases that cite it, guiding cases first.
#[utoipa::path(
    get, path = "/v1/statutes/{law}/{article}", tag = "statutes",
    params(
        ("law" = String, Path, description = "short law name, e.g. 刑法"),
        ("article" = String, Path, pattern = "^第?[0-9０-９]{1,4}条?$", description = "article number, e.g. 264 (full-width digits and 第…条 accepted)"),
        StatuteParams,
    ),
    responses(
        (status = 200, body = StatuteResponse),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn statute(
    State(state): State<AppState>,
    caller: Caller,
    Path((law, article)): Path<(String, String)>,
    AppQuery(p): AppQuery<StatuteParams>,
) -> Result<Json<StatuteResponse>> {
    let article = parse_article(&article)
        .ok_or_else(|| AppError::InvalidRequest(format!("bad article number {article:?}")))?;
    let law = normalize_law(&law);
    if law.is_empty() {
        return Err(AppError::InvalidRequest("empty law name".into()));
    }
    if p.top_k == 0 || p.top_k > crate::api::MAX_TOP_K {
        return Err(AppError::InvalidRequest(format!(
            "top_k must be 1..={}",
            crate::api::MAX_TOP_K
        )));
    }
    let out = state
        .blocking(move |s| {
            let hidden = caller.hidden(s.visibility())?;
            let text = s.engine.statute(&law, article)?;
            let sref = StatuteRef {
                law: law.clone(),
                article,
            };
            let mut hits = s.engine.newest(
                &Filters {
                    statutes: vec![sref.clone()],
                    ..Filters::default()
                },
                p.top_k + hidden.len(),
            )?;
            hits.retain(|h| !hidden.contains(h.case.id.as_str()));
            // guiding cases first, newest first within a tier (the index's order)
            hits.sort_by_key(|h| h.case.tier);
            hits.truncate(p.top_k);
            if text.is_none() && hits.is_empty() {
                return Err(AppError::NotFound(format!(
                    "no text and no citing cases for {sref}"
                )));
            }
            let citing: Vec<HitOut> = hits
                .iter()
                .map(|h| HitOut::new(&h.case, 0.0, h.excerpt.clone(), None))
                .collect();
            let ids: Vec<String> = citing.iter().map(|h| h.id.clone()).collect();
            s.store
                .append_audit(&caller.0, "statute", &sref.to_string(), &ids)?;
            Ok(StatuteResponse {
                law_title: text.as_ref().map(|t| t.law_title.clone()),
                text: text.map(|t| t.text),
                law,
                article,
                citing_cases: citing,
            })
        })
        .await?;
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_numbers_in_any_width() {
        assert_eq!(parse_article("264"), Some(264));
        assert_eq!(parse_article("２６４"), Some(264));
        assert_eq!(parse_article("第264条"), Some(264));
        // 0 has the article's shape; no law has it, so it is a 404, not a 400
        assert_eq!(parse_article("0"), Some(0));
        assert_eq!(parse_article("12345"), None);
        assert_eq!(parse_article("第条"), None);
        assert_eq!(parse_article("abc"), None);
    }
}
