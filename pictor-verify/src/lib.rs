//! Frame verification statistics (see `docs/VERIFICATION.md`): is a worker's frame an honest Monte Carlo
//! render of the requested scene, judged against two independent half-sample references?
//!
//! # Pipeline
//! 1. The checker re-renders each challenge tile twice at N/2 samples (R₁, R₂) and crops the worker's
//!    frame W at the same pixels: one [`TileTriple`] per tile.
//! 2. [`prepare`] computes the frame-wide parameters every backend needs *before* summing
//!    ([`SumParams`]: winsorizing caps, variance floor, gradient mask threshold, z quantile). It is cheap
//!    CPU code shared by all backends.
//! 3. A [`FrameVerifier`] backend ([`CpuVerifier`], the Vulkan one) turns each tile into plain
//!    `f64` sums ([`TileSums`]). This is the only part a GPU implements.
//! 4. [`PooledStats::pool`] turns the sums of all tiles into statistics and [`decide`] into a
//!    [`Decision`] (accept / reject / escalate, with reasons and every statistic as evidence).
//!
//! [`verify_frame`] runs all four steps.
//!
//! # Conventions (every backend must follow them exactly)
//! * **Channels**: R, G and B are three independent planes (index `c` = 0, 1, 2); alpha is ignored.
//!   Every per-channel array below is indexed by `c`. Samples are converted `f32 → f64` before any
//!   arithmetic. Tile pixel `(x, y)`, `0 ≤ x < w`, `0 ≤ y < h`, channel `c`.
//! * `R̄ = (R₁ + R₂)/2`, `d = R₁ − R₂`, `e = W − R̄`.
//! * A non-finite worker sample counts in [`TileSums::nonfinite`] and as a z exceedance; for every
//!   other sum it is replaced by `R̄` (so `e = 0` there). Non-finite reference samples are an error.
//! * Winsorizing: `cap_d[c]` from [`SumParams`]; `d̃ = clamp(d, −√cap_d, √cap_d)`,
//!   `ẽ = clamp(e, −√cap_e, √cap_e)` with `cap_e = cap_d/2` (honest `e` has half the variance of
//!   `d`, so the same quantile of its distribution). Hence `d̃² = min(d², cap_d)`, `ẽ² = min(e², cap_e)`.
//! * See [`TileSums`] for the exact definition of each sum and [`PooledStats`] for each statistic.

pub mod challenge;
mod cpu;
mod decide;
pub mod display;
pub mod faithful;
pub mod intake;
pub mod protocol;
pub mod region;
mod stats;
pub mod synthetic;
#[cfg(feature = "vulkan")]
pub mod vulkan;

pub use cpu::CpuVerifier;
pub use decide::{Decision, Thresholds, decide};
pub use stats::{PooledStats, inverse_normal_cdf, prepare, sidak_z, student_t_quantile};

pub use pictor_core::api::Verdict;
use pictor_core::error::{Error, Result};
use pictor_render::LinearImage;
use serde::{Deserialize, Serialize};

/// Number of colour channels verified (R, G, B; alpha ignored).
pub const CHANNELS: usize = 3;

/// One challenge tile: the worker's pixels and the checker's two independent half-sample references,
/// all the same size and the same pixels of the frame. A borrowed view (not serialized).
#[derive(Clone, Copy, Debug)]
pub struct TileTriple<'a> {
    /// The worker's pixels `W` (claimed N samples).
    pub worker: &'a LinearImage,
    /// First reference `R₁` (N/2 samples, seed 1).
    pub reference_a: &'a LinearImage,
    /// Second reference `R₂` (N/2 samples, an independent seed).
    pub reference_b: &'a LinearImage,
}

impl TileTriple<'_> {
    /// Width and height; an error unless all three images have the same, non-zero, dimensions.
    pub fn dimensions(&self) -> Result<(u32, u32)> {
        let (w, h) = (self.worker.width(), self.worker.height());
        for (name, image) in [
            ("reference_a", self.reference_a),
            ("reference_b", self.reference_b),
        ] {
            if (image.width(), image.height()) != (w, h) {
                return Err(Error::invalid(
                    format!("tile.{name}"),
                    format!(
                        "{}×{} does not match the worker tile's {w}×{h}",
                        image.width(),
                        image.height()
                    ),
                ));
            }
        }
        if w == 0 || h == 0 {
            return Err(Error::invalid("tile", "empty tile"));
        }
        Ok((w, h))
    }
}

/// User-facing statistical parameters (documented defaults via [`Default`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatParams {
    /// Quantile of `d²` (per channel, pooled over all tiles) where `d²` is winsorized; `e²` is
    /// winsorized at half of it. Default 0.999.
    pub winsor_quantile: f64,
    /// Absolute floor of the per-pixel variance estimate `v̂`. Default 1e-12.
    pub variance_floor_abs: f64,
    /// Relative floor of `v̂`: times the channel's mean of `½d²` over all tiles. Default 1e-3.
    pub variance_floor_rel: f64,
    /// Side of the box filter for `v̂ = ½·box(d²)` (odd). Default 5.
    pub box_size: u32,
    /// Side of the bias blocks. Default 8.
    pub block_size: u32,
    /// Family-wise α of the per-sample z test (Šidák over all samples of the frame). Default 1e-3.
    pub z_alpha: f64,
    /// Fraction of interior pixels (per channel, lowest gradient of `(W+R̄)/2`) used by the Immerkær
    /// noise estimate. Default 0.5.
    pub immerkaer_fraction: f64,
    /// Side of the SSIM box window (odd). Default 7.
    pub ssim_window: u32,
    /// Dynamic range `L` for the SSIM constants and the PSNR peak (linear light). Default 1.0.
    pub dynamic_range: f64,
}

impl Default for StatParams {
    fn default() -> Self {
        StatParams {
            winsor_quantile: 0.999,
            variance_floor_abs: 1e-12,
            variance_floor_rel: 1e-3,
            box_size: 5,
            block_size: 8,
            z_alpha: 1e-3,
            immerkaer_fraction: 0.5,
            ssim_window: 7,
            dynamic_range: 1.0,
        }
    }
}

impl StatParams {
    /// Checks ranges (odd window sizes, quantiles in (0, 1], positive sizes).
    pub fn validate(&self) -> Result<()> {
        let check = |ok: bool, field: &str, reason: &str| {
            if ok {
                Ok(())
            } else {
                Err(Error::invalid(format!("stat_params.{field}"), reason))
            }
        };
        check(
            self.winsor_quantile > 0.0 && self.winsor_quantile <= 1.0,
            "winsor_quantile",
            "must be in (0, 1]",
        )?;
        check(
            self.variance_floor_abs >= 0.0 && self.variance_floor_rel >= 0.0,
            "variance_floor",
            "must be non-negative",
        )?;
        check(
            self.box_size % 2 == 1,
            "box_size",
            "must be odd and positive",
        )?;
        check(self.block_size > 0, "block_size", "must be positive")?;
        check(
            self.z_alpha > 0.0 && self.z_alpha < 1.0,
            "z_alpha",
            "must be in (0, 1)",
        )?;
        check(
            self.immerkaer_fraction > 0.0 && self.immerkaer_fraction <= 1.0,
            "immerkaer_fraction",
            "must be in (0, 1]",
        )?;
        check(
            self.ssim_window % 2 == 1,
            "ssim_window",
            "must be odd and positive",
        )?;
        check(
            self.dynamic_range > 0.0,
            "dynamic_range",
            "must be positive",
        )
    }
}

/// Frame-wide parameters a backend needs to compute [`TileSums`], produced by [`prepare`] from all
/// tiles of the frame (the "computed beforehand" values: caps, floors, quantiles).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SumParams {
    /// Winsorizing cap of `d²` per channel: the nearest-rank `winsor_quantile` of `d²` over all
    /// samples of all tiles (sorted ascending `v`, `n` values: `v[ceil(q·n) − 1]`). `cap_e = cap_d/2`.
    pub cap_d: [f64; CHANNELS],
    /// Floor of `v̂` per channel: `max(variance_floor_abs, variance_floor_rel · mean(½d²))`.
    pub variance_floor: [f64; CHANNELS],
    /// Immerkær mask threshold per channel: a pixel is used when the Sobel magnitude of
    /// `M = (W + R̄)/2` is `≤` this (the nearest-rank `immerkaer_fraction` quantile of it over the
    /// interior pixels of all tiles).
    pub gradient_threshold: [f64; CHANNELS],
    /// `|z|` above this counts as an exceedance: the two-sided Šidák quantile
    /// `Φ⁻¹(1 − α'/2)`, `α' = 1 − (1 − z_alpha)^(1/n)`, `n` = samples (pixels × 3) of the frame.
    pub z_threshold: f64,
    /// Box filter side for `v̂` (odd).
    pub box_size: u32,
    /// Bias block side.
    pub block_size: u32,
    /// SSIM window side (odd).
    pub ssim_window: u32,
    /// SSIM `C₁ = (0.01·L)²`.
    pub ssim_c1: f64,
    /// SSIM `C₂ = (0.03·L)²`.
    pub ssim_c2: f64,
    /// Dynamic range `L` (PSNR peak).
    pub dynamic_range: f64,
}

/// Sums over one bias block of one tile (blocks of `block_size`², the last row/column of blocks may
/// be partial).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockSums {
    /// Pixels in the block.
    pub pixels: u32,
    /// `Σ ẽ` per channel (winsorized, signed).
    pub sum_e: [f64; CHANNELS],
    /// `Σ ẽ²` per channel.
    pub sum_e2: [f64; CHANNELS],
    /// `Σ d̃` per channel.
    pub sum_d: [f64; CHANNELS],
    /// `Σ d̃²` per channel.
    pub sum_d2: [f64; CHANNELS],
}

/// Side of a [`CellSums`] cell: tiles are cut into cells of `CELL_SIDE`² pixels in row-major order
/// (the last row/column of cells may be partial).
pub const CELL_SIDE: u32 = 16;

/// The second-order sums of one `CELL_SIDE`² cell of a tile, per channel; each sums to the tile's
/// total of the same name. Their spread from cell to cell is what [`PooledStats`] turns into the standard
/// errors of the ratio statistics (`Q`, the noise-level ratio, `ρ(e) − ρ(d)`), so that a tiny
/// frame — a few dozen cells of heavy-tailed Monte Carlo noise — is judged against its own sampling
/// uncertainty instead of thresholds calibrated on large frames.
///
/// A term belongs to the cell of its pixel `(x, y)`: the lag products of `(x, y)` with
/// `(x + 1, y)` and `(x, y + 1)`, and the Immerkær term centred on `(x, y)`. (The worker-side lag
/// products are not here: `ρ`'s standard error comes from the reference side only.)
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CellSums {
    /// `Σ ẽ²` (as [`TileSums::sum_e2_w`]).
    pub sum_e2_w: [f64; CHANNELS],
    /// `Σ d̃²` (as [`TileSums::sum_d2_w`]).
    pub sum_d2_w: [f64; CHANNELS],
    /// Lag products of `d̃` (as [`TileSums::lag_d`]).
    pub lag_d: [f64; CHANNELS],
    /// `Σ |W∗L|` on the mask (as [`TileSums::immerkaer_w`]).
    pub immerkaer_w: [f64; CHANNELS],
    /// `Σ |R̄∗L|` on the mask (as [`TileSums::immerkaer_ref`]).
    pub immerkaer_ref: [f64; CHANNELS],
}

/// Everything the statistics need from one tile. All sums are over the tile's pixels `(x, y)` and a
/// channel `c`, accumulated in `f64` (the order of additions is free: only the value is specified). This is the whole GPU contract: a backend must reproduce these
/// within 1e-5 relative (counts may differ by samples within rounding of a threshold).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TileSums {
    /// Tile width.
    pub width: u32,
    /// Tile height.
    pub height: u32,
    /// Non-finite worker samples (R, G, B).
    pub nonfinite: u64,
    /// (1, 5) `Σ ẽ²` = `Σ min(e², cap_e)`.
    pub sum_e2_w: [f64; CHANNELS],
    /// (1, 5) `Σ d̃²` = `Σ min(d², cap_d)`.
    pub sum_d2_w: [f64; CHANNELS],
    /// (8) raw `Σ e²` (PSNR of W against R̄).
    pub sum_e2: [f64; CHANNELS],
    /// (8) raw `Σ d²` (PSNR of R₁ against R₂).
    pub sum_d2: [f64; CHANNELS],
    /// (2) samples with `−z > z_threshold` — **one-sided**: the worker's sample *below* the
    /// reference by more than the quantile — where `z = e/√v̂`, `v̂ = max(½·mean₅ₓ₅(d²), floor)` and
    /// `mean₅ₓ₅` is the mean of raw `d²` over the `box_size`² window centred on the pixel, clipped to
    /// the tile (divide by the number of pixels inside). Non-finite worker samples count here too.
    ///
    /// Why one-sided: Monte Carlo radiance has a heavy right tail (fireflies). A worker's fireflies
    /// are positive `e` outliers that `v̂` (from the references) does not contain, and their count
    /// above a fixed quantile depends on the worker's sample count — for tails heavier than `x⁻¹`
    /// it *grows* with more samples (measured on the built-in demo scene, whole 512×288 frames:
    /// 2N-sample frames had 1.33× the positive exceedances of N-sample ones and 1.19× the
    /// reference's own null count), so no count from N/2-sample references can bound it for an
    /// honest worker who rendered more samples (matrix case H5). The low side has no such term: a
    /// firefly in `R̄` is in `d²` too and bounds its own `|z|` (≤ √(box²·2)/2 ≈ 3.5 < quantile), and
    /// more worker samples only make `W` less likely to fall below `R̄`. 99 % of the honest
    /// exceedances were on the high side.
    pub z_exceed: [u64; CHANNELS],
    /// (2) Evidence only (not judged): the reference's own two-sided count, samples with
    /// `|z'| > z_threshold`, `z' = (d/√2)/√v̂'`, `v̂' = max(½·(S − d²)/(k − 1), floor)` where `S` is
    /// the raw `Σd²` over the same clipped window and `k` its pixel count (leave-one-out;
    /// `v̂' = floor` when `k = 1`). It counts the references' fireflies: how heavy-tailed the
    /// frame's noise is.
    pub z_null_exceed: [u64; CHANNELS],
    /// (2) largest finite `|z|` in the tile (evidence only).
    pub z_max: f64,
    /// (3) Bias blocks in row-major block order.
    pub blocks: Vec<BlockSums>,
    /// (1, 4, 5) The same second-order sums per [`CELL_SIDE`]² cell, in row-major cell order (the
    /// sampling error of the ratio statistics).
    pub cells: Vec<CellSums>,
    /// (5) `Σ ẽ(x,y)·ẽ(x+1,y) + Σ ẽ(x,y)·ẽ(x,y+1)` over pairs inside the tile.
    pub lag_e: [f64; CHANNELS],
    /// (5) the same for `d̃`.
    pub lag_d: [f64; CHANNELS],
    /// (4) `Σ |(W∗L)(x,y)|` over masked interior pixels (`1 ≤ x < w−1`, `1 ≤ y < h−1`,
    /// `|Sobel(M)| ≤ gradient_threshold`, `M = (W+R̄)/2`), `L = [[1,−2,1],[−2,4,−2],[1,−2,1]]`,
    /// Sobel magnitude `√(Gx² + Gy²)` with `Gx = [[−1,0,1],[−2,0,2],[−1,0,1]]`, `Gy = Gxᵀ`.
    pub immerkaer_w: [f64; CHANNELS],
    /// (4) the same for `R̄`: `Σ |(R̄∗L)|` over the same pixels.
    pub immerkaer_ref: [f64; CHANNELS],
    /// (4) number of masked interior pixels.
    pub immerkaer_count: [u64; CHANNELS],
    /// (8) `Σ SSIM(W, R̄)` over every `ssim_window`² box window fully inside the tile (uniform
    /// weights, population variances: `μ = mean`, `σ² = mean(x²) − μ²`, `σ_xy = mean(xy) − μxμy`;
    /// `SSIM = (2μxμy + C₁)(2σxy + C₂) / ((μx² + μy² + C₁)(σx² + σy² + C₂))`).
    pub ssim_w: [f64; CHANNELS],
    /// (8) `Σ SSIM(R₁, R₂)` over the same windows.
    pub ssim_ref: [f64; CHANNELS],
    /// (8) number of SSIM windows per channel.
    pub ssim_count: u64,
}

/// A backend that computes per-tile sums: tiles in, `f64` sums out. Implementations must be
/// deterministic (no dependence on thread count or scheduling).
pub trait FrameVerifier: Send + Sync {
    /// `cpu`, `vulkan`, ...
    fn name(&self) -> &str;

    /// One [`TileSums`] per tile, in the order of `tiles`.
    fn tile_sums(&self, tiles: &[TileTriple<'_>], params: &SumParams) -> Result<Vec<TileSums>>;
}

/// Runs the whole pipeline: [`prepare`], the backend's sums, [`PooledStats::pool`], [`decide`].
pub fn verify_frame(
    verifier: &dyn FrameVerifier,
    tiles: &[TileTriple<'_>],
    params: &StatParams,
    thresholds: &Thresholds,
) -> Result<Decision> {
    let sum_params = prepare(tiles, params)?;
    let sums = verifier.tile_sums(tiles, &sum_params)?;
    let stats = PooledStats::pool(&sums, &sum_params)?;
    Ok(decide(&stats, thresholds))
}
