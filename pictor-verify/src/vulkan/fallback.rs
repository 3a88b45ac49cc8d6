//! The `f64` reference arithmetic for the few pixels a shader leaves undecided.
//!
//! A threshold test (Immerkær gradient mask, `|z| > z_threshold`) evaluated in `f32` can disagree
//! with the `f64` reference when the value lies within rounding of the threshold — and the gradient
//! threshold is itself a quantile *of those values*, so at least one pixel always lies exactly on
//! it. The shaders flag such (workgroup, channel) pairs; the host recomputes their sums here with
//! exactly the arithmetic of [`crate::CpuVerifier`], so counts match it sample for sample.

use crate::stats::sobel;
use crate::{SumParams, TileTriple};

/// A tile's three images as flat RGBA slices.
pub(super) struct Planes<'a> {
    worker: &'a [f32],
    reference_a: &'a [f32],
    reference_b: &'a [f32],
    width: usize,
    height: usize,
}

/// One sample, as the reference implementation sees it (`f64`).
struct Sample {
    /// `W`, or `R̄` where `W` is not finite.
    clean: f64,
    /// `R̄ = (R₁ + R₂)/2`.
    mean: f64,
    /// `d = R₁ − R₂`.
    diff: f64,
    /// `W` is not finite.
    bad: bool,
}

/// The z-test counts of a rectangle.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ZTest {
    /// Samples with `|z| > z_threshold` (non-finite worker samples included).
    pub exceed: u64,
    /// Samples with `|z'| > z_threshold` (the reference's leave-one-out null).
    pub null_exceed: u64,
    /// Largest finite `|z|`.
    pub z_max: f64,
}

/// A rectangle of tile pixels, `x0..x1` × `y0..y1`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rect {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl<'a> Planes<'a> {
    /// Views a tile whose dimensions have been checked.
    pub fn new(tile: &TileTriple<'a>, width: usize, height: usize) -> Self {
        Planes {
            worker: tile.worker.as_rgba(),
            reference_a: tile.reference_a.as_rgba(),
            reference_b: tile.reference_b.as_rgba(),
            width,
            height,
        }
    }

    fn sample(&self, x: usize, y: usize, c: usize) -> Sample {
        let i = (y * self.width + x) * 4 + c;
        let (a, b) = (
            f64::from(self.reference_a[i]),
            f64::from(self.reference_b[i]),
        );
        let mean = 0.5 * (a + b);
        let w = f64::from(self.worker[i]);
        let bad = !w.is_finite();
        Sample {
            clean: if bad { mean } else { w },
            mean,
            diff: a - b,
            bad,
        }
    }

    /// `(z exceedances, null exceedances, largest finite |z|)` of channel `c` over `rect`
    /// (statistic 2), with the reference's arithmetic: clipped box sums of raw `d²`, row by row.
    pub fn z_test(&self, rect: Rect, c: usize, p: &SumParams) -> ZTest {
        let radius = (p.box_size / 2) as usize;
        let (w, h) = (self.width, self.height);
        let mut out = ZTest::default();
        for y in rect.y0..rect.y1 {
            let (y0, y1) = (y.saturating_sub(radius), (y + radius).min(h - 1));
            for x in rect.x0..rect.x1 {
                let s = self.sample(x, y, c);
                if s.bad {
                    out.exceed += 1;
                }
                let (x0, x1) = (x.saturating_sub(radius), (x + radius).min(w - 1));
                let mut sum = 0.0;
                for yy in y0..=y1 {
                    let row: f64 = (x0..=x1)
                        .map(|xx| {
                            let d = self.sample(xx, yy, c).diff;
                            d * d
                        })
                        .sum();
                    sum += row;
                }
                let count = ((y1 - y0 + 1) * (x1 - x0 + 1)) as f64;
                let floor = p.variance_floor[c];
                let var_null = if count > 1.0 {
                    (0.5 * (sum - s.diff * s.diff) / (count - 1.0)).max(floor)
                } else {
                    floor
                };
                if (s.diff * std::f64::consts::FRAC_1_SQRT_2 / var_null.sqrt()).abs()
                    > p.z_threshold
                {
                    out.null_exceed += 1;
                }
                if s.bad {
                    continue;
                }
                let var = (0.5 * sum / count).max(floor);
                // One-sided (the worker's pixel below the reference), as `TileSums::z_exceed`.
                let z_low = (s.mean - s.clean) / var.sqrt();
                if z_low > p.z_threshold {
                    out.exceed += 1;
                }
                let z = z_low.abs();
                if z.is_finite() {
                    out.z_max = out.z_max.max(z);
                }
            }
        }
        out
    }

    /// `(masked pixels, Σ|W∗L|, Σ|R̄∗L|)` of channel `c` over the interior pixels of `rect`
    /// (statistic 4).
    pub fn immerkaer(&self, rect: Rect, c: usize, p: &SumParams) -> (u64, f64, f64) {
        let (mut count, mut sum_w, mut sum_r) = (0u64, 0.0, 0.0);
        let laplace = |q: &[f64; 9]| {
            (q[0] - 2.0 * q[1] + q[2]) - 2.0 * (q[3] - 2.0 * q[4] + q[5])
                + (q[6] - 2.0 * q[7] + q[8])
        };
        for y in rect.y0.max(1)..rect.y1.min(self.height.saturating_sub(1)) {
            for x in rect.x0.max(1)..rect.x1.min(self.width.saturating_sub(1)) {
                let (mut m, mut wv, mut mean) = ([0.0; 9], [0.0; 9], [0.0; 9]);
                for j in 0..9 {
                    let s = self.sample(x + j % 3 - 1, y + j / 3 - 1, c);
                    m[j] = 0.5 * (s.clean + s.mean);
                    wv[j] = s.clean;
                    mean[j] = s.mean;
                }
                if sobel(&m, 3, 1, 1) <= p.gradient_threshold[c] {
                    count += 1;
                    sum_w += laplace(&wv).abs();
                    sum_r += laplace(&mean).abs();
                }
            }
        }
        (count, sum_w, sum_r)
    }
}
