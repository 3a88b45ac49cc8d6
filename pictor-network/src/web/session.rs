//! The session cookie: its name and attributes, reading it from a request, and the CSRF check of
//! a session's forms.

use super::AppState;
use super::layout::{message, page, see_other};
use crate::service::{NewSession, PersonView, WebSession};
use crate::store::Store;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;

pub use crate::http::SESSION_COOKIE as COOKIE_NAME;

/// The `Set-Cookie` value of a new session: HttpOnly (no script reads it), SameSite=Strict (no
/// other site's page sends it), `Secure` when the app is served over HTTPS.
pub fn set_cookie(session: &NewSession, secure: bool) -> String {
    format!(
        "{COOKIE_NAME}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}",
        session.token,
        session.max_age_secs,
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE_NAME}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The session token the request's cookies carry, if any.
pub fn token(headers: &HeaderMap) -> Option<String> {
    crate::http::session_cookie(headers).map(str::to_string)
}

/// The signed-in session of the request, or `None` (no cookie, an unknown or expired one).
pub async fn current<S: Store>(state: &AppState<S>, headers: &HeaderMap) -> Option<WebSession> {
    let token = token(headers)?;
    state.web_session(&token).await.ok()
}

/// The session of a form's request whose CSRF token is `csrf`: without a session, the sign-in
/// page; with a token that is not the session's, a 403 page.
pub async fn form_session<S: Store>(
    state: &AppState<S>,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<WebSession, Response> {
    let Some(session) = current(state, headers).await else {
        return Err(see_other(super::paths::SIGN_IN));
    };
    if !session.csrf_matches(csrf) {
        return Err(message(
            StatusCode::FORBIDDEN,
            Some(&session),
            "This form has expired or did not come from this site; reload the page and try again.",
        ));
    }
    Ok(session)
}

/// A form carrying only the CSRF token (a button: revoke, delete, requeue).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    /// The session's CSRF token, as the page drew it.
    #[serde(default)]
    pub csrf: String,
}

/// The session of an admin's page: without a session, the sign-in page; for anyone but an admin,
/// a 404 page (the page does not exist for them).
pub async fn admin_session<S: Store>(
    state: &AppState<S>,
    headers: &HeaderMap,
) -> Result<WebSession, Response> {
    match current(state, headers).await {
        Some(session) => admin_only(session).await,
        None => Err(see_other(super::paths::SIGN_IN)),
    }
}

/// [`admin_session`] for a form's request whose CSRF token is `csrf` ([`form_session`]).
pub async fn admin_form<S: Store>(
    state: &AppState<S>,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<WebSession, Response> {
    admin_only(form_session(state, headers, csrf).await?).await
}

/// `session` if it acts as an admin account, else the 404 page.
async fn admin_only(session: WebSession) -> Result<WebSession, Response> {
    if session.caller.account.role == pictor_core::api::Role::Admin {
        Ok(session)
    } else {
        Err(message(
            StatusCode::NOT_FOUND,
            Some(&session),
            "There is no such page.",
        ))
    }
}

/// The session and its person, for the pages of a person's machines and money (`title` names
/// the page): without a session, the sign-in page; signed in with an API key only, a page
/// asking to choose a login first.
pub async fn person_session<S: Store>(
    state: &AppState<S>,
    headers: &HeaderMap,
    title: &str,
) -> Result<(WebSession, PersonView), Response> {
    match current(state, headers).await {
        Some(session) => with_person(session, title).await,
        None => Err(see_other(super::paths::SIGN_IN)),
    }
}

/// [`person_session`] for a form's request whose CSRF token is `csrf` ([`form_session`]).
pub async fn person_form<S: Store>(
    state: &AppState<S>,
    headers: &HeaderMap,
    csrf: &str,
    title: &str,
) -> Result<(WebSession, PersonView), Response> {
    with_person(form_session(state, headers, csrf).await?, title).await
}

/// `session` and its person, or the page asking to choose a login first.
async fn with_person(
    session: WebSession,
    title: &str,
) -> Result<(WebSession, PersonView), Response> {
    match session.person.clone() {
        Some(person) => Ok((session, person)),
        None => Err(page(
            StatusCode::OK,
            title,
            Some(&session),
            html! {
                h1 { (title) }
                p {
                    "Workers, checkers and statements belong to a person: choose a login and password on your "
                    a href=(super::paths::ACCOUNT) { "Account" } " page first, then come back."
                }
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use axum::http::header::COOKIE;

    #[test]
    fn the_session_token_is_read_from_any_cookie_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(token(&headers), None);
        headers.append(COOKIE, HeaderValue::from_static("theme=dark"));
        headers.append(
            COOKIE,
            HeaderValue::from_static("a=1; pictor_session=abc123; b=2"),
        );
        assert_eq!(token(&headers).as_deref(), Some("abc123"));
        let mut empty = HeaderMap::new();
        empty.append(COOKIE, HeaderValue::from_static("pictor_session="));
        assert_eq!(token(&empty), None);
    }

    #[test]
    fn the_cookie_is_http_only_and_strict() {
        let session = NewSession {
            token: "t0k".into(),
            max_age_secs: 60,
        };
        let plain = set_cookie(&session, false);
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure"));
        assert!(set_cookie(&session, true).ends_with("; Secure"));
    }
}
