//! Verifying a frame Blender itself wrote with the scene's settings, without evidence — what
//! `pictor verify --scene-settings` does with a frame from the creator's own Blender (or anyone's):
//! is it an honest N-sample render of this scene, finished with the scene's colour management,
//! compositor and output format?
//!
//! Such a frame is display-referred (a view transform, maybe a compositor, quantised), so the
//! linear noise model of the protocol does not apply to it directly. The matched reference model
//! does (docs/VERIFICATION.md, section 1): the checker renders two references of the same scene at
//! the same N with its own secret seeds and lets Blender finish and write each exactly like the
//! frame ([`Renderer::render_finished`](pictor_render::Renderer::render_finished)), so an honest
//! frame and each reference are identically distributed, whatever the finishing does per pixel.
//! The three are decoded without colour conversion
//! ([`decode_samples`]) and the whole frame goes through the statistics as a grid of tiles.
//!
//! The price is two full-frame renders (200 % of the frame's render): this is the local tool's
//! check, for frames that come without evidence. Frames delivered through the network carry
//! evidence and are checked far more cheaply ([`crate::faithful`]).

use crate::challenge::ChallengeKey;
use crate::decide::Decision;
use crate::intake::pixel_hash;
use crate::protocol::{Checker, ProtocolError, centred_on_first};
use crate::{TileTriple, Verdict, verify_frame};
use pictor_core::job::{Engine, Resolution};
use pictor_core::task::PixelRect;
use pictor_render::LinearImage;
use pictor_render::blender::finish::FinishRequest;
use pictor_render::compare::decode_samples;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

/// Side of the tiles the frame is cut into for the statistics.
const TILE: u32 = 64;

/// A frame Blender wrote with the scene's settings, and what it claims to be.
#[derive(Clone, Debug, PartialEq)]
pub struct DisplayFrameJob {
    /// The `.blend` it was rendered from.
    pub scene: PathBuf,
    /// Frame number.
    pub frame: u32,
    /// Its size.
    pub resolution: Resolution,
    /// Samples per pixel it claims (the scene's samples, unless the renderer changed them).
    pub samples: u32,
    /// The seed it was rendered with, if known (references never use it); the scene's own seed
    /// otherwise, which the references then avoid.
    pub seed: Option<u64>,
    /// The engine, when not the scene's.
    pub engine: Option<Engine>,
    /// The frame file.
    pub image: PathBuf,
    /// A folder for the references.
    pub work_dir: PathBuf,
}

/// The verdict on a display-referred frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DisplayReport {
    /// Accept, reject or escalate.
    pub verdict: Verdict,
    /// Why.
    pub reasons: Vec<String>,
    /// The statistics' decision over the whole frame.
    pub decision: Option<Decision>,
    /// Tiles the frame was cut into.
    pub tiles: usize,
    /// The references' seeds.
    pub seeds: Vec<u64>,
    /// Milliseconds the two reference renders took.
    pub reference_ms: u64,
}

/// Renders the two matched references and runs the statistics on the whole frame.
pub fn verify_display_frame(
    checker: &Checker<'_>,
    job: &DisplayFrameJob,
) -> Result<DisplayReport, ProtocolError> {
    let bytes = std::fs::read(&job.image).map_err(|error| {
        ProtocolError::Render(pictor_render::RenderError::io(
            format!("reading {}", job.image.display()),
            error,
        ))
    })?;
    let (width, height) = (job.resolution.width, job.resolution.height);
    let refused = |reason: String| DisplayReport {
        verdict: Verdict::Reject,
        reasons: vec![reason],
        decision: None,
        tiles: 0,
        seeds: Vec::new(),
        reference_ms: 0,
    };
    let frame = match decode_samples(&bytes) {
        Ok(frame) => frame,
        Err(error) => {
            return Ok(refused(format!(
                "REJECT: the frame does not decode: {error}"
            )));
        }
    };
    if (frame.width(), frame.height()) != (width, height) {
        return Ok(refused(format!(
            "REJECT: the frame is {}×{}, not {width}×{height}",
            frame.width(),
            frame.height()
        )));
    }
    if frame.as_rgba().iter().any(|v| !v.is_finite()) {
        return Ok(refused("REJECT: NaN or infinite samples".to_string()));
    }
    let claimed_seed = job.seed.unwrap_or(0);
    let key = ChallengeKey::derive(
        &checker.secret,
        &pixel_hash(&frame),
        job.frame,
        job.samples,
        claimed_seed,
    );
    let seeds = key.reference_seeds("display", 2, claimed_seed);
    let started = Instant::now();
    let mut references = Vec::with_capacity(2);
    for (index, &seed) in seeds.iter().enumerate() {
        let out = job.work_dir.join(format!("reference-{index}"));
        let finished = checker.renderer.render_finished(
            &FinishRequest {
                scene: job.scene.clone(),
                frame: job.frame,
                resolution: job.resolution,
                samples: job.samples,
                seed,
                engine: job.engine,
                output: None,
                out_dir: out.join("out"),
                evidence: out.join("evidence.exr"),
            },
            &checker.control,
        )?;
        let written = std::fs::read(&finished.deliverable).map_err(|error| {
            ProtocolError::Render(pictor_render::RenderError::io(
                format!("reading {}", finished.deliverable.display()),
                error,
            ))
        })?;
        references.push(decode_samples(&written)?);
    }
    let reference_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let rects = grid(width, height);
    let crop_all = |image: &LinearImage| -> Result<Vec<LinearImage>, ProtocolError> {
        rects
            .iter()
            .map(|rect| image.crop(*rect).map_err(ProtocolError::Render))
            .collect()
    };
    let worker_tiles = crop_all(&frame)?;
    let (refs_a, refs_b) =
        centred_on_first(&crop_all(&references[0])?, &crop_all(&references[1])?)?;
    let triples: Vec<TileTriple<'_>> = worker_tiles
        .iter()
        .zip(refs_a.iter().zip(&refs_b))
        .map(|(worker, (a, b))| TileTriple {
            worker,
            reference_a: a,
            reference_b: b,
        })
        .collect();
    let config = &checker.config;
    let decision = verify_frame(
        checker.verifier,
        &triples,
        &config.stat_params,
        &config.thresholds,
    )?;
    Ok(DisplayReport {
        verdict: decision.verdict,
        reasons: decision.reasons.clone(),
        tiles: triples.len(),
        decision: Some(decision),
        seeds,
        reference_ms,
    })
}

/// The whole frame as tiles of at most [`TILE`] pixels a side.
fn grid(width: u32, height: u32) -> Vec<PixelRect> {
    let mut rects = Vec::new();
    let mut y = 0;
    while y < height {
        let tile_height = TILE.min(height - y);
        let mut x = 0;
        while x < width {
            let tile_width = TILE.min(width - x);
            rects.push(PixelRect {
                x,
                y,
                width: tile_width,
                height: tile_height,
            });
            x += tile_width;
        }
        y += tile_height;
    }
    rects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_covers_the_frame_once() {
        for (width, height) in [(160, 96), (64, 64), (65, 1), (1920, 1080)] {
            let rects = grid(width, height);
            let area: u64 = rects
                .iter()
                .map(|r| u64::from(r.width) * u64::from(r.height))
                .sum();
            assert_eq!(area, u64::from(width) * u64::from(height));
            assert!(rects.iter().all(|r| r.fits_in(width, height)));
        }
    }
}
