//! Accounts and who is asking: argon2id password hashes, server-side sessions, CSRF tokens.
//!
//! - Passwords are hashed with argon2id (RustCrypto `argon2`, its default parameters) on a
//!   blocking thread; a login for an unknown name still verifies against a dummy hash, so
//!   response times do not tell which names exist.
//! - A session is a random 256-bit token in an `HttpOnly; SameSite=Lax` cookie; the store
//!   keeps only its SHA-256. API clients can send the same kind of token as
//!   `Authorization: Bearer …` (from `POST /api/auth/token`).
//! - CSRF: every visitor gets a random token in a cookie (double submit). Every form POST
//!   must repeat it in a `csrf` field, and a cookie-authenticated API call in an
//!   `X-CSRF-Token` header; a cross-site page can do neither, since it cannot read the
//!   cookie. Bearer-token calls carry no ambient credentials and need no CSRF token.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use paperfeed_core::User;
use paperfeed_store::Session;
use sha2::{Digest, Sha256};

use crate::error::WebError;
use crate::state::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "pf_session";
/// The CSRF cookie.
pub const CSRF_COOKIE: &str = "pf_csrf";
/// The header cookie-authenticated API calls repeat the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;
/// Longest password accepted (argon2 takes any length; this bounds the work per request).
pub const MAX_PASSWORD: usize = 1024;

/// A random 256-bit token, hex encoded.
pub fn new_token() -> Result<String, WebError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| WebError::Internal(format!("no randomness available: {e}")))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn is_token(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Hashes a password (argon2id, random salt) on a blocking thread.
pub async fn hash_password(password: String) -> Result<String, WebError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| WebError::Internal(format!("password hashing failed: {e}")))
    })
    .await?
}

/// Checks a password against a stored hash (or against a dummy one when there is no
/// account, so both cases take as long).
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, WebError> {
    let exists = stored.is_some();
    let stored = match stored {
        Some(s) => s,
        None => dummy_hash()?.to_string(),
    };
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&stored) else {
            tracing::error!("a stored password hash is not a PHC string");
            return false;
        };
        exists
            && Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
    })
    .await
    .map_err(WebError::from)
}

fn dummy_hash() -> Result<&'static str, WebError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h);
    }
    let h = Argon2::default()
        .hash_password(new_token()?.as_bytes())
        .map_err(|e| WebError::Internal(format!("password hashing failed: {e}")))?
        .to_string();
    Ok(DUMMY.get_or_init(|| h))
}

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> Result<(), WebError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(WebError::param(
            "password",
            format!("use at least {MIN_PASSWORD} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD {
        return Err(WebError::param(
            "password",
            format!("use at most {MAX_PASSWORD} bytes"),
        ));
    }
    Ok(())
}

/// A cookie's value from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, whole site; `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let v =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}");
    // Names are constants and values hex, so the header is always valid.
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The visitor's CSRF token, put in the request by [`csrf_cookie`].
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Middleware: makes sure every visitor has a CSRF cookie, issuing one with the response
/// when the request came without.
pub async fn csrf_cookie(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let existing = cookie(req.headers(), CSRF_COOKIE)
        .filter(|t| is_token(t))
        .map(str::to_string);
    let (token, new) = match existing {
        Some(t) => (t, false),
        None => match new_token() {
            Ok(t) => (t, true),
            Err(e) => return axum::response::IntoResponse::into_response(e),
        },
    };
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let path = req.uri().path();
    let wants_cookie = new && !path.starts_with("/static/") && !path.starts_with("/api/");
    let mut resp = next.run(req).await;
    if wants_cookie {
        // A year: the token is not a credential, only proof a form came from this site.
        resp.headers_mut().append(
            SET_COOKIE,
            set_cookie(
                CSRF_COOKIE,
                &token,
                365 * 24 * 3600,
                state.config.secure_cookies,
            ),
        );
    }
    resp
}

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthVia {
    /// It did not.
    Anonymous,
    /// A session cookie (so state-changing calls need the CSRF token).
    Cookie,
    /// An `Authorization: Bearer` token.
    Bearer,
}

/// Who is asking: the signed-in user, if any, and the CSRF token forms must carry.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The user.
    pub user: Option<User>,
    /// How they proved it.
    pub via: AuthVia,
    /// The visitor's CSRF token.
    pub csrf: String,
    /// The hash of the session token, for logging out.
    pub session_hash: Option<String>,
}

impl Viewer {
    /// The user, or a 401.
    pub fn require(&self) -> Result<&User, WebError> {
        self.user
            .as_ref()
            .ok_or_else(|| WebError::Unauthorized("log in first".to_string()))
    }

    /// Checks a form's CSRF field (or the header, for htmx and API calls).
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), WebError> {
        if self.via == AuthVia::Bearer {
            return Ok(());
        }
        match submitted {
            Some(s) if same(s, &self.csrf) => Ok(()),
            _ => Err(WebError::Forbidden(
                "this form has expired or did not come from this site; reload the page and try again"
                    .to_string(),
            )),
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let (token, via) = match bearer {
            Some(t) => (Some(t), AuthVia::Bearer),
            None => (cookie(&parts.headers, SESSION_COOKIE), AuthVia::Cookie),
        };
        let Some(token) = token.filter(|t| is_token(t)) else {
            if via == AuthVia::Bearer {
                return Err(WebError::Unauthorized("invalid bearer token".to_string()));
            }
            return Ok(Viewer {
                user: None,
                via: AuthVia::Anonymous,
                csrf,
                session_hash: None,
            });
        };
        let hash = token_hash(token);
        let user = state.store.session_user(&hash, Utc::now()).await?;
        match user {
            Some(user) => Ok(Viewer {
                user: Some(user),
                via,
                csrf,
                session_hash: Some(hash),
            }),
            None if via == AuthVia::Bearer => Err(WebError::Unauthorized(
                "the bearer token is unknown or expired".to_string(),
            )),
            None => Ok(Viewer {
                user: None,
                via: AuthVia::Anonymous,
                csrf,
                session_hash: None,
            }),
        }
    }
}

/// Starts a session for `user`; returns the token to hand to the client.
pub async fn start_session(state: &AppState, user: &User) -> Result<String, WebError> {
    let token = new_token()?;
    let now = Utc::now();
    let lifetime = chrono::Duration::from_std(state.config.session_lifetime)
        .map_err(|e| WebError::Internal(format!("session lifetime: {e}")))?;
    state
        .store
        .create_session(&Session {
            token_hash: token_hash(&token),
            user: user.name.clone(),
            created: now,
            expires: now + lifetime,
        })
        .await?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_hashes_stable() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert!(is_token(&a) && is_token(&b));
        assert_ne!(a, b);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), a);
        assert!(!is_token("xyz"));
        assert!(!is_token(&a.to_uppercase()));
    }

    #[test]
    fn cookies_are_read_from_any_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; pf_csrf=abc"));
        h.append(COOKIE, HeaderValue::from_static("pf_session=def"));
        assert_eq!(cookie(&h, CSRF_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("def"));
        assert_eq!(cookie(&h, "b"), None);
        let set = set_cookie(SESSION_COOKIE, "t", 60, true);
        let set = set.to_str().unwrap();
        for part in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=60", "Secure"] {
            assert!(set.contains(part), "{set}");
        }
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let h = hash_password("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(
            verify_password("correct horse".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong horse".into(), Some(h))
                .await
                .unwrap()
        );
        assert!(!verify_password("anything".into(), None).await.unwrap());
        assert!(
            !verify_password("x".into(), Some("not a hash".into()))
                .await
                .unwrap()
        );
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough").is_ok());
    }

    #[test]
    fn csrf_compare() {
        let v = Viewer {
            user: None,
            via: AuthVia::Cookie,
            csrf: "abc".into(),
            session_hash: None,
        };
        assert!(v.check_csrf(Some("abc")).is_ok());
        assert!(v.check_csrf(Some("abd")).is_err());
        assert!(v.check_csrf(Some("ab")).is_err());
        assert!(v.check_csrf(None).is_err());
        let bearer = Viewer {
            via: AuthVia::Bearer,
            ..v
        };
        assert!(bearer.check_csrf(None).is_ok());
    }
}
