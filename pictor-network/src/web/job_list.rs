//! The creator's jobs, the signed-in start page: filter by state, search by name, newest or oldest
//! first, paged by cursor — all of it in the URL (`/?state=running&q=shot&sort=oldest&after=40`),
//! so a filtered page can be bookmarked and shared. Each job shows a stacked bar of where its tasks
//! are (queued, rendering, verifying, accepted, rejected and waiting again, failed), its cost so
//! far against what was held for it, and an estimate of the time left.

use super::jobs::job_href;
use super::layout::{message, page, serde_name, to_sign_in};
use super::{AppState, paths, session};
use crate::service::WebSession;
use crate::store::{JobFilter, Store, TaskProgress};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use pictor_core::api::{JobView, Role};
use pictor_core::job::JobState;
use serde::Deserialize;

/// Jobs listed on a page.
const JOBS_PER_PAGE: u32 = 50;
/// Longest search text taken.
const MAX_SEARCH_CHARS: usize = 120;

/// The list's filters, as the URL carries them.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Only jobs in this state (its name, e.g. `running`).
    state: Option<String>,
    /// Only jobs whose name holds this text.
    q: Option<String>,
    /// `newest` (the default) or `oldest` first.
    sort: Option<String>,
    /// The cursor: jobs after this id in the chosen order.
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

/// The bar's segments: the count's name (the CSS class `seg-<name>`) and how it reads.
const SEGMENTS: [(&str, &str); 6] = [
    ("accepted", "accepted"),
    ("verifying", "verifying"),
    ("rendering", "rendering"),
    ("rejected", "rejected, waiting again"),
    ("queued", "queued"),
    ("failed", "failed"),
];

fn segment_count(progress: &TaskProgress, name: &str) -> u64 {
    match name {
        "accepted" => progress.accepted,
        "verifying" => progress.verifying,
        "rendering" => progress.rendering,
        "rejected" => progress.rejected,
        "queued" => progress.queued,
        _ => progress.failed,
    }
}

/// The list's filters after checking them; `None` for a state that does not exist.
struct Listing {
    state: Option<JobState>,
    search: String,
    oldest_first: bool,
}

impl Listing {
    fn from_query(query: &ListQuery) -> Option<Self> {
        let state = match query.state.as_deref().filter(|text| !text.is_empty()) {
            None => None,
            Some(text) => Some(
                *FILTER_STATES
                    .iter()
                    .find(|known| serde_name(*known) == text)?,
            ),
        };
        let search: String = query
            .q
            .as_deref()
            .unwrap_or_default()
            .trim()
            .chars()
            .take(MAX_SEARCH_CHARS)
            .collect();
        Some(Listing {
            state,
            search,
            oldest_first: query.sort.as_deref() == Some("oldest"),
        })
    }

    fn filter(&self, after: Option<u64>) -> JobFilter {
        JobFilter {
            state: self.state.as_ref().map(serde_name),
            name_contains: Some(self.search.clone()).filter(|text| !text.is_empty()),
            newest_first: !self.oldest_first,
            after,
        }
    }

    /// The list's URL with these filters and the cursor `after`.
    fn href(&self, after: Option<u64>) -> String {
        let mut parameters = Vec::new();
        if let Some(state) = &self.state {
            parameters.push(format!("state={}", serde_name(state)));
        }
        if !self.search.is_empty() {
            parameters.push(format!("q={}", url_encode(&self.search)));
        }
        if self.oldest_first {
            parameters.push("sort=oldest".to_string());
        }
        if let Some(after) = after {
            parameters.push(format!("after={after}"));
        }
        if parameters.is_empty() {
            paths::HOME.to_string()
        } else {
            format!("{}?{}", paths::HOME, parameters.join("&"))
        }
    }
}

/// `text` percent-encoded for a query string.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

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
    let Some(listing) = Listing::from_query(&query) else {
        return message(
            StatusCode::BAD_REQUEST,
            Some(&session),
            "There is no such job state to filter by.",
        );
    };
    let filter = listing.filter(query.after);
    match state
        .find_jobs(&session.caller, &filter, JOBS_PER_PAGE)
        .await
    {
        Ok((jobs, next)) => jobs_page(&session, &jobs, &listing, next, state.now_ms()),
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

/// The stacked bar of where a job's tasks are: an inline SVG (its sizes are attributes, which the
/// Content-Security-Policy allows, unlike inline styles), labelled for screen readers.
fn progress_bar(job: &JobView, progress: &TaskProgress) -> Markup {
    let total = progress.total().max(1) as f64;
    let mut at = 0.0;
    let mut rects = Vec::new();
    for (name, _) in SEGMENTS {
        let count = segment_count(progress, name);
        if count > 0 {
            let width = count as f64 * 100.0 / total;
            rects.push((name, format!("{at:.3}"), format!("{width:.3}")));
            at += width;
        }
    }
    let label = SEGMENTS
        .iter()
        .filter_map(|(name, reads)| {
            let count = segment_count(progress, name);
            (count > 0).then(|| format!("{count} {reads}"))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let label = format!(
        "Job {} tasks: {}",
        job.id.0,
        if label.is_empty() {
            "none yet".into()
        } else {
            label
        }
    );
    html! {
        svg.bar viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label=(label) {
            title { (label) }
            rect.seg-track x="0" y="0" width="100" height="10" {}
            @for (name, x, width) in &rects {
                rect class={ "seg-" (name) } x=(x) y="0" width=(width) height="10" {}
            }
        }
    }
}

/// The time a job still needs, in words: from the pace of its accepted tasks since it was
/// submitted, or before the first one from its quote.
fn time_left(job: &JobView, progress: &TaskProgress, now_ms: u64) -> String {
    if !matches!(job.state, JobState::Queued | JobState::Running) {
        return "—".into();
    }
    let remaining = progress.total() - progress.accepted - progress.failed - progress.cancelled;
    let elapsed = now_ms.saturating_sub(job.created_at_ms) as f64 / 1000.0;
    let secs = if progress.accepted > 0 {
        elapsed / progress.accepted as f64 * remaining as f64
    } else {
        (job.quote.eta_p50_secs - elapsed).max(0.0)
    };
    if secs < 90.0 {
        "about a minute".into()
    } else if secs < 5400.0 {
        format!("about {:.0} min", secs / 60.0)
    } else {
        format!("about {:.1} h", secs / 3600.0)
    }
}

fn jobs_page(
    session: &WebSession,
    jobs: &[(JobView, TaskProgress)],
    listing: &Listing,
    next: Option<u64>,
    now_ms: u64,
) -> Response {
    let filtered = listing.state.is_some() || !listing.search.is_empty();
    page(
        StatusCode::OK,
        "Rendering",
        Some(session),
        html! {
            h1 { "Rendering" }
            p { a.button #new-job-link href=(paths::NEW_JOB) { "New job" } }
            form.filters method="get" action=(paths::HOME) role="search" {
                div {
                    label for="q" { "Name contains" }
                    input #q type="search" name="q" value=(listing.search) maxlength="120";
                }
                div {
                    label for="state" { "State" }
                    select #state name="state" {
                        option value="" selected[listing.state.is_none()] { "All" }
                        @for known in &FILTER_STATES {
                            @let name = serde_name(known);
                            option value=(name) selected[listing.state == Some(*known)] { (name) }
                        }
                    }
                }
                div {
                    label for="sort" { "Order" }
                    select #sort name="sort" {
                        option value="newest" selected[!listing.oldest_first] { "Newest first" }
                        option value="oldest" selected[listing.oldest_first] { "Oldest first" }
                    }
                }
                button type="submit" { "Show" }
            }
            @if jobs.is_empty() {
                @if filtered {
                    p { "No jobs match." }
                } @else {
                    p { "No jobs yet. Start one with " a href=(paths::NEW_JOB) { "New job" } ", "
                        code { "pictor job submit" } " or the Blender add-on." }
                }
            } @else {
                table.jobs {
                    caption.muted {
                        "Your jobs, " (if listing.oldest_first { "oldest" } else { "newest" }) " first"
                    }
                    thead { tr {
                        th scope="col" { "Job" }
                        th scope="col" { "State" }
                        th scope="col" { "Tasks" }
                        th.optional scope="col" { "Cost so far / held" }
                        th.optional scope="col" { "Time left" }
                    } }
                    tbody {
                        @for (job, progress) in jobs {
                            tr {
                                td {
                                    a href=(job_href(job)) { "Job " (job.id.0) }
                                    @if let Some(name) = &job.spec.name { br; span.name { (name) } }
                                    @for tag in &job.spec.tags { " " span.tag { (tag) } }
                                }
                                td { (serde_name(&job.state)) }
                                td {
                                    (progress_bar(job, progress))
                                    span.count { (progress.accepted) " / " (job.tasks_total) " accepted" }
                                }
                                td.optional { (job.spent) " / " (job.quote.escrow_hold) }
                                td.optional { (time_left(job, progress, now_ms)) }
                            }
                        }
                    }
                }
                p.legend.muted aria-hidden="true" {
                    @for (name, reads) in SEGMENTS {
                        span { svg.key viewBox="0 0 10 10" { rect class={ "seg-" (name) } width="10" height="10" {} } " " (reads) }
                        " "
                    }
                }
            }
            @if let Some(after) = next {
                p { a rel="next" href=(listing.href(Some(after))) { "Next page" } }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filters_stay_in_the_url() {
        let listing = Listing::from_query(&ListQuery {
            state: Some("running".into()),
            q: Some("  shot 10 & co ".into()),
            sort: Some("oldest".into()),
            after: None,
        })
        .expect("a listing");
        assert_eq!(
            listing.href(Some(40)),
            "/?state=running&q=shot%2010%20%26%20co&sort=oldest&after=40"
        );
        let plain = Listing::from_query(&ListQuery::default()).expect("a listing");
        assert_eq!(plain.href(None), "/");
        assert!(
            Listing::from_query(&ListQuery {
                state: Some("<script>".into()),
                ..ListQuery::default()
            })
            .is_none()
        );
    }
}
