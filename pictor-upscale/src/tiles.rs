//! The canonical tiling: the input is cut into a grid of `tile × tile` pixels (smaller at the
//! right and bottom edges); each tile is run with `context` pixels of the image around it (mirrored
//! at the image's borders) and the inside of the result kept. With `context` at least the model's
//! receptive radius, every output pixel depends only on the input — not on where tiles were cut —
//! so a checker recomputing any one tile must get the worker's pixels.

use crate::model::{Model, UpscaleError};
use crate::planes::RgbPlanes;
use serde::{Deserialize, Serialize};

/// How an upscale is cut into tiles: part of a job's spec, so every worker and checker computes
/// the same thing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileSpec {
    /// The side of a tile, in input pixels.
    pub tile: u32,
    /// Input pixels of context on every side of a tile.
    pub context: u32,
}

impl TileSpec {
    /// 128-pixel tiles with 24 pixels of context (SPAN sees 21).
    pub const DEFAULT: TileSpec = TileSpec {
        tile: 128,
        context: 24,
    };

    /// Checks the spec against `model`.
    ///
    /// # Errors
    /// When the tile is not 16–1024 pixels or the context is less than the model's receptive
    /// radius (tiles would then show seams) or more than 256.
    pub fn check(&self, model: &Model) -> Result<(), UpscaleError> {
        if !(16..=1024).contains(&self.tile) {
            return Err(UpscaleError::Spec(format!(
                "tiles must be 16 to 1024 pixels, not {}",
                self.tile
            )));
        }
        let radius = model.receptive_radius();
        if self.context < radius || self.context > 256 {
            return Err(UpscaleError::Spec(format!(
                "{} pixels of context: {} needs {radius} to 256",
                self.context,
                model.id()
            )));
        }
        Ok(())
    }
}

/// One tile of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tile {
    /// Its place in the grid, row-major.
    pub index: u32,
    /// Left edge, in input pixels.
    pub left: u32,
    /// Top edge, in input pixels.
    pub top: u32,
    /// Width, in input pixels.
    pub width: u32,
    /// Height, in input pixels.
    pub height: u32,
}

/// The tiles of a `width × height` input, row-major.
pub fn tile_grid(width: u32, height: u32, tile: u32) -> Vec<Tile> {
    let tile = tile.max(1);
    let mut tiles = Vec::new();
    for top in (0..height).step_by(tile as usize) {
        for left in (0..width).step_by(tile as usize) {
            tiles.push(Tile {
                index: u32::try_from(tiles.len()).unwrap_or(u32::MAX),
                left,
                top,
                width: tile.min(width - left),
                height: tile.min(height - top),
            });
        }
    }
    tiles
}

/// The output pixels of `tile` of `input`: `(width·scale) × (height·scale)`.
///
/// # Errors
/// When the spec does not suit the model or the model fails.
pub fn upscale_tile(
    model: &Model,
    input: &RgbPlanes,
    tile: &Tile,
    spec: TileSpec,
) -> Result<RgbPlanes, UpscaleError> {
    spec.check(model)?;
    let context = spec.context;
    let window = input.crop_mirrored(
        i64::from(tile.left) - i64::from(context),
        i64::from(tile.top) - i64::from(context),
        tile.width + 2 * context,
        tile.height + 2 * context,
    );
    let upscaled = model.run(&window)?;
    let scale = model.scale();
    Ok(upscaled.crop(
        context * scale,
        context * scale,
        tile.width * scale,
        tile.height * scale,
    ))
}

/// The whole of `input` upscaled, tile by tile; `on_tile` hears of each finished tile (for
/// progress).
///
/// # Errors
/// When the spec does not suit the model, the output would be too large, or the model fails.
pub fn upscale(
    model: &Model,
    input: &RgbPlanes,
    spec: TileSpec,
    mut on_tile: impl FnMut(&Tile, usize),
) -> Result<RgbPlanes, UpscaleError> {
    spec.check(model)?;
    let scale = model.scale();
    let (width, height) = output_size(input.width(), input.height(), scale)?;
    let mut output = RgbPlanes::black(width, height);
    let tiles = tile_grid(input.width(), input.height(), spec.tile);
    for tile in &tiles {
        let upscaled = upscale_tile(model, input, tile, spec)?;
        output.paste(&upscaled, tile.left * scale, tile.top * scale);
        on_tile(tile, tiles.len());
    }
    Ok(output)
}

/// The largest output side Pictor writes (a 16K frame is 15360 wide; 32768 leaves room).
pub const MAX_OUTPUT_SIDE: u32 = 32_768;

/// `width × height` upscaled by `scale`.
///
/// # Errors
/// When a side would pass [`MAX_OUTPUT_SIDE`].
pub fn output_size(width: u32, height: u32, scale: u32) -> Result<(u32, u32), UpscaleError> {
    let side = |side: u32| {
        side.checked_mul(scale)
            .filter(|&side| side <= MAX_OUTPUT_SIDE)
            .ok_or_else(|| {
                UpscaleError::Spec(format!(
                    "{width}×{height} upscaled ×{scale} is larger than {MAX_OUTPUT_SIDE} pixels a side"
                ))
            })
    };
    Ok((side(width)?, side(height)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_covers_the_input_once_with_smaller_edge_tiles() {
        let tiles = tile_grid(300, 130, 128);
        assert_eq!(tiles.len(), 3 * 2);
        assert_eq!(
            tiles[5],
            Tile {
                index: 5,
                left: 256,
                top: 128,
                width: 44,
                height: 2
            }
        );
        let area: u32 = tiles.iter().map(|t| t.width * t.height).sum();
        assert_eq!(area, 300 * 130);
    }

    #[test]
    fn outputs_past_the_limit_are_refused() {
        assert_eq!(output_size(3840, 2160, 4).unwrap(), (15360, 8640));
        assert!(output_size(9000, 100, 4).is_err());
    }
}
