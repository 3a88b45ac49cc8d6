//! Rendering, for creators: the jobs list (the signed-in start page) and a job's page. Ownership
//! is checked by the same service calls the API uses: another creator's job is a 404, exactly
//! like one that does not exist.

use super::AppState;
use super::actions::{Control, control_href};
use super::layout::{live_page, message, page, serde_name};
use super::{paths, session};
use crate::service::WebSession;
use crate::store::Store;
use axum::extract::{Path, Query, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use pictor_core::JobId;
use pictor_core::api::{ErrorCode, JobView, Role};
use pictor_core::job::JobState;
use serde::Deserialize;

/// Jobs listed on the start page.
const JOBS_PER_PAGE: u32 = 50;

fn to_sign_in() -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, paths::SIGN_IN)]).into_response()
}

fn frame_href(job: JobId, frame: u32) -> String {
    paths::JOB_FRAME
        .replace("{id}", &job.0.to_string())
        .replace("{frame}", &frame.to_string())
}

fn job_href(job: &JobView) -> String {
    paths::JOB.replace("{id}", &job.id.0.to_string())
}

/// The jobs list's filters, kept in the URL: `?state=running&after=40`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Only jobs in this state (its name, e.g. `running`).
    state: Option<String>,
    /// Jobs after this id (the next page's cursor).
    after: Option<u64>,
}

/// The states the list can be filtered by, in the order the filter offers them.
const FILTER_STATES: [JobState; 6] = [
    JobState::Queued,
    JobState::Running,
    JobState::Paused,
    JobState::Completed,
    JobState::Failed,
    JobState::Cancelled,
];

/// `GET /`: the creator's jobs; for other roles, what the app has for them so far.
pub async fn home<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
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
    let filter = match query.state.as_deref().filter(|text| !text.is_empty()) {
        None => None,
        Some(text) => match FILTER_STATES
            .iter()
            .find(|known| serde_name(*known) == text)
        {
            Some(known) => Some(*known),
            None => {
                return message(
                    StatusCode::BAD_REQUEST,
                    Some(&session),
                    "There is no such job state to filter by.",
                );
            }
        },
    };
    let after = query.after.unwrap_or(0);
    match state
        .list_jobs_in(&session.caller, filter, after, JOBS_PER_PAGE)
        .await
    {
        Ok((jobs, next)) => jobs_page(&session, &jobs, filter, next),
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

fn jobs_page(
    session: &WebSession,
    jobs: &[JobView],
    filter: Option<JobState>,
    next: Option<u64>,
) -> Response {
    let filter_name = filter.as_ref().map(serde_name).unwrap_or_default();
    let next_href = next.map(|after| {
        if filter_name.is_empty() {
            format!("{}?after={after}", paths::HOME)
        } else {
            format!("{}?state={filter_name}&after={after}", paths::HOME)
        }
    });
    page(
        StatusCode::OK,
        "Rendering",
        Some(session),
        html! {
            h1 { "Rendering" }
            p { a.button #new-job-link href=(paths::NEW_JOB) { "New job" } }
            form.filters method="get" action=(paths::HOME) {
                label for="state" { "State" }
                select #state name="state" {
                    option value="" selected[filter.is_none()] { "All" }
                    @for known in &FILTER_STATES {
                        @let name = serde_name(known);
                        option value=(name) selected[filter == Some(*known)] { (name) }
                    }
                }
                button type="submit" { "Show" }
            }
            @if jobs.is_empty() {
                @if filter.is_some() {
                    p { "No " (filter_name) " jobs." }
                } @else {
                    p { "No jobs yet. Start one with " a href=(paths::NEW_JOB) { "New job" } ", "
                        code { "pictor job submit" } " or the Blender add-on." }
                }
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
            @if let Some(href) = next_href {
                p { a rel="next" href=(href) { "Next page" } }
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
    let accepted: std::collections::BTreeSet<u32> =
        match state.frames(&session.caller, job.id).await {
            Ok(frames) => frames.iter().map(|frame| frame.frame).collect(),
            Err(error) => {
                tracing::warn!(%error, "reading a job's frames for the web app failed");
                return message(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Some(&session),
                    "The job could not be read; try again in a moment.",
                );
            }
        };
    let events = paths::JOB_EVENTS.replace("{id}", &job.id.0.to_string());
    live_page(
        &format!("Job {}", job.id.0),
        &session,
        &events,
        html! {
            h1 { "Job " (job.id.0) }
            dl {
                dt { "State" } dd #job-state { (serde_name(&job.state)) }
                dt { "Frames accepted" } dd {
                    span #accepted-count { (accepted.len()) } " of " (job.spec.frames.len())
                }
                dt { "Spent" } dd { (job.spent) }
                dt { "Held in escrow" } dd { (job.escrow) }
                dt { "Resolution" } dd { (job.spec.resolution.width) " × " (job.spec.resolution.height) }
                dt { "Samples" } dd { (job.spec.samples) }
                @if !job.spec.tags.is_empty() {
                    dt { "Tags" } dd { @for tag in &job.spec.tags { span.tag { (tag) } } }
                }
            }
            @let controls = match job.state {
                JobState::Queued | JobState::Running => &[Control::Pause, Control::Cancel][..],
                JobState::Paused => &[Control::Resume, Control::Cancel][..],
                _ => &[][..],
            };
            @if !controls.is_empty() {
                div.controls {
                    @for control in controls {
                        form method="post" action=(control_href(job.id, *control)) {
                            input type="hidden" name="csrf" value=(session.csrf_token);
                            button type="submit" { (control.name().1) }
                        }
                    }
                }
            }
            @if !accepted.is_empty() && !matches!(job.state, JobState::Cancelled | JobState::Failed) {
                form.rerender method="post" action=(control_href(job.id, Control::Rerender)) {
                    input type="hidden" name="csrf" value=(session.csrf_token);
                    label for="rerender-frames" { "Frames to render again" }
                    input #rerender-frames type="text" name="frames" placeholder="1-3,7" required;
                    button type="submit" { (Control::Rerender.name().1) }
                }
            }
            h2 { "Frames" }
            p {
                a.button #download-zip href=(paths::JOB_FRAMES_ZIP.replace("{id}", &job.id.0.to_string()))
                    download { "Download all accepted frames (zip)" }
            }
            section #flipbook aria-labelledby="flipbook-title" {
                h3 #flipbook-title { "Flipbook" }
                img #flipbook-picture alt="The flipbook's current frame";
                div.controls {
                    button #flipbook-play type="button" aria-pressed="false" { "Play" }
                    label for="flipbook-fps" { "Frames per second" }
                    input #flipbook-fps type="number" min="1" max="60" value="12";
                    span #flipbook-frame { "No accepted frame yet" }
                }
            }
            ol.frames aria-label="Frames" aria-live="polite" {
                @for frame in job.spec.frames.iter() {
                    @let state = if accepted.contains(&frame) { "accepted" } else { "queued" };
                    @let href = frame_href(job.id, frame);
                    li #{ "frame-" (frame) } class={ "frame " (state) } data-state=(state)
                        data-frame=(frame) data-href=(href)
                        data-preview={ (href) "/preview/small" } data-medium={ (href) "/preview/medium" } {
                        span.number { (frame) }
                        " "
                        span.state { (state) }
                        @if accepted.contains(&frame) {
                            a.download href=(href) download { "Download" }
                            img loading="lazy" src={ (href) "/preview/small" } alt={ "Frame " (frame) };
                        }
                    }
                }
            }
            p { a href=(paths::HOME) { "All jobs" } }
        },
    )
}
