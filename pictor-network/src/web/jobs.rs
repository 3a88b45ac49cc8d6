//! Rendering, for creators: a job's page (the list is `job_list`). Ownership is checked by the
//! same service calls the API uses: another creator's job is a 404, exactly like one that does
//! not exist.

use super::AppState;
use super::actions::{Control, control_href};
use super::layout::{live_page, message, serde_name, to_sign_in};
use super::{paths, session};
use crate::service::{FrameProgress, WebSession};
use crate::store::Store;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use pictor_core::JobId;
use pictor_core::api::{ErrorCode, JobView};
use pictor_core::job::JobState;

fn frame_href(job: JobId, frame: u32) -> String {
    paths::JOB_FRAME
        .replace("{id}", &job.0.to_string())
        .replace("{frame}", &frame.to_string())
}

/// A tile's state (its `data-state`, the CSS class) and what it says.
fn tile_state(progress: Option<&FrameProgress>) -> (&'static str, String) {
    match progress {
        None | Some(FrameProgress::Queued) => ("queued", "queued".into()),
        Some(FrameProgress::Requeued { rejects }) => {
            ("rejected", format!("rejected {rejects}×, queued again"))
        }
        Some(FrameProgress::Rendering { worker }) => {
            ("rendering", format!("rendering on worker {worker}"))
        }
        Some(FrameProgress::Verifying) => ("verifying", "verifying".into()),
        Some(FrameProgress::Accepted) => ("accepted", "accepted".into()),
        Some(FrameProgress::Failed { reason }) => ("failed", format!("failed: {reason}")),
        Some(FrameProgress::Cancelled) => ("cancelled", "cancelled".into()),
    }
}

/// A job's page.
pub fn job_href(job: &JobView) -> String {
    paths::JOB.replace("{id}", &job.id.0.to_string())
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
    let progress = match state.frame_progress(&session.caller, job.id).await {
        Ok(progress) => progress,
        Err(error) => {
            tracing::warn!(%error, "reading a job's frames for the web app failed");
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&session),
                "The job could not be read; try again in a moment.",
            );
        }
    };
    let money = match state.job_money(&session.caller, job.id).await {
        Ok(money) => money,
        Err(error) => {
            tracing::warn!(%error, "reading a job's money for the web app failed");
            Vec::new()
        }
    };
    let accepted = progress
        .values()
        .filter(|frame| **frame == FrameProgress::Accepted)
        .count();
    let events = paths::JOB_EVENTS.replace("{id}", &job.id.0.to_string());
    live_page(
        &format!("Job {}", job.id.0),
        &session,
        &events,
        html! {
            h1 { "Job " (job.id.0) @if let Some(name) = &job.spec.name { ": " (name) } }
            dl {
                dt { "State" } dd #job-state { (serde_name(&job.state)) }
                dt { "Frames accepted" } dd {
                    span #accepted-count { (accepted) } " of " (job.spec.frames.len())
                }
                dt { "Spent" } dd #job-spent data-micros=(job.spent.micros()) { (job.spent) }
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
            @if accepted > 0 && !matches!(job.state, JobState::Cancelled | JobState::Failed) {
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
                    @let (state, says) = tile_state(progress.get(&frame));
                    @let href = frame_href(job.id, frame);
                    li #{ "frame-" (frame) } class={ "frame " (state) } data-state=(state)
                        data-frame=(frame) data-href=(href)
                        data-preview={ (href) "/preview/small" } data-medium={ (href) "/preview/medium" } {
                        span.number { (frame) }
                        " "
                        span.state { (says) }
                        @if state == "accepted" {
                            a.download href=(href) download { "Download" }
                            img loading="lazy" src={ (href) "/preview/small" } alt={ "Frame " (frame) };
                        }
                    }
                }
            }
            (super::money::section(&money))
            p { a href=(paths::HOME) { "All jobs" } }
        },
    )
}
