//! The route handlers: each parses its input, calls the service, and shapes the answer.

use super::AppState;
use super::error::{HttpError, HttpResult, invalid};
use super::extract::{Auth, Body, Path, Query};
use crate::blobs::BlobStore;
use crate::service::ServiceError;
use crate::store::Store;
use axum::Json;
use axum::body::Body as ResponseBody;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use pictor_core::api::{
    BondRequest, CheckLeaseRequest, CommitAssetRequest, CreateAccountRequest, CreateJobRequest,
    DepositRequest, ErrorCode, FailureReport, HeartbeatRequest, IDEMPOTENCY_KEY_HEADER,
    LedgerEntriesQuery, ListJobsQuery, MissingBlobsRequest, Page, QuoteRequest,
    RegisterWorkerRequest, RerenderRequest, ResultSubmission, UploadChunkQuery, UploadStatusQuery,
    VerdictSubmission, WorkerActivityReport,
};
use pictor_core::{AccountId, BlobHash, CheckId, JobId, TaskId};
use serde_json::json;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use tokio_util::io::ReaderStream;

fn idempotency_key(headers: &HeaderMap) -> HttpResult<Option<&str>> {
    match headers.get(IDEMPOTENCY_KEY_HEADER) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(Some)
            .map_err(|_| invalid(IDEMPOTENCY_KEY_HEADER, "must be visible ASCII")),
    }
}

fn parse_hash(text: &str) -> HttpResult<BlobHash> {
    text.parse()
        .map_err(|_| invalid("hash", "must be 64 hex digits (a BLAKE3 hash)"))
}

/// Unknown routes answer a JSON 404.
pub async fn not_found() -> HttpError {
    HttpError(ServiceError::not_found("route"))
}

/// A known route with a method it does not serve answers a JSON 405.
pub async fn method_not_allowed() -> Response {
    let body = pictor_core::api::ErrorBody {
        error: pictor_core::api::ApiError {
            code: ErrorCode::InvalidInput,
            message: "this route does not serve that method (see GET /v1/openapi.json)".into(),
            field: Some("method".into()),
        },
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

/// `GET /health`.
pub async fn health() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /v1/openapi.json`.
pub async fn openapi() -> Json<serde_json::Value> {
    Json(super::openapi::document())
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics<S: Store>(State(state): State<AppState<S>>) -> Response {
    let m = state.metrics();
    let mut text = String::new();
    let counters = [
        (
            "pictor_http_requests_total",
            "HTTP requests served.",
            &m.requests,
        ),
        (
            "pictor_http_errors_total",
            "HTTP requests answered with an error.",
            &m.errors,
        ),
        ("pictor_leases_total", "Tasks leased.", &m.leases),
        (
            "pictor_settlements_total",
            "Results accepted and settled.",
            &m.settlements,
        ),
        (
            "pictor_rejections_total",
            "Results rejected by checkers.",
            &m.rejections,
        ),
        (
            "pictor_expired_leases_total",
            "Task leases that expired.",
            &m.expired_leases,
        ),
        (
            "pictor_slashes_total",
            "Proven cheats whose worker's bond was slashed.",
            &m.slashes,
        ),
    ];
    for (name, help, counter) in counters {
        let _ = writeln!(
            text,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            counter.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        text,
        "# HELP pictor_blob_bytes_received_total Blob bytes accepted.\n# TYPE pictor_blob_bytes_received_total counter\npictor_blob_bytes_received_total {}",
        state.blobs().bytes_received()
    );
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// `POST /v1/accounts`.
pub async fn create_account<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Body(request): Body<CreateAccountRequest>,
) -> HttpResult<Response> {
    let created = state.create_account(&caller, &request).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `GET /v1/accounts/{id}`.
pub async fn get_account<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<AccountId>,
) -> HttpResult<Response> {
    Ok(Json(state.account(&caller, id).await?).into_response())
}

/// `POST /v1/accounts/{id}/deposits`.
pub async fn deposit<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<AccountId>,
    headers: HeaderMap,
    Body(request): Body<DepositRequest>,
) -> HttpResult<Response> {
    let key = idempotency_key(&headers)?;
    Ok(Json(state.deposit(&caller, id, &request, key).await?).into_response())
}

/// `GET /v1/bond`.
pub async fn bond<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
) -> HttpResult<Response> {
    Ok(Json(state.bond(&caller).await?).into_response())
}

/// `POST /v1/bond`.
pub async fn change_bond<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    headers: HeaderMap,
    Body(request): Body<BondRequest>,
) -> HttpResult<Response> {
    let key = idempotency_key(&headers)?;
    Ok(Json(state.change_bond(&caller, &request, key).await?).into_response())
}

/// `GET /v1/checkers/standing`.
pub async fn checker_standing<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
) -> HttpResult<Response> {
    Ok(Json(state.checker_standing(&caller).await?).into_response())
}

/// `GET /v1/account`.
pub async fn me<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
) -> HttpResult<Response> {
    Ok(Json(state.me(&caller).await?).into_response())
}

/// `GET /v1/stats`.
pub async fn stats<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
) -> HttpResult<Response> {
    Ok(Json(state.stats(&caller).await?).into_response())
}

/// `POST /v1/blobs/missing`.
pub async fn missing_blobs<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Body(request): Body<MissingBlobsRequest>,
) -> HttpResult<Response> {
    Ok(Json(state.missing_blobs(&caller, &request.hashes).await?).into_response())
}

/// `GET /v1/blobs/{hash}/upload?size=S`.
pub async fn upload_status<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(hash): Path<String>,
    Query(query): Query<UploadStatusQuery>,
) -> HttpResult<Response> {
    let hash = parse_hash(&hash)?;
    Ok(Json(state.upload_status(&caller, hash, query.size).await?).into_response())
}

/// `PUT /v1/blobs/{hash}?size=S&offset=O`.
pub async fn upload_chunk<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(hash): Path<String>,
    Query(query): Query<UploadChunkQuery>,
    body: Result<Bytes, BytesRejection>,
) -> HttpResult<Response> {
    let hash = parse_hash(&hash)?;
    let chunk = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            HttpError(ServiceError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "a chunk may have at most {} bytes",
                    state.config().blob_limits.max_chunk_bytes
                ),
            ))
        } else {
            invalid("body", rejection.body_text())
        }
    })?;
    let progress = state
        .upload_chunk(&caller, hash, query.size, query.offset, chunk)
        .await?;
    Ok(Json(progress).into_response())
}

/// `GET /v1/blobs/{hash}`: streams the blob.
pub async fn download_blob<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(hash): Path<String>,
) -> HttpResult<Response> {
    let hash = parse_hash(&hash)?;
    let size = state.authorize_blob_read(&caller, &hash).await?;
    blob_response(&state, &hash, size).await
}

/// Streams the blob `hash` of `size` bytes as the response body.
pub(crate) async fn blob_response<S: Store>(
    state: &AppState<S>,
    hash: &BlobHash,
    size: u64,
) -> HttpResult<Response> {
    let reader = state.blobs().open(hash).await.map_err(ServiceError::from)?;
    let body = ResponseBody::from_stream(ReaderStream::new(reader));
    Ok((
        [
            (CONTENT_TYPE, "application/octet-stream".to_string()),
            (CONTENT_LENGTH, size.to_string()),
        ],
        body,
    )
        .into_response())
}

/// `POST /v1/assets`.
pub async fn commit_asset<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Body(body): Body<CommitAssetRequest>,
) -> HttpResult<Response> {
    let committed = state.commit_asset(&caller, &body.manifest).await?;
    Ok((StatusCode::CREATED, Json(committed)).into_response())
}

/// `GET /v1/assets/{id}`.
pub async fn get_asset<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    Ok(Json(state.asset_manifest(&caller, &id).await?).into_response())
}

/// `POST /v1/quotes`.
pub async fn quote<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Body(request): Body<QuoteRequest>,
) -> HttpResult<Response> {
    Ok(Json(state.quote(&caller, &request.spec).await?).into_response())
}

/// `POST /v1/jobs`: 201 for a new job, 200 for a replay of a keyed submission.
pub async fn submit<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    headers: HeaderMap,
    Body(request): Body<CreateJobRequest>,
) -> HttpResult<Response> {
    let key = idempotency_key(&headers)?;
    let (view, created) = state
        .submit(&caller, &request.spec, request.max_cost, key)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)).into_response())
}

/// `GET /v1/jobs?cursor=&limit=`.
pub async fn list_jobs<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Query(query): Query<ListJobsQuery>,
) -> HttpResult<Response> {
    let after = match query.cursor.as_deref() {
        None | Some("") => 0,
        Some(text) => text
            .parse()
            .map_err(|_| invalid("cursor", "not a cursor from this API"))?,
    };
    let (items, next) = state
        .list_jobs(&caller, after, query.limit.unwrap_or(50))
        .await?;
    Ok(Json(Page {
        items,
        next_cursor: next.map(|n| n.to_string()),
    })
    .into_response())
}

/// `GET /v1/jobs/{id}`.
pub async fn get_job<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<JobId>,
) -> HttpResult<Response> {
    Ok(Json(state.get_job(&caller, id).await?).into_response())
}

/// `POST /v1/jobs/{id}/cancel`.
pub async fn cancel_job<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<JobId>,
) -> HttpResult<Response> {
    Ok(Json(state.cancel_job(&caller, id).await?).into_response())
}

/// `POST /v1/jobs/{id}/pause`.
pub async fn pause_job<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<JobId>,
) -> HttpResult<Response> {
    Ok(Json(state.pause_job(&caller, id).await?).into_response())
}

/// `POST /v1/jobs/{id}/resume`.
pub async fn resume_job<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<JobId>,
) -> HttpResult<Response> {
    Ok(Json(state.resume_job(&caller, id).await?).into_response())
}

/// `POST /v1/jobs/{id}/rerender`.
pub async fn rerender<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<JobId>,
    Body(request): Body<RerenderRequest>,
) -> HttpResult<Response> {
    Ok(Json(state.rerender(&caller, id, &request.frames).await?).into_response())
}

/// `GET /v1/jobs/{id}/frames`.
pub async fn frames<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<JobId>,
) -> HttpResult<Response> {
    Ok(Json(state.frames(&caller, id).await?).into_response())
}

/// `GET /v1/jobs/{id}/frames/{frame}`.
pub async fn frame<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path((id, frame)): Path<(JobId, u32)>,
) -> HttpResult<Response> {
    let (hash, size) = state.frame_blob(&caller, id, frame).await?;
    let hash = parse_hash(&hash)?;
    blob_response(&state, &hash, size).await
}

/// `POST /v1/workers`.
pub async fn register_worker<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Body(request): Body<RegisterWorkerRequest>,
) -> HttpResult<Response> {
    Ok(Json(state.register_worker(&caller, &request).await?).into_response())
}

/// `POST /v1/workers/activity`: what the calling worker is doing now.
pub async fn report_activity<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Body(report): Body<WorkerActivityReport>,
) -> HttpResult<Response> {
    state.report_activity(&caller, &report).await?;
    Ok(Json(report).into_response())
}

/// `GET /v1/workers` (public).
pub async fn list_workers<S: Store>(State(state): State<AppState<S>>) -> HttpResult<Response> {
    Ok(Json(state.list_workers().await?).into_response())
}

/// `POST /v1/leases`: 200 with a lease, 204 when no task fits (with `Retry-After` seconds when
/// many workers are idle: poll no sooner).
pub async fn lease<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
) -> HttpResult<Response> {
    Ok(match state.lease(&caller).await? {
        Some(lease) => Json(lease).into_response(),
        // Many idle workers: spread their polls (`service::idle`).
        None => match state.idle_poll_interval() {
            Some(wait) => (
                StatusCode::NO_CONTENT,
                [(axum::http::header::RETRY_AFTER, wait.as_secs().to_string())],
            )
                .into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        },
    })
}

/// `POST /v1/tasks/{id}/heartbeat`.
pub async fn heartbeat<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<TaskId>,
    Body(request): Body<HeartbeatRequest>,
) -> HttpResult<Response> {
    Ok(Json(state.heartbeat(&caller, id, &request).await?).into_response())
}

/// `POST /v1/tasks/{id}/result`.
pub async fn result<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<TaskId>,
    Body(request): Body<ResultSubmission>,
) -> HttpResult<Response> {
    Ok(Json(state.submit_result(&caller, id, &request).await?).into_response())
}

/// `POST /v1/tasks/{id}/fail`.
pub async fn fail<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<TaskId>,
    Body(request): Body<FailureReport>,
) -> HttpResult<Response> {
    Ok(Json(state.fail_task(&caller, id, &request).await?).into_response())
}

/// `POST /v1/checks/lease`: 200 with a check, 204 when none waits that the checker can verify.
pub async fn lease_check<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Body(request): Body<CheckLeaseRequest>,
) -> HttpResult<Response> {
    Ok(match state.lease_check(&caller, &request).await? {
        Some(lease) => Json(lease).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// `POST /v1/checks/{id}/verdict`.
pub async fn verdict<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<CheckId>,
    Body(request): Body<VerdictSubmission>,
) -> HttpResult<Response> {
    Ok(Json(state.post_verdict(&caller, id, &request).await?).into_response())
}

/// `GET /v1/ledger/head` (public).
pub async fn ledger_head<S: Store>(State(state): State<AppState<S>>) -> HttpResult<Response> {
    Ok(Json(state.ledger_head().await?).into_response())
}

/// `GET /v1/ledger/entries?after=&limit=` (public).
pub async fn ledger_entries<S: Store>(
    State(state): State<AppState<S>>,
    Query(query): Query<LedgerEntriesQuery>,
) -> HttpResult<Response> {
    Ok(Json(
        state
            .ledger_entries(query.after, query.limit.unwrap_or(1000))
            .await?,
    )
    .into_response())
}
