//! Verifying an upscale task by recomputation: the job's input images and the worker's outputs
//! fetched, then for each frame a few of the task's output tiles — drawn with a secret the worker
//! never sees — recomputed by the job's pinned models and compared by the agreement rule
//! (`pictor_upscale::verify`). One tile that disagrees rejects the task.

use super::verification::{CheckFolders, evidence, fresh_secret};
use crate::cache::BlobCache;
use crate::scene::fetch_scene;
use crate::upscale_job::{input_path, task_rect};
use anyhow::{Context, Result};
use image::ImageReader;
use pictor_core::api::{CheckLease, Verdict};
use pictor_sdk::Client;
use pictor_upscale::io::{ViewTransform, read_input};
use pictor_upscale::verify::{UpscaleVerdict, check_task};
use pictor_upscale::{ModelShelf, RgbPlanes, job_chain};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Fetches the check's inputs and outputs and recomputes some tiles of each frame; answers the
/// verdict and its evidence (each frame's recomputed tiles and how they agreed).
pub(super) async fn verify_upscale_check(
    client: &Client,
    cache: &Arc<BlobCache>,
    folders: &CheckFolders<'_>,
    shelf: Arc<ModelShelf>,
    check: &CheckLease,
) -> Result<(Verdict, serde_json::Value)> {
    let spec = check
        .spec
        .upscale
        .clone()
        .context("an upscale check without its upscale settings")?;
    let inputs = fetch_scene(
        client,
        cache,
        &check.spec.scene,
        &folders.check.join("scene"),
    )
    .await
    .context("fetching the input images")?;
    let _pin = cache.pin(check.outputs.iter().map(|output| output.hash.clone()));
    let mut frames: Vec<(u32, PathBuf)> = Vec::with_capacity(check.outputs.len());
    for output in &check.outputs {
        let path = cache
            .fetch(client, &output.hash, output.size)
            .await
            .with_context(|| format!("downloading the output of frame {}", output.frame))?;
        frames.push((output.frame, path));
    }
    let expected = check.work.frames();
    let listed: Vec<u32> = frames.iter().map(|(frame, _)| *frame).collect();
    if listed != expected {
        let reason = format!("the result lists frames {listed:?} where the task is {expected:?}");
        return Ok((Verdict::Reject, evidence(&[], &[reason])));
    }
    let rect = task_rect(&spec, &check.work);
    let frames_in_job = check.spec.frames.len();
    tokio::task::spawn_blocking(move || {
        let models = shelf.models_for(&spec)?;
        let mut verdicts: Vec<serde_json::Value> = Vec::with_capacity(frames.len());
        let mut reasons: Vec<String> = Vec::new();
        for (frame, path) in &frames {
            let got = match read_output(path, rect.width, rect.height) {
                Ok(got) => got,
                Err(reason) => {
                    reasons.push(format!("frame {frame}: {reason}"));
                    return Ok((Verdict::Reject, evidence(&[], &reasons)));
                }
            };
            let input_file =
                input_path(&inputs, frames_in_job, *frame).map_err(anyhow::Error::msg)?;
            let input = read_input(&input_file, ViewTransform::Standard)
                .with_context(|| format!("reading frame {frame}'s input"))?;
            let chain = job_chain(&input, &models, &spec)
                .with_context(|| format!("frame {frame}'s input"))?;
            let verdict: UpscaleVerdict = check_task(&chain, rect, &got, fresh_secret()?)?;
            if let Some(reason) = &verdict.reason {
                reasons.push(format!("frame {frame}: {reason}"));
            }
            verdicts.push(serde_json::json!({ "frame": frame, "upscale": verdict }));
        }
        let verdict = if reasons.is_empty() {
            Verdict::Accept
        } else {
            Verdict::Reject
        };
        Ok((
            verdict,
            serde_json::json!({ "frames": verdicts, "reasons": reasons }),
        ))
    })
    .await
    .context("the upscale verifier panicked")?
}

/// The worker's image for a task of `width × height`: a PNG no larger than that (a bigger or
/// undecodable file is the worker's fault, a rejection, never read whole into memory).
fn read_output(path: &Path, width: u32, height: u32) -> Result<RgbPlanes, String> {
    let mut reader = ImageReader::open(path)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    if reader.format() != Some(image::ImageFormat::Png) {
        return Err("the output is not a PNG".into());
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| format!("the output does not decode as a {width}×{height} PNG: {e}"))?;
    Ok(RgbPlanes::from_image(&image))
}
