//! The checker's side of an upscale task: draw some of the task's output tiles with a secret the
//! worker never sees, recompute them by the canonical computation ([`Chain::region`]) and compare
//! each with the worker's pixels by the [`Agreement`] rule. One tile that disagrees rejects the
//! task; a worker faking a fraction `f` of a task's tiles is caught with probability
//! `1 − (1 − f)^k` for `k` tiles drawn.

use crate::chain::{Chain, Rect};
use crate::compare::Agreement;
use crate::model::UpscaleError;
use crate::planes::RgbPlanes;
use rand::SeedableRng;
use rand::seq::index::sample;
use serde::{Deserialize, Serialize};

/// The share of a task's tiles a checker recomputes, in thousandths (3 %): with 128-pixel tiles a
/// 1920×1080 frame ×4 (8K out) has 135 tiles, 5 of them checked: 4.65 % of the worker's cost
/// (docs/BENCHMARKS.md).
pub const CHECKED_PER_MILLE: usize = 30;

/// At most this many tiles are recomputed per task.
pub const MAX_CHECKED: usize = 8;

/// How many of `tiles` a checker recomputes: 3 % of them, rounded up, at least 1 and at most
/// [`MAX_CHECKED`] (never more than there are).
pub fn tiles_to_check(tiles: usize) -> usize {
    (tiles * CHECKED_PER_MILLE)
        .div_ceil(1000)
        .clamp(1, MAX_CHECKED)
        .min(tiles)
}

/// One recomputed tile and how the worker's pixels agreed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileCheck {
    /// The tile, in the final output's pixels.
    pub left: u32,
    /// Top edge.
    pub top: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// The comparison.
    pub agreement: Agreement,
}

/// The checker's verdict on one task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpscaleVerdict {
    /// Whether every drawn tile agreed.
    pub accepted: bool,
    /// What was recomputed.
    pub checked: Vec<TileCheck>,
    /// Why it was rejected, in words.
    pub reason: Option<String>,
}

/// Checks the worker's pixels `got` for the region `task` of `chain`'s output, recomputing
/// [`tiles_to_check`] of the output tiles inside it, drawn with `secret`.
///
/// # Errors
/// When `task` is not made of whole output tiles inside the output, or a model fails. A worker's
/// image of the wrong size is not an error but a rejection.
pub fn check_task(
    chain: &Chain<'_>,
    task: Rect,
    got: &RgbPlanes,
    secret: [u8; 32],
) -> Result<UpscaleVerdict, UpscaleError> {
    let tiles: Vec<Rect> = chain
        .output_tiles()
        .into_iter()
        .filter(|tile| task.contains(tile))
        .collect();
    let covered: u64 = tiles
        .iter()
        .map(|t| u64::from(t.width) * u64::from(t.height))
        .sum();
    if tiles.is_empty() || covered != u64::from(task.width) * u64::from(task.height) {
        return Err(UpscaleError::Spec(format!(
            "{task:?} is not made of whole output tiles"
        )));
    }
    if (got.width(), got.height()) != (task.width, task.height) {
        return Ok(UpscaleVerdict {
            accepted: false,
            checked: Vec::new(),
            reason: Some(format!(
                "the result is {}×{}, the task {}×{}",
                got.width(),
                got.height(),
                task.width,
                task.height
            )),
        });
    }
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(secret);
    let drawn = sample(&mut rng, tiles.len(), tiles_to_check(tiles.len()));
    let mut checked = Vec::with_capacity(drawn.len());
    for index in drawn {
        let tile = tiles[index];
        let expected = chain.region(tile)?;
        let worker = got.crop(
            tile.left - task.left,
            tile.top - task.top,
            tile.width,
            tile.height,
        );
        let agreement =
            Agreement::of(&expected.to_rgb8(), &worker.to_rgb8()).map_err(UpscaleError::Spec)?;
        checked.push(TileCheck {
            left: tile.left,
            top: tile.top,
            width: tile.width,
            height: tile.height,
            agreement,
        });
    }
    let rejected = checked.iter().find(|check| !check.agreement.accepts());
    Ok(UpscaleVerdict {
        accepted: rejected.is_none(),
        reason: rejected.map(|check| {
            format!(
                "the tile at ({}, {}) differs from the model's: {} of {} values equal, up to {} \
                 levels apart",
                check.left,
                check.top,
                check.agreement.identical,
                check.agreement.values,
                check.agreement.max_difference
            )
        }),
        checked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_percent_of_the_tiles_are_checked_at_least_one_at_most_eight() {
        assert_eq!(tiles_to_check(1), 1);
        assert_eq!(tiles_to_check(4), 1);
        assert_eq!(tiles_to_check(34), 2);
        assert_eq!(tiles_to_check(135), 5);
        assert_eq!(tiles_to_check(10_000), MAX_CHECKED);
        assert_eq!(tiles_to_check(0), 0);
    }
}
