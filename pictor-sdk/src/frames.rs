//! Downloading a job's accepted frames into a folder.

use crate::client::{Call, Client};
use crate::download::download_to;
use crate::error::{Error, Result};
use crate::scan::hash_file;
use pictor_core::JobId;
use pictor_core::api::{FrameView, JobView, routes};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A frame written by [`Jobs::download_frames`](crate::jobs::Jobs::download_frames).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadedFrame {
    /// The frame number, also in the file name; a tiled still gives one merged file, one entry.
    pub frame: u32,
    /// Where it was written: `dir/frame_{frame:04}.{ext}`.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// False when a file with the right hash was already there.
    pub downloaded: bool,
}

/// The file name of a frame: `frame_0007.png`.
pub fn frame_file_name(frame: u32, extension: &str) -> String {
    format!("frame_{frame:04}.{extension}")
}

pub(crate) async fn download_frames(
    client: Client,
    job: JobId,
    dir: PathBuf,
) -> Result<Vec<DownloadedFrame>> {
    let view: JobView = client.json(Call::get(routes::job(job.0))).await?;
    let extension = view.spec.output.extension();
    let frames: Vec<FrameView> = client.json(Call::get(routes::job_frames(job.0))).await?;
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|error| Error::io(&dir, error))?;
    // A tiled still lists several tiles under one frame number; the frame route serves the merged
    // image, which no single tile hash describes.
    let mut by_frame: BTreeMap<u32, Vec<FrameView>> = BTreeMap::new();
    for frame in frames {
        by_frame.entry(frame.frame).or_default().push(frame);
    }
    let mut written = Vec::with_capacity(by_frame.len());
    for (frame, views) in by_frame {
        let path = dir.join(frame_file_name(frame, extension));
        let expected = match views.as_slice() {
            [single] => Some(single.hash.to_ascii_lowercase()),
            _ => None,
        };
        if let Some(expected) = &expected
            && let Some(size) = already_there(&path, expected).await
        {
            written.push(DownloadedFrame {
                frame,
                path,
                size,
                downloaded: false,
            });
            continue;
        }
        let size = download_to(
            &client,
            Call::get(routes::job_frame(job.0, frame)),
            &path,
            expected.as_deref(),
        )
        .await?;
        written.push(DownloadedFrame {
            frame,
            path,
            size,
            downloaded: true,
        });
    }
    Ok(written)
}

/// The size of `path` when it exists and hashes to `expected`.
async fn already_there(path: &Path, expected: &str) -> Option<u64> {
    let path = path.to_path_buf();
    let (hash, size) = tokio::task::spawn_blocking(move || hash_file(&path))
        .await
        .ok()?
        .ok()?;
    (hash == expected).then_some(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_names_are_zero_padded() {
        assert_eq!(frame_file_name(7, "png"), "frame_0007.png");
        assert_eq!(frame_file_name(12345, "exr"), "frame_12345.exr");
    }

    #[tokio::test]
    async fn existing_files_are_recognised_by_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frame_0001.png");
        std::fs::write(&path, b"pixels").unwrap();
        let hash = blake3::hash(b"pixels").to_hex().to_string();
        assert_eq!(already_there(&path, &hash).await, Some(6));
        assert_eq!(already_there(&path, &"00".repeat(32)).await, None);
        assert_eq!(already_there(&dir.path().join("none"), &hash).await, None);
    }
}
