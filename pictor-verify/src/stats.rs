//! Shared, backend-independent statistics: the frame-wide pre-pass ([`prepare`]), pooling of tile
//! sums into statistics ([`PooledStats`]) and the distribution helpers they use.

use super::{CHANNELS, StatParams, SumParams, TileSums, TileTriple};
use pictor_core::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The pooled statistics of a frame (all tiles, all three channels). Each field documents its exact
/// definition in terms of the sums of [`TileSums`] (summed over tiles; "over channels" = also summed
/// over `c`). The [`Decision`](super::Decision) carries them as evidence.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PooledStats {
    /// Tiles pooled.
    pub tiles: usize,
    /// Samples pooled (pixels × 3).
    pub samples: u64,
    /// Non-finite worker samples.
    pub nonfinite: u64,
    /// (1) Noise ratio `Q = Σẽ² / max(½Σd̃², Σ n_c·floor_c)` over channels. Honest ≈ 1.
    pub q: f64,
    /// (1) `Q` per channel.
    pub q_channel: [f64; CHANNELS],
    /// (2) The `|z|` quantile used ([`SumParams::z_threshold`]).
    pub z_threshold: f64,
    /// (2) Samples with `−z` above it: the worker below the reference (one-sided, see
    /// [`TileSums::z_exceed`]).
    pub z_exceed: u64,
    /// (2) `z_exceed / samples`.
    pub z_fraction: f64,
    /// (2) The reference's own two-sided null count (evidence: how many fireflies the references
    /// hold; see [`TileSums::z_null_exceed`]).
    pub z_null_exceed: u64,
    /// (2) What the decision judges: `z_exceed / samples` (equal to `z_fraction`). Until
    /// 2026-11-22 it was the two-sided count minus `z_null_exceed`, which rejected honest frames
    /// rendered with more samples than asked (H5): their extra fireflies are not in the null.
    pub z_excess: f64,
    /// (2) Largest finite `|z|`.
    pub z_max: f64,
    /// (3) Number of `(block, channel)` pairs.
    pub blocks: u64,
    /// (3) Pixels in the largest block (the t degrees of freedom are this minus one).
    pub block_pixels: u32,
    /// (3) `max |T_B|` over blocks and channels. `T_B` is the one-sample t statistic of `ẽ` in the
    /// block: `T_B = Σẽ / √max((n·Σẽ² − (Σẽ)²)/(n − 1), n·floor_c)` (`n` the block's pixels,
    /// `n − 1` at least 1; `T_B = 0` when `Σẽ = 0`). Unlike `Σe/√(½Σd²)` it is odd under swapping
    /// `W` and `R̄` (honest fireflies in either cannot bias it) and unbounded for a real shift.
    pub t_max: f64,
    /// (3) Mean of `T_B` (signed).
    pub t_mean: f64,
    /// (3) Mean of `T_B²`.
    pub t_mean_sq: f64,
    /// (3) `max |T'_B|`, the null from the reference: the same t statistic of `d̃`,
    /// `T'_B = Σd̃ / √max((n·Σd̃² − (Σd̃)²)/(n − 1), 2n·floor_c)`. Honest `T_B` and `T'_B` have the
    /// same distribution (`e` and `d/√2` do, and t is scale-free), correlated pixels included.
    pub t_null_max: f64,
    /// (3) Nearest-rank 0.9999 quantile of `|T'_B|`.
    pub t_null_q9999: f64,
    /// (3) Mean of `T'_B²` (≈ (n−1)/(n−3) for uncorrelated noise; larger when pixels within a block correlate).
    pub t_null_mean_sq: f64,
    /// (3) `bias_ratio = t_mean_sq / t_null_mean_sq`: honest ≈ 1. Catches biases of either sign
    /// that vary over the frame (blur, upscaling, edits).
    pub bias_ratio: f64,
    /// (3) Signed bias per channel, pooled over blocks before standardising:
    /// `bias_z[c] = Σ_B Σẽ_B / √max(½·Σ_B (Σd̃_B)², Σ_B n_B·floor_c)` (honest ≈ N(0, 1)). The
    /// numerator is unbiased whatever the skew of the noise (no per-block weights that move with the
    /// block's own fireflies) and `½(Σd̃_B)²` is a sign-symmetric, unbiased estimate of the variance
    /// of `Σẽ_B` for an honest frame (pixel correlation within a block included). A per-block t
    /// statistic summed over blocks (`Σ_B T_B / √Σ_B T'²_B`, the previous definition) is biased by
    /// `≈ −skew/(2√n)` per block, which adds up over ~1,000 blocks: with a 2N-sample worker frame
    /// (less skewed than `R̄`) it sat at ≈ +5.4. Catches small consistent shifts: exposure,
    /// colour, clamping.
    pub bias_z: [f64; CHANNELS],
    /// (3) `max_c |bias_z[c]|`.
    pub bias_z_max: f64,
    /// (4) Noise-level ratio `σ̂²(W)/σ̂²(R̄) = (Σ|W∗L| / Σ|R̄∗L|)²` over channels (`R̄` has the same
    /// N-sample noise variance `σ²/N` and the same structure as an honest `W`). 1 when both are 0.
    pub noise_ratio: f64,
    /// (4) Per channel.
    pub noise_ratio_channel: [f64; CHANNELS],
    /// (4) Immerkær `σ̂(W) = √(π/2)·Σ|W∗L| / (6·count)` (evidence).
    pub sigma_w: f64,
    /// (4) Immerkær `σ̂(R̄)` (evidence).
    pub sigma_ref: f64,
    /// (5) `ρ(e) = Σlag_e / (2Σẽ²)` over channels.
    pub rho_e: f64,
    /// (5) `ρ(d) = Σlag_d / (2Σd̃²)`.
    pub rho_d: f64,
    /// (5) `ρ(e) − ρ(d)`.
    pub rho_diff: f64,
    /// Cells pooled ([`CellSums`](super::CellSums); the units of the standard errors below).
    pub cells: u64,
    /// (1) Standard error of `Q` under the honest null, from the spread of its terms over cells
    /// (ratio estimator, delta method): `√(c/(c − 1) · Σ_u (A_u − Q·B_u)²) / (ΣB · Q)`,
    /// `A_u = Σ_c Σẽ²`, `B_u = ½Σ_c Σd̃²` of cell `u`, `c` cells. Heavy tails and pixel correlation
    /// within a cell are in it; a large frame has a small one. The division by `Q` rescales it to
    /// an honest frame's: a frame whose noise variance is `Q` times the honest one has every cell
    /// term scaled by `Q`. `∞` with fewer than two cells.
    pub q_se: f64,
    /// (4) Standard error of the noise-level ratio `r²` under the honest null, `r = ΣI_W/ΣI_R̄`:
    /// `2·√(c/(c − 1) · Σ_u (I_W,u − r·I_R̄,u)²) / (ΣI_R̄ · r)` over cells (the delta method for
    /// `r²` at `r = 1`, rescaled by `r` as `Q`'s is by `Q`).
    pub noise_ratio_se: f64,
    /// (5) Standard error of `ρ(e) − ρ(d)` under the honest null (`ρ(e)` and `ρ(d)` alike), from the
    /// reference side only, so that a worker's edit cannot widen it: `√(2 · c/(c − 1) · Σ_u g_u²)`
    /// with the linearized cell term of `ρ(d)`, `g_u = (L_d,u − 2ρ(d)·D_u)/(2ΣD)` (`L_d` lag sums,
    /// `D = Σd̃²`, channels summed).
    pub rho_diff_se: f64,
    /// (3) Standard error of `bias_ratio` under the honest null, from the reference side only (a
    /// worker's localized edit cannot widen it): `√(2 · b/(b − 1) · Σ_B (U_B − Ū)²) / Σ_B U_B`,
    /// `U_B = Σ_c T'_B²` (`T'` is scale-free, so blocks are alike whatever the content), `b` blocks.
    pub bias_ratio_se: f64,
    /// (8) Mean SSIM(W, R̄) over windows and channels.
    pub ssim_w: f64,
    /// (8) Mean SSIM(R₁, R₂).
    pub ssim_ref: f64,
    /// (8) `PSNR(W, R̄) = 10·log₁₀(L² / (Σe²/samples))` in dB (raw, not winsorized).
    pub psnr_w: f64,
    /// (8) `PSNR(R₁, R₂) = 10·log₁₀(L² / (Σd²/samples))` in dB. Honest `psnr_w ≈ psnr_ref + 3 dB`.
    pub psnr_ref: f64,
}

/// The one-sample t statistic of a block from `Σx`, `Σx²` and `n`:
/// `Σx / √max((n·Σx² − (Σx)²)/max(n − 1, 1), floor)`; 0 when `Σx = 0`.
fn block_t(sum: f64, sum_sq: f64, n: f64, floor: f64) -> f64 {
    if sum == 0.0 {
        return 0.0;
    }
    let var = ((n * sum_sq - sum * sum) / (n - 1.0).max(1.0)).max(floor);
    if var > 0.0 {
        sum / var.sqrt()
    } else {
        f64::INFINITY.copysign(sum)
    }
}

/// `a / b` with `0/0 = 1` and `x/0 = ∞` (ratios of non-negative sums).
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else if a > 0.0 {
        f64::INFINITY
    } else {
        1.0
    }
}

impl PooledStats {
    /// Pools the sums of all tiles of a frame (computed with `params`).
    pub fn pool(sums: &[TileSums], params: &SumParams) -> Result<PooledStats> {
        if sums.is_empty() {
            return Err(Error::invalid("tiles", "no tile sums to pool"));
        }
        let mut s = PooledStats {
            tiles: sums.len(),
            z_threshold: params.z_threshold,
            ..PooledStats::default()
        };
        let mut e2 = [0.0; CHANNELS];
        let mut d2 = [0.0; CHANNELS];
        let mut raw_e2 = 0.0;
        let mut raw_d2 = 0.0;
        let mut lag_e = 0.0;
        let mut lag_d = 0.0;
        let mut imm_w = [0.0; CHANNELS];
        let mut imm_r = [0.0; CHANNELS];
        let mut imm_n = 0u64;
        let mut ssim_w = 0.0;
        let mut ssim_r = 0.0;
        let mut ssim_n = 0u64;
        let mut pixels = 0u64;
        let mut t_null_abs = Vec::new();
        let (mut t_sum, mut t_sq, mut tn_sq) = (0.0, 0.0, 0.0);
        let (mut bias_num, mut bias_den) = ([0.0; CHANNELS], [0.0; CHANNELS]);
        let mut bias_floor = [0.0; CHANNELS];
        // Per cell: [Σẽ², ½Σd̃², lag_d, I_W, I_R̄], channels summed.
        let mut cell_units: Vec<[f64; 5]> = Vec::new();
        // Per bias block: [Σ_c T_B², Σ_c T'_B²].
        let mut block_units: Vec<[f64; 2]> = Vec::new();
        for tile in sums {
            for cell in &tile.cells {
                let total = |v: &[f64; CHANNELS]| v.iter().sum::<f64>();
                cell_units.push([
                    total(&cell.sum_e2_w),
                    0.5 * total(&cell.sum_d2_w),
                    total(&cell.lag_d),
                    total(&cell.immerkaer_w),
                    total(&cell.immerkaer_ref),
                ]);
            }
            let n = u64::from(tile.width) * u64::from(tile.height);
            pixels += n;
            s.nonfinite += tile.nonfinite;
            s.z_max = s.z_max.max(tile.z_max);
            for c in 0..CHANNELS {
                e2[c] += tile.sum_e2_w[c];
                d2[c] += tile.sum_d2_w[c];
                raw_e2 += tile.sum_e2[c];
                raw_d2 += tile.sum_d2[c];
                lag_e += tile.lag_e[c];
                lag_d += tile.lag_d[c];
                imm_w[c] += tile.immerkaer_w[c];
                imm_r[c] += tile.immerkaer_ref[c];
                imm_n += tile.immerkaer_count[c];
                ssim_w += tile.ssim_w[c];
                ssim_r += tile.ssim_ref[c];
                s.z_exceed += tile.z_exceed[c];
                s.z_null_exceed += tile.z_null_exceed[c];
            }
            ssim_n += tile.ssim_count * CHANNELS as u64;
            for block in &tile.blocks {
                s.block_pixels = s.block_pixels.max(block.pixels);
                let n = f64::from(block.pixels);
                let mut unit = [0.0; 2];
                for c in 0..CHANNELS {
                    let floor = params.variance_floor[c];
                    let t = block_t(block.sum_e[c], block.sum_e2[c], n, n * floor);
                    let t0 = block_t(block.sum_d[c], block.sum_d2[c], n, 2.0 * n * floor);
                    s.t_max = s.t_max.max(t.abs());
                    s.t_null_max = s.t_null_max.max(t0.abs());
                    t_sum += t;
                    t_sq += t * t;
                    tn_sq += t0 * t0;
                    unit[0] += t * t;
                    unit[1] += t0 * t0;
                    t_null_abs.push(t0.abs());
                    bias_num[c] += block.sum_e[c];
                    bias_den[c] += 0.5 * block.sum_d[c] * block.sum_d[c];
                    bias_floor[c] += n * floor;
                }
                block_units.push(unit);
            }
        }
        s.samples = pixels * CHANNELS as u64;
        let mut num = 0.0;
        let mut den = 0.0;
        for c in 0..CHANNELS {
            let floor = pixels as f64 * params.variance_floor[c];
            let den_c = (0.5 * d2[c]).max(floor);
            s.q_channel[c] = ratio(e2[c], den_c);
            num += e2[c];
            den += den_c;
            s.noise_ratio_channel[c] = ratio(imm_w[c], imm_r[c]).powi(2);
        }
        s.q = ratio(num, den);
        s.z_fraction = s.z_exceed as f64 / s.samples.max(1) as f64;
        s.z_excess = s.z_fraction;
        s.blocks = t_null_abs.len() as u64;
        if !t_null_abs.is_empty() {
            let n = t_null_abs.len() as f64;
            s.t_mean = t_sum / n;
            s.t_mean_sq = t_sq / n;
            s.t_null_mean_sq = tn_sq / n;
            s.bias_ratio = ratio(s.t_mean_sq, s.t_null_mean_sq);
            s.t_null_q9999 = nearest_rank(&mut t_null_abs, 0.9999);
            for c in 0..CHANNELS {
                let den = bias_den[c].max(bias_floor[c]);
                s.bias_z[c] = if den > 0.0 {
                    bias_num[c] / den.sqrt()
                } else if bias_num[c] == 0.0 {
                    0.0
                } else {
                    f64::INFINITY.copysign(bias_num[c])
                };
                s.bias_z_max = s.bias_z_max.max(s.bias_z[c].abs());
            }
        }
        let (sum_w, sum_r): (f64, f64) = (imm_w.iter().sum(), imm_r.iter().sum());
        s.noise_ratio = ratio(sum_w, sum_r).powi(2);
        let scale = (std::f64::consts::PI / 2.0).sqrt() / (6.0 * imm_n.max(1) as f64);
        s.sigma_w = scale * sum_w;
        s.sigma_ref = scale * sum_r;
        s.rho_e = if e2.iter().sum::<f64>() > 0.0 {
            lag_e / (2.0 * e2.iter().sum::<f64>())
        } else {
            0.0
        };
        s.rho_d = if d2.iter().sum::<f64>() > 0.0 {
            lag_d / (2.0 * d2.iter().sum::<f64>())
        } else {
            0.0
        };
        s.rho_diff = s.rho_e - s.rho_d;
        s.cells = cell_units.len() as u64;
        // Standard errors under the honest null: a frame whose noise variance is Q times the
        // honest one has every cell term, and so the delta-method error, scaled by Q (by r for the
        // noise-level ratio r²'s root); dividing by it gives the error an honest frame would have.
        let null_scale = |observed: f64| if observed > 0.0 { observed } else { 1.0 };
        s.q_se = ratio_se(&cell_units, 0, 1) / null_scale(s.q);
        let r = s.noise_ratio.sqrt();
        s.noise_ratio_se = 2.0 * ratio_se(&cell_units, 3, 4) / null_scale(r);
        s.rho_diff_se = rho_diff_se(&cell_units, s.rho_d);
        s.bias_ratio_se = null_ratio_se(&block_units, 1);
        if ssim_n > 0 {
            s.ssim_w = ssim_w / ssim_n as f64;
            s.ssim_ref = ssim_r / ssim_n as f64;
        }
        let peak = params.dynamic_range * params.dynamic_range;
        let samples = s.samples.max(1) as f64;
        s.psnr_w = psnr(peak, raw_e2 / samples);
        s.psnr_ref = psnr(peak, raw_d2 / samples);
        Ok(s)
    }
}

/// `c/(c − 1)`, the small-sample factor of a variance summed over `c` units; `∞` below two.
fn units_factor(units: usize) -> f64 {
    if units < 2 {
        f64::INFINITY
    } else {
        units as f64 / (units - 1) as f64
    }
}

/// The delta-method standard error of the ratio `Σa/Σb` of two columns summed over independent
/// units: `√(c/(c − 1) · Σ (a_u − R·b_u)²) / Σb`. `∞` when it is undefined (fewer than two units or
/// `Σb = 0`).
fn ratio_se<const K: usize>(units: &[[f64; K]], a: usize, b: usize) -> f64 {
    let (sum_a, sum_b): (f64, f64) = units
        .iter()
        .fold((0.0, 0.0), |(x, y), u| (x + u[a], y + u[b]));
    if units.len() < 2 || sum_b <= 0.0 {
        return f64::INFINITY;
    }
    let r = sum_a / sum_b;
    let residuals: f64 = units.iter().map(|u| (u[a] - r * u[b]).powi(2)).sum();
    (units_factor(units.len()) * residuals).sqrt() / sum_b
}

/// The standard error of a ratio `Σa/Σb` under the null that `a` and `b` have the same
/// distribution per unit, from the spread of `b` alone: `√(2 · c/(c − 1) · Σ (b_u − b̄)²) / Σb`.
/// Unlike [`ratio_se`] a worker's localized cheat cannot inflate it (only the reference side is
/// used), which is what a scale-free per-unit statistic (a block's `T'²`) allows. `∞` when undefined.
fn null_ratio_se<const K: usize>(units: &[[f64; K]], b: usize) -> f64 {
    let sum_b: f64 = units.iter().map(|u| u[b]).sum();
    if units.len() < 2 || sum_b <= 0.0 {
        return f64::INFINITY;
    }
    let mean = sum_b / units.len() as f64;
    let spread: f64 = units.iter().map(|u| (u[b] - mean).powi(2)).sum();
    (2.0 * units_factor(units.len()) * spread).sqrt() / sum_b
}

/// The standard error of `ρ(e) − ρ(d)` under the honest null (see [`PooledStats::rho_diff_se`]),
/// from the reference side only; `units` rows are `[Σẽ², ½Σd̃², lag_d, …]`.
fn rho_diff_se(units: &[[f64; 5]], rho_d: f64) -> f64 {
    let sum_d: f64 = units.iter().map(|u| 2.0 * u[1]).sum();
    if units.len() < 2 || sum_d <= 0.0 {
        return f64::INFINITY;
    }
    let squares: f64 = units
        .iter()
        .map(|u| {
            let g = (u[2] - 2.0 * rho_d * 2.0 * u[1]) / (2.0 * sum_d);
            g * g
        })
        .sum();
    (2.0 * units_factor(units.len()) * squares).sqrt()
}

/// `10·log₁₀(peak/mse)`, capped at 200 dB for identical images.
fn psnr(peak: f64, mse: f64) -> f64 {
    if mse > 0.0 {
        (10.0 * (peak / mse).log10()).min(200.0)
    } else if mse.is_nan() {
        f64::NAN
    } else {
        200.0
    }
}

/// Nearest-rank quantile: sorted ascending `v` of length `n`, `v[ceil(q·n) − 1]` (reorders `values`).
pub(crate) fn nearest_rank(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let n = values.len();
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
    let (_, v, _) = values.select_nth_unstable_by(rank, f64::total_cmp);
    *v
}

/// The frame-wide pre-pass: validates the tiles and computes [`SumParams`] (see its fields for the
/// exact definitions). Deterministic; cheap (a few passes over the tiles' samples).
pub fn prepare(tiles: &[TileTriple<'_>], params: &StatParams) -> Result<SumParams> {
    params.validate()?;
    if tiles.is_empty() {
        return Err(Error::invalid("tiles", "no tiles to verify"));
    }
    let mut d2: [Vec<f64>; CHANNELS] = Default::default();
    let mut grad: [Vec<f64>; CHANNELS] = Default::default();
    let mut samples = 0u64;
    for (index, tile) in tiles.iter().enumerate() {
        let (w, h) = tile.dimensions()?;
        let (w, h) = (w as usize, h as usize);
        samples += (w * h * CHANNELS) as u64;
        let (wk, ra, rb) = (
            tile.worker.as_rgba(),
            tile.reference_a.as_rgba(),
            tile.reference_b.as_rgba(),
        );
        if ra.iter().chain(rb.iter()).any(|v| !v.is_finite()) {
            return Err(Error::invalid(
                format!("tiles[{index}]"),
                "a reference contains non-finite samples",
            ));
        }
        for c in 0..CHANNELS {
            let mut m = vec![0.0f64; w * h];
            for i in 0..w * h {
                let (a, b) = (f64::from(ra[i * 4 + c]), f64::from(rb[i * 4 + c]));
                let diff = a - b;
                d2[c].push(diff * diff);
                let mean = 0.5 * (a + b);
                let wv = f64::from(wk[i * 4 + c]);
                m[i] = 0.5 * (if wv.is_finite() { wv } else { mean } + mean);
            }
            for y in 1..h.saturating_sub(1) {
                for x in 1..w.saturating_sub(1) {
                    grad[c].push(sobel(&m, w, x, y));
                }
            }
        }
    }
    let mut cap_d = [0.0; CHANNELS];
    let mut variance_floor = [0.0; CHANNELS];
    let mut gradient_threshold = [0.0; CHANNELS];
    for c in 0..CHANNELS {
        let mean_half = 0.5 * d2[c].iter().sum::<f64>() / d2[c].len().max(1) as f64;
        variance_floor[c] = params
            .variance_floor_abs
            .max(params.variance_floor_rel * mean_half);
        cap_d[c] = nearest_rank(&mut d2[c], params.winsor_quantile);
        gradient_threshold[c] = nearest_rank(&mut grad[c], params.immerkaer_fraction);
    }
    let range = params.dynamic_range;
    Ok(SumParams {
        cap_d,
        variance_floor,
        gradient_threshold,
        z_threshold: sidak_z(params.z_alpha, samples),
        box_size: params.box_size,
        block_size: params.block_size,
        ssim_window: params.ssim_window,
        ssim_c1: (0.01 * range).powi(2),
        ssim_c2: (0.03 * range).powi(2),
        dynamic_range: range,
    })
}

/// Sobel gradient magnitude `√(Gx² + Gy²)` of the plane `m` (row-major, width `w`) at an interior
/// pixel.
pub(crate) fn sobel(m: &[f64], w: usize, x: usize, y: usize) -> f64 {
    let p = |dx: usize, dy: usize| m[(y + dy - 1) * w + (x + dx - 1)];
    let gx = (p(2, 0) + 2.0 * p(2, 1) + p(2, 2)) - (p(0, 0) + 2.0 * p(0, 1) + p(0, 2));
    let gy = (p(0, 2) + 2.0 * p(1, 2) + p(2, 2)) - (p(0, 0) + 2.0 * p(1, 0) + p(2, 0));
    (gx * gx + gy * gy).sqrt()
}

/// The two-sided Šidák z quantile: `Φ⁻¹(1 − α'/2)` with `α' = 1 − (1 − alpha)^(1/n)`.
pub fn sidak_z(alpha: f64, n: u64) -> f64 {
    let per_test = -((-alpha).ln_1p() / n.max(1) as f64).exp_m1();
    -inverse_normal_cdf(per_test / 2.0)
}

/// The standard normal quantile `Φ⁻¹(p)` (Acklam's rational approximation, relative error
/// < 1.2e-9). `±∞` at 0 and 1, NaN outside.
pub fn inverse_normal_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    const LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Student's t quantile with `df` degrees of freedom (Cornish–Fisher expansion around the normal
/// quantile, Abramowitz & Stegun 26.7.5; accurate to ~1e-3 relative for `df ≥ 10`).
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    let z = inverse_normal_cdf(p);
    if !z.is_finite() || df <= 0.0 {
        return z;
    }
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92_160.0 * df.powi(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_errors_of_ratios_by_hand() {
        // Proportional units: the ratio is exact, no spread.
        assert_eq!(ratio_se(&[[2.0, 1.0], [4.0, 2.0]], 0, 1), 0.0);
        // R = 4/2 = 2, residuals −1 and +1: √(2/1 · 2)/2 = 1.
        assert!((ratio_se(&[[1.0, 1.0], [3.0, 1.0]], 0, 1) - 1.0).abs() < 1e-15);
        // Null spread: b = [1, 3], mean 2 → √(2 · 2 · 2)/4 = √8/4.
        assert!((null_ratio_se(&[[9.0, 1.0], [0.0, 3.0]], 1) - 8f64.sqrt() / 4.0).abs() < 1e-15);
        // Undefined with one unit or a zero denominator.
        assert_eq!(ratio_se(&[[1.0, 1.0]], 0, 1), f64::INFINITY);
        assert_eq!(ratio_se(&[[1.0, 0.0], [1.0, 0.0]], 0, 1), f64::INFINITY);
        // ρ(e) − ρ(d): rows [Σẽ², ½Σd̃², lag_d, ·, ·]. Two cells with D = 2 each, d lags 1 and 3
        // → ρ(d) = 4/(2·4) = 0.5, g = (1 − 2)/8 and (3 − 2)/8 → √(2 · 2 · 2/64) = √0.125. The
        // worker's side (column 0) does not enter.
        let rows = [[9.0, 1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 3.0, 0.0, 0.0]];
        assert!((rho_diff_se(&rows, 0.5) - 0.125f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn distribution_helpers() {
        assert!((inverse_normal_cdf(0.975) - 1.959_963_985).abs() < 1e-8);
        assert!((inverse_normal_cdf(1e-9) + 5.997_807_015).abs() < 1e-7);
        assert_eq!(inverse_normal_cdf(0.5), 0.0);
        assert!((sidak_z(0.05, 1) - 1.959_963_985).abs() < 1e-8);
        // Šidák over 1000 tests at α = 0.05: per test 5.129e-5 → z = 4.049661.
        assert!((sidak_z(0.05, 1000) - 4.049_661).abs() < 1e-5);
        assert!((student_t_quantile(0.975, 30.0) - 2.042_272).abs() < 1e-4);
        assert!((student_t_quantile(0.999, 63.0) - 3.2251).abs() < 2e-3);
        let mut v = vec![5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(nearest_rank(&mut v, 0.5), 3.0);
        assert_eq!(nearest_rank(&mut v, 0.999), 5.0);
        assert_eq!(nearest_rank(&mut v, 0.2), 1.0);
    }

    #[test]
    fn block_t_is_the_one_sample_t_statistic() {
        // x = [1, 2, 3]: Σ = 6, Σx² = 14, n = 3 → var(Σ) estimate (3·14 − 36)/2 = 3 → t = 6/√3.
        assert!((block_t(6.0, 14.0, 3.0, 0.0) - 6.0 / 3f64.sqrt()).abs() < 1e-15);
        assert_eq!(block_t(0.0, 5.0, 3.0, 0.0), 0.0);
        assert!((block_t(2.0, 4.0, 1.0, 1.0) - 2.0).abs() < 1e-15);
    }
}
