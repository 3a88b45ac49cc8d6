//! A person's account page (`/account`): signed in with an API key, choose a login and password
//! to sign in once from now on; signed in as a person, see every account linked to you, act as
//! any of them (the header's role switch posts here), and link another by its API key. Every form
//! carries the CSRF token; passwords are never shown back, not even in a refused form.

use super::layout::{message, page, see_other};
use super::{AppState, paths, session};
use crate::service::{ServiceError, WebSession};
use crate::store::Store;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use pictor_core::api::ErrorCode;
use serde::Deserialize;

/// The password form's fields.
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeated: String,
}

/// The link form's fields.
#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    api_key: String,
}

/// The switch form's fields.
#[derive(Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
}

/// The page, with a notice or an error.
fn account_page(status: StatusCode, session: &WebSession, note: Option<(&str, bool)>) -> Response {
    page(
        status,
        "Account",
        Some(session),
        html! {
            h1 { "Account" }
            @if let Some((text, is_error)) = note {
                @if is_error { p.error role="alert" { (text) } } @else { p.notice role="status" { (text) } }
            }
            @match &session.person {
                None => {
                    p { "You are signed in with the API key of " strong { (session.caller.account.name) } "." }
                    form #set-password method="post" action=(paths::ACCOUNT_PASSWORD) {
                        h2 { "Sign in with a password from now on" }
                        p.muted { "One login for all your accounts: link your other accounts (a worker owner's, a checker's) once signed in." }
                        input type="hidden" name="csrf" value=(session.csrf_token);
                        label for="login" { "Login (a-z 0-9 . _ @ -)" }
                        input #login type="text" name="login" autocomplete="username" required minlength="3" maxlength="64";
                        label for="password" { "Password (at least 12 characters)" }
                        input #password type="password" name="password" autocomplete="new-password" required minlength="12";
                        label for="repeated" { "The password again" }
                        input #repeated type="password" name="repeated" autocomplete="new-password" required minlength="12";
                        button type="submit" { "Set the password" }
                    }
                }
                Some(person) => {
                    p { "Signed in as " strong { (person.login) } "." }
                    table {
                        caption.muted { "Your accounts" }
                        thead { tr { th scope="col" { "Account" } th scope="col" { "Role" } th scope="col" { "" } } }
                        tbody {
                            @for account in &person.accounts {
                                tr {
                                    td { (account.name) }
                                    td { (super::layout::serde_name(&account.role)) }
                                    td {
                                        @if account.id == session.caller.id() {
                                            strong { "acting as this one" }
                                        } @else {
                                            form method="post" action=(paths::ACCOUNT_SWITCH) {
                                                input type="hidden" name="csrf" value=(session.csrf_token);
                                                input type="hidden" name="account" value=(account.id);
                                                button.secondary type="submit" aria-label={ "Act as " (account.name) } { "Act as this one" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    form #link-account method="post" action=(paths::ACCOUNT_LINK) {
                        h2 { "Link another account" }
                        input type="hidden" name="csrf" value=(session.csrf_token);
                        label for="api_key" { "That account's API key" }
                        input #api_key type="password" name="api_key" autocomplete="off" required;
                        button type="submit" { "Link it" }
                    }
                }
            }
        },
    )
}

/// The form's answer for a service refusal: the reason when it is the person's to fix.
fn refused(session: &WebSession, error: &ServiceError) -> Response {
    match error.code {
        ErrorCode::InvalidInput | ErrorCode::Conflict | ErrorCode::Forbidden => account_page(
            StatusCode::BAD_REQUEST,
            session,
            Some((&error.message, true)),
        ),
        ErrorCode::Unauthorized => account_page(
            StatusCode::BAD_REQUEST,
            session,
            Some(("That key is not valid.", true)),
        ),
        _ => {
            tracing::warn!(%error, "an account change failed");
            message(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(session),
                "That did not work just now; try again in a moment.",
            )
        }
    }
}

/// `GET /account`.
pub async fn show<S: Store>(State(state): State<AppState<S>>, headers: HeaderMap) -> Response {
    match session::current(&state, &headers).await {
        Some(session) => account_page(StatusCode::OK, &session, None),
        None => see_other(paths::SIGN_IN),
    }
}

/// `POST /account/password`.
pub async fn set_password<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let session = match session::form_session(&state, &headers, &form.csrf).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if form.password != form.repeated {
        return account_page(
            StatusCode::BAD_REQUEST,
            &session,
            Some(("The two passwords differ.", true)),
        );
    }
    if let Err(error) = state
        .create_person(&session, &form.login, &form.password)
        .await
    {
        return refused(&session, &error);
    }
    // The key's session is replaced by the person's.
    let replaced = async {
        let new = state
            .sign_in_with_password(&form.login, &form.password)
            .await?;
        if let Some(token) = session::token(&headers) {
            state.sign_out(&token).await?;
        }
        Ok::<_, ServiceError>(new)
    };
    match replaced.await {
        Ok(new) => {
            let mut response = see_other(paths::ACCOUNT);
            if let Ok(cookie) = session::set_cookie(&new, state.config().secure_cookies).parse() {
                response
                    .headers_mut()
                    .insert(axum::http::header::SET_COOKIE, cookie);
            }
            response
        }
        Err(error) => refused(&session, &error),
    }
}

/// `POST /account/link`.
pub async fn link<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Form(form): Form<LinkForm>,
) -> Response {
    let session = match session::form_session(&state, &headers, &form.csrf).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    match state.link_account(&session, form.api_key.trim()).await {
        Ok(_) => see_other(paths::ACCOUNT),
        Err(error) => refused(&session, &error),
    }
}

/// `POST /account/switch`.
pub async fn switch<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Form(form): Form<SwitchForm>,
) -> Response {
    let session = match session::form_session(&state, &headers, &form.csrf).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let (Ok(account), Some(token)) = (form.account.parse::<u64>(), session::token(&headers)) else {
        return message(
            StatusCode::NOT_FOUND,
            Some(&session),
            "There is no such account of yours.",
        );
    };
    match state.switch_account(&token, account).await {
        Ok(()) => see_other(paths::HOME),
        Err(error) if error.code == ErrorCode::NotFound => message(
            StatusCode::NOT_FOUND,
            Some(&session),
            "There is no such account of yours.",
        ),
        Err(error) => refused(&session, &error),
    }
}
