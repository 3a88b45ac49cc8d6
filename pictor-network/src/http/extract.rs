//! Extractors: the authenticated caller, and JSON bodies whose errors are JSON too.

use super::AppState;
use super::error::{HttpError, invalid, too_large};
use crate::service::Caller;
use crate::store::Store;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The cookie holding a Pictor Cloud session token (`web::session` sets it).
pub const SESSION_COOKIE: &str = "pictor_session";

/// The header a Pictor Cloud page's script sends its session's CSRF token in when it calls the API
/// with the session cookie instead of a key.
pub const CSRF_HEADER: &str = "x-pictor-csrf";

/// The Pictor Cloud session token the request's cookies carry, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// The caller behind the request's API key (401 without a valid one). A request without a key
/// may instead carry a Pictor Cloud session cookie together with that session's CSRF token in the
/// [`CSRF_HEADER`] (what the app's script sends): the cookie alone is never enough, so another
/// site's page cannot act through a signed-in browser.
pub struct Auth(pub Caller);

impl<S: Store> FromRequestParts<AppState<S>> for Auth {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        let headers = &parts.headers;
        let key = bearer(headers);
        let csrf = headers
            .get(CSRF_HEADER)
            .and_then(|value| value.to_str().ok());
        let caller = match (key, session_cookie(headers), csrf) {
            (None, Some(token), Some(csrf)) => state.authenticate_session(token, csrf).await?,
            _ => state.authenticate(key).await?,
        };
        Ok(Auth(caller))
    }
}

/// Path parameters; one that does not parse (`/v1/jobs/abc`) answers a JSON 400 naming the
/// parameter, like every other bad input.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(invalid("path", rejection.body_text())),
        }
    }
}

/// A query string; one that does not parse answers a JSON 400.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(invalid("query", rejection.body_text())),
        }
    }
}

/// A JSON body; malformed JSON and oversized bodies answer JSON errors.
pub struct Body<T>(pub T);

impl<S: Store, T: DeserializeOwned> FromRequest<AppState<S>> for Body<T> {
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &AppState<S>) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(JsonRejection::BytesRejection(rejection)) => Err(bytes_error(&rejection, state)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(invalid("Content-Type", "send the body as application/json"))
            }
            Err(rejection) => Err(invalid("body", rejection.body_text())),
        }
    }
}

/// Maps a body-reading failure: over the limit is 413, anything else 400.
pub fn bytes_error<S: Store>(rejection: &BytesRejection, state: &AppState<S>) -> HttpError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(state.config().max_body_bytes)
    } else {
        invalid("body", rejection.body_text())
    }
}
