//! Extractors that answer rejections in the API's error format: the caller's key
//! ([`Caller`]), JSON bodies ([`AppJson`]), path parameters ([`AppPath`]) and query
//! strings ([`AppQuery`]).

use crate::error::AppError;
use crate::state::AppState;
use crate::store::{KeyInfo, Role};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use std::collections::HashSet;

/// The key that made the request (`Authorization: Bearer <key>`), admitted by its
/// fair-use limits: the lease is held while any clone of the caller lives (the handler
/// and the engine work it hands to a worker thread).
#[derive(Debug, Clone)]
pub(crate) struct Caller(
    pub(crate) KeyInfo,
    #[expect(dead_code, reason = "held for its Drop: the key's in-flight slot")]
    std::sync::Arc<crate::fair_use::Lease>,
);

impl Caller {
    /// 403 unless the key is an admin's.
    pub(crate) fn require_admin(&self) -> Result<(), AppError> {
        match self.0.role {
            Role::Admin => Ok(()),
            Role::Judge | Role::Court => Err(AppError::Forbidden(format!(
                "this needs an admin key; yours is a {} key",
                self.0.role.as_str()
            ))),
        }
    }

    /// The extra fair-use place of a heavy request (`chars` of query text; `None` when
    /// light), or 429. Keep it alive for as long as the work runs.
    pub(crate) fn heavy(
        &self,
        state: &AppState,
        chars: usize,
    ) -> Result<Option<crate::fair_use::Lease>, AppError> {
        state.inner.fair_use.admit_heavy(self.0.id, chars)
    }

    /// Whether the caller sees every case regardless of visibility.
    pub(crate) fn sees_all(&self) -> bool {
        self.0.role == Role::Admin
    }

    /// Ids of the cases this caller may not see.
    pub(crate) fn hidden(
        &self,
        visibility: &leian_visibility::CaseVisibility,
    ) -> Result<HashSet<String>, AppError> {
        if self.sees_all() {
            Ok(HashSet::new())
        } else {
            Ok(visibility.hidden_from(&self.0.court)?)
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or(AppError::Unauthorized)?;
        let key = state
            .db(move |s| s.key_by_secret(&secret))
            .await?
            .ok_or(AppError::Unauthorized)?;
        let lease = state.inner.fair_use.admit(key.id)?;
        Ok(Caller(key, std::sync::Arc::new(lease)))
    }
}

/// `Json<T>` whose rejections are [`AppError`]s; the body must be a JSON object (serde
/// would otherwise fill a struct from an array, so `[]` would pass as an empty request).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AppJson<T>(pub(crate) T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let AppJsonAny(ObjectOnly(v)) = AppJsonAny::from_request(req, state).await?;
        Ok(AppJson(v))
    }
}

/// `Json<T>` whose rejections are [`AppError`]s, any JSON value (an object or a list).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AppJsonAny<T>(pub(crate) T);

impl<S, T> FromRequest<S> for AppJsonAny<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(AppJsonAny(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// `T` read only from a JSON object.
pub(crate) struct ObjectOnly<T>(pub(crate) T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Object<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Object(std::marker::PhantomData))
            .map(ObjectOnly)
    }
}

fn json_rejection(r: JsonRejection) -> AppError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::PayloadTooLarge;
    }
    match r {
        JsonRejection::JsonDataError(e) => AppError::InvalidRequest(e.body_text()),
        JsonRejection::MissingJsonContentType(_) => {
            AppError::BadJson("expected `Content-Type: application/json`".into())
        }
        other => AppError::BadJson(other.body_text()),
    }
}

/// `Path<T>` whose rejections (a segment that is not UTF-8 once percent-decoded, a
/// number that does not parse) are [`AppError`]s, answered in the JSON error shape.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AppPath<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for AppPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(AppPath(v)),
            Err(e) => Err(AppError::InvalidRequest(format!(
                "bad path parameter: {}",
                e.body_text()
            ))),
        }
    }
}

/// `Query<T>` whose rejections are [`AppError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AppQuery<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(AppQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(AppError::InvalidRequest(e.body_text()))
            }
            Err(e) => Err(AppError::InvalidRequest(e.body_text())),
        }
    }
}
