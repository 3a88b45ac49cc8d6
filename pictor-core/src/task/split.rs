//! Cutting a job into tasks: chunks of frames for an animation, tiles for a single still.
//!
//! Guarantees (property-tested): every frame of the job is in exactly one chunk; every pixel of a
//! still is in exactly one tile. Tiles are numbered in merge order: row-major from the top-left corner.

use crate::error::{Error, Result};
use crate::job::{JobSpec, SplitMode};
use serde::{Deserialize, Serialize};

/// The most tasks a single job may be cut into.
pub const MAX_TASKS_PER_JOB: usize = 100_000;

/// A pixel rectangle, from the top-left corner of the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PixelRect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl PixelRect {
    /// Pixels covered.
    pub fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// True when the rectangle lies within a `width × height` frame and is not empty.
    pub fn fits_in(&self, width: u32, height: u32) -> bool {
        self.width > 0
            && self.height > 0
            && u64::from(self.x) + u64::from(self.width) <= u64::from(width)
            && u64::from(self.y) + u64::from(self.height) <= u64::from(height)
    }
}

/// What one task renders.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TaskWork {
    /// Whole frames, in increasing order.
    Frames {
        /// The chunk's frames: at most `frames_per_task`, consecutive in the job's frame order.
        frames: Vec<u32>,
    },
    /// One tile of a still.
    Tile {
        /// The still's frame number.
        frame: u32,
        /// The tile's pixels.
        region: PixelRect,
    },
}

impl TaskWork {
    /// The frames the task renders: its chunk's frames, or the one frame a tile belongs to.
    pub fn frames(&self) -> Vec<u32> {
        match self {
            TaskWork::Frames { frames } => frames.clone(),
            TaskWork::Tile { frame, .. } => vec![*frame],
        }
    }

    /// Fraction-free measure of the task's size in pixel-frames (pixels × frames), used to share a
    /// job's work estimate among its tasks.
    pub fn pixel_frames(&self, spec: &JobSpec) -> u64 {
        match self {
            TaskWork::Frames { frames } => spec.resolution.pixels() * frames.len() as u64,
            TaskWork::Tile { region, .. } => region.area(),
        }
    }
}

/// Cuts a validated job into its tasks, in order (task index = position in the returned vector).
///
/// ```
/// use pictor_core::{AssetId, JobSpec, SplitMode, task::{split, TaskWork}};
/// let spec = JobSpec::builder(AssetId::of_bytes(b"s"), "1-10".parse()?)
///     .split(SplitMode::FrameChunks { frames_per_task: 4 })
///     .build()?;
/// let tasks = split(&spec)?;
/// assert_eq!(tasks.len(), 3);
/// assert_eq!(tasks[2], TaskWork::Frames { frames: vec![9, 10] });
/// # Ok::<(), pictor_core::Error>(())
/// ```
pub fn split(spec: &JobSpec) -> Result<Vec<TaskWork>> {
    spec.validate()?;
    match spec.split {
        SplitMode::FrameChunks { frames_per_task } => {
            let frames = spec.frames.to_vec();
            let chunk = frames_per_task as usize;
            let tasks = frames.len().div_ceil(chunk);
            if tasks > MAX_TASKS_PER_JOB {
                return Err(Error::invalid(
                    "split.frames_per_task",
                    format!("{tasks} tasks; at most {MAX_TASKS_PER_JOB} per job"),
                ));
            }
            Ok(frames
                .chunks(chunk)
                .map(|frames| TaskWork::Frames {
                    frames: frames.to_vec(),
                })
                .collect())
        }
        SplitMode::Tiles {
            tile_width,
            tile_height,
        } => {
            let (frame, _) = spec.frames.bounds();
            Ok(tile_grid(
                spec.resolution.width,
                spec.resolution.height,
                tile_width,
                tile_height,
            )?
            .into_iter()
            .map(|region| TaskWork::Tile { frame, region })
            .collect())
        }
    }
}

/// Tiles of at most `tile_width × tile_height` covering a `width × height` frame exactly once, in
/// row-major merge order. Edge tiles are smaller when the sides do not divide evenly.
pub fn tile_grid(
    width: u32,
    height: u32,
    tile_width: u32,
    tile_height: u32,
) -> Result<Vec<PixelRect>> {
    if tile_width == 0 || tile_height == 0 || width == 0 || height == 0 {
        return Err(Error::invalid(
            "split.tile_width",
            "tile and frame sides must be at least 1",
        ));
    }
    let columns = width.div_ceil(tile_width);
    let rows = height.div_ceil(tile_height);
    if u64::from(columns) * u64::from(rows) > MAX_TASKS_PER_JOB as u64 {
        return Err(Error::invalid(
            "split",
            format!(
                "{} tiles; at most {MAX_TASKS_PER_JOB} per job",
                u64::from(columns) * u64::from(rows)
            ),
        ));
    }
    let mut tiles = Vec::with_capacity((columns * rows) as usize);
    for row in 0..rows {
        for column in 0..columns {
            let x = column * tile_width;
            let y = row * tile_height;
            tiles.push(PixelRect {
                x,
                y,
                width: tile_width.min(width - x),
                height: tile_height.min(height - y),
            });
        }
    }
    Ok(tiles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::AssetId;
    use crate::job::FrameSet;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn chunks_cover_every_frame_once(
            start in 0u32..1000, length in 0u32..500, step in 1u32..5, chunk in 1u32..40
        ) {
            let frames: FrameSet = format!("{start}-{}x{step}", start + length).parse().expect("valid");
            let spec = JobSpec::builder(AssetId::of_bytes(b"s"), frames.clone())
                .split(SplitMode::FrameChunks { frames_per_task: chunk })
                .build()
                .expect("valid");
            let tasks = split(&spec).expect("splits");
            let mut seen = Vec::new();
            for task in &tasks {
                match task {
                    TaskWork::Frames { frames } => {
                        prop_assert!(!frames.is_empty() && frames.len() <= chunk as usize);
                        seen.extend_from_slice(frames);
                    }
                    TaskWork::Tile { .. } => prop_assert!(false, "chunks only"),
                }
            }
            prop_assert_eq!(seen, frames.to_vec());
        }

        #[test]
        fn tiles_cover_every_pixel_once(
            width in 1u32..300, height in 1u32..300, tile_width in 1u32..120, tile_height in 1u32..120
        ) {
            let tiles = tile_grid(width, height, tile_width, tile_height).expect("grid");
            let mut coverage = vec![0u8; (width * height) as usize];
            for tile in &tiles {
                prop_assert!(tile.fits_in(width, height));
                for y in tile.y..tile.y + tile.height {
                    for x in tile.x..tile.x + tile.width {
                        coverage[(y * width + x) as usize] += 1;
                    }
                }
            }
            prop_assert!(coverage.iter().all(|&c| c == 1));
            // Merge order is row-major: sorted by (y, x).
            let order: Vec<(u32, u32)> = tiles.iter().map(|t| (t.y, t.x)).collect();
            let mut sorted = order.clone();
            sorted.sort_unstable();
            prop_assert_eq!(order, sorted);
        }
    }

    #[test]
    fn still_splits_into_tiles() {
        let spec = JobSpec::builder(AssetId::of_bytes(b"s"), "7".parse().expect("frame"))
            .resolution(100, 50)
            .split(SplitMode::Tiles {
                tile_width: 64,
                tile_height: 32,
            })
            .build()
            .expect("valid");
        let tasks = split(&spec).expect("tiles");
        assert_eq!(tasks.len(), 4);
        assert_eq!(
            tasks[3],
            TaskWork::Tile {
                frame: 7,
                region: PixelRect {
                    x: 64,
                    y: 32,
                    width: 36,
                    height: 18
                }
            }
        );
        assert!(tile_grid(10, 10, 0, 5).is_err());
        assert!(tile_grid(100_000, 100_000, 1, 1).is_err());
    }
}
