//! The page shell every page of the app shares: head, header with who is signed in and the
//! sign-out form (carrying the session's CSRF token), and the main content.

use super::paths;
use crate::service::WebSession;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Serialize;

/// A whole page: `title`, the header for `session` (signed in or not), and `content`.
pub fn page(
    status: StatusCode,
    title: &str,
    session: Option<&WebSession>,
    content: Markup,
) -> Response {
    render(status, title, session, None, &[], content)
}

/// A page that loads `scripts` (same-origin paths, as the Content-Security-Policy demands).
pub fn page_with_scripts(
    status: StatusCode,
    title: &str,
    session: Option<&WebSession>,
    scripts: &[&str],
    content: Markup,
) -> Response {
    render(status, title, session, None, scripts, content)
}

/// A page that follows a job live: the app's script reads the job's events from `events` (the
/// page's `main` carries the URL) and updates the page as they arrive.
pub fn live_page(title: &str, session: &WebSession, events: &str, content: Markup) -> Response {
    render(
        StatusCode::OK,
        title,
        Some(session),
        Some(events),
        &[paths::SCRIPT],
        content,
    )
}

fn render(
    status: StatusCode,
    title: &str,
    session: Option<&WebSession>,
    events: Option<&str>,
    scripts: &[&str],
    content: Markup,
) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Pictor Cloud" }
                link rel="stylesheet" href=(paths::STYLE);
                @for script in scripts {
                    script src=(script) defer {}
                }
            }
            body {
                header {
                    a.brand href=(paths::HOME) { "Pictor Cloud" }
                    nav aria-label="Sections" {
                        a href=(paths::HOME) { "Rendering" }
                        " · "
                        a href=(paths::WORKERS) { "My Workers" }
                        " · "
                        a href=(paths::CHECKERS) { "Checker Nodes" }
                        " · "
                        a href=(paths::CREDIT) { "Credit" }
                        " · "
                        a href=(paths::EXPLORER) { "Explorer" }
                    }
                    @if let Some(session) = session {
                        span {
                            @if let Some(person) = &session.person {
                                "Signed in as " strong { (person.login) } ", acting as "
                                strong.acting { (session.caller.account.name) }
                            } @else {
                                "Signed in as " strong.acting { (session.caller.account.name) }
                            }
                            " (" (serde_name(&session.caller.account.role)) ") · "
                            a href=(paths::ACCOUNT) { "Account" }
                            " · "
                            a href=(paths::WEBHOOKS) { "Webhooks" }
                            @if session.caller.account.role == pictor_core::api::Role::Admin {
                                " · "
                                a href=(paths::ADMIN) { "Operator" }
                            }
                        }
                        form method="post" action=(paths::SIGN_OUT) {
                            input type="hidden" name="csrf" value=(session.csrf_token);
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main data-events=[events] { (content) }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// A `303 See Other` to `location` (after a form, or to the sign-in page).
pub fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(axum::http::header::LOCATION, location.to_string())],
    )
        .into_response()
}

/// The sign-in page, for a browser without a session.
pub fn to_sign_in() -> Response {
    see_other(super::paths::SIGN_IN)
}

/// A page saying what went wrong, with the status it answers.
pub fn message(status: StatusCode, session: Option<&WebSession>, text: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    page(
        status,
        title,
        session,
        html! {
            h1 { (title) }
            p { (text) }
            p { a href=(paths::HOME) { "Back to the start" } }
        },
    )
}

/// A unit enum's serde name (`"running"` for `JobState::Running`), for display.
pub fn serde_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}
