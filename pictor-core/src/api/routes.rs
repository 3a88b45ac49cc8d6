//! Every route's path, defined once: the templates here (axum syntax, `{name}` for a path
//! parameter) build the network's router, the OpenAPI document's route table and, through
//! [`fill`], the SDK's request paths. A test in `pictor-network` requests every documented route
//! and fails on one the router does not serve.
//!
//! ```
//! use pictor_core::api::routes;
//! assert_eq!(routes::fill(routes::JOB_FRAME, &[&7, &12]), "/v1/jobs/7/frames/12");
//! assert_eq!(routes::job_frame(7, 12), "/v1/jobs/7/frames/12");
//! ```

use std::fmt::Display;

/// `GET`: liveness, no auth.
pub const HEALTH: &str = "/health";
/// `GET`: Prometheus text metrics, no auth.
pub const METRICS: &str = "/metrics";
/// `GET`: the OpenAPI document.
pub const OPENAPI: &str = "/v1/openapi.json";
/// `POST` (admin): create an account.
pub const ACCOUNTS: &str = "/v1/accounts";
/// `GET` (admin): one account.
pub const ACCOUNT_BY_ID: &str = "/v1/accounts/{id}";
/// `POST` (admin, Idempotency-Key): deposit to a creator.
pub const DEPOSITS: &str = "/v1/accounts/{id}/deposits";
/// `GET`: the caller's own account.
pub const ACCOUNT: &str = "/v1/account";
/// `GET`: the caller's bond; `POST`: post to or withdraw from it (docs/TRUST.md).
pub const BOND: &str = "/v1/bond";
/// `GET` (checker): the caller's record on known-outcome checks.
pub const CHECKER_STANDING: &str = "/v1/checkers/standing";
/// `GET` (admin): network counters.
pub const STATS: &str = "/v1/stats";
/// `POST`: which of these blobs does the caller not yet hold?
pub const BLOBS_MISSING: &str = "/v1/blobs/missing";
/// `GET`: download a blob; `PUT ?size=S&offset=O`: upload a chunk.
pub const BLOB: &str = "/v1/blobs/{hash}";
/// `GET ?size=S`: how many bytes of an upload are staged.
pub const BLOB_UPLOAD: &str = "/v1/blobs/{hash}/upload";
/// `POST` (creator): commit a manifest.
pub const ASSETS: &str = "/v1/assets";
/// `GET`: a committed manifest (its creator, or a worker/checker working on a job using it).
pub const ASSET: &str = "/v1/assets/{id}";
/// `POST` (creator): quote a spec.
pub const QUOTES: &str = "/v1/quotes";
/// `POST` (creator, Idempotency-Key): submit; `GET`: list own jobs (`?cursor=&limit=`).
pub const JOBS: &str = "/v1/jobs";
/// `GET`: one job.
pub const JOB: &str = "/v1/jobs/{id}";
/// `POST`: cancel a job.
pub const JOB_CANCEL: &str = "/v1/jobs/{id}/cancel";
/// `POST`: pause a job.
pub const JOB_PAUSE: &str = "/v1/jobs/{id}/pause";
/// `POST`: resume a paused job.
pub const JOB_RESUME: &str = "/v1/jobs/{id}/resume";
/// `POST`: render frames of a job again.
pub const JOB_RERENDER: &str = "/v1/jobs/{id}/rerender";
/// `GET` (SSE): the job's events; resume with `Last-Event-ID` or `?after=SEQ`.
pub const JOB_EVENTS: &str = "/v1/jobs/{id}/events";
/// `GET`: the job's accepted frames.
pub const JOB_FRAMES: &str = "/v1/jobs/{id}/frames";
/// `GET`: one accepted frame's bytes.
pub const JOB_FRAME: &str = "/v1/jobs/{id}/frames/{frame}";
/// `POST` (worker): register or update the caller's worker; `GET` (public): list workers.
pub const WORKERS: &str = "/v1/workers";
/// `POST` (worker): report what the worker is doing now (shown to its owner; 204).
pub const WORKER_ACTIVITY: &str = "/v1/workers/activity";
/// `POST` (worker): lease the best eligible task; 204 when none.
pub const LEASES: &str = "/v1/leases";
/// `POST` (lease holder): extend the lease, report progress.
pub const TASK_HEARTBEAT: &str = "/v1/tasks/{id}/heartbeat";
/// `POST` (lease holder): the signed result.
pub const TASK_RESULT: &str = "/v1/tasks/{id}/result";
/// `POST` (lease holder): the task could not be rendered.
pub const TASK_FAIL: &str = "/v1/tasks/{id}/fail";
/// `POST` (checker): lease a check; 204 when none.
pub const CHECK_LEASES: &str = "/v1/checks/lease";
/// `POST` (check holder): the verdict.
pub const CHECK_VERDICT: &str = "/v1/checks/{id}/verdict";
/// `GET` (public): the signed ledger head.
pub const LEDGER_HEAD: &str = "/v1/ledger/head";
/// `GET` (public): journal entries (`?after=SEQ&limit=N`).
pub const LEDGER_ENTRIES: &str = "/v1/ledger/entries";

/// Every route template above, for tests that hold the router and the documents to them.
pub const ALL: &[&str] = &[
    HEALTH,
    METRICS,
    OPENAPI,
    ACCOUNTS,
    ACCOUNT_BY_ID,
    DEPOSITS,
    ACCOUNT,
    BOND,
    CHECKER_STANDING,
    STATS,
    BLOBS_MISSING,
    BLOB,
    BLOB_UPLOAD,
    ASSETS,
    ASSET,
    QUOTES,
    JOBS,
    JOB,
    JOB_CANCEL,
    JOB_PAUSE,
    JOB_RESUME,
    JOB_RERENDER,
    JOB_EVENTS,
    JOB_FRAMES,
    JOB_FRAME,
    WORKERS,
    WORKER_ACTIVITY,
    LEASES,
    TASK_HEARTBEAT,
    TASK_RESULT,
    TASK_FAIL,
    CHECK_LEASES,
    CHECK_VERDICT,
    LEDGER_HEAD,
    LEDGER_ENTRIES,
];

/// The path of `template` with its `{…}` parameters replaced, in order, by `values`. A missing
/// value leaves its placeholder (a bug the router answers with 404, never a panic).
pub fn fill(template: &str, values: &[&dyn Display]) -> String {
    let mut path = String::with_capacity(template.len() + 16);
    let mut values = values.iter();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|i| open + i) else {
            break;
        };
        path.push_str(&rest[..open]);
        match values.next() {
            Some(value) => path.push_str(&value.to_string()),
            None => path.push_str(&rest[open..=close]),
        }
        rest = &rest[close + 1..];
    }
    path.push_str(rest);
    path
}

/// `GET` (admin): one account.
pub fn account(id: u64) -> String {
    fill(ACCOUNT_BY_ID, &[&id])
}

/// `POST` (admin, Idempotency-Key): deposit.
pub fn deposits(id: u64) -> String {
    fill(DEPOSITS, &[&id])
}

/// A blob: `GET` downloads it, `PUT` uploads a chunk.
pub fn blob(hash: &str) -> String {
    fill(BLOB, &[&hash])
}

/// `GET`: how many bytes of an upload are staged (`?size=S`).
pub fn blob_upload(hash: &str) -> String {
    fill(BLOB_UPLOAD, &[&hash])
}

/// `GET`: a committed manifest.
pub fn asset(id: &str) -> String {
    fill(ASSET, &[&id])
}

/// `GET`: one job.
pub fn job(id: u64) -> String {
    fill(JOB, &[&id])
}

/// `GET` (SSE): the job's events.
pub fn job_events(id: u64) -> String {
    fill(JOB_EVENTS, &[&id])
}

/// `GET`: the job's accepted frames.
pub fn job_frames(id: u64) -> String {
    fill(JOB_FRAMES, &[&id])
}

/// `GET`: one accepted frame's bytes (for tiled stills: the tiles in order, see `frames`).
pub fn job_frame(id: u64, frame: u32) -> String {
    fill(JOB_FRAME, &[&id, &frame])
}

/// `POST` (check holder): the verdict.
pub fn check_verdict(id: crate::CheckId) -> String {
    fill(CHECK_VERDICT, &[&id])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_in_order_and_are_unique() {
        assert_eq!(fill(TASK_RESULT, &[&9]), "/v1/tasks/9/result");
        assert_eq!(fill(JOB_FRAME, &[&1]), "/v1/jobs/1/frames/{frame}");
        assert_eq!(fill(HEALTH, &[]), "/health");
        let mut seen = std::collections::HashSet::new();
        for template in ALL {
            assert!(template.starts_with('/'), "{template}");
            assert!(seen.insert(*template), "{template} listed twice");
        }
    }
}
