//! The one error type of the web crate, and how it becomes a response: JSON
//! `{"error": {"code", "message"}}` for the API, an HTML page for the site.
//!
//! Messages of 4xx errors are written for the person who made the request and shown as is;
//! a 500's cause is logged and never sent (it may name files, SQL or internals).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use paperfeed_search::SearchError;
use paperfeed_store::StoreError;
use serde::Serialize;
use thiserror::Error;
use utoipa::ToSchema;

/// Why a request failed.
#[derive(Debug, Error)]
pub enum WebError {
    /// A malformed id, date, week, month, parameter or form field (400).
    #[error("{message}")]
    BadRequest {
        /// Machine-readable code (`invalid_id`, `invalid_parameter`, ...).
        code: &'static str,
        /// What was wrong, for the person who sent it.
        message: String,
    },
    /// No account, or no valid session or token, where one is needed (401).
    #[error("{0}")]
    Unauthorized(String),
    /// A form without the right CSRF token, or a cookie-authenticated API call without its
    /// header (403).
    #[error("{0}")]
    Forbidden(String),
    /// An unknown paper or route (404).
    #[error("{0}")]
    NotFound(String),
    /// The route exists, but not for this method (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request conflicts with what exists: an account name already taken (409).
    #[error("{0}")]
    Conflict(String),
    /// arXiv could not be reached or answered with an error (502).
    #[error("{0}")]
    Upstream(String),
    /// Anything else (500). The message is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl WebError {
    /// A 400 about one query parameter or form field.
    pub fn param(name: &str, message: impl std::fmt::Display) -> Self {
        WebError::BadRequest {
            code: "invalid_parameter",
            message: format!("{name}: {message}"),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            WebError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Upstream(_) => StatusCode::BAD_GATEWAY,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            WebError::BadRequest { code, .. } => code,
            WebError::Unauthorized(_) => "unauthorized",
            WebError::Forbidden(_) => "forbidden",
            WebError::NotFound(_) => "not_found",
            WebError::MethodNotAllowed => "method_not_allowed",
            WebError::Conflict(_) => "conflict",
            WebError::Upstream(_) => "upstream_error",
            WebError::Internal(_) => "internal_error",
        }
    }

    /// What the client is told: the message, except for a 500.
    pub fn public_message(&self) -> String {
        match self {
            WebError::Internal(_) => "internal server error".to_string(),
            other => other.to_string(),
        }
    }

    fn log(&self) {
        if let WebError::Internal(cause) = self {
            tracing::error!(%cause, "request failed");
        }
    }
}

/// The JSON body of every API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// One API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable code, e.g. `invalid_parameter`, `not_found`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        self.log();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message: self.public_message(),
            },
        };
        (self.status(), Json(body)).into_response()
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownPaper(id) => WebError::NotFound(format!("unknown paper {id}")),
            StoreError::NameTaken(name) => {
                WebError::Conflict(format!("the name {name} is already taken"))
            }
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<SearchError> for WebError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Query(message) => WebError::BadRequest {
                code: "invalid_query",
                message,
            },
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for WebError {
    fn from(e: tokio::task::JoinError) -> Self {
        WebError::Internal(format!("worker thread failed: {e}"))
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(format!("template: {e}"))
    }
}

/// An error on an HTML page: the same causes, shown as a page of the site.
#[derive(Debug)]
pub struct PageError(pub WebError);

impl<E: Into<WebError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        let status = e.status();
        let page = crate::pages::ErrorPage::new(status, e.public_message());
        (status, Html(page.render_or_plain())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_are_not_disclosed() {
        let e = WebError::Internal("SELECT * FROM secrets failed at /var/lib/x".into());
        assert_eq!(e.public_message(), "internal server error");
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let e = WebError::from(StoreError::UnknownPaper("2501.00001".into()));
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        let e = WebError::from(SearchError::Query("limit must be ...".into()));
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::BAD_REQUEST, "invalid_query")
        );
    }
}
