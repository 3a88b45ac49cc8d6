//! My Workers, for GPU owners: every worker of the signed-in person with its state (live), what
//! it earned (from the ledger), how its tasks ended, a chart of earnings per day and the
//! earnings as CSV; one worker's page with its hardware as reported, the network's measure of
//! it, its state timeline and task history with each task's pay and verdict. Creating a worker
//! and its config file are `worker_config`'s.
//!
//! The live parts of both pages are fragments the page's `regions.js` fetches again every two
//! seconds (`/workers/live`, `/workers/{id}/live`): the same markup the page was rendered with.

use super::layout::{message, page_with_scripts};
use super::{AppState, charts, csv, paths, session};
use crate::calendar as time;
use crate::service::{
    ConfigState, MyWorkers, PersonView, WebSession, WorkerCard, WorkerDetail, WorkerOutcome,
    signed_credits,
};
use crate::store::Store;
use crate::store::providers::ActivityRow;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use pictor_core::api::WorkerActivity;
use pictor_core::job::{RendererKind, Tier};

/// Reports of a worker's state timeline shown on its page.
const TIMELINE_SHOWN: usize = 20;

/// A worker's page.
pub fn worker_href(id: u64) -> String {
    paths::WORKER.replace("{id}", &id.to_string())
}

/// What a worker reported doing, in words.
pub fn activity_text(activity: &ActivityRow) -> String {
    let task = activity
        .task_id
        .map(|task| format!(" task {task}"))
        .unwrap_or_default();
    match activity.activity {
        WorkerActivity::Connected => "connected".into(),
        WorkerActivity::Idle => "idle, waiting for a task".into(),
        WorkerActivity::IdleCommand => "idle, running its idle-time command".into(),
        WorkerActivity::Downloading => format!("downloading{task}"),
        WorkerActivity::Rendering => format!("rendering{task}"),
        WorkerActivity::Uploading => format!("uploading{task}"),
        WorkerActivity::Stopped => "stopped".into(),
    }
}

/// A tier's name and who it serves.
pub fn tier_text(tier: Tier) -> &'static str {
    match tier {
        Tier::Economy => "economy (every job)",
        Tier::Standard => "standard (standard and priority jobs)",
        Tier::Priority => "priority (priority jobs only)",
    }
}

/// The state line of a card: Connected / Offline / Never started, and what it is doing.
fn state_line(card: &WorkerCard) -> Markup {
    let id = card.account.id;
    html! {
        p.state id={ "worker-" (id) "-state" } {
            @if card.connected {
                strong.connected { "Connected" }
                @if let Some(activity) = &card.activity {
                    " — " (activity_text(activity))
                }
            } @else if card.registered.is_some() {
                strong.offline { "Offline" }
                @if let Some(worker) = &card.registered {
                    " — last seen " (time::minute(worker.last_seen_ms))
                }
            } @else {
                strong.offline { "Not started yet" }
                " — import its config into the worker app: "
                code { "pictor worker run --config worker.toml" }
            }
        }
    }
}

/// The counts of a card: earned, balance, tasks by outcome.
fn figures(card: &WorkerCard) -> Markup {
    let id = card.account.id;
    html! {
        dl.figures {
            dt { "Earned" } dd id={ "worker-" (id) "-earned" } { (signed_credits(card.earned)) " credits" }
            dt { "Balance" } dd { (signed_credits(card.balance)) " credits" }
            dt { "Tasks accepted" } dd id={ "worker-" (id) "-accepted" } { (card.tally.accepted) }
            dt { "Rejected" } dd { (card.tally.rejected) }
            dt { "Failed" } dd { (card.failed()) }
            dt { "Rendering now" } dd { (card.leases) }
        }
    }
}

/// The live part of My Workers: the summary over every worker, then one card per worker.
fn workers_live(workers: &MyWorkers) -> Markup {
    let accepted: u64 = workers.cards.iter().map(|c| c.tally.accepted).sum();
    let rejected: u64 = workers.cards.iter().map(|c| c.tally.rejected).sum();
    let failed: u64 = workers.cards.iter().map(WorkerCard::failed).sum();
    let fortnight: i128 = workers.days.iter().map(|d| d.micros).sum();
    html! {
        section aria-labelledby="summary" {
            h2 #summary { "All your workers" }
            dl.figures {
                dt { "Earned, last " (workers.days.len()) " days" } dd #earned-total { (signed_credits(fortnight)) " credits" }
                dt { "At the last hour's rate" } dd #predicted { (signed_credits(workers.last_hour * 24)) " credits a day" }
                dt { "Tasks accepted" } dd { (accepted) }
                dt { "Rejected" } dd { (rejected) }
                dt { "Failed" } dd { (failed) }
                dt { "Uptime, last 24 h" } dd { (workers.uptime_permille / 10) "." (workers.uptime_permille % 10) " %" }
            }
            (charts::earnings_per_day(&workers.days, "Earnings per day"))
        }
        @if workers.cards.is_empty() {
            p { "No workers yet: create one, download its config and import it into the worker app." }
        } @else {
            ul.cards {
                @for card in &workers.cards {
                    li.card id={ "worker-" (card.account.id) } {
                        h3 { a href=(worker_href(card.account.id)) { (card.account.name) } }
                        (state_line(card))
                        (figures(card))
                        @if let Some(worker) = &card.registered {
                            p.muted { (worker.hardware.gpu_name) " · " (worker.price) " credits per bench-hour" }
                        }
                    }
                }
            }
        }
    }
}

/// The live part of a worker's page: its config (so a download shows as done without a reload),
/// state, figures, machine, earnings, timeline and tasks.
fn worker_live(session: &WebSession, detail: &WorkerDetail) -> Markup {
    let card = &detail.card;
    let worker = card.registered.as_ref();
    html! {
        (config_section(session, card))
        (state_line(card))
        (figures(card))
        section aria-labelledby="hardware" {
            h2 #hardware { "Machine" }
            @match worker {
                None => p { "It has not started yet: what it runs on shows here once it has." }
                Some(worker) => {
                    p.muted { "As the worker reports it: shown, never used for pay." }
                    dl.figures {
                        dt { "GPU" } dd { (worker.hardware.gpu_name) " (" (super::layout::serde_name(&worker.hardware.vendor)) ")" }
                        dt { "GPU memory" } dd { (worker.hardware.vram_mib) " MiB" }
                        dt { "Blender" } dd {
                            @let blenders: Vec<String> = worker.hardware.renderers.iter()
                                .filter(|(kind, _)| *kind == RendererKind::Blender)
                                .map(|(_, version)| version.to_string()).collect();
                            @if blenders.is_empty() { "none" } @else { (blenders.join(", ")) }
                        }
                        @if let Some(percent) = card.activity.as_ref().and_then(|a| a.gpu_utilisation_percent) {
                            dt { "GPU utilisation" } dd { (percent) " %" }
                        }
                        dt { "Benchmark speed" } dd { (worker.speed_millis) "‰ of the reference (declared)" }
                    }
                    p.muted { "What the network measures:" }
                    dl.figures {
                        dt { "Speed it is paid and scheduled on" } dd { (detail.believed_speed_millis) "‰ of the reference" }
                        dt { "Reliability" } dd {
                            @let ended = card.tally.accepted + card.tally.rejected + card.failed();
                            @if ended == 0 { "no finished tasks yet" } @else {
                                (card.tally.accepted * 1000 / ended / 10) " % of its finished tasks accepted"
                            }
                        }
                        dt { "Accepted work" } dd { (worker.record.accepted_tasks) " tasks, " (time::duration(worker.record.bench_ms)) " of reference work" }
                        dt { "Price" } dd { (worker.price) " credits per bench-hour" }
                        dt { "Takes jobs of tier" } dd { (tier_text(worker.min_tier)) }
                        dt { "Slots" } dd { (worker.slots) }
                        dt { "Uptime, last 24 h" } dd { (detail.uptime_permille / 10) "." (detail.uptime_permille % 10) " %" }
                    }
                }
            }
        }
        section aria-labelledby="earnings" {
            h2 #earnings { "Earnings" }
            (charts::earnings_per_day(&detail.days, "Earnings per day"))
        }
        section aria-labelledby="timeline" {
            h2 #timeline { "State timeline" }
            @if detail.timeline.is_empty() {
                p { "Nothing reported yet." }
            } @else {
                ol.timeline {
                    @for row in detail.timeline.iter().take(TIMELINE_SHOWN) {
                        li { time { (time::minute(row.at_ms)) } " " (activity_text(row)) }
                    }
                }
            }
        }
        section aria-labelledby="history" {
            h2 #history { "Tasks" }
            @if detail.history.is_empty() {
                p { "No tasks yet." }
            } @else {
                table #task-history {
                    thead { tr {
                        th scope="col" { "Task" } th scope="col" { "Job" } th scope="col" { "Leased" }
                        th scope="col" { "Took" } th scope="col" { "Verdict" } th scope="col" { "Paid" }
                    } }
                    tbody {
                        @for item in &detail.history {
                            tr data-task=(item.task.0) {
                                td { (item.task.0) " (attempt " (item.attempt) ")" }
                                td { a href=(paths::EXPLORER_JOB.replace("{id}", &item.job.0.to_string())) { (item.job.0) } }
                                td { (time::minute(item.leased_at_ms)) }
                                td { @if let Some(done) = item.delivered_at_ms { (time::duration(done.saturating_sub(item.leased_at_ms))) } @else { "—" } }
                                td.outcome { (item.outcome.label()) }
                                td.pay { @if item.outcome == WorkerOutcome::Accepted { (signed_credits(item.pay)) } @else { "—" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The config section of a worker's page: download (once), or revoke.
fn config_section(session: &WebSession, card: &WorkerCard) -> Markup {
    let id = card.account.id;
    html! {
        section aria-labelledby="config" {
            h2 #config { "Config file" }
            @match card.config {
                ConfigState::Linked => p { "This worker was linked by its API key: its config file is the one you made with " code { "pictor worker init" } "." }
                ConfigState::NotIssued { issued_before } => {
                    @if issued_before > 0 {
                        p { "Its config was revoked: the worker running on it gets no more work. Issue a new one to start it again." }
                    } @else {
                        p { "Download its config once and import it into the worker app (" code { "pictor worker run --config worker.toml" } "); the worker makes its signing key on your machine the first time it starts." }
                    }
                    form #download-config method="post" action=(paths::WORKER_CONFIG.replace("{id}", &id.to_string())) {
                        input type="hidden" name="csrf" value=(session.csrf_token);
                        button type="submit" { @if issued_before > 0 { "Issue a new config" } @else { "Download worker.toml" } }
                    }
                }
                ConfigState::Issued { at_ms } => {
                    p { "Its config was downloaded " (time::minute(at_ms)) ". It holds the worker's key: keep it private. It can be downloaded only once; if it is lost or leaked, revoke it — the worker using it stops getting work at once — and issue a new one." }
                    form #revoke-config method="post" action=(paths::WORKER_REVOKE.replace("{id}", &id.to_string())) {
                        input type="hidden" name="csrf" value=(session.csrf_token);
                        button.secondary type="submit" { "Revoke this config" }
                    }
                }
            }
        }
    }
}

/// `GET /workers`.
pub async fn my_workers<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Response {
    let (session, person) = match session::person_session(&state, &headers, "My Workers").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let workers = match state.my_workers(&person).await {
        Ok(workers) => workers,
        Err(error) => return unavailable(&session, &error),
    };
    page_with_scripts(
        StatusCode::OK,
        "My Workers",
        Some(&session),
        &[paths::REGIONS_SCRIPT],
        html! {
            h1 { "My Workers" }
            p.actions {
                a.button href=(paths::NEW_WORKER) { "Create a worker" }
                " "
                a href=(paths::WORKER_EARNINGS_CSV) download { "Export earnings (CSV)" }
            }
            div #workers-live data-live=(paths::WORKERS_LIVE) aria-live="polite" { (workers_live(&workers)) }
        },
    )
}

/// `GET /workers/live`: the live part of My Workers.
pub async fn my_workers_live<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Response {
    let Some(person) = fragment_person(&state, &headers).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match state.my_workers(&person).await {
        Ok(workers) => Html(workers_live(&workers).into_string()).into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// `GET /workers/{id}`.
pub async fn worker_page<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (session, person) = match session::person_session(&state, &headers, "Worker").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let detail = match parse_id(&id) {
        Some(id) => state.worker_detail(&person, id).await,
        None => return not_found(&session),
    };
    let detail = match detail {
        Ok(detail) => detail,
        Err(error) if error.code == pictor_core::api::ErrorCode::NotFound => {
            return not_found(&session);
        }
        Err(error) => return unavailable(&session, &error),
    };
    let id = detail.card.account.id;
    page_with_scripts(
        StatusCode::OK,
        &detail.card.account.name,
        Some(&session),
        &[paths::REGIONS_SCRIPT],
        html! {
            p { a href=(paths::WORKERS) { "← My Workers" } }
            h1 { (detail.card.account.name) }
            div #worker-live data-live=(paths::WORKER_LIVE.replace("{id}", &id.to_string())) aria-live="polite" {
                (worker_live(&session, &detail))
            }
        },
    )
}

/// `GET /workers/{id}/live`: the live part of a worker's page.
pub async fn worker_page_live<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(session) = session::current(&state, &headers).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Some(person) = session.person.clone() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Some(id) = parse_id(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match state.worker_detail(&person, id).await {
        Ok(detail) => Html(worker_live(&session, &detail).into_string()).into_response(),
        Err(error) if error.code == pictor_core::api::ErrorCode::NotFound => {
            StatusCode::NOT_FOUND.into_response()
        }
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// `GET /workers/earnings.csv`: every earning of every worker of the person.
pub async fn earnings_csv<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Response {
    let (session, person) = match session::person_session(&state, &headers, "My Workers").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let earnings = match state.earnings_export(&person).await {
        Ok(earnings) => earnings,
        Err(error) => return unavailable(&session, &error),
    };
    let mut body = csv::line(&[
        "time".into(),
        "worker_id".into(),
        "worker".into(),
        "job".into(),
        "task".into(),
        "credits".into(),
        "ledger_seq".into(),
    ]);
    for (worker, entry) in &earnings {
        let name = person
            .accounts
            .iter()
            .find(|a| a.id == worker.0)
            .map_or("", |a| a.name.as_str());
        body.push_str(&csv::line(&[
            entry.at_ms.map(time::rfc3339).unwrap_or_default(),
            worker.0.to_string(),
            csv::text(name),
            entry.job.map(|j| j.0.to_string()).unwrap_or_default(),
            entry.task.map(|t| t.0.to_string()).unwrap_or_default(),
            signed_credits(entry.signed_micros),
            entry.seq.to_string(),
        ]));
    }
    csv::download("pictor-earnings.csv", body)
}

/// The person of a live fragment's request (no pages: a fragment without a session is a 401).
async fn fragment_person<S: Store>(state: &AppState<S>, headers: &HeaderMap) -> Option<PersonView> {
    session::current(state, headers).await?.person
}

fn parse_id(id: &str) -> Option<u64> {
    id.parse::<u64>().ok()
}

fn not_found(session: &WebSession) -> Response {
    message(
        StatusCode::NOT_FOUND,
        Some(session),
        "There is no such worker of yours.",
    )
}

/// The page for a failure that is not the person's to fix.
pub fn unavailable(session: &WebSession, error: &crate::service::ServiceError) -> Response {
    tracing::warn!(%error, "a page could not be read");
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        Some(session),
        "That could not be read just now; try again in a moment.",
    )
}
