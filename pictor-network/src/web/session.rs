//! The session cookie: its name and attributes, reading it from a request, and the CSRF check of
//! a session's forms.

use super::AppState;
use crate::service::{NewSession, WebSession};
use crate::store::Store;
use axum::http::HeaderMap;
use axum::http::header::COOKIE;

/// The cookie holding the session token.
pub const COOKIE_NAME: &str = "pictor_session";

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
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_string())
        .filter(|value| !value.is_empty())
}

/// The signed-in session of the request, or `None` (no cookie, an unknown or expired one).
pub async fn current<S: Store>(state: &AppState<S>, headers: &HeaderMap) -> Option<WebSession> {
    let token = token(headers)?;
    state.web_session(&token).await.ok()
}

/// Whether a form's CSRF token is the session's, compared in constant time.
pub fn csrf_matches(session: &WebSession, sent: &str) -> bool {
    let expected = session.csrf_token.as_bytes();
    let sent = sent.as_bytes();
    expected.len() == sent.len()
        && expected
            .iter()
            .zip(sent)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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
