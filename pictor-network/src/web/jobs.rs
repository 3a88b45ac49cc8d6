//! Rendering, for creators: the jobs list (the signed-in start page) and a job's page. Ownership
//! is checked by the same service calls the API uses: another creator's job is a 404, exactly
//! like one that does not exist.

use super::AppState;
use super::layout::{message, page, serde_name};
use super::{paths, session};
use crate::service::WebSession;
use crate::store::Store;
use axum::extract::{Path, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use pictor_core::JobId;
use pictor_core::api::{ErrorCode, JobView, Role};

/// Jobs listed on the start page.
const JOBS_PER_PAGE: u32 = 50;

fn to_sign_in() -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, paths::SIGN_IN)]).into_response()
}

fn job_href(job: &JobView) -> String {
    paths::JOB.replace("{id}", &job.id.0.to_string())
}

/// `GET /`: the creator's jobs; for other roles, what the app has for them so far.
pub async fn home<S: Store>(State(state): State<AppState<S>>, headers: HeaderMap) -> Response {
    let Some(session) = session::current(&state, &headers).await else {
        return to_sign_in();
    };
    if session.caller.require(Role::Creator).is_err() {
        return page(
            StatusCode::OK,
            "Pictor Cloud",
            Some(&session),
            html! {
                h1 { "Welcome" }
                p {
                    "Pages for the " (serde_name(&session.caller.account.role))
                    " role come in a later release; the API and the " code { "pictor" }
                    " command serve it now."
                }
            },
        );
    }
    match state.list_jobs(&session.caller, 0, JOBS_PER_PAGE).await {
        Ok((jobs, _next)) => jobs_page(&session, &jobs),
        Err(error) => {
            tracing::warn!(%error, "listing jobs for the web app failed");
            message(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&session),
                "Your jobs could not be listed; try again in a moment.",
            )
        }
    }
}

fn jobs_page(session: &WebSession, jobs: &[JobView]) -> Response {
    page(
        StatusCode::OK,
        "Rendering",
        Some(session),
        html! {
            h1 { "Rendering" }
            @if jobs.is_empty() {
                p { "No jobs yet. Submit one with " code { "pictor job submit" } " or the Blender add-on." }
            } @else {
                table {
                    caption.muted { "Your jobs, oldest first" }
                    thead { tr {
                        th scope="col" { "Job" }
                        th scope="col" { "State" }
                        th scope="col" { "Frames accepted" }
                        th.optional scope="col" { "Spent" }
                        th.optional scope="col" { "Tags" }
                    } }
                    tbody {
                        @for job in jobs {
                            tr {
                                td { a href=(job_href(job)) { "Job " (job.id.0) } }
                                td { (serde_name(&job.state)) }
                                td {
                                    progress value=(job.tasks_accepted) max=(job.tasks_total.max(1))
                                        aria-label={ "Job " (job.id.0) " progress" } {}
                                    " " (job.tasks_accepted) " / " (job.tasks_total)
                                }
                                td.optional { (job.spent) }
                                td.optional { @for tag in &job.spec.tags { span.tag { (tag) } } }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /jobs/{id}`.
pub async fn job_page<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(session) = session::current(&state, &headers).await else {
        return to_sign_in();
    };
    let not_found = |session: &WebSession| {
        message(
            StatusCode::NOT_FOUND,
            Some(session),
            "There is no such job.",
        )
    };
    let Ok(id) = id.parse::<u64>() else {
        return not_found(&session);
    };
    let job = match state.get_job(&session.caller, JobId(id)).await {
        Ok(job) => job,
        Err(error) if matches!(error.code, ErrorCode::NotFound | ErrorCode::Forbidden) => {
            return not_found(&session);
        }
        Err(error) => {
            tracing::warn!(%error, "reading a job for the web app failed");
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&session),
                "The job could not be read; try again in a moment.",
            );
        }
    };
    page(
        StatusCode::OK,
        &format!("Job {}", job.id.0),
        Some(&session),
        html! {
            h1 { "Job " (job.id.0) }
            dl {
                dt { "State" } dd { (serde_name(&job.state)) }
                dt { "Frames accepted" } dd { (job.tasks_accepted) " of " (job.tasks_total) }
                dt { "Spent" } dd { (job.spent) }
                dt { "Held in escrow" } dd { (job.escrow) }
                dt { "Resolution" } dd { (job.spec.resolution.width) " × " (job.spec.resolution.height) }
                dt { "Samples" } dd { (job.spec.samples) }
                @if !job.spec.tags.is_empty() {
                    dt { "Tags" } dd { @for tag in &job.spec.tags { span.tag { (tag) } } }
                }
            }
            p { a href=(paths::HOME) { "All jobs" } }
        },
    )
}
