//! The CPU backend: rayon over tiles, `f64` accumulation in a fixed order.

use super::stats::sobel;
use super::{
    BlockSums, CELL_SIDE, CHANNELS, CellSums, FrameVerifier, SumParams, TileSums, TileTriple,
};
use pictor_core::error::Result;
use rayon::prelude::*;

/// The reference backend: computes [`TileSums`] on the CPU, one rayon task per tile, each tile
/// summed sequentially in row-major order, so results do not depend on the thread count.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuVerifier;

impl FrameVerifier for CpuVerifier {
    fn name(&self) -> &str {
        "cpu"
    }

    fn tile_sums(&self, tiles: &[TileTriple<'_>], params: &SumParams) -> Result<Vec<TileSums>> {
        tiles
            .par_iter()
            .map(|tile| tile_sums(tile, params))
            .collect()
    }
}

/// The sums of one tile (sequential, row-major; the definition every backend reproduces).
pub fn tile_sums(tile: &TileTriple<'_>, p: &SumParams) -> Result<TileSums> {
    let (w, h) = tile.dimensions()?;
    let (w, h) = (w as usize, h as usize);
    let n = w * h;
    let bs = p.block_size.max(1) as usize;
    let (bw, bh) = (w.div_ceil(bs), h.div_ceil(bs));
    let cs = CELL_SIDE as usize;
    let cw = w.div_ceil(cs);
    let cell_of = |x: usize, y: usize| (y / cs) * cw + x / cs;
    let mut out = TileSums {
        width: w as u32,
        height: h as u32,
        blocks: vec![BlockSums::default(); bw * bh],
        cells: vec![CellSums::default(); cw * h.div_ceil(cs)],
        ..TileSums::default()
    };
    for (by, row) in out.blocks.chunks_mut(bw).enumerate() {
        for (bx, block) in row.iter_mut().enumerate() {
            block.pixels = ((bs.min(w - bx * bs)) * (bs.min(h - by * bs))) as u32;
        }
    }
    let (wk, ra, rb) = (
        tile.worker.as_rgba(),
        tile.reference_a.as_rgba(),
        tile.reference_b.as_rgba(),
    );
    let radius = (p.box_size / 2) as usize;
    let mut wv = vec![0.0f64; n];
    let mut bad = vec![false; n];
    let mut mean = vec![0.0f64; n];
    let mut r1 = vec![0.0f64; n];
    let mut r2 = vec![0.0f64; n];
    let mut d = vec![0.0f64; n];
    let mut e = vec![0.0f64; n];
    let mut ec = vec![0.0f64; n];
    let mut dc = vec![0.0f64; n];
    let mut m = vec![0.0f64; n];
    for c in 0..CHANNELS {
        let cap_d = p.cap_d[c].max(0.0);
        let (lim_d, lim_e) = (cap_d.sqrt(), (0.5 * cap_d).sqrt());
        for i in 0..n {
            let (a, b) = (f64::from(ra[i * 4 + c]), f64::from(rb[i * 4 + c]));
            r1[i] = a;
            r2[i] = b;
            mean[i] = 0.5 * (a + b);
            d[i] = a - b;
            let x = f64::from(wk[i * 4 + c]);
            bad[i] = !x.is_finite();
            wv[i] = if bad[i] { mean[i] } else { x };
            e[i] = wv[i] - mean[i];
            ec[i] = e[i].clamp(-lim_e, lim_e);
            dc[i] = d[i].clamp(-lim_d, lim_d);
            m[i] = 0.5 * (wv[i] + mean[i]);
        }
        // (1), (8): winsorized and raw sums of squares; (3) blocks; (5) lags.
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                if bad[i] {
                    out.nonfinite += 1;
                }
                let (e2w, d2w) = (ec[i] * ec[i], dc[i] * dc[i]);
                out.sum_e2_w[c] += e2w;
                out.sum_d2_w[c] += d2w;
                out.sum_e2[c] += e[i] * e[i];
                out.sum_d2[c] += d[i] * d[i];
                let block = &mut out.blocks[(y / bs) * bw + x / bs];
                block.sum_e[c] += ec[i];
                block.sum_e2[c] += e2w;
                block.sum_d[c] += dc[i];
                block.sum_d2[c] += d2w;
                let (mut lag_e, mut lag_d) = (0.0, 0.0);
                if x + 1 < w {
                    lag_e += ec[i] * ec[i + 1];
                    lag_d += dc[i] * dc[i + 1];
                }
                if y + 1 < h {
                    lag_e += ec[i] * ec[i + w];
                    lag_d += dc[i] * dc[i + w];
                }
                out.lag_e[c] += lag_e;
                out.lag_d[c] += lag_d;
                let cell = &mut out.cells[cell_of(x, y)];
                cell.sum_e2_w[c] += e2w;
                cell.sum_d2_w[c] += d2w;
                cell.lag_d[c] += lag_d;
            }
        }
        // (2) per-sample z against the local variance of the split reference (separable clipped
        // box sums of raw d²: rows first, then columns).
        let d2: Vec<f64> = d.iter().map(|v| v * v).collect();
        let rows = box_rows(&d2, w, h, radius);
        for y in 0..h {
            let (y0, y1) = (y.saturating_sub(radius), (y + radius).min(h - 1));
            for x in 0..w {
                let i = y * w + x;
                if bad[i] {
                    out.z_exceed[c] += 1;
                }
                let (x0, x1) = (x.saturating_sub(radius), (x + radius).min(w - 1));
                let mut sum = 0.0;
                for yy in y0..=y1 {
                    sum += rows[yy * w + x];
                }
                let count = ((y1 - y0 + 1) * (x1 - x0 + 1)) as f64;
                let var_null = if count > 1.0 {
                    (0.5 * (sum - d2[i]) / (count - 1.0)).max(p.variance_floor[c])
                } else {
                    p.variance_floor[c]
                };
                if (d[i] * std::f64::consts::FRAC_1_SQRT_2 / var_null.sqrt()).abs() > p.z_threshold
                {
                    out.z_null_exceed[c] += 1;
                }
                if bad[i] {
                    continue;
                }
                let var = (0.5 * sum / count).max(p.variance_floor[c]);
                // One-sided: only a worker pixel *below* the reference counts (see
                // `TileSums::z_exceed`); |z| is kept as evidence.
                let z_low = -e[i] / var.sqrt();
                if z_low > p.z_threshold {
                    out.z_exceed[c] += 1;
                }
                let z = z_low.abs();
                if z.is_finite() {
                    out.z_max = out.z_max.max(z);
                }
            }
        }
        // (4) Immerkær on low-gradient interior pixels of M = (W + R̄)/2.
        let laplace = |plane: &[f64], x: usize, y: usize| {
            let q = |dx: usize, dy: usize| plane[(y + dy - 1) * w + (x + dx - 1)];
            (q(0, 0) - 2.0 * q(1, 0) + q(2, 0)) - 2.0 * (q(0, 1) - 2.0 * q(1, 1) + q(2, 1))
                + (q(0, 2) - 2.0 * q(1, 2) + q(2, 2))
        };
        for y in 1..h.saturating_sub(1) {
            for x in 1..w.saturating_sub(1) {
                if sobel(&m, w, x, y) <= p.gradient_threshold[c] {
                    let (lw, lr) = (laplace(&wv, x, y).abs(), laplace(&mean, x, y).abs());
                    out.immerkaer_count[c] += 1;
                    out.immerkaer_w[c] += lw;
                    out.immerkaer_ref[c] += lr;
                    let cell = &mut out.cells[cell_of(x, y)];
                    cell.immerkaer_w[c] += lw;
                    cell.immerkaer_ref[c] += lr;
                }
            }
        }
        // (8) SSIM over every box window fully inside the tile.
        let win = p.ssim_window.max(1) as usize;
        if win <= w && win <= h {
            let windows = ((w - win + 1) * (h - win + 1)) as u64;
            if c == 0 {
                out.ssim_count = windows;
            }
            out.ssim_w[c] += ssim_sum(&wv, &mean, w, h, win, p);
            out.ssim_ref[c] += ssim_sum(&r1, &r2, w, h, win, p);
        }
    }
    Ok(out)
}

/// Horizontal box sums of `plane` over `x − radius ..= x + radius`, clipped to the row.
fn box_rows(plane: &[f64], w: usize, h: usize, radius: usize) -> Vec<f64> {
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        let row = &plane[y * w..(y + 1) * w];
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(radius), (x + radius).min(w - 1));
            out[y * w + x] = row[x0..=x1].iter().sum();
        }
    }
    out
}

/// `Σ SSIM(a, b)` over every `win`² box window fully inside the `w`×`h` planes (sliding sums:
/// rows, then columns).
fn ssim_sum(a: &[f64], b: &[f64], w: usize, h: usize, win: usize, p: &SumParams) -> f64 {
    let moments = |i: usize| {
        let (u, v) = (a[i], b[i]);
        [u, v, u * u, v * v, u * v]
    };
    let ow = w + 1 - win;
    let mut rows = vec![[0.0f64; 5]; ow * h];
    for y in 0..h {
        let mut acc = [0.0f64; 5];
        for x in 0..w {
            let add = moments(y * w + x);
            for k in 0..5 {
                acc[k] += add[k];
            }
            if x >= win {
                let sub = moments(y * w + x - win);
                for k in 0..5 {
                    acc[k] -= sub[k];
                }
            }
            if x + 1 >= win {
                rows[y * ow + x + 1 - win] = acc;
            }
        }
    }
    let n = (win * win) as f64;
    let mut cols = vec![[0.0f64; 5]; ow];
    let mut total = 0.0;
    for y in 0..h {
        for (x, acc) in cols.iter_mut().enumerate() {
            let add = rows[y * ow + x];
            for k in 0..5 {
                acc[k] += add[k];
            }
            if y >= win {
                let sub = rows[(y - win) * ow + x];
                for k in 0..5 {
                    acc[k] -= sub[k];
                }
            }
            if y + 1 >= win {
                let (ma, mb) = (acc[0] / n, acc[1] / n);
                let va = acc[2] / n - ma * ma;
                let vb = acc[3] / n - mb * mb;
                let cov = acc[4] / n - ma * mb;
                total += ((2.0 * ma * mb + p.ssim_c1) * (2.0 * cov + p.ssim_c2))
                    / ((ma * ma + mb * mb + p.ssim_c1) * (va + vb + p.ssim_c2));
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{self, NoiseKind};
    use crate::{PooledStats, StatParams, prepare};
    use pictor_render::LinearImage;

    /// An image whose red channel is `red` and green/blue are 0.5 (so they contribute nothing).
    fn red(width: u32, height: u32, red: &[f32]) -> LinearImage {
        let data = red.iter().flat_map(|&r| [r, 0.5, 0.5, 1.0]).collect();
        LinearImage::from_rgba(width, height, data).expect("image")
    }

    fn params(box_size: u32, block_size: u32, ssim_window: u32) -> SumParams {
        SumParams {
            cap_d: [100.0; 3],
            variance_floor: [1e-12; 3],
            gradient_threshold: [0.0; 3],
            z_threshold: 0.5,
            box_size,
            block_size,
            ssim_window,
            ssim_c1: 1e-4,
            ssim_c2: 9e-4,
            dynamic_range: 1.0,
        }
    }

    #[test]
    fn sums_match_hand_computed_values() {
        // R1 = [1, 3], R2 = [1, 1] → d = [0, 2], R̄ = [1, 2]; W = [2, 2] → e = [1, 0].
        let (w, a, b) = (
            red(2, 1, &[2.0, 2.0]),
            red(2, 1, &[1.0, 3.0]),
            red(2, 1, &[1.0, 1.0]),
        );
        let tile = TileTriple {
            worker: &w,
            reference_a: &a,
            reference_b: &b,
        };
        let p = params(3, 2, 1);
        let s = tile_sums(&tile, &p).expect("sums");
        assert_eq!((s.sum_e2_w[0], s.sum_d2_w[0]), (1.0, 4.0));
        assert_eq!((s.sum_e2[0], s.sum_d2[0]), (1.0, 4.0));
        assert_eq!(s.sum_e2_w[1] + s.sum_d2_w[2], 0.0);
        // v̂ = ½·(0 + 4)/2 = 1 at both pixels: z = [1, 0]. The count is one-sided (the worker
        // *below* the reference): z = +1 is over 0.5 but above the reference, so not counted.
        assert_eq!(s.z_exceed, [0, 0, 0]);
        assert!((s.z_max - 1.0).abs() < 1e-15);
        // W = [0, 2] → e = [−1, 0]: the same magnitude below the reference counts.
        let below = red(2, 1, &[0.0, 2.0]);
        let tile_below = TileTriple {
            worker: &below,
            ..tile
        };
        assert_eq!(
            tile_sums(&tile_below, &p).expect("sums").z_exceed,
            [1, 0, 0]
        );
        // Null: pixel 0 leaves d² = 4 → v̂' = 2, z' = 0; pixel 1 leaves 0 → floor, z' huge.
        assert_eq!(s.z_null_exceed, [1, 0, 0]);
        assert_eq!(s.blocks.len(), 1);
        let block = &s.blocks[0];
        assert_eq!(block.pixels, 2);
        assert_eq!(
            (
                block.sum_e[0],
                block.sum_e2[0],
                block.sum_d[0],
                block.sum_d2[0]
            ),
            (1.0, 1.0, 2.0, 4.0)
        );
        assert_eq!((s.lag_e[0], s.lag_d[0]), (0.0, 0.0));
        // 1×1 SSIM windows: (2xy + C1)/(x² + y² + C1).
        let c1 = 1e-4;
        let want_w = (4.0 + c1) / (5.0 + c1) + 1.0;
        let want_ref = 1.0 + (6.0 + c1) / (10.0 + c1);
        assert!((s.ssim_w[0] - want_w).abs() < 1e-12);
        assert!((s.ssim_ref[0] - want_ref).abs() < 1e-12);
        assert_eq!(s.ssim_count, 2);
        assert_eq!(s.immerkaer_count, [0, 0, 0]);

        // Pooled: Q = 1/(½·4) = 0.5; T_B = 1/√((2·1 − 1)/1) = 1; T'_B = 2/√((2·4 − 4)/1) = 1.
        let stats = PooledStats::pool(&[s], &p).expect("pool");
        assert!((stats.q_channel[0] - 0.5).abs() < 1e-15);
        assert!((stats.t_max - 1.0).abs() < 1e-15);
        assert!((stats.t_null_max - 1.0).abs() < 1e-15);
        // bias_z = Σẽ / √(½(Σd̃)²) = 1/√(½·4).
        assert!((stats.bias_z[0] - 0.5f64.sqrt()).abs() < 1e-15);
        // PSNR over 6 samples: Σe² = 1 → mse 1/6; Σd² = 4 → 4/6.
        assert!((stats.psnr_w - 10.0 * 6f64.log10()).abs() < 1e-12);
        assert!((stats.psnr_ref - 10.0 * 1.5f64.log10()).abs() < 1e-12);
    }

    #[test]
    fn immerkaer_and_residual_correlation_by_hand() {
        // 3×3: W has a single 1 in the centre, references are 0. The Sobel of M = W/2 is 0 at the
        // centre, so it is kept; (W∗L)(1,1) = 4, (R̄∗L) = 0.
        let mut centre = [0.0f32; 9];
        centre[4] = 1.0;
        let (w, zero) = (red(3, 3, &centre), red(3, 3, &[0.0; 9]));
        let tile = TileTriple {
            worker: &w,
            reference_a: &zero,
            reference_b: &zero,
        };
        let s = tile_sums(&tile, &params(5, 8, 3)).expect("sums");
        assert_eq!(s.immerkaer_count[0], 1);
        assert_eq!((s.immerkaer_w[0], s.immerkaer_ref[0]), (4.0, 0.0));
        // e = W: no neighbouring pair is both non-zero.
        assert_eq!(s.lag_e[0], 0.0);
        // Non-finite worker samples are counted and treated as R̄.
        let mut nan = centre;
        nan[0] = f32::NAN;
        let w = red(3, 3, &nan);
        let tile = TileTriple {
            worker: &w,
            reference_a: &zero,
            reference_b: &zero,
        };
        let s = tile_sums(&tile, &params(5, 8, 3)).expect("sums");
        assert_eq!(s.nonfinite, 1);
        assert!(s.sum_e2[0] == 1.0 && s.z_exceed[0] >= 1);
        // Horizontal pair (e, e) = (1, 1) in a 2×1 tile: lag = 1, Σẽ² = 2 → ρ(e) = 1/4.
        let (w, zero) = (red(2, 1, &[1.0, 1.0]), red(2, 1, &[0.0, 0.0]));
        let tile = TileTriple {
            worker: &w,
            reference_a: &zero,
            reference_b: &zero,
        };
        let p = params(5, 8, 3);
        let s = tile_sums(&tile, &p).expect("sums");
        assert_eq!(s.lag_e[0], 1.0);
        let stats = PooledStats::pool(&[s], &p).expect("pool");
        assert!((stats.rho_e - 0.25).abs() < 1e-15);
    }

    #[test]
    fn cells_hold_the_tile_sums_split_by_pixel() {
        // 40×20: cells of 16² → 3 × 2, the last column 8 px wide and the last row 4 px high.
        let scene = synthetic::scene(40, 20, 3, None);
        let render = |n, seed| synthetic::render(&scene, n, seed, NoiseKind::Gaussian).expect("r");
        let (w, a, b) = (render(64.0, 1), render(32.0, 2), render(32.0, 3));
        let tile = TileTriple {
            worker: &w,
            reference_a: &a,
            reference_b: &b,
        };
        let p = prepare(&[tile], &StatParams::default()).expect("prepare");
        let s = tile_sums(&tile, &p).expect("sums");
        assert_eq!(s.cells.len(), 6);
        let close = |total: f64, parts: f64| (total - parts).abs() <= 1e-12 * total.abs().max(1.0);
        for c in 0..CHANNELS {
            let sum = |f: fn(&CellSums) -> [f64; CHANNELS]| -> f64 {
                s.cells.iter().map(|cell| f(cell)[c]).sum()
            };
            assert!(close(s.sum_e2_w[c], sum(|x| x.sum_e2_w)));
            assert!(close(s.sum_d2_w[c], sum(|x| x.sum_d2_w)));
            assert!(close(s.lag_d[c], sum(|x| x.lag_d)));
            assert!(close(s.immerkaer_w[c], sum(|x| x.immerkaer_w)));
            assert!(close(s.immerkaer_ref[c], sum(|x| x.immerkaer_ref)));
            // Every cell has noise in it.
            assert!(s.cells.iter().all(|cell| cell.sum_d2_w[c] > 0.0));
        }
        // A pixel's terms go to its own cell: the 8×4 corner cell holds 32 pixels' squares.
        let corner: f64 = (16..20)
            .flat_map(|y| (32..40).map(move |x| (x, y)))
            .map(|(x, y)| {
                let (wp, ap, bp) = (w.pixel(x, y), a.pixel(x, y), b.pixel(x, y));
                let e = f64::from(wp[0]) - 0.5 * (f64::from(ap[0]) + f64::from(bp[0]));
                let lim = (0.5 * p.cap_d[0]).sqrt();
                e.clamp(-lim, lim).powi(2)
            })
            .sum();
        assert!(
            close(s.cells[5].sum_e2_w[0], corner),
            "{} vs {corner}",
            s.cells[5].sum_e2_w[0]
        );
        let pooled = PooledStats::pool(&[s], &p).expect("pool");
        assert_eq!(pooled.cells, 6);
        assert!(pooled.q_se.is_finite() && pooled.q_se > 0.0);
        assert!(pooled.noise_ratio_se.is_finite() && pooled.rho_diff_se.is_finite());
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let scene = synthetic::scene(128, 128, 5, None);
        let render = |n, seed| synthetic::render(&scene, n, seed, NoiseKind::Gaussian).expect("r");
        let (w, a, b) = (render(64.0, 1), render(32.0, 2), render(32.0, 3));
        let (wt, at, bt) = (
            synthetic::tiles(&w, 32).expect("t"),
            synthetic::tiles(&a, 32).expect("t"),
            synthetic::tiles(&b, 32).expect("t"),
        );
        let tiles: Vec<TileTriple<'_>> = (0..wt.len())
            .map(|i| TileTriple {
                worker: &wt[i],
                reference_a: &at[i],
                reference_b: &bt[i],
            })
            .collect();
        let p = prepare(&tiles, &StatParams::default()).expect("prepare");
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| CpuVerifier.tile_sums(&tiles, &p).expect("sums"))
        };
        let one = run(1);
        assert_eq!(one, run(4));
        assert_eq!(one, run(3));
        let sequential: Vec<TileSums> =
            tiles.iter().map(|t| tile_sums(t, &p).expect("s")).collect();
        assert_eq!(one, sequential);
    }
}
