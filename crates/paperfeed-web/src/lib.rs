//! paperfeed's web service: the HTML site, the Hugging Face-compatible JSON API and the
//! feeds, as one axum [`Router`].
//!
//! - [`router`] builds the service over an [`AppState`] (store, search engine, arXiv
//!   fetcher, [`AppConfig`]); the binary binds it and runs the background jobs.
//! - Handlers are thin: parse (`params`), ask the store or engine (`service`), render
//!   (`pages` with askama templates, `api` as JSON, `feeds` as RSS/Atom).
//! - Every error is a [`WebError`]: JSON `{"error": {"code", "message"}}` under `/api`, an
//!   HTML page elsewhere; a 500 never shows its cause, and a panic in a handler becomes one.
//! - Accounts, sessions and CSRF protection live in `auth`.

pub mod api;
mod assets;
pub mod auth;
mod error;
mod feeds;
pub mod pages;
pub mod params;
pub mod service;
mod state;
pub mod views;

use std::any::Any;

use axum::Router;
use axum::http::header::{CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;

pub use error::{ErrorBody, ErrorDetail, PageError, WebError};
pub use state::{AppConfig, AppState, ArxivApiFetcher, PaperFetcher};

/// The whole service.
pub fn router(state: AppState) -> Router {
    Router::new()
        // Hugging Face-compatible API
        .route("/api/daily_papers", get(api::daily_papers))
        .route("/api/papers/search", get(api::papers_search))
        .route("/api/papers/submit", post(api::submit))
        .route(
            "/api/papers/{*rest}",
            get(api::paper_get)
                .post(api::paper_post)
                .delete(api::paper_delete),
        )
        // paperfeed's own API
        .route("/api/search", get(api::search))
        .route("/api/auth/token", post(api::token))
        .route("/api/openapi.json", get(api::openapi))
        // pages
        .route("/", get(pages::home))
        .route("/papers", get(pages::home))
        .route("/papers/date/{day}", get(pages::day))
        .route("/papers/week/{week}", get(pages::week))
        .route("/papers/month/{month}", get(pages::month))
        .route(
            "/papers/{*rest}",
            get(pages::paper_get).post(pages::paper_post),
        )
        .route("/trending", get(pages::trending))
        .route("/search", get(pages::search))
        .route("/submit", get(pages::submit_get).post(pages::submit_post))
        .route("/login", get(pages::login_get).post(pages::login_post))
        .route("/signup", get(pages::signup_get).post(pages::signup_post))
        .route("/logout", post(pages::logout_post))
        .route("/feeds/{file}", get(feeds::feed))
        .route("/static/{name}", get(assets::asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::csrf_cookie,
        ))
        .layer(middleware::map_response(security_headers))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

fn is_api(uri: &Uri) -> bool {
    uri.path() == "/api" || uri.path().starts_with("/api/")
}

async fn not_found(uri: Uri) -> Response {
    let e = WebError::NotFound(format!("nothing at {}", params::shorten(uri.path())));
    if is_api(&uri) {
        e.into_response()
    } else {
        PageError(e).into_response()
    }
}

async fn method_not_allowed(uri: Uri) -> Response {
    if is_api(&uri) {
        WebError::MethodNotAllowed.into_response()
    } else {
        PageError(WebError::MethodNotAllowed).into_response()
    }
}

async fn security_headers(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp.headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("same-origin"));
    resp
}

/// A panicking handler answers a plain 500 (JSON, whatever the route: the panic may have
/// happened before anything knew which kind of page it was); the panic itself is logged.
fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let what = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("a handler panicked");
    tracing::error!(panic = what, "request handler panicked");
    let body = r#"{"error":{"code":"internal_error","message":"internal server error"}}"#;
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
