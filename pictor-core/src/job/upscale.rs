//! `UpscaleSpec`: what an upscale job (`renderer.kind = upscale`) says beyond a render job's
//! fields — the factor, the models of its passes pinned by their files' hash, the input size and
//! the tiling every worker and checker computes with. Together they define one canonical
//! computation, so a checker can recompute any tile of a worker's output and expect the same
//! pixels (docs/ARCHITECTURE.md §8e).
//!
//! The job's scene asset holds the input images, one per frame, named by the frame number in six
//! digits (`000001.png`, `000002.jpg`, …; PNG, JPEG or EXR): see [`input_file_stem`].

use super::spec::Resolution;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The factors an upscale job may ask for: one pass of a ×2 or ×4 model, or two chained passes.
pub const UPSCALE_FACTORS: [u32; 4] = [2, 4, 8, 16];

/// The smallest input tile a pass may be computed in.
pub const MIN_UPSCALE_TILE: u32 = 16;

/// The largest input tile a pass may be computed in.
pub const MAX_UPSCALE_TILE: u32 = 1024;

/// The most context (input pixels read around a tile) a pass may use.
pub const MAX_UPSCALE_CONTEXT: u32 = 256;

/// The work of one model pass per input pixel, in the reference machine's samples × pixels:
/// SPAN runs at ~0.20 output MP/s ×4 on this project's reference machine (docs/BENCHMARKS.md,
/// "Upscaling"), i.e. ~80 µs per input pixel, which is what the reference machine traces in
/// 88 samples of one pixel (1.1 M samples·px/s).
pub const PASS_SAMPLES_PER_INPUT_PIXEL: u64 = 88;

/// One pass's model, pinned: its catalog id and the BLAKE3 hash of its files.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ModelPin {
    /// The model's catalog id (`spanx4_ch48`).
    pub id: String,
    /// BLAKE3 of its files (param, then weights), 64 hex digits: a worker or checker whose model
    /// files hash otherwise refuses the task.
    pub files_hash: String,
}

/// An upscale job's computation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UpscaleSpec {
    /// Output pixels per input pixel along each side: 2, 4, 8 or 16.
    pub factor: u32,
    /// The models of the passes, first to last: ×2 or ×4 alone, ×4 then ×2 for ×8, ×4 then ×4
    /// for ×16 (see [`UpscaleSpec::pass_scales`]).
    pub passes: Vec<ModelPin>,
    /// The size of every input image; the job's resolution is this times the factor.
    pub input: Resolution,
    /// Each pass computes its input in tiles of this many pixels a side…
    pub tile: u32,
    /// …reading this many pixels of context around each (mirrored at the image's borders).
    pub context: u32,
}

impl UpscaleSpec {
    /// The scale of each pass for `factor`: `[2]`, `[4]`, `[4, 2]` or `[4, 4]`.
    pub fn pass_scales(factor: u32) -> Option<&'static [u32]> {
        match factor {
            2 => Some(&[2]),
            4 => Some(&[4]),
            8 => Some(&[4, 2]),
            16 => Some(&[4, 4]),
            _ => None,
        }
    }

    /// The output size: the input times the factor on each side.
    pub fn output(&self) -> Resolution {
        Resolution {
            width: self.input.width.saturating_mul(self.factor),
            height: self.input.height.saturating_mul(self.factor),
        }
    }

    /// The side of one output tile of the last pass: the unit a task is made of and a checker
    /// recomputes. Task tiles must be whole multiples of it.
    pub fn output_tile(&self) -> u32 {
        let last = Self::pass_scales(self.factor)
            .and_then(|scales| scales.last().copied())
            .unwrap_or(1);
        self.tile.saturating_mul(last)
    }

    /// The work of one frame in the reference machine's samples × pixels: every pass's input
    /// pixels times [`PASS_SAMPLES_PER_INPUT_PIXEL`] (×8 costs its ×4 pass on the input plus its
    /// ×2 pass on 16 times as many pixels).
    pub fn samples_px_per_frame(&self) -> u64 {
        let mut pixels = self.input.pixels();
        let mut work = 0u64;
        for &scale in Self::pass_scales(self.factor).unwrap_or(&[]) {
            work = work.saturating_add(pixels.saturating_mul(PASS_SAMPLES_PER_INPUT_PIXEL));
            pixels = pixels.saturating_mul(u64::from(scale) * u64::from(scale));
        }
        work
    }

    /// Checks every field and that `resolution` (the job's) is the input times the factor.
    pub fn validate(&self, resolution: Resolution) -> Result<()> {
        let scales = Self::pass_scales(self.factor).ok_or_else(|| {
            Error::invalid(
                "upscale.factor",
                format!("×{}: the factor must be 2, 4, 8 or 16", self.factor),
            )
        })?;
        if self.passes.len() != scales.len() {
            return Err(Error::invalid(
                "upscale.passes",
                format!(
                    "×{} takes {} pass(es), the spec names {}",
                    self.factor,
                    scales.len(),
                    self.passes.len()
                ),
            ));
        }
        for pass in &self.passes {
            let id_ok = !pass.id.is_empty()
                && pass.id.len() <= 64
                && pass
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            if !id_ok {
                return Err(Error::invalid(
                    "upscale.passes.id",
                    format!("{:?}: 1–64 characters of A-Z a-z 0-9 _ . -", pass.id),
                ));
            }
            let hash_ok = pass.files_hash.len() == 64
                && pass
                    .files_hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hash_ok {
                return Err(Error::invalid(
                    "upscale.passes.files_hash",
                    format!("{:?}: 64 lower-case hex digits", pass.files_hash),
                ));
            }
        }
        if !(MIN_UPSCALE_TILE..=MAX_UPSCALE_TILE).contains(&self.tile) {
            return Err(Error::invalid(
                "upscale.tile",
                format!(
                    "{} is outside {MIN_UPSCALE_TILE}..={MAX_UPSCALE_TILE}",
                    self.tile
                ),
            ));
        }
        if self.context > MAX_UPSCALE_CONTEXT {
            return Err(Error::invalid(
                "upscale.context",
                format!("{} is more than {MAX_UPSCALE_CONTEXT}", self.context),
            ));
        }
        self.input.validate().map_err(|error| match error {
            Error::Invalid { reason, .. } => Error::invalid("upscale.input", reason),
            other => other,
        })?;
        if self.output() != resolution {
            return Err(Error::invalid(
                "resolution",
                format!(
                    "an upscale's resolution is its input times the factor: {}×{} ×{} is {}×{}, \
                     not {}×{}",
                    self.input.width,
                    self.input.height,
                    self.factor,
                    self.output().width,
                    self.output().height,
                    resolution.width,
                    resolution.height
                ),
            ));
        }
        Ok(())
    }
}

/// The file name (without extension) of frame `frame`'s input image in an upscale job's asset:
/// the frame number in six digits (`000001`), as `pictor upscale` and video splitting write them.
pub fn input_file_stem(frame: u32) -> String {
    format!("{frame:06}")
}

/// The image extensions an upscale input may have (lower case).
pub const UPSCALE_INPUT_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "exr"];

/// Whether `path` (an asset path) is an image an upscale job may read.
pub fn is_upscale_input(path: &str) -> bool {
    path.rsplit_once('.').is_some_and(|(_, extension)| {
        UPSCALE_INPUT_EXTENSIONS
            .iter()
            .any(|known| extension.eq_ignore_ascii_case(known))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(id: &str) -> ModelPin {
        ModelPin {
            id: id.into(),
            files_hash: "ab".repeat(32),
        }
    }

    fn spec(factor: u32, passes: usize) -> UpscaleSpec {
        UpscaleSpec {
            factor,
            passes: (0..passes).map(|_| pin("spanx4_ch48")).collect(),
            input: Resolution {
                width: 100,
                height: 50,
            },
            tile: 128,
            context: 24,
        }
    }

    #[test]
    fn the_resolution_is_the_input_times_the_factor() {
        let x4 = spec(4, 1);
        assert!(
            x4.validate(Resolution {
                width: 400,
                height: 200
            })
            .is_ok()
        );
        let wrong = x4.validate(Resolution {
            width: 400,
            height: 201,
        });
        assert!(wrong.is_err());
    }

    #[test]
    fn factors_take_their_number_of_passes() {
        let out = |s: &UpscaleSpec| s.output();
        assert!(spec(8, 2).validate(out(&spec(8, 2))).is_ok());
        assert!(spec(8, 1).validate(out(&spec(8, 1))).is_err());
        assert!(spec(3, 1).validate(out(&spec(3, 1))).is_err());
        assert_eq!(spec(16, 2).output_tile(), 512);
        assert_eq!(spec(8, 2).output_tile(), 256);
    }

    #[test]
    fn bad_pins_and_tilings_are_refused() {
        let mut bad = spec(4, 1);
        bad.passes[0].files_hash = "AB".repeat(32);
        assert!(bad.validate(bad.output()).is_err());
        let mut bad = spec(4, 1);
        bad.passes[0].id = "../x".into();
        assert!(bad.validate(bad.output()).is_err());
        let mut bad = spec(4, 1);
        bad.tile = 8;
        assert!(bad.validate(bad.output()).is_err());
        let mut bad = spec(4, 1);
        bad.context = 1000;
        assert!(bad.validate(bad.output()).is_err());
    }

    #[test]
    fn work_counts_every_pass_input() {
        let x4 = spec(4, 1);
        assert_eq!(x4.samples_px_per_frame(), 5_000 * 88);
        let x8 = spec(8, 2);
        assert_eq!(x8.samples_px_per_frame(), (5_000 + 16 * 5_000) * 88);
    }

    #[test]
    fn inputs_are_named_by_frame() {
        assert_eq!(input_file_stem(7), "000007");
        assert!(is_upscale_input("000007.JPG"));
        assert!(!is_upscale_input("scene.blend"));
    }
}
