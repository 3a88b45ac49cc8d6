//! The operator's view (`/admin`, admin only; a 404 for anyone else): workers online and
//! offline, stuck tasks with a requeue button, workers with repeated rejects, the queues, and the
//! `/metrics` counters as charts of their growth over the last ten minutes.

use super::layout::{message, page, see_other};
use super::workers::unavailable;
use super::{AppState, charts, paths, session};
use crate::calendar as time;
use crate::service::{COUNTERS, OperatorView, WebSession};
use crate::store::Store;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use pictor_core::TaskId;
use pictor_core::api::ErrorCode;

fn operator_page(session: &WebSession, view: &OperatorView) -> Response {
    page(
        StatusCode::OK,
        "Operator",
        Some(session),
        html! {
            h1 { "Operator" }
            p { a href=(paths::ADMIN_DEPOSITS) { "Credit an account (deposits)" } }
            dl.figures {
                dt { "Workers online" } dd #workers-online { (view.online) }
                dt { "Offline" } dd { (view.offline) }
                dt { "Tasks waiting for a worker" } dd { (view.tasks_pending) }
                dt { "Checks waiting for a checker" } dd #checks-pending { (view.checks_pending) }
            }
            h2 { "Stuck tasks" }
            p.muted { "Leased more than three times as long as their estimate on their worker (and over a minute)." }
            @if view.stuck.is_empty() {
                p #no-stuck { "None." }
            } @else {
                table #stuck-tasks {
                    thead { tr {
                        th scope="col" { "Task" } th scope="col" { "Job" } th scope="col" { "Worker" }
                        th scope="col" { "Leased for" } th scope="col" { "Estimate" } th scope="col" { "" }
                    } }
                    tbody {
                        @for stuck in &view.stuck {
                            tr data-task=(stuck.task.0) {
                                td { (stuck.task.0) } td { (stuck.job) } td { (stuck.worker.0) }
                                td { (time::duration(stuck.leased_for_ms)) } td { (time::duration(stuck.estimate_ms)) }
                                td {
                                    form method="post" action=(paths::ADMIN_REQUEUE.replace("{id}", &stuck.task.0.to_string())) {
                                        input type="hidden" name="csrf" value=(session.csrf_token);
                                        button.secondary type="submit" aria-label={ "Requeue task " (stuck.task.0) } { "Requeue" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Workers with repeated rejects" }
            @if view.rejected.is_empty() {
                p { "None." }
            } @else {
                table #rejected-workers {
                    thead { tr { th scope="col" { "Worker" } th scope="col" { "Rejected results" } th scope="col" { "Jobs barred from" } } }
                    tbody {
                        @for tally in &view.rejected {
                            tr { td { (tally.worker_id) } td { (tally.rejects) } td { (tally.blocked_jobs) } }
                        }
                    }
                }
            }
            h2 { "Counters" }
            @for (i, name) in COUNTERS.iter().enumerate() {
                @let series: Vec<(u64, u64)> = view.samples.iter().map(|(at, values)| (*at, values[i])).collect();
                (charts::counter_growth(name, &series))
            }
            h2 { "Workers, most recently seen first" }
            table #workers {
                thead { tr {
                    th scope="col" { "Worker" } th scope="col" { "State" } th scope="col" { "Last seen" }
                    th scope="col" { "Slots" } th scope="col" { "Price" }
                } }
                tbody {
                    @for (worker, online) in &view.workers {
                        tr {
                            td { (worker.name) " (" (worker.account_id) ")" }
                            td { @if *online { strong.connected { "online" } } @else { span.offline { "offline" } } }
                            td { (time::minute(worker.last_seen_ms)) }
                            td { (worker.slots) }
                            td { (worker.price) }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /admin`.
pub async fn show<S: Store>(State(state): State<AppState<S>>, headers: HeaderMap) -> Response {
    let session = match session::admin_session(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    match state.operator_view(&session.caller).await {
        Ok(view) => operator_page(&session, &view),
        Err(error) => unavailable(&session, &error),
    }
}

/// `POST /admin/tasks/{id}/requeue`.
pub async fn requeue<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<session::CsrfForm>,
) -> Response {
    let session = match session::admin_form(&state, &headers, &form.csrf).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let Ok(task) = id.parse::<u64>() else {
        return message(
            StatusCode::NOT_FOUND,
            Some(&session),
            "There is no such task.",
        );
    };
    match state.requeue_task(&session.caller, TaskId(task)).await {
        Ok(()) => see_other(paths::ADMIN),
        Err(error) if matches!(error.code, ErrorCode::NotFound | ErrorCode::Conflict) => {
            message(StatusCode::CONFLICT, Some(&session), &error.message)
        }
        Err(error) => unavailable(&session, &error),
    }
}
