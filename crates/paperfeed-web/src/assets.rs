//! Static files, embedded in the binary: the stylesheet, htmx and the default avatar.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::error::WebError;

/// `(name, MIME type, bytes)` of every asset.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/style.css"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/htmx.min.js"),
    ),
    (
        "avatar.svg",
        "image/svg+xml",
        include_bytes!("../assets/avatar.svg"),
    ),
];

/// `GET /static/{name}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        // A day: the files change only with a new paperfeed release.
        Some((_, mime, bytes)) => (
            [
                (CONTENT_TYPE, *mime),
                (CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => WebError::NotFound(format!("no static file {name}")).into_response(),
    }
}
