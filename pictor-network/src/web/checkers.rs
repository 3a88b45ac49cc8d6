//! Checker Nodes: every checker of the signed-in person — what it is checking now, its checks by
//! verdict, the fees it earned (from the ledger), and each check's time against the render it
//! checked. The list is a live region (`/checkers/live`) fetched again every two seconds.

use super::layout::page_with_scripts;
use super::workers::unavailable;
use super::{AppState, paths, session};
use crate::calendar as time;
use crate::service::{CheckerCard, signed_credits};
use crate::store::Store;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};

/// Checks listed per checker.
const SHOWN: usize = 20;

/// The live part of the page.
fn checkers_live(cards: &[CheckerCard]) -> Markup {
    html! {
        @if cards.is_empty() {
            p { "No checkers of yours yet: link a checker account on your " a href=(paths::ACCOUNT) { "Account" } " page." }
        }
        @for card in cards {
            section.card id={ "checker-" (card.account.id) } aria-labelledby={ "checker-" (card.account.id) "-name" } {
                h2 id={ "checker-" (card.account.id) "-name" } { (card.account.name) }
                p.state {
                    @match card.checking() {
                        Some(check) => { strong.connected { "Checking" } " task " (check.task.0) " of job " (check.job.0) }
                        None => {
                            @match card.checks.iter().find_map(|c| c.done_at_ms) {
                                Some(at) => { strong { "Waiting" } " — last verdict " (time::minute(at)) }
                                None => { strong.offline { "No checks yet" } }
                            }
                        }
                    }
                }
                dl.figures {
                    dt { "Accepted" } dd id={ "checker-" (card.account.id) "-accepted" } { (card.accepted) }
                    dt { "Rejected" } dd { (card.rejected) }
                    dt { "Escalated" } dd { (card.escalated) }
                    dt { "Fees earned" } dd id={ "checker-" (card.account.id) "-fees" } { (signed_credits(card.fees)) " credits" }
                    dt { "Balance" } dd { (signed_credits(card.balance)) " credits" }
                    dt { "Known cheats rejected" }
                    dd id={ "checker-" (card.account.id) "-cheats" } {
                        (card.standing.cheats_seen - card.standing.cheats_accepted) " of " (card.standing.cheats_seen)
                    }
                    dt { "Known-honest frames accepted" }
                    dd { (card.standing.honest_seen - card.standing.honest_rejected) " of " (card.standing.honest_seen) }
                    dt { "Offences" }
                    dd id={ "checker-" (card.account.id) "-offences" } {
                        (card.standing.strikes)
                        @if card.standing.barred { " — barred from checking" }
                        @if card.standing.fees_forfeited > pictor_core::Money::ZERO {
                            " (" (card.standing.fees_forfeited) " credits of fees forfeited)"
                        }
                    }
                    dt { "Bond" } dd { (signed_credits(card.bond)) " credits" }
                }
                @if !card.checks.is_empty() {
                    table.checks {
                        caption.muted { "Newest checks" }
                        thead { tr {
                            th scope="col" { "Task" } th scope="col" { "Verdict" } th scope="col" { "Check took" }
                            th scope="col" { "Render took" } th scope="col" { "Fee" }
                        } }
                        tbody {
                            @for check in card.checks.iter().take(SHOWN) {
                                tr data-check=(check.check.0) {
                                    td { (check.task.0) " of job " (check.job.0) }
                                    td { @match check.verdict { Some(verdict) => (super::layout::serde_name(&verdict)), None => (check.state) } }
                                    td { @match check.check_ms { Some(ms) => (time::duration(ms)), None => "—" } }
                                    td { @match check.render_ms { Some(ms) => (time::duration(ms)), None => "—" } }
                                    td.fee { (signed_credits(check.fee)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /checkers`.
pub async fn checker_nodes<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Response {
    let (session, person) = match session::person_session(&state, &headers, "Checker Nodes").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let cards = match state.checker_nodes(&person).await {
        Ok(cards) => cards,
        Err(error) => return unavailable(&session, &error),
    };
    page_with_scripts(
        StatusCode::OK,
        "Checker Nodes",
        Some(&session),
        &[paths::REGIONS_SCRIPT],
        html! {
            h1 { "Checker Nodes" }
            p.muted { "A checker earns its fee on each result it accepts; rejects and escalations earn nothing yet." }
            div #checkers-live data-live=(paths::CHECKERS_LIVE) aria-live="polite" { (checkers_live(&cards)) }
        },
    )
}

/// `GET /checkers/live`: the live part of Checker Nodes.
pub async fn checker_nodes_live<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Response {
    let Some(person) = session::current(&state, &headers)
        .await
        .and_then(|s| s.person)
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match state.checker_nodes(&person).await {
        Ok(cards) => Html(checkers_live(&cards).into_string()).into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
