//! The Explorer (`/explorer`, public: no sign-in): the network's figures, the newest jobs without
//! anything private, the ledger's head, and a page that verifies the whole ledger — every entry's
//! hash chain and every seal's signature against the network key — the way `pictor ledger verify`
//! does. A verification reads the whole journal, so one runs at a time and its result is reused
//! for [`VERIFY_REUSE`]: many visitors cannot make the coordinator re-read it in a loop.

use super::AppState;
use super::layout::{message, page, serde_name};
use super::{paths, session};
use crate::store::Store;
use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Jobs listed on the Explorer.
const RECENT_JOBS: u32 = 20;
/// How long a ledger verification's result is shown again instead of verifying anew.
pub const VERIFY_REUSE: Duration = Duration::from_secs(10);

/// The last ledger verification: when, and what it found (a line for the page).
#[derive(Debug, Default)]
pub struct LedgerChecks {
    last: tokio::sync::Mutex<Option<(Instant, Result<String, String>)>>,
}

/// `GET /explorer`.
pub async fn summary<S: Store>(State(state): State<AppState<S>>, headers: HeaderMap) -> Response {
    let session = session::current(&state, &headers).await;
    let summary = match state.explorer_summary(RECENT_JOBS).await {
        Ok(summary) => summary,
        Err(error) => {
            tracing::warn!(%error, "the explorer's figures failed");
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                session.as_ref(),
                "The network's figures could not be read; try again in a moment.",
            );
        }
    };
    page(
        StatusCode::OK,
        "Explorer",
        session.as_ref(),
        html! {
            h1 { "Explorer" }
            dl.figures {
                dt { "Workers online" } dd { (summary.workers_online) }
                dt { "Tasks verified today" } dd { (summary.tasks_verified_today) }
                dt { "Paid to workers" } dd { (summary.paid_to_workers) " credits" }
                dt { "Paid to checkers" } dd { (summary.paid_to_checkers) " credits" }
                dt { "Ledger head" } dd {
                    "entry " (summary.ledger_head.seq) ", "
                    code { (summary.ledger_head.hash) }
                    " — " a href=(paths::EXPLORER_LEDGER) { "verify the ledger" }
                }
            }
            h2 { "Newest jobs" }
            @if summary.recent_jobs.is_empty() {
                p { "No jobs yet." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Job" }
                        th scope="col" { "State" }
                        th scope="col" { "Tasks accepted" }
                    } }
                    tbody {
                        @for job in &summary.recent_jobs {
                            tr {
                                td { a href=(super::frame_record::job_href(job.id)) { "Job " (job.id.0) } }
                                td { (serde_name(&job.state)) }
                                td { (job.tasks_accepted) " / " (job.tasks_total) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /explorer/ledger`: the whole ledger verified (or the result of a verification made less
/// than [`VERIFY_REUSE`] ago).
pub async fn ledger<S: Store>(
    State(state): State<AppState<S>>,
    Extension(checks): Extension<Arc<LedgerChecks>>,
    headers: HeaderMap,
) -> Response {
    let session = session::current(&state, &headers).await;
    let mut last = checks.last.lock().await;
    let fresh = last
        .as_ref()
        .filter(|(at, _)| at.elapsed() < VERIFY_REUSE)
        .map(|(_, outcome)| outcome.clone());
    let outcome = match fresh {
        Some(outcome) => outcome,
        None => {
            let outcome = match state.verify_ledger().await {
                Ok(Ok(report)) => Ok(format!(
                    "{} entries and {} seals verified: every entry's hash chains to the one before \
                     and every seal is signed by the network key; head {}, sealed up to entry {}.",
                    report.entries,
                    report.seals,
                    report.head_hash.to_hex(),
                    report
                        .sealed_upto
                        .map_or_else(|| "none".to_string(), |seq| seq.to_string()),
                )),
                Ok(Err(tamper)) => Err(format!("The ledger does not verify: {tamper}")),
                Err(error) => {
                    tracing::warn!(%error, "verifying the ledger for the explorer failed");
                    return message(
                        StatusCode::SERVICE_UNAVAILABLE,
                        session.as_ref(),
                        "The ledger could not be read; try again in a moment.",
                    );
                }
            };
            *last = Some((Instant::now(), outcome.clone()));
            outcome
        }
    };
    drop(last);
    let public_key = state
        .ledger_head()
        .await
        .map(|head| head.public_key_hex)
        .unwrap_or_default();
    page(
        StatusCode::OK,
        "Ledger",
        session.as_ref(),
        html! {
            h1 { "Ledger" }
            @match &outcome {
                Ok(text) => p.verified role="status" { "Verified. " (text) },
                Err(text) => p.error role="alert" { (text) },
            }
            p.muted {
                "Network key: " code { (public_key) } ". Check it yourself with "
                code { "pictor ledger verify" } "."
            }
            p { a href=(paths::EXPLORER) { "Back to the Explorer" } }
        },
    )
}
