//! The CPU backend: rayon over tiles, `f64` accumulation in a fixed order.

use super::{FrameVerifier, SumParams, TileSums, TileTriple};
use crate::error::{Error, Result};

/// The reference backend: computes [`TileSums`] on the CPU, one rayon task per tile, each tile
/// summed sequentially in row-major order, so results do not depend on the thread count.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuVerifier;

impl FrameVerifier for CpuVerifier {
    fn name(&self) -> &str {
        "cpu"
    }

    fn tile_sums(&self, _tiles: &[TileTriple<'_>], _params: &SumParams) -> Result<Vec<TileSums>> {
        Err(Error::invalid("verify", "not implemented yet"))
    }
}
