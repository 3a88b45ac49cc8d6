//! `GET /jobs/{id}/frames.zip`: every accepted frame of a job in one ZIP archive, named as
//! `pictor job download` names the files, streamed as it is written (`web::zip`): nothing is
//! built in memory or on disk, and a failure part-way aborts the response instead of ending it
//! with a truncated archive that looks whole.

use super::zip::{DosTime, ZipStream};
use super::{AppState, session};
use crate::blobs::BlobStore;
use crate::http::HttpError;
use crate::service::ServiceError;
use crate::store::Store;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use pictor_core::JobId;
use pictor_core::api::FrameView;
use std::collections::{BTreeMap, BTreeSet};
use tokio_util::io::ReaderStream;

/// Bytes buffered between the archive's writer and the response.
const PIPE_BYTES: usize = 256 << 10;

/// One file of the archive: its name and the blob holding it.
struct Entry {
    name: String,
    hash: pictor_core::BlobHash,
    size: u64,
}

/// The archive's files in frame order, named like `pictor job download` names them; the tiles of
/// a still cut into tiles each get a file of their own (`frame_0001.tile_2.png`).
fn entries(frames: Vec<FrameView>, extension: &str) -> Result<Vec<Entry>, ServiceError> {
    let mut by_frame: BTreeMap<u32, Vec<FrameView>> = BTreeMap::new();
    for frame in frames {
        by_frame.entry(frame.frame).or_default().push(frame);
    }
    let mut used = BTreeSet::new();
    let mut entries = Vec::new();
    for (frame, views) in by_frame {
        let names: Vec<String> = if views.len() == 1 {
            vec![pictor_sdk::frames::delivered_name(
                frame, &views, extension, &mut used,
            )]
        } else {
            (1..=views.len())
                .map(|tile| format!("frame_{frame:04}.tile_{tile}.{extension}"))
                .collect()
        };
        for (view, name) in views.into_iter().zip(names) {
            let hash = view
                .hash
                .parse()
                .map_err(|error| ServiceError::internal(&error))?;
            entries.push(Entry {
                name,
                hash,
                size: view.size,
            });
        }
    }
    Ok(entries)
}

/// `GET /jobs/{id}/frames.zip`.
pub async fn frames_zip<S: Store>(
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
    let listed = async {
        let view = state.get_job(&current.caller, job).await?;
        let frames = state.frames(&current.caller, job).await?;
        entries(frames, view.spec.output.extension())
    };
    let entries = match listed.await {
        Ok(entries) if entries.is_empty() => {
            return (
                StatusCode::NOT_FOUND,
                "no frame of this job has been accepted yet",
            )
                .into_response();
        }
        Ok(entries) => entries,
        Err(error) => return HttpError::from(error).into_response(),
    };
    let (writer, reader) = tokio::io::duplex(PIPE_BYTES);
    let (failed, failure) = tokio::sync::oneshot::channel::<std::io::Error>();
    let blobs = state.blobs().clone();
    let modified = DosTime::from_unix_secs(state.now_ms() / 1000);
    tokio::spawn(async move {
        let written = async {
            let mut zip = ZipStream::new(writer, modified);
            for entry in entries {
                let mut content = blobs
                    .open(&entry.hash)
                    .await
                    .map_err(std::io::Error::other)?;
                zip.add(&entry.name, entry.size, &mut content).await?;
            }
            zip.finish().await.map(drop)
        };
        if let Err(error) = written.await {
            tracing::warn!(%job, %error, "a job's zip download stopped part-way");
            let _ = failed.send(error);
        }
    });
    // After the last byte, a failure (if any) is raised as the body's error: the connection is
    // cut, and the browser reports the download failed.
    let failure = futures_util::stream::once(failure)
        .filter_map(|outcome| async move { outcome.ok().map(Err::<bytes::Bytes, std::io::Error>) });
    let body = Body::from_stream(ReaderStream::new(reader).chain(failure));
    (
        [
            (CONTENT_TYPE, "application/zip".to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"job-{}-frames.zip\"", job.0),
            ),
            (CACHE_CONTROL, "private, no-store".to_string()),
        ],
        body,
    )
        .into_response()
}
