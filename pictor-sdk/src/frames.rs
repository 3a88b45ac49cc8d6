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
    let mut names_used = std::collections::BTreeSet::new();
    for (frame, views) in by_frame {
        let path = dir.join(delivered_name(frame, &views, extension, &mut names_used));
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

/// The file name a frame downloads under: the name the scene gave it (a frame Blender wrote with
/// the scene's settings, `shot_0001.png`) when it is a plain file name not used yet in this
/// download, else `frame_NNNN.<ext>`. `views` are the outputs listed under `frame`; `used` collects
/// the names given so far. Pictor Cloud's zip download names its files the same way.
pub fn delivered_name(
    frame: u32,
    views: &[FrameView],
    extension: &str,
    used: &mut std::collections::BTreeSet<String>,
) -> String {
    let scene_name = match views {
        [single] => single
            .name
            .as_deref()
            .filter(|name| pictor_core::api::valid_output_name(name)),
        _ => None,
    };
    let name = match scene_name {
        Some(name) if !used.contains(name) => name.to_string(),
        _ => frame_file_name(frame, extension),
    };
    used.insert(name.clone());
    name
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

    #[test]
    fn scene_names_are_used_once_and_only_when_plain() {
        let view = |frame: u32, name: Option<&str>| FrameView {
            task: pictor_core::TaskId(frame.into()),
            frame,
            hash: "00".repeat(32),
            size: 1,
            name: name.map(str::to_string),
        };
        let mut used = std::collections::BTreeSet::new();
        let one = delivered_name(1, &[view(1, Some("sh_01.png"))], "png", &mut used);
        assert_eq!(one, "sh_01.png");
        // A second frame claiming the same name, or a name with a path in it, falls back.
        let two = delivered_name(2, &[view(2, Some("sh_01.png"))], "png", &mut used);
        assert_eq!(two, "frame_0002.png");
        let three = delivered_name(3, &[view(3, Some("../x.png"))], "png", &mut used);
        assert_eq!(three, "frame_0003.png");
        let four = delivered_name(4, &[view(4, None)], "exr", &mut used);
        assert_eq!(four, "frame_0004.exr");
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
