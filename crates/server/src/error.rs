//! The server's one error type, and the one place errors become HTTP responses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leian_engine::EngineError;
use leian_push::PushError;
use serde::Serialize;

/// Everything that can go wrong while answering a request or starting the server.
///
/// User errors (bad JSON, invalid request, missing key, wrong role, unknown case, too big)
/// are told to the client as they are; internal errors are logged and the client only
/// learns that something failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("bad JSON: {0}")]
    BadJson(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("missing or unknown API key")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with work in progress (e.g. a second rebuild).
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("request took too long")]
    Timeout,
    /// A key past its fair-use limits ([`crate::KeyLimits`]): 429 with `Retry-After`.
    #[error("{message}")]
    TooManyRequests {
        retry_after_secs: u64,
        message: String,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Push(#[from] PushError),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Visibility(#[from] leian_visibility::VisibilityError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// Anything else internal (a panicked worker, a poisoned lock, serialisation).
    #[error("internal: {0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, AppError>;

/// The body of every error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code: bad_json, invalid_request, unauthorized, forbidden,
    /// not_found, conflict, busy, payload_too_large, timeout, too_many_requests, internal.
    pub code: String,
    pub message: String,
}

impl AppError {
    /// Status, stable code and the message the client may see.
    fn parts(&self) -> (StatusCode, &'static str, String) {
        const INTERNAL: &str = "internal error; see the server log";
        match self {
            AppError::BadJson(m) => (StatusCode::BAD_REQUEST, "bad_json", m.clone()),
            AppError::InvalidRequest(m) => (StatusCode::BAD_REQUEST, "invalid_request", m.clone()),
            AppError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or unknown API key: send `Authorization: Bearer <key>`".into(),
            ),
            AppError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m.clone()),
            AppError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m.clone()),
            AppError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m.clone()),
            AppError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                self.to_string(),
            ),
            AppError::Timeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the request took too long; try a shorter query or fewer results".into(),
            ),
            AppError::TooManyRequests { message, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                message.clone(),
            ),
            AppError::Engine(e) => engine_parts(e),
            AppError::Push(e) => match e {
                PushError::InvalidRequest(m) => {
                    (StatusCode::BAD_REQUEST, "invalid_request", m.clone())
                }
                PushError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m.clone()),
                PushError::Engine(e) => engine_parts(e),
                PushError::Sqlite(_)
                | PushError::Visibility(_)
                | PushError::Io { .. }
                | PushError::Internal(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    INTERNAL.into(),
                ),
            },
            AppError::Sqlite(_)
            | AppError::Visibility(_)
            | AppError::Io { .. }
            | AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                INTERNAL.into(),
            ),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }
}

/// How an engine error answers: user mistakes are 4xx, the rest is logged and internal.
fn engine_parts(e: &EngineError) -> (StatusCode, &'static str, String) {
    const INTERNAL: &str = "internal error; see the server log";
    match e {
        EngineError::InvalidRequest(m) => (StatusCode::BAD_REQUEST, "invalid_request", m.clone()),
        EngineError::DenseUnavailable(m) => (
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("dense search unavailable: {m}"),
        ),
        EngineError::CaseNotFound(id) => {
            (StatusCode::NOT_FOUND, "not_found", format!("no case {id}"))
        }
        EngineError::WriterBusy(_) => (
            StatusCode::CONFLICT,
            "busy",
            "another ingest, rebuild or backup is writing to the index; retry when it is done"
                .into(),
        ),
        EngineError::Index(_)
        | EngineError::Vector(_)
        | EngineError::Embed(_)
        | EngineError::Ingest(_)
        | EngineError::Visibility { .. }
        | EngineError::Io { .. }
        | EngineError::CorruptGeneration { .. }
        | EngineError::RebuildVerification { .. } => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            INTERNAL.into(),
        ),
    }
}

/// Longest error message answered: an echoed id or query (a 5,000-character id) is cut.
const MAX_MESSAGE_CHARS: usize = 300;

fn bounded_message(message: String) -> String {
    if message.chars().count() <= MAX_MESSAGE_CHARS {
        return message;
    }
    let mut cut: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
    cut.push_str("…(truncated)");
    cut
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        if status.is_server_error() {
            tracing::error!("{self}");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message: bounded_message(message),
            },
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if let AppError::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            if let Ok(v) = axum::http::HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_detail_stays_out_of_the_message() {
        let e = AppError::Internal("secret path /etc/x".into());
        let (status, code, message) = e.parts();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(code, "internal");
        assert!(!message.contains("/etc/x"));
    }

    #[test]
    fn engine_user_errors_are_4xx() {
        let e = AppError::from(EngineError::InvalidRequest("x".into()));
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let e = AppError::from(EngineError::CaseNotFound(leian_ingest::CaseId::new("a")));
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
    }
}
