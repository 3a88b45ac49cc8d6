//! Pictor Cloud: the web app the coordinator serves at `/`, from the same binary.
//!
//! Server-rendered HTML (maud: compile-time-checked templates that escape every value), one style
//! sheet and one small script: a job's page follows the job live over Server-Sent Events. Every page checks who is asking exactly like the API does — the session
//! cookie stands for the account's API key — and every response carries a strict
//! Content-Security-Policy and the other protective headers (`security_headers`).
//! - `session`: the session cookie, reading it, and the CSRF check of forms;
//! - `signin`: sign-in with an API key or a person's password (rate-limited by `limiter`) and
//!   sign-out; `account`: a person's password and linked accounts, acting as one of them;
//! - `jobs`: the creator's Rendering pages; `new_job`: the new-job form, its quote and submission; `live`: a job's events and frames for its page;
//!   `actions`: its pause, resume and cancel forms; `download`: all its frames as a ZIP archive
//!   (`zip` writes it as a stream);
//! - `workers`: My Workers (a person's workers, live, with earnings and task history);
//!   `worker_config`: creating a worker, downloading its config once, revoking it;
//!   `checkers`: Checker Nodes; `credit`: Rewards and Credit, monthly statements, deposits;
//!   `webhooks`: a person's webhook endpoints and deliveries; `operator`: the admin's view;
//!   `regions.js` keeps their live parts fresh; `charts` and `csv` draw and write them;
//! - `explorer`: the public Explorer; `frame_record`: its records of a job and of a frame;
//! - `layout`: the page shell.

mod account;
mod actions;
mod charts;
mod checkers;
mod credit;
mod csv;
mod download;
mod explorer;
mod frame_record;
mod job_list;
mod jobs;
mod layout;
mod limiter;
mod live;
mod money;
mod new_job;
mod operator;
mod previews;
mod session;
mod signin;
mod webhooks;
mod worker_config;
mod workers;
mod zip;

pub use limiter::SignInLimiter;

use crate::service::Coordinator;
use crate::store::Store;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use std::sync::Arc;

/// The state of every page handler: the coordinator.
pub type AppState<S> = Arc<Coordinator<S>>;

/// The app's paths.
pub mod paths {
    /// The signed-in home: the creator's jobs.
    pub const HOME: &str = "/";
    /// The sign-in form (GET) and its submission (POST).
    pub const SIGN_IN: &str = "/signin";
    /// Signing out (POST, with the CSRF token).
    pub const SIGN_OUT: &str = "/signout";
    /// The person's account page: password, linked accounts.
    pub const ACCOUNT: &str = "/account";
    /// Choosing a login and password (POST, with the CSRF token).
    pub const ACCOUNT_PASSWORD: &str = "/account/password";
    /// Linking another account by its API key (POST, with the CSRF token).
    pub const ACCOUNT_LINK: &str = "/account/link";
    /// Acting as another of the person's accounts (POST, with the CSRF token).
    pub const ACCOUNT_SWITCH: &str = "/account/switch";
    /// One job's page.
    pub const JOB: &str = "/jobs/{id}";
    /// The public Explorer.
    pub const EXPLORER: &str = "/explorer";
    /// A job's public record in the Explorer.
    pub const EXPLORER_JOB: &str = "/explorer/jobs/{id}";
    /// A frame's public record in the Explorer.
    pub const EXPLORER_FRAME: &str = "/explorer/jobs/{id}/frames/{frame}";
    /// The Explorer's ledger verification.
    pub const EXPLORER_LEDGER: &str = "/explorer/ledger";
    /// A job's events for its live page (Server-Sent Events, the session's cookie as the key).
    pub const JOB_EVENTS: &str = "/jobs/{id}/events";
    /// A job's controls (POST, with the CSRF token): `pause`, `resume`, `cancel`.
    pub const JOB_CONTROL: &str = "/jobs/{id}/{control}";
    /// An accepted frame's file, for its tile's picture and for download.
    pub const JOB_FRAME: &str = "/jobs/{id}/frames/{frame}";
    /// An accepted frame's preview made by the network (`small` or `medium`, JPEG).
    pub const JOB_FRAME_PREVIEW: &str = "/jobs/{id}/frames/{frame}/preview/{size}";
    /// Every accepted frame of a job as one ZIP archive, streamed.
    pub const JOB_FRAMES_ZIP: &str = "/jobs/{id}/frames.zip";
    /// The new-job form (GET) and its quote and submission (POST, with the CSRF token).
    pub const NEW_JOB: &str = "/jobs/new";
    /// The live job page's script (live updates, the flipbook), same-origin as the policy demands.
    pub const SCRIPT: &str = "/app.js";
    /// BLAKE3 in JavaScript: the new-job page hashes the scene's files before uploading them.
    pub const BLAKE3_SCRIPT: &str = "/blake3.js";
    /// The new-job page's script: reading the scene, hashing and uploading it through the API.
    pub const NEW_JOB_SCRIPT: &str = "/new_job.js";
    /// The style sheet.
    pub const STYLE: &str = "/app.css";
    /// The live-regions script of My Workers, a worker's page and Checker Nodes.
    pub const REGIONS_SCRIPT: &str = "/regions.js";
    /// My Workers.
    pub const WORKERS: &str = "/workers";
    /// My Workers' live part.
    pub const WORKERS_LIVE: &str = "/workers/live";
    /// The new-worker form (GET) and its submission (POST, with the CSRF token).
    pub const NEW_WORKER: &str = "/workers/new";
    /// Every earning of the person's workers as CSV.
    pub const WORKER_EARNINGS_CSV: &str = "/workers/earnings.csv";
    /// One worker's page.
    pub const WORKER: &str = "/workers/{id}";
    /// One worker's live part.
    pub const WORKER_LIVE: &str = "/workers/{id}/live";
    /// Downloading a worker's config (POST, with the CSRF token; once per issue).
    pub const WORKER_CONFIG: &str = "/workers/{id}/config";
    /// Revoking a worker's config (POST, with the CSRF token).
    pub const WORKER_REVOKE: &str = "/workers/{id}/revoke";
    /// Checker Nodes.
    pub const CHECKERS: &str = "/checkers";
    /// Checker Nodes' live part.
    pub const CHECKERS_LIVE: &str = "/checkers/live";
    /// Rewards and Credit.
    pub const CREDIT: &str = "/credit";
    /// Setting a creator account's budget (POST, with the CSRF token).
    pub const CREDIT_BUDGET: &str = "/credit/budget";
    /// A monthly statement as CSV (`?account=ID&month=YYYY-MM`).
    pub const CREDIT_STATEMENT: &str = "/credit/statement.csv";
    /// The operator's view (admin).
    pub const ADMIN: &str = "/admin";
    /// Requeueing a stuck task (admin; POST, with the CSRF token).
    pub const ADMIN_REQUEUE: &str = "/admin/tasks/{id}/requeue";
    /// Crediting an account (admin; GET the form, POST it with the CSRF token).
    pub const ADMIN_DEPOSITS: &str = "/admin/deposits";
    /// A person's webhook endpoints and deliveries (GET), adding one (POST, with the CSRF token).
    pub const WEBHOOKS: &str = "/webhooks";
    /// Deleting an endpoint (POST, with the CSRF token).
    pub const WEBHOOK_DELETE: &str = "/webhooks/{id}/delete";
}

/// The policy every page is served under: nothing inline, nothing from elsewhere, never framed.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; style-src 'self'; \
     img-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The app's routes, to merge with the API's router (`server::serve` does).
pub fn router<S: Store>(coordinator: &AppState<S>) -> Router {
    let limiter = Arc::new(SignInLimiter::new(
        coordinator.config().sign_in_attempts_per_minute,
    ));
    Router::new()
        .route(paths::HOME, get(job_list::home::<S>))
        .route(
            paths::SIGN_IN,
            get(signin::form::<S>).post(signin::submit::<S>),
        )
        .route(paths::SIGN_OUT, axum::routing::post(signin::sign_out::<S>))
        .route(paths::ACCOUNT, get(account::show::<S>))
        .route(
            paths::ACCOUNT_PASSWORD,
            axum::routing::post(account::set_password::<S>),
        )
        .route(paths::ACCOUNT_LINK, axum::routing::post(account::link::<S>))
        .route(
            paths::ACCOUNT_SWITCH,
            axum::routing::post(account::switch::<S>),
        )
        .route(paths::JOB, get(jobs::job_page::<S>))
        .route(paths::JOB_EVENTS, get(live::job_events::<S>))
        .route(paths::JOB_FRAME, get(live::frame::<S>))
        .route(paths::JOB_FRAMES_ZIP, get(download::frames_zip::<S>))
        .route(paths::JOB_FRAME_PREVIEW, get(previews::preview::<S>))
        .route(
            paths::JOB_CONTROL,
            axum::routing::post(actions::control::<S>),
        )
        .route(
            paths::NEW_JOB,
            get(new_job::form::<S>).post(new_job::post::<S>),
        )
        .route(paths::SCRIPT, get(|| script(include_str!("app.js"))))
        .route(
            paths::BLAKE3_SCRIPT,
            get(|| script(include_str!("blake3.js"))),
        )
        .route(
            paths::NEW_JOB_SCRIPT,
            get(|| script(include_str!("new_job.js"))),
        )
        .route(
            paths::REGIONS_SCRIPT,
            get(|| script(include_str!("regions.js"))),
        )
        .route(paths::WORKERS, get(workers::my_workers::<S>))
        .route(paths::WORKERS_LIVE, get(workers::my_workers_live::<S>))
        .route(
            paths::NEW_WORKER,
            get(worker_config::new_worker_form::<S>).post(worker_config::create_worker::<S>),
        )
        .route(paths::WORKER_EARNINGS_CSV, get(workers::earnings_csv::<S>))
        .route(paths::WORKER, get(workers::worker_page::<S>))
        .route(paths::WORKER_LIVE, get(workers::worker_page_live::<S>))
        .route(
            paths::WORKER_CONFIG,
            axum::routing::post(worker_config::download_config::<S>),
        )
        .route(
            paths::WORKER_REVOKE,
            axum::routing::post(worker_config::revoke_config::<S>),
        )
        .route(paths::CHECKERS, get(checkers::checker_nodes::<S>))
        .route(paths::CHECKERS_LIVE, get(checkers::checker_nodes_live::<S>))
        .route(paths::CREDIT, get(credit::credit::<S>))
        .route(paths::CREDIT_STATEMENT, get(credit::statement_csv::<S>))
        .route(
            paths::CREDIT_BUDGET,
            axum::routing::post(credit::set_budget::<S>),
        )
        .route(
            paths::ADMIN_DEPOSITS,
            get(credit::deposits::<S>).post(credit::deposit::<S>),
        )
        .route(paths::ADMIN, get(operator::show::<S>))
        .route(
            paths::ADMIN_REQUEUE,
            axum::routing::post(operator::requeue::<S>),
        )
        .route(
            paths::WEBHOOKS,
            get(webhooks::show::<S>).post(webhooks::add::<S>),
        )
        .route(
            paths::WEBHOOK_DELETE,
            axum::routing::post(webhooks::delete::<S>),
        )
        .route(paths::EXPLORER, get(explorer::summary::<S>))
        .route(paths::EXPLORER_LEDGER, get(explorer::ledger::<S>))
        .route(paths::EXPLORER_JOB, get(frame_record::job::<S>))
        .route(paths::EXPLORER_FRAME, get(frame_record::frame::<S>))
        .route(paths::STYLE, get(style))
        .layer(Extension(limiter))
        .layer(Extension(Arc::new(explorer::LedgerChecks::default())))
        .layer(Extension(Arc::new(previews::Previews::default())))
        .layer(middleware::from_fn(security_headers))
        .with_state(coordinator.clone())
}

/// Adds the protective headers to every response of the app; pages (which show private data)
/// are never cached.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    let is_html = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_html {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// One of the app's scripts.
async fn script(source: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        source,
    )
        .into_response()
}

/// `GET /app.css`.
async fn style() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("app.css"),
    )
        .into_response()
}
