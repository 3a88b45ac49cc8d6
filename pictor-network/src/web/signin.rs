//! Signing in (`GET`/`POST /signin`) with an API key or with a person's login and password, and
//! out (`POST /signout`).
//!
//! A sign-in attempt of either kind is counted by [`SignInLimiter`] before the key or password is
//! even looked at; a refused one creates nothing and says only that it is not valid (a wrong
//! password and an unknown login read the same). Sign-out is a form carrying the
//! session's CSRF token: without it (another site's forged request) nothing happens.

use super::AppState;
use super::layout::{message, page};
use super::limiter::SignInLimiter;
use super::{paths, session};
use crate::store::Store;
use axum::Extension;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::header::SET_COOKIE;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use pictor_core::api::ErrorCode;
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// The sign-in forms' fields: an API key, or a login and a password.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

/// The sign-out form's fields.
#[derive(Deserialize)]
pub struct SignOutForm {
    csrf: String,
}

/// A `303 See Other` to `location`, with extra headers.
fn see_other(location: &str, cookie: Option<String>) -> Response {
    let mut response = super::layout::see_other(location);
    if let Some(cookie) = cookie
        && let Ok(value) = cookie.parse()
    {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

/// The sign-in page, with an optional error.
fn sign_in_page(status: StatusCode, error: Option<&str>) -> Response {
    page(
        status,
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(error) = error {
                p.error role="alert" { (error) }
            }
            form #with-password method="post" action=(paths::SIGN_IN) {
                h2 { "With your login" }
                label for="login" { "Login" }
                input #login type="text" name="login" autocomplete="username" required;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
            form #with-key method="post" action=(paths::SIGN_IN) {
                h2 { "With an API key" }
                label for="api_key" { "API key" }
                input #api_key type="password" name="api_key" autocomplete="off" required;
                button type="submit" { "Sign in" }
            }
            p.muted {
                "Your API key was given to you when your account was created (an admin's is in "
                code { "admin.key" } " in the coordinator's data directory). Signed in with a key, "
                "choose a login and password on your Account page to sign in once for all your accounts."
            }
        },
    )
}

/// `GET /signin`: the form, or the start page for a browser already signed in.
pub async fn form<S: Store>(State(state): State<AppState<S>>, headers: HeaderMap) -> Response {
    if session::current(&state, &headers).await.is_some() {
        return see_other(paths::HOME, None);
    }
    sign_in_page(StatusCode::OK, None)
}

/// `POST /signin`.
pub async fn submit<S: Store>(
    State(state): State<AppState<S>>,
    Extension(limiter): Extension<Arc<SignInLimiter>>,
    extensions: Extensions,
    Form(form): Form<SignInForm>,
) -> Response {
    // Behind a proxy every client shares the proxy's address, and so its allowance.
    let client = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    if !limiter.allow(client) {
        return sign_in_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many sign-in attempts; wait a minute and try again."),
        );
    }
    let with_password = !form.login.trim().is_empty();
    let signed_in = if with_password {
        state
            .sign_in_with_password(&form.login, &form.password)
            .await
    } else {
        state.sign_in_with_key(form.api_key.trim()).await
    };
    match signed_in {
        Ok(new) => see_other(
            paths::HOME,
            Some(session::set_cookie(&new, state.config().secure_cookies)),
        ),
        Err(error) if error.code == ErrorCode::Unauthorized => sign_in_page(
            StatusCode::UNAUTHORIZED,
            Some(if with_password {
                "That login and password are not valid."
            } else {
                "That key is not valid."
            }),
        ),
        Err(error) => {
            tracing::warn!(%error, "sign-in failed");
            message(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "Signing in failed; try again in a moment.",
            )
        }
    }
}

/// `POST /signout`.
pub async fn sign_out<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Form(form): Form<SignOutForm>,
) -> Response {
    let Some(current) = session::current(&state, &headers).await else {
        return see_other(paths::SIGN_IN, None);
    };
    if !current.csrf_matches(&form.csrf) {
        return message(
            StatusCode::FORBIDDEN,
            Some(&current),
            "This form has expired or did not come from this site; reload the page and try again.",
        );
    }
    let Some(token) = session::token(&headers) else {
        return see_other(paths::SIGN_IN, None);
    };
    if let Err(error) = state.sign_out(&token).await {
        tracing::warn!(%error, "sign-out failed");
        return message(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(&current),
            "Signing out failed; try again in a moment.",
        );
    }
    see_other(
        paths::SIGN_IN,
        Some(session::clear_cookie(state.config().secure_cookies)),
    )
}
