//! A job's controls on its page: pause, resume, cancel, re-render frames — forms that post the
//! session's CSRF token, and do what the API's routes of the same names do, as the session's
//! account.

use super::layout::message;
use super::{AppState, paths, session};
use crate::store::Store;
use axum::extract::{Form, Path, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use pictor_core::JobId;
use pictor_core::api::ErrorCode;
use pictor_core::job::FrameSet;
use serde::Deserialize;

/// The controls' form: the session's CSRF token, and for a re-render the frames (`1-3,7`).
#[derive(Deserialize)]
pub struct ControlForm {
    csrf: String,
    #[serde(default)]
    frames: Option<String>,
}

/// What a control does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Stops leasing the job's tasks until resumed.
    Pause,
    /// Leases its tasks again.
    Resume,
    /// Ends the job; what it holds in escrow goes back.
    Cancel,
    /// Renders the frames the form names again (new holds from the balance).
    Rerender,
}

impl Control {
    /// The control's path segment and button label.
    pub fn name(self) -> (&'static str, &'static str) {
        match self {
            Control::Pause => ("pause", "Pause"),
            Control::Resume => ("resume", "Resume"),
            Control::Cancel => ("cancel", "Cancel the job"),
            Control::Rerender => ("rerender", "Render again"),
        }
    }

    fn parse(text: &str) -> Option<Control> {
        [
            Control::Pause,
            Control::Resume,
            Control::Cancel,
            Control::Rerender,
        ]
        .into_iter()
        .find(|control| control.name().0 == text)
    }
}

/// The path a control's form posts to.
pub fn control_href(job: JobId, control: Control) -> String {
    paths::JOB_CONTROL
        .replace("{id}", &job.0.to_string())
        .replace("{control}", control.name().0)
}

/// `POST /jobs/{id}/{control}`.
pub async fn control<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path((id, control)): Path<(String, String)>,
    Form(form): Form<ControlForm>,
) -> Response {
    let Some(current) = session::current(&state, &headers).await else {
        return (StatusCode::SEE_OTHER, [(LOCATION, paths::SIGN_IN)]).into_response();
    };
    let (Ok(job), Some(control)) = (id.parse::<u64>().map(JobId), Control::parse(&control)) else {
        return message(
            StatusCode::NOT_FOUND,
            Some(&current),
            "There is no such page.",
        );
    };
    if !current.csrf_matches(&form.csrf) {
        return message(
            StatusCode::FORBIDDEN,
            Some(&current),
            "This form has expired or did not come from this site; reload the page and try again.",
        );
    }
    let done = match control {
        Control::Pause => state.pause_job(&current.caller, job).await,
        Control::Resume => state.resume_job(&current.caller, job).await,
        Control::Cancel => state.cancel_job(&current.caller, job).await,
        Control::Rerender => {
            let text = form.frames.as_deref().unwrap_or_default().trim();
            let Ok(frames) = text.parse::<FrameSet>() else {
                return message(
                    StatusCode::BAD_REQUEST,
                    Some(&current),
                    &format!("{text:?} names no frames: write them like 1-3,7."),
                );
            };
            state.rerender(&current.caller, job, &frames).await
        }
    };
    match done {
        Ok(_) => {
            let page = paths::JOB.replace("{id}", &job.0.to_string());
            (StatusCode::SEE_OTHER, [(LOCATION, page)]).into_response()
        }
        Err(error) if matches!(error.code, ErrorCode::NotFound | ErrorCode::Forbidden) => message(
            StatusCode::NOT_FOUND,
            Some(&current),
            "There is no such job.",
        ),
        Err(error) if error.code == ErrorCode::Conflict => {
            message(StatusCode::CONFLICT, Some(&current), &error.message)
        }
        Err(error) if error.code == ErrorCode::InvalidInput => {
            message(StatusCode::BAD_REQUEST, Some(&current), &error.message)
        }
        Err(error)
            if matches!(
                error.code,
                ErrorCode::InsufficientFunds | ErrorCode::Infeasible
            ) =>
        {
            let status =
                StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::CONFLICT);
            message(status, Some(&current), &error.message)
        }
        Err(error) => {
            tracing::warn!(%error, "a job control from the web app failed");
            message(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&current),
                "That did not work; try again in a moment.",
            )
        }
    }
}
