//! Creating a worker in Pictor Cloud and its config file: the new-worker form; downloading the
//! config (`worker.toml`, the file `pictor worker run --config` reads) — a CSRF-protected POST,
//! once per issue, which mints the worker's API key into the file and nowhere else; and revoking
//! it (the worker using it is refused from its next request on).
//!
//! The file holds no signing key: the worker app generates one on the owner's machine the first
//! time it starts.

use super::layout::{message, page, see_other};
use super::workers::{tier_text, unavailable, worker_href};
use super::{AppState, paths, session};
use crate::service::{ServiceError, WebSession};
use crate::store::Store;
use crate::store::providers::WorkerSettings;
use axum::extract::{Form, Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use pictor_agent::WorkerConfig;
use pictor_core::Money;
use pictor_core::api::ErrorCode;
use pictor_core::job::Tier;
use serde::Deserialize;
use std::path::PathBuf;

/// The new-worker form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NewWorkerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    min_tier: String,
    #[serde(default)]
    slots: String,
    #[serde(default)]
    renderer: String,
    #[serde(default)]
    idle_command: String,
}

/// The new-worker page, with the values sent back and an error when refused.
fn form_page(
    status: StatusCode,
    session: &WebSession,
    form: &NewWorkerForm,
    error: Option<&str>,
) -> Response {
    let chosen = |value: &str, default: &str, option: &str| {
        if value.is_empty() {
            default == option
        } else {
            value == option
        }
    };
    page(
        status,
        "Create a worker",
        Some(session),
        html! {
            p { a href=(paths::WORKERS) { "← My Workers" } }
            h1 { "Create a worker" }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form #new-worker method="post" action=(paths::NEW_WORKER) {
                input type="hidden" name="csrf" value=(session.csrf_token);
                label for="name" { "Name" }
                input #name type="text" name="name" required maxlength="64" value=(form.name);
                label for="price" { "Price per bench-hour, in credits" }
                input #price type="text" name="price" inputmode="decimal" required value=(if form.price.is_empty() { "2" } else { &form.price });
                label for="min_tier" { "Jobs it takes" }
                select #min_tier name="min_tier" {
                    @for tier in Tier::ALL {
                        @let name = pictor_agent::config::tier_name(tier);
                        option value=(name) selected[chosen(&form.min_tier, "economy", name)] { (tier_text(tier)) }
                    }
                }
                label for="renderer" { "Renderers" }
                select #renderer name="renderer" {
                    option value="blender" selected[chosen(&form.renderer, "blender", "blender")] { "Blender (and the built-in renderer)" }
                    option value="builtin" selected[chosen(&form.renderer, "blender", "builtin")] { "The built-in renderer only" }
                }
                label for="slots" { "Tasks at once" }
                input #slots type="number" name="slots" min="1" required value=(if form.slots.is_empty() { "1" } else { &form.slots });
                label for="idle_command" { "Idle-time command (optional; runs while it has no task, stopped when one arrives)" }
                input #idle_command type="text" name="idle_command" maxlength="1000" value=(form.idle_command);
                button type="submit" { "Create the worker" }
            }
        },
    )
}

/// `GET /workers/new`.
pub async fn new_worker_form<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Response {
    match session::person_session(&state, &headers, "Create a worker").await {
        Ok((session, _)) => form_page(StatusCode::OK, &session, &NewWorkerForm::default(), None),
        Err(response) => response,
    }
}

/// `POST /workers/new`: creates the worker and shows its page, where its config is downloaded.
pub async fn create_worker<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Form(form): Form<NewWorkerForm>,
) -> Response {
    let (session, person) =
        match session::person_form(&state, &headers, &form.csrf, "Create a worker").await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let settings = match settings_of(&form) {
        Ok(settings) => settings,
        Err(error) => return form_page(StatusCode::BAD_REQUEST, &session, &form, Some(&error)),
    };
    match state.create_cloud_worker(&person, &settings).await {
        Ok(id) => see_other(&worker_href(id)),
        Err(error) if error.code == ErrorCode::InvalidInput => form_page(
            StatusCode::BAD_REQUEST,
            &session,
            &form,
            Some(&error.message),
        ),
        Err(error) => unavailable(&session, &error),
    }
}

/// The settings a form asks for (the service checks them against the market's bounds).
fn settings_of(form: &NewWorkerForm) -> Result<WorkerSettings, String> {
    let price: Money = form
        .price
        .trim()
        .parse()
        .map_err(|error| format!("Price: {error}"))?;
    let slots: u32 = form
        .slots
        .trim()
        .parse()
        .map_err(|_| "Tasks at once: a whole number, at least 1".to_string())?;
    let min_tier = match form.min_tier.trim() {
        "" => Tier::Economy,
        other => other
            .parse::<Tier>()
            .map_err(|_| "Jobs it takes: economy, standard or priority".to_string())?,
    };
    Ok(WorkerSettings {
        name: form.name.clone(),
        price,
        min_tier,
        idle_command: Some(form.idle_command.clone()),
        slots,
        renderer: if form.renderer.is_empty() {
            "blender".into()
        } else {
            form.renderer.clone()
        },
    })
}

/// `POST /workers/{id}/config`: the worker's config file, once per issue.
pub async fn download_config<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<session::CsrfForm>,
) -> Response {
    let (session, person) = match session::person_form(&state, &headers, &form.csrf, "Worker").await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(network) = network_url(&headers, state.config().secure_cookies) else {
        return message(
            StatusCode::BAD_REQUEST,
            Some(&session),
            "The request names no valid host.",
        );
    };
    let Ok(id) = id.parse::<u64>() else {
        return refused(&session, &ServiceError::not_found("worker"));
    };
    let (row, api_key) = match state.issue_worker_config(&person, id).await {
        Ok(issued) => issued,
        Err(error) => return refused(&session, &error),
    };
    let settings = row.settings;
    let config = WorkerConfig {
        network,
        api_key,
        name: settings.name,
        price_credits_per_hour: settings.price.to_string(),
        key_file: PathBuf::from("worker.key"),
        cache_dir: PathBuf::from("worker-cache"),
        cache_max_bytes: pictor_agent::config::DEFAULT_CACHE_MAX_BYTES,
        slots: settings.slots,
        renderer: settings.renderer,
        blender: Vec::new(),
        idle_command: settings.idle_command,
        speed_millis: 0,
        min_tier: settings.min_tier,
        // The models live on the worker's machine: its owner adds `models_dir` after
        // `pictor model install`.
        models_dir: None,
    };
    (
        [
            (CONTENT_TYPE, "application/toml; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"worker.toml\""),
            (CACHE_CONTROL, "no-store"),
        ],
        config.to_toml(),
    )
        .into_response()
}

/// `POST /workers/{id}/revoke`.
pub async fn revoke_config<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<session::CsrfForm>,
) -> Response {
    let (session, person) = match session::person_form(&state, &headers, &form.csrf, "Worker").await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<u64>() else {
        return refused(&session, &ServiceError::not_found("worker"));
    };
    match state.revoke_worker_config(&person, id).await {
        Ok(()) => see_other(&worker_href(id)),
        Err(error) => refused(&session, &error),
    }
}

/// The page for a refused config request.
fn refused(session: &WebSession, error: &ServiceError) -> Response {
    match error.code {
        ErrorCode::NotFound => message(
            StatusCode::NOT_FOUND,
            Some(session),
            "There is no such worker of yours.",
        ),
        ErrorCode::Conflict => message(StatusCode::CONFLICT, Some(session), &error.message),
        _ => unavailable(session, error),
    }
}

/// The network's URL as the browser reached it (`Host`), for the config file: `https` when the
/// app is served over HTTPS (its cookies are `Secure`). `None` for a missing or odd host.
fn network_url(headers: &HeaderMap, https: bool) -> Option<String> {
    let host = headers.get(HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    plain.then(|| format!("{}://{host}", if https { "https" } else { "http" }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_network_url_is_the_host_the_browser_used() {
        let mut headers = HeaderMap::new();
        assert_eq!(network_url(&headers, false), None);
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:7878"));
        assert_eq!(
            network_url(&headers, false).as_deref(),
            Some("http://127.0.0.1:7878")
        );
        assert_eq!(
            network_url(&headers, true).as_deref(),
            Some("https://127.0.0.1:7878")
        );
        headers.insert(HOST, HeaderValue::from_static("evil.example/\"x"));
        assert_eq!(network_url(&headers, false), None);
    }

    #[test]
    fn the_form_s_numbers_are_read_or_refused_with_the_field_s_name() {
        let form = NewWorkerForm {
            name: "gpu".into(),
            price: "2.5".into(),
            slots: "2".into(),
            min_tier: "priority".into(),
            ..NewWorkerForm::default()
        };
        let settings = settings_of(&form).expect("valid");
        assert_eq!(settings.slots, 2);
        assert_eq!(settings.min_tier, Tier::Priority);
        assert_eq!(settings.renderer, "blender");
        let bad = NewWorkerForm {
            price: "lots".into(),
            ..form.clone()
        };
        assert!(settings_of(&bad).unwrap_err().starts_with("Price"));
        let bad = NewWorkerForm {
            slots: "-1".into(),
            ..form
        };
        assert!(settings_of(&bad).unwrap_err().starts_with("Tasks at once"));
    }
}
