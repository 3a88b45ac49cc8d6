//! Factors above one model's: passes chained (×8 = ×4 then ×2, ×16 = ×4 then ×4). Each pass is the
//! canonical tiled computation ([`crate::tiles`]) over the whole of the previous pass's output,
//! which stays in fp32 between passes (rounding it would turn another engine's last-bit
//! differences into whole 8-bit levels after the next pass).
//!
//! Any rectangle of the final output can be computed on its own: a pass asks the pass before it
//! only for the pixels its tiles and their context read (mirrored at that image's borders), and so
//! on down to the input. A task can be one region of a 16K frame and a checker can recompute one
//! tile of it, each getting exactly the pixels of the whole computation.

use crate::model::{Model, UpscaleError};
use crate::planes::{RgbPlanes, mirrored_run};
use crate::tiles::{TileSpec, output_size, tile_grid};

/// One pass: a model and how its input is tiled.
#[derive(Clone, Copy, Debug)]
pub struct Pass<'a> {
    /// The model.
    pub model: &'a Model,
    /// Its tiling.
    pub tiles: TileSpec,
}

/// A rectangle of an image, in its pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub left: u32,
    /// Top edge.
    pub top: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Rect {
    fn right(&self) -> u32 {
        self.left + self.width
    }
    fn bottom(&self) -> u32 {
        self.top + self.height
    }

    /// Whether `other` lies wholly inside this rectangle (edges may touch).
    pub fn contains(&self, other: &Rect) -> bool {
        other.left >= self.left
            && other.top >= self.top
            && other.right() <= self.right()
            && other.bottom() <= self.bottom()
    }
}

/// An input and the passes that upscale it.
#[derive(Clone, Debug)]
pub struct Chain<'a> {
    input: &'a RgbPlanes,
    passes: Vec<Pass<'a>>,
    /// The input size of each pass, then the final output's.
    sizes: Vec<(u32, u32)>,
}

impl<'a> Chain<'a> {
    /// The chain of `passes` over `input`.
    ///
    /// # Errors
    /// When there is no pass, a pass's tiling does not suit its model, or an image on the way
    /// would pass [`crate::tiles::MAX_OUTPUT_SIDE`].
    pub fn new(input: &'a RgbPlanes, passes: Vec<Pass<'a>>) -> Result<Self, UpscaleError> {
        if passes.is_empty() {
            return Err(UpscaleError::Spec(
                "an upscale needs at least one pass".into(),
            ));
        }
        let mut sizes = vec![(input.width(), input.height())];
        for pass in &passes {
            pass.tiles.check(pass.model)?;
            let (width, height) = sizes[sizes.len() - 1];
            sizes.push(output_size(width, height, pass.model.scale())?);
        }
        Ok(Chain {
            input,
            passes,
            sizes,
        })
    }

    /// Output pixels per input pixel along each axis.
    pub fn scale(&self) -> u32 {
        self.passes.iter().map(|pass| pass.model.scale()).product()
    }

    /// The final output's size.
    pub fn output_size(&self) -> (u32, u32) {
        self.sizes[self.sizes.len() - 1]
    }

    /// The final output cut as the last pass's tiles fall: the units of work a job is split into
    /// and a checker draws from.
    pub fn output_tiles(&self) -> Vec<Rect> {
        let last = self.passes.len() - 1;
        let (width, height) = self.sizes[last];
        let scale = self.passes[last].model.scale();
        tile_grid(width, height, self.passes[last].tiles.tile)
            .into_iter()
            .map(|tile| Rect {
                left: tile.left * scale,
                top: tile.top * scale,
                width: tile.width * scale,
                height: tile.height * scale,
            })
            .collect()
    }

    /// The whole output, pass after pass; `on_pass_tile(pass, done, of)` hears of each tile.
    ///
    /// # Errors
    /// When a model fails.
    pub fn upscale_all(
        &self,
        mut on_pass_tile: impl FnMut(usize, usize, usize),
    ) -> Result<RgbPlanes, UpscaleError> {
        let mut current = self.input.clone();
        for (index, pass) in self.passes.iter().enumerate() {
            let mut done = 0;
            current = crate::tiles::upscale(pass.model, &current, pass.tiles, |_, of| {
                done += 1;
                on_pass_tile(index, done, of);
            })?;
        }
        Ok(current)
    }

    /// The final output's pixels in `rect`, computing only what they depend on.
    ///
    /// # Errors
    /// When `rect` is not inside the output, or a model fails.
    pub fn region(&self, rect: Rect) -> Result<RgbPlanes, UpscaleError> {
        let (width, height) = self.output_size();
        if rect.width == 0 || rect.height == 0 || rect.right() > width || rect.bottom() > height {
            return Err(UpscaleError::Spec(format!(
                "{rect:?} is not inside the {width}×{height} output"
            )));
        }
        self.pass_region(self.passes.len() - 1, rect, &mut TileCache::new())
    }

    /// Pass `index`'s output in `rect` (inside it). The earlier passes' tiles are kept in `cache`:
    /// neighbouring tiles of a later pass read overlapping windows of them.
    fn pass_region(
        &self,
        index: usize,
        rect: Rect,
        cache: &mut TileCache,
    ) -> Result<RgbPlanes, UpscaleError> {
        let pass = self.passes[index];
        let (scale, context) = (pass.model.scale(), pass.tiles.context);
        let (in_width, in_height) = self.sizes[index];
        let wanted = Rect {
            left: rect.left / scale,
            top: rect.top / scale,
            width: rect.right().div_ceil(scale) - rect.left / scale,
            height: rect.bottom().div_ceil(scale) - rect.top / scale,
        };
        let mut out = RgbPlanes::black(rect.width, rect.height);
        for tile in tile_grid(in_width, in_height, pass.tiles.tile) {
            let overlaps = tile.left < wanted.right()
                && wanted.left < tile.left + tile.width
                && tile.top < wanted.bottom()
                && wanted.top < tile.top + tile.height;
            if !overlaps {
                continue;
            }
            let key = (index, tile.index);
            if let Some(inside) = cache.get(&key) {
                out.paste_at(
                    inside,
                    i64::from(tile.left * scale) - i64::from(rect.left),
                    i64::from(tile.top * scale) - i64::from(rect.top),
                );
                continue;
            }
            let columns = mirrored_run(
                i64::from(tile.left) - i64::from(context),
                tile.width + 2 * context,
                in_width,
            );
            let rows = mirrored_run(
                i64::from(tile.top) - i64::from(context),
                tile.height + 2 * context,
                in_height,
            );
            let window = if index == 0 {
                self.input.gather(&columns, &rows)
            } else {
                let source = bounds(&columns, &rows);
                let below = self.pass_region(index - 1, source, cache)?;
                let shift = |indices: &[u32], by: u32| -> Vec<u32> {
                    indices.iter().map(|&i| i - by).collect()
                };
                below.gather(&shift(&columns, source.left), &shift(&rows, source.top))
            };
            let upscaled = pass.model.run(&window)?;
            let inside = upscaled.crop(
                context * scale,
                context * scale,
                tile.width * scale,
                tile.height * scale,
            );
            out.paste_at(
                &inside,
                i64::from(tile.left * scale) - i64::from(rect.left),
                i64::from(tile.top * scale) - i64::from(rect.top),
            );
            // The last pass's tiles are read once; the earlier passes' are kept for reuse.
            if index + 1 < self.passes.len() {
                cache.insert(key, inside);
            }
        }
        Ok(out)
    }
}

/// Finished tiles of the earlier passes, by (pass, tile index), during one [`Chain::region`].
type TileCache = std::collections::HashMap<(usize, u32), RgbPlanes>;

/// The smallest rectangle holding every `(column, row)`.
fn bounds(columns: &[u32], rows: &[u32]) -> Rect {
    let span = |indices: &[u32]| {
        let low = indices.iter().copied().min().unwrap_or(0);
        let high = indices.iter().copied().max().unwrap_or(0);
        (low, high - low + 1)
    };
    let ((left, width), (top, height)) = (span(columns), span(rows));
    Rect {
        left,
        top,
        width,
        height,
    }
}

/// The passes making `factor` from the catalog's ×2 and ×4 models (×8 = ×4 then ×2, ×16 = ×4 then
/// ×4), as model ids.
///
/// # Errors
/// For a factor other than 2, 4, 8 or 16.
pub fn passes_for(
    factor: u32,
    x2: &'static str,
    x4: &'static str,
) -> Result<Vec<&'static str>, UpscaleError> {
    match factor {
        2 => Ok(vec![x2]),
        4 => Ok(vec![x4]),
        8 => Ok(vec![x4, x2]),
        16 => Ok(vec![x4, x4]),
        other => Err(UpscaleError::Spec(format!(
            "×{other}: the factor must be 2, 4, 8 or 16"
        ))),
    }
}
