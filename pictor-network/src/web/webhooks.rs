//! Webhooks, for a person: their endpoints (URL, events), a form to add one — its signing secret
//! is shown once, on the answer to that form — and to delete one, and their newest deliveries with
//! each one's state, tries, and the endpoint's last answer.

use super::layout::{message, page, see_other};
use super::workers::unavailable;
use super::{AppState, paths, session};
use crate::calendar as time;
use crate::service::{PersonView, WEBHOOK_EVENTS, WebSession, WebhooksView};
use crate::store::Store;
use crate::store::webhooks::WebhookRow;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use pictor_core::api::ErrorCode;

/// What each event is, for the form.
fn event_text(event: &str) -> &'static str {
    match event {
        "job.finished" => "a job of yours completed, failed or was cancelled",
        "frame.rejected" => {
            "a checker rejected a frame of a job of yours, or one your worker rendered"
        }
        "worker.offline" => "a worker of yours stopped being seen",
        "budget.threshold" => "a creator account of yours reached 50, 80 or 100 % of its budget",
        _ => "",
    }
}

/// The page, with the secret of an endpoint just added or an error.
fn webhooks_page(
    status: StatusCode,
    session: &WebSession,
    view: &WebhooksView,
    added: Option<&WebhookRow>,
    error: Option<&str>,
) -> Response {
    page(
        status,
        "Webhooks",
        Some(session),
        html! {
            h1 { "Webhooks" }
            p.muted {
                "Events of all your accounts, posted as JSON to your endpoints and signed: "
                code { "Pictor-Signature: t=<seconds>,v1=<hex>" } " is HMAC-SHA256 keyed with the endpoint's secret over "
                code { "<t>.<body>" } ". A failed delivery is tried again, waiting twice as long each time; "
                code { "Pictor-Delivery" } " is the same on every try."
            }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            @if let Some(hook) = added {
                div.notice role="status" {
                    p { "Endpoint added. Its signing secret, shown this once — keep it with the receiver:" }
                    p { code #webhook-secret { (hook.secret) } }
                }
            }
            @if view.webhooks.is_empty() {
                p { "No endpoints yet." }
            } @else {
                table #webhooks {
                    caption.muted { "Your endpoints" }
                    thead { tr { th scope="col" { "URL" } th scope="col" { "Events" } th scope="col" { "Added" } th scope="col" { "" } } }
                    tbody {
                        @for hook in &view.webhooks {
                            tr {
                                td { code { (hook.url) } }
                                td { (hook.events.join(", ")) }
                                td { (time::minute(hook.created_at_ms)) }
                                td {
                                    form method="post" action=(paths::WEBHOOK_DELETE.replace("{id}", &hook.id.to_string())) {
                                        input type="hidden" name="csrf" value=(session.csrf_token);
                                        button.secondary type="submit" aria-label={ "Delete the endpoint " (hook.url) } { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form #new-webhook method="post" action=(paths::WEBHOOKS) {
                h2 { "Add an endpoint" }
                input type="hidden" name="csrf" value=(session.csrf_token);
                label for="webhook-url" { "URL (https://)" }
                input #webhook-url type="text" name="url" inputmode="url" required maxlength="2000";
                fieldset {
                    legend { "Events" }
                    @for event in WEBHOOK_EVENTS {
                        div {
                            input id={ "event-" (event.replace('.', "-")) } type="checkbox" name="events" value=(event);
                            " "
                            label.inline for={ "event-" (event.replace('.', "-")) } { code { (event) } " — " (event_text(event)) }
                        }
                    }
                }
                button type="submit" { "Add the endpoint" }
            }
            h2 { "Deliveries" }
            @if view.deliveries.is_empty() {
                p { "None yet." }
            } @else {
                table #deliveries {
                    thead { tr {
                        th scope="col" { "When" } th scope="col" { "Event" } th scope="col" { "Endpoint" }
                        th scope="col" { "State" } th scope="col" { "Tries" } th scope="col" { "Last answer" }
                    } }
                    tbody {
                        @for (delivery, url) in &view.deliveries {
                            tr data-delivery=(delivery.id) {
                                td { (time::minute(delivery.created_at_ms)) }
                                td { code { (delivery.event) } }
                                td { code { (url) } }
                                td.state { (delivery.state.as_str()) }
                                td.tries { (delivery.attempts) }
                                td {
                                    @if let Some(status) = delivery.last_status { (status) " " }
                                    @if let Some(error) = &delivery.last_error { span.muted { (error) } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /webhooks`.
pub async fn show<S: Store>(State(state): State<AppState<S>>, headers: HeaderMap) -> Response {
    let (session, person) = match session::person_session(&state, &headers, "Webhooks").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    render(&state, &session, &person, StatusCode::OK, None, None).await
}

async fn render<S: Store>(
    state: &AppState<S>,
    session: &WebSession,
    person: &PersonView,
    status: StatusCode,
    added: Option<&WebhookRow>,
    error: Option<&str>,
) -> Response {
    match state.webhooks_of(person).await {
        Ok(view) => webhooks_page(status, session, &view, added, error),
        Err(error) => unavailable(session, &error),
    }
}

/// `POST /webhooks`: adds an endpoint (the body is a form with repeated `events` fields, which
/// axum's `Form` does not read, hence the raw body).
pub async fn add<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut csrf = String::new();
    let mut url = String::new();
    let mut events = Vec::new();
    for (name, value) in form_urlencoded(&body) {
        match name.as_str() {
            "csrf" => csrf = value,
            "url" => url = value,
            "events" => events.push(value),
            _ => {}
        }
    }
    let (session, person) = match session::person_form(&state, &headers, &csrf, "Webhooks").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match state.create_webhook(&person, &url, &events).await {
        Ok(hook) => render(&state, &session, &person, StatusCode::OK, Some(&hook), None).await,
        Err(error) if matches!(error.code, ErrorCode::InvalidInput | ErrorCode::Conflict) => {
            let text = format!(
                "{}{}",
                error.field.map(|f| format!("{f}: ")).unwrap_or_default(),
                error.message
            );
            render(
                &state,
                &session,
                &person,
                StatusCode::BAD_REQUEST,
                None,
                Some(&text),
            )
            .await
        }
        Err(error) => unavailable(&session, &error),
    }
}

/// `POST /webhooks/{id}/delete`.
pub async fn delete<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::extract::Form(form): axum::extract::Form<session::CsrfForm>,
) -> Response {
    let (session, person) =
        match session::person_form(&state, &headers, &form.csrf, "Webhooks").await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let deleted = match id.parse::<u64>() {
        Ok(id) => state.delete_webhook(&person, id).await,
        Err(_) => Err(crate::service::ServiceError::not_found("webhook")),
    };
    match deleted {
        Ok(()) => see_other(paths::WEBHOOKS),
        Err(error) if error.code == ErrorCode::NotFound => message(
            StatusCode::NOT_FOUND,
            Some(&session),
            "There is no such endpoint of yours.",
        ),
        Err(error) => unavailable(&session, &error),
    }
}

/// The `name=value` pairs of an `application/x-www-form-urlencoded` body, decoded.
fn form_urlencoded(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

/// `+` as a space and `%XX` as its byte; a `%` not followed by two hex digits stays as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], escaped) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (byte, None) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_and_escapes_are_read() {
        let pairs = form_urlencoded(b"csrf=a%2Bb&events=job.finished&events=worker.offline&url=https%3A%2F%2Fx.io%2Fh+1&bad=%zz&end=%4&sign=%+1");
        assert_eq!(pairs[0], ("csrf".into(), "a+b".into()));
        assert_eq!(pairs[1].1, "job.finished");
        assert_eq!(pairs[2].1, "worker.offline");
        assert_eq!(pairs[3].1, "https://x.io/h 1");
        assert_eq!(pairs[4].1, "%zz");
        assert_eq!(pairs[5].1, "%4");
        assert_eq!(pairs[6].1, "% 1");
    }
}
