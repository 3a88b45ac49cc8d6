//! What a job's live page loads besides itself, the session cookie standing for the API key (a
//! browser's `EventSource` and `<img>` send cookies, not headers):
//! - `GET /jobs/{id}/events`: the API's Server-Sent Events stream of the job, resumable from
//!   `Last-Event-ID` as the API's is;
//! - `GET /jobs/{id}/frames/{frame}`: an accepted frame's file (the tiles' pictures, and the
//!   download), with its output hash as the `ETag` so a browser revalidates instead of reloading.

use super::{AppState, session};
use crate::http::{blob_response, stream_job_events};
use crate::store::Store;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pictor_core::JobId;

/// `GET /jobs/{id}/events`.
pub async fn job_events<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(current) = session::current(&state, &headers).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(job) = id.parse::<u64>().map(JobId) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let after = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok())
        .unwrap_or(0);
    match stream_job_events(state, current.caller, job, after).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// `GET /jobs/{id}/frames/{frame}`.
pub async fn frame<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path((id, frame)): Path<(String, String)>,
) -> Response {
    let Some(current) = session::current(&state, &headers).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let (Ok(job), Ok(frame)) = (id.parse::<u64>().map(JobId), frame.parse::<u32>()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (hash, size) = match state.frame_blob(&current.caller, job, frame).await {
        Ok(found) => found,
        Err(error) => return crate::http::HttpError::from(error).into_response(),
    };
    let etag = format!("\"{hash}\"");
    revalidated(&headers, &etag, async {
        let hash = hash
            .parse::<pictor_core::BlobHash>()
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
        blob_response(&state, &hash, size)
            .await
            .map_err(IntoResponse::into_response)
    })
    .await
}

/// A response named by `etag` and kept `private, no-cache` (the browser asks each time, the ETag
/// spares the bytes): 304 when the request's `If-None-Match` names it, else what `fresh` makes —
/// or `fresh`'s error response as it is.
pub async fn revalidated(
    headers: &HeaderMap,
    etag: &str,
    fresh: impl Future<Output = Result<Response, Response>>,
) -> Response {
    let unchanged = headers
        .get(IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match fresh.await {
            Ok(response) => response,
            Err(response) => return response,
        }
    };
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(ETAG, value);
    }
    response
}
