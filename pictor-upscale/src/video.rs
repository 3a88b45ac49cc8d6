//! Videos: split into frames and joined again by `ffmpeg` and `ffprobe` (Debian's; run as
//! programs, never linked), keeping the original's frame count, frame rate and audio.
//!
//! Only constant-frame-rate videos are taken: the upscaled video is rebuilt from numbered frames
//! at the original's rate, so a variable-rate one would drift; it is refused with the reason.
//! The audio streams are copied packet for packet, never re-encoded.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The most frames a video may have (an hour at 60 fps).
pub const MAX_FRAMES: u64 = 216_000;

/// Why a video cannot be handled.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// `ffmpeg` or `ffprobe` is not installed.
    #[error("{0} is not installed (Debian: apt install ffmpeg)")]
    Missing(&'static str),
    /// The tool ran and failed.
    #[error("{tool} failed on {file}: {stderr}")]
    Tool {
        /// Which.
        tool: &'static str,
        /// On what.
        file: String,
        /// Its last words.
        stderr: String,
    },
    /// The file is not a video Pictor upscales.
    #[error("{0}")]
    Refused(String),
}

/// What `probe` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VideoInfo {
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frames in the first video stream.
    pub frames: u64,
    /// Frames per second as a fraction (`30000/1001`).
    pub frame_rate: (u32, u32),
    /// Whether there is an audio stream.
    pub has_audio: bool,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<ProbeStream>,
}

#[derive(Deserialize)]
struct ProbeStream {
    codec_type: String,
    #[serde(default)]
    width: Option<u32>,
    #[serde(default)]
    height: Option<u32>,
    #[serde(default)]
    r_frame_rate: Option<String>,
    #[serde(default)]
    avg_frame_rate: Option<String>,
    #[serde(default)]
    nb_read_frames: Option<String>,
}

/// Reads a video's size, frame count (by decoding it), frame rate and whether it has audio.
///
/// # Errors
/// When `ffprobe` is missing or fails, or the file has no video stream, a variable frame rate, or
/// more than [`MAX_FRAMES`] frames.
pub fn probe(video: &Path) -> Result<VideoInfo, VideoError> {
    let output = run(
        "ffprobe",
        video,
        Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-print_format", "json"])
            .arg("-show_streams")
            .arg(video),
    )?;
    let probe: Probe = serde_json::from_slice(&output).map_err(|error| {
        VideoError::Refused(format!("ffprobe's answer on {}: {error}", video.display()))
    })?;
    let refused = |why: &str| VideoError::Refused(format!("{}: {why}", video.display()));
    let stream = probe
        .streams
        .iter()
        .find(|stream| stream.codec_type == "video")
        .ok_or_else(|| refused("no video stream"))?;
    let rate = stream
        .r_frame_rate
        .as_deref()
        .and_then(parse_rate)
        .ok_or_else(|| refused("no frame rate"))?;
    let average = stream.avg_frame_rate.as_deref().and_then(parse_rate);
    if average.is_some_and(|average| !same_rate(average, rate)) {
        return Err(refused(
            "a variable frame rate (only constant-rate videos keep their timing)",
        ));
    }
    let frames: u64 = stream
        .nb_read_frames
        .as_deref()
        .and_then(|frames| frames.parse().ok())
        .ok_or_else(|| refused("the frames cannot be counted"))?;
    if frames == 0 || frames > MAX_FRAMES {
        return Err(refused(&format!(
            "{frames} frames (1 to {MAX_FRAMES} are taken)"
        )));
    }
    let (Some(width), Some(height)) = (stream.width, stream.height) else {
        return Err(refused("no frame size"));
    };
    Ok(VideoInfo {
        width,
        height,
        frames,
        frame_rate: rate,
        has_audio: probe
            .streams
            .iter()
            .any(|stream| stream.codec_type == "audio"),
    })
}

/// Writes every frame of the first video stream as `dir/000001.png`, … (8-bit RGB), one file per
/// decoded frame (none dropped or repeated); answers them in order.
///
/// # Errors
/// When `ffmpeg` fails.
pub fn split_frames(video: &Path, dir: &Path) -> Result<Vec<PathBuf>, VideoError> {
    std::fs::create_dir_all(dir)
        .map_err(|error| VideoError::Refused(format!("creating {}: {error}", dir.display())))?;
    run(
        "ffmpeg",
        video,
        Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-i"])
            .arg(video)
            .args([
                "-map",
                "0:v:0",
                "-fps_mode",
                "passthrough",
                "-pix_fmt",
                "rgb24",
            ])
            .arg(dir.join(FRAME_PATTERN)),
    )?;
    let mut frames: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|error| VideoError::Refused(format!("reading {}: {error}", dir.display())))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "png"))
        .collect();
    frames.sort();
    Ok(frames)
}

/// The name pattern of split frames (`000001.png`, …), as `ffmpeg` reads and writes it.
pub const FRAME_PATTERN: &str = "%06d.png";

/// What became of the original's audio in the joined video.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioJoin {
    /// The original has no audio.
    None,
    /// Copied packet for packet.
    Copied,
    /// Re-encoded as AAC at 320 kb/s, because the output's container cannot hold the original's
    /// codec (FLAC or PCM into MP4, for example).
    ReEncoded,
}

/// Joins `frames_dir/000001.png`, … at the original's frame rate into `out` (H.264, CRF 16,
/// 4:2:0), with the original's audio streams copied — or, where `out`'s container cannot hold
/// their codec, re-encoded as AAC.
///
/// # Errors
/// When `ffmpeg` fails.
pub fn join_frames(
    frames_dir: &Path,
    original: &Path,
    info: &VideoInfo,
    out: &Path,
) -> Result<AudioJoin, VideoError> {
    let join = |audio: &[&str]| {
        let (numerator, denominator) = info.frame_rate;
        run(
            "ffmpeg",
            out,
            Command::new("ffmpeg")
                .args(["-v", "error", "-nostdin", "-y", "-framerate"])
                .arg(format!("{numerator}/{denominator}"))
                .arg("-i")
                .arg(frames_dir.join(FRAME_PATTERN))
                .arg("-i")
                .arg(original)
                .args(["-map", "0:v:0", "-map", "1:a?"])
                .args(audio)
                .args(["-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p"])
                .args(["-movflags", "+faststart"])
                .arg(out),
        )
    };
    if !info.has_audio {
        join(&[])?;
        return Ok(AudioJoin::None);
    }
    match join(&["-c:a", "copy"]) {
        Ok(_) => Ok(AudioJoin::Copied),
        Err(VideoError::Tool { .. }) => {
            join(&["-c:a", "aac", "-b:a", "320k"])?;
            Ok(AudioJoin::ReEncoded)
        }
        Err(other) => Err(other),
    }
}

/// A whole video upscaled on this machine: split into `work_dir/in/`, each frame turned into
/// `work_dir/out/` by `upscale_frame(input, output)`, joined into `out`. Answers the original's
/// [`VideoInfo`] and what became of its audio.
///
/// # Errors
/// As [`probe`], [`split_frames`] and [`join_frames`]; when a frame fails, with its number and
/// reason.
pub fn upscale_video(
    video: &Path,
    out: &Path,
    work_dir: &Path,
    mut upscale_frame: impl FnMut(&Path, &Path) -> Result<(), String>,
) -> Result<(VideoInfo, AudioJoin), VideoError> {
    let info = probe(video)?;
    let (inputs, outputs) = (work_dir.join("in"), work_dir.join("out"));
    let frames = split_frames(video, &inputs)?;
    if frames.len() as u64 != info.frames {
        return Err(VideoError::Refused(format!(
            "{} frames were decoded where ffprobe counted {}",
            frames.len(),
            info.frames
        )));
    }
    std::fs::create_dir_all(&outputs)
        .map_err(|error| VideoError::Refused(format!("creating {}: {error}", outputs.display())))?;
    for (index, frame) in frames.iter().enumerate() {
        let name = frame.file_name().unwrap_or_default();
        upscale_frame(frame, &outputs.join(name)).map_err(|why| {
            VideoError::Refused(format!("frame {} of {}: {why}", index + 1, video.display()))
        })?;
    }
    let audio = join_frames(&outputs, video, &info, out)?;
    Ok((info, audio))
}

fn run(tool: &'static str, file: &Path, command: &mut Command) -> Result<Vec<u8>, VideoError> {
    let output = command.output().map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            VideoError::Missing(tool)
        } else {
            VideoError::Tool {
                tool,
                file: file.display().to_string(),
                stderr: error.to_string(),
            }
        }
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last: Vec<&str> = stderr.lines().rev().take(3).collect();
        return Err(VideoError::Tool {
            tool,
            file: file.display().to_string(),
            stderr: last.into_iter().rev().collect::<Vec<_>>().join(" / "),
        });
    }
    Ok(output.stdout)
}

/// `"30000/1001"` → `(30000, 1001)`; `None` for zero or malformed rates.
fn parse_rate(rate: &str) -> Option<(u32, u32)> {
    let (numerator, denominator) = rate.split_once('/')?;
    let (numerator, denominator) = (numerator.parse().ok()?, denominator.parse().ok()?);
    (numerator > 0 && denominator > 0).then_some((numerator, denominator))
}

fn same_rate(a: (u32, u32), b: (u32, u32)) -> bool {
    u64::from(a.0) * u64::from(b.1) == u64::from(b.0) * u64::from(a.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_rates_parse_and_compare_as_fractions() {
        assert_eq!(parse_rate("30000/1001"), Some((30000, 1001)));
        assert_eq!(parse_rate("0/0"), None);
        assert_eq!(parse_rate("25"), None);
        assert!(same_rate((24, 1), (48, 2)));
        assert!(!same_rate((24, 1), (25, 1)));
    }
}
