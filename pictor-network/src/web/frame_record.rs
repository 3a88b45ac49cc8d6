//! The Explorer's public records: a job (`/explorer/jobs/{id}`: its state and its accepted
//! frames) and a frame (`/explorer/jobs/{id}/frames/{frame}`: the output's hash, the worker, each
//! check with the checker's verdict and statistics, the ledger entries that paid for it). No
//! sign-in; nothing of the creator.

use super::layout::{message, page, serde_name};
use super::{AppState, paths, session};
use crate::service::{FrameProgress, FrameRecord};
use crate::store::Store;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use pictor_core::JobId;
use pictor_core::api::ErrorCode;

/// Evidence shown on a frame's record, at most (a checker may send a lot).
const MAX_EVIDENCE_CHARS: usize = 4_000;

/// A public job's record.
pub fn job_href(job: JobId) -> String {
    paths::EXPLORER_JOB.replace("{id}", &job.0.to_string())
}

fn frame_href(job: JobId, frame: u32) -> String {
    paths::EXPLORER_FRAME
        .replace("{id}", &job.0.to_string())
        .replace("{frame}", &frame.to_string())
}

fn progress_text(progress: &FrameProgress) -> String {
    match progress {
        FrameProgress::Queued => "queued".into(),
        FrameProgress::Requeued { rejects } => format!("rejected {rejects}×, queued again"),
        FrameProgress::Rendering { worker } => format!("rendering on worker {worker}"),
        FrameProgress::Verifying => "verifying".into(),
        FrameProgress::Accepted => "accepted".into(),
        FrameProgress::Failed { reason } => format!("failed: {reason}"),
        FrameProgress::Cancelled => "cancelled".into(),
    }
}

/// `GET /explorer/jobs/{id}`.
pub async fn job<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let session = session::current(&state, &headers).await;
    let not_found = || {
        message(
            StatusCode::NOT_FOUND,
            session.as_ref(),
            "There is no such job.",
        )
    };
    let Ok(id) = id.parse::<u64>().map(JobId) else {
        return not_found();
    };
    let (job, accepted) = match state.public_job(id).await {
        Ok(found) => found,
        Err(error) if error.code == ErrorCode::NotFound => return not_found(),
        Err(error) => {
            tracing::warn!(%error, "reading a public job failed");
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                session.as_ref(),
                "The job could not be read; try again in a moment.",
            );
        }
    };
    page(
        StatusCode::OK,
        &format!("Job {}", job.id.0),
        session.as_ref(),
        html! {
            h1 { "Job " (job.id.0) }
            dl {
                dt { "State" } dd { (serde_name(&job.state)) }
                dt { "Tasks accepted" } dd { (job.tasks_accepted) " / " (job.tasks_total) }
            }
            h2 { "Accepted frames" }
            @if accepted.is_empty() {
                p { "None yet." }
            } @else {
                ul.frame-links {
                    @for frame in &accepted {
                        li { a href=(frame_href(job.id, *frame)) { "Frame " (frame) } }
                    }
                }
            }
            p { a href=(paths::EXPLORER) { "Back to the Explorer" } }
        },
    )
}

/// `GET /explorer/jobs/{id}/frames/{frame}`.
pub async fn frame<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path((id, frame)): Path<(String, String)>,
) -> Response {
    let session = session::current(&state, &headers).await;
    let not_found = || {
        message(
            StatusCode::NOT_FOUND,
            session.as_ref(),
            "There is no such frame.",
        )
    };
    let (Ok(id), Ok(frame)) = (id.parse::<u64>().map(JobId), frame.parse::<u32>()) else {
        return not_found();
    };
    let record = match state.frame_record(id, frame).await {
        Ok(record) => record,
        Err(error) if error.code == ErrorCode::NotFound => return not_found(),
        Err(error) => {
            tracing::warn!(%error, "reading a frame's record failed");
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                session.as_ref(),
                "The frame could not be read; try again in a moment.",
            );
        }
    };
    record_page(&record, session.as_ref())
}

fn record_page(record: &FrameRecord, session: Option<&crate::service::WebSession>) -> Response {
    page(
        StatusCode::OK,
        &format!("Frame {} of job {}", record.frame, record.job.0),
        session,
        html! {
            h1 { "Frame " (record.frame) " of job " (record.job.0) }
            p { "Job " (serde_name(&record.job_state)) ". "
                a href=(job_href(record.job)) { "All of the job's accepted frames" } }
            @for task in &record.tasks {
                section.task-record aria-labelledby={ "task-" (task.task.0) } {
                    h2 #{ "task-" (task.task.0) } { "Task " (task.task.0) }
                    dl {
                        dt { "State" } dd { (progress_text(&task.progress)) }
                        @if let Some(worker) = task.worker { dt { "Worker" } dd { "worker " (worker) } }
                        @if let Some((hash, size)) = &task.output {
                            dt { "Output (BLAKE3)" } dd { code.output-hash { (hash) } }
                            dt { "Size" } dd { (size) " bytes" }
                        }
                    }
                    h3 { "Checks" }
                    @if task.checks.is_empty() {
                        p { "None yet." }
                    } @else {
                        ol.checks {
                            @for check in &task.checks {
                                li {
                                    "Check " (check.id) " of result " (check.attempt)
                                    @if check.escalation > 0 { " (escalation " (check.escalation) ")" }
                                    ": "
                                    @match &check.verdict {
                                        Some(verdict) => strong.verdict { (serde_name(verdict)) },
                                        None => "waiting",
                                    }
                                    @if let Some(checker) = check.checker { " by checker " (checker) }
                                    @if let Some(evidence) = &check.evidence {
                                        @let text = serde_json::to_string_pretty(evidence).unwrap_or_default();
                                        details {
                                            summary { "The checker's statistics" }
                                            pre { (text.chars().take(MAX_EVIDENCE_CHARS).collect::<String>()) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    h3 { "Payments" }
                    @if task.payments.is_empty() {
                        p { "None yet." }
                    } @else {
                        ol.ledger-entries {
                            @for entry in &task.payments {
                                li { "Ledger entry " (entry.seq) ": " (entry.amount) " credits, "
                                    (serde_name(&entry.kind)) " from " (entry.from.to_string()) " to " (entry.to.to_string()) }
                            }
                        }
                    }
                }
            }
            p { a href=(paths::EXPLORER_LEDGER) { "Verify the whole ledger" } }
        },
    )
}
