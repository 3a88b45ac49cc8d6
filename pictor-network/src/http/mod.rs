//! The `/v1` HTTP API over the coordinator service (axum).
//!
//! Every response carries an `x-request-id`; errors are JSON (`{"error": {...}}`); JSON bodies are
//! limited to `max_body_bytes`, blob chunks to the blob store's chunk limit.

mod error;
mod events;
mod extract;
pub mod openapi;
mod routes;

pub use error::{HttpError, HttpResult};
pub(crate) use events::stream_job_events;
pub use extract::{CSRF_HEADER, SESSION_COOKIE, bearer, session_cookie};
pub(crate) use routes::blob_response;

use crate::service::{Coordinator, Metrics};
use crate::store::Store;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use pictor_core::api::routes as paths;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// The state of every handler.
pub type AppState<S> = Arc<Coordinator<S>>;

/// The request-id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the router of the whole API.
pub fn router<S: Store>(coordinator: AppState<S>) -> Router {
    let json_limit = coordinator.config().max_body_bytes;
    let chunk_limit =
        usize::try_from(coordinator.config().blob_limits.max_chunk_bytes).unwrap_or(usize::MAX);
    let blob_routes = Router::new()
        .route(
            paths::BLOB,
            put(routes::upload_chunk::<S>).get(routes::download_blob::<S>),
        )
        .layer(DefaultBodyLimit::max(chunk_limit.saturating_add(1)))
        .layer(middleware::from_fn_with_state(
            chunk_limit,
            refuse_declared_oversize,
        ));
    Router::new()
        .route(paths::HEALTH, get(routes::health))
        .route(paths::METRICS, get(routes::metrics::<S>))
        .route(paths::OPENAPI, get(routes::openapi))
        .route(paths::ACCOUNTS, post(routes::create_account::<S>))
        .route(paths::ACCOUNT_BY_ID, get(routes::get_account::<S>))
        .route(paths::DEPOSITS, post(routes::deposit::<S>))
        .route(paths::ACCOUNT, get(routes::me::<S>))
        .route(
            paths::BOND,
            get(routes::bond::<S>).post(routes::change_bond::<S>),
        )
        .route(paths::CHECKER_STANDING, get(routes::checker_standing::<S>))
        .route(paths::STATS, get(routes::stats::<S>))
        .route(paths::BLOBS_MISSING, post(routes::missing_blobs::<S>))
        .route(paths::BLOB_UPLOAD, get(routes::upload_status::<S>))
        .route(paths::ASSETS, post(routes::commit_asset::<S>))
        .route(paths::ASSET, get(routes::get_asset::<S>))
        .route(paths::QUOTES, post(routes::quote::<S>))
        .route(
            paths::JOBS,
            post(routes::submit::<S>).get(routes::list_jobs::<S>),
        )
        .route(paths::JOB, get(routes::get_job::<S>))
        .route(paths::JOB_CANCEL, post(routes::cancel_job::<S>))
        .route(paths::JOB_PAUSE, post(routes::pause_job::<S>))
        .route(paths::JOB_RESUME, post(routes::resume_job::<S>))
        .route(paths::JOB_RERENDER, post(routes::rerender::<S>))
        .route(paths::JOB_EVENTS, get(events::job_events::<S>))
        .route(paths::JOB_FRAMES, get(routes::frames::<S>))
        .route(paths::JOB_FRAME, get(routes::frame::<S>))
        .route(
            paths::WORKERS,
            post(routes::register_worker::<S>).get(routes::list_workers::<S>),
        )
        .route(paths::WORKER_ACTIVITY, post(routes::report_activity::<S>))
        .route(paths::LEASES, post(routes::lease::<S>))
        .route(paths::TASK_HEARTBEAT, post(routes::heartbeat::<S>))
        .route(paths::TASK_RESULT, post(routes::result::<S>))
        .route(paths::TASK_FAIL, post(routes::fail::<S>))
        .route(paths::CHECK_LEASES, post(routes::lease_check::<S>))
        .route(paths::CHECK_VERDICT, post(routes::verdict::<S>))
        .route(paths::LEDGER_HEAD, get(routes::ledger_head::<S>))
        .route(paths::LEDGER_ENTRIES, get(routes::ledger_entries::<S>))
        .layer(DefaultBodyLimit::max(json_limit))
        .layer(middleware::from_fn_with_state(
            json_limit,
            refuse_declared_oversize,
        ))
        .merge(blob_routes)
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            coordinator.clone(),
            request_id::<S>,
        ))
        .with_state(coordinator)
}

/// Answers 413 from the `Content-Length` header alone when it declares more than `limit` bytes,
/// before a byte of the body is read.
///
/// The body limit proper still holds for bodies without a declared length; this only makes the
/// refusal of an honest over-size request prompt and certain: the client reads the 413 instead of
/// racing the server's close while it is still writing the body.
async fn refuse_declared_oversize(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok());
    match declared {
        Some(length) if length > u64::try_from(limit).unwrap_or(u64::MAX) => {
            error::too_large(limit).into_response()
        }
        _ => next.run(request).await,
    }
}

/// A process-unique request id: the process start time and a counter, hex.
fn next_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static START: OnceLock<u64> = OnceLock::new();
    let start = *START.get_or_init(crate::clock::now_ms);
    format!("{start:x}-{:x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Gives every request an id (logged, and echoed in `x-request-id`) and counts requests and errors.
async fn request_id<S: Store>(
    State(state): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    let id = next_request_id();
    tracing::debug!(request_id = %id, method = %request.method(), path = %request.uri().path(), "request");
    Metrics::bump(&state.metrics().requests);
    let mut response = next.run(request).await;
    if response.status().is_client_error() || response.status().is_server_error() {
        Metrics::bump(&state.metrics().errors);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}
