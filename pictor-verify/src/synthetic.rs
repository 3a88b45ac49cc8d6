//! Synthetic scenes with a known per-pixel variance, honest Monte Carlo "renders" of them and the
//! cheats of the test matrix — for tests and benches, so CI can run the whole matrix in seconds.
//!
//! A [`Scene`] is a true image `μ` plus a per-sample variance map `σ²` (and optional fireflies). An
//! honest N-sample render is `μ + noise` with per-pixel variance `σ²/N` ([`render`]); the checker's
//! references are two renders at N/2 with other seeds.

use pictor_core::error::{Error, Result};
use pictor_core::task::PixelRect;
use pictor_render::LinearImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, Poisson, StandardNormal, StudentT};
use serde::{Deserialize, Serialize};

/// Heavy-tailed "firefly" samples: each sample, with probability `rate`, adds `intensity`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fireflies {
    /// Probability that one sample is a firefly.
    pub rate: f64,
    /// Value a firefly sample adds (all channels).
    pub intensity: f64,
}

/// A synthetic scene: the true image and the per-sample variance of every sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    /// The expectation `μ` of every pixel (alpha 1), excluding the fireflies' mean.
    pub truth: LinearImage,
    /// Per-sample variance `σ²`, `width × height × 3` (RGB), row-major.
    pub sigma2: Vec<f32>,
    /// Optional fireflies (their mean is subtracted so the expectation stays `μ`).
    pub fireflies: Option<Fireflies>,
}

/// The distribution of the per-pixel noise of an N-sample mean.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum NoiseKind {
    /// Gaussian with variance `σ²/N`, RGB correlated (ρ = 0.5), spatially correlated by the pixel
    /// filter `[0.1, 0.8, 0.1]²` (neighbour correlation ≈ 0.24) like a real renderer's.
    Gaussian,
    /// Student t with `dof` degrees of freedom, scaled to variance `σ²/N` (heavier tails).
    Student {
        /// Degrees of freedom (> 2).
        dof: f64,
    },
    /// The exact mean of N skewed per-sample values (`Gamma(shape)`, standardized): very
    /// non-Gaussian at low N, like 1–4 sample path tracing.
    Skewed {
        /// Per-sample Gamma shape (smaller = more skewed), e.g. 0.25.
        shape: f64,
    },
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn smoothstep(edge0: f64, edge1: f64, x: f64) -> f64 {
    let t = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// A "true image": smooth gradients, hard-edged discs and boxes, a sinusoidal texture, a fine
/// checkerboard and a bright highlight; linear values in about `[0.02, 2]`. `seed` moves the shapes;
/// `(dx, dy)` shifts the whole image (a neighbouring frame of a moving camera).
pub fn true_image(width: u32, height: u32, seed: u64, dx: f64, dy: f64) -> LinearImage {
    let mut r = rng(seed ^ 0x7275_7468);
    let (w, h) = (f64::from(width), f64::from(height));
    let discs: Vec<(f64, f64, f64, [f64; 3])> = (0..6)
        .map(|_| {
            (
                r.random::<f64>() * w,
                r.random::<f64>() * h,
                (0.05 + 0.15 * r.random::<f64>()) * w.min(h),
                [r.random::<f64>(), r.random::<f64>(), r.random::<f64>()],
            )
        })
        .collect();
    let phase = r.random::<f64>() * std::f64::consts::TAU;
    let bg: [f64; 6] = std::array::from_fn(|_| r.random::<f64>());
    let mut image = LinearImage::new(width, height);
    for (i, px) in image.as_rgba_mut().chunks_exact_mut(4).enumerate() {
        let x = (i % width as usize) as f64 + 0.5 + dx;
        let y = (i / width as usize) as f64 + 0.5 + dy;
        let (u, v) = (x / w, y / h);
        let mut c = [
            0.1 + 0.1 * bg[0] + (0.2 + 0.3 * bg[1]) * u,
            0.1 + 0.1 * bg[2] + (0.1 + 0.3 * bg[3]) * v,
            0.1 + 0.2 * bg[4] + 0.3 * bg[5] * (1.0 - u) * v,
        ];
        // Sinusoidal texture band.
        if (0.55..0.8).contains(&v) {
            let t = 0.5 + 0.5 * (x * 0.35 + phase).sin() * (y * 0.21).cos();
            for (k, ch) in c.iter_mut().enumerate() {
                *ch = *ch * 0.6 + 0.3 * t * (1.0 + 0.2 * k as f64);
            }
        }
        // Fine checkerboard (2 px) in a corner.
        if u > 0.75 && v < 0.25 {
            let on = ((x as i64).div_euclid(2) + (y as i64).div_euclid(2)) % 2 == 0;
            let k = if on { 0.8 } else { 0.1 };
            c = [k, k * 0.9, k * 0.8];
        }
        // Hard-edged discs.
        for &(cx, cy, rad, col) in &discs {
            if (x - cx).powi(2) + (y - cy).powi(2) < rad * rad {
                c = [0.05 + col[0], 0.05 + col[1] * 0.8, 0.05 + col[2] * 0.6];
            }
        }
        // A soft bright highlight.
        let hl = (-(((u - 0.3).powi(2) + (v - 0.3).powi(2)) / 0.004)).exp();
        for ch in c.iter_mut() {
            *ch += 1.5 * hl;
        }
        for k in 0..3 {
            px[k] = c[k] as f32;
        }
        px[3] = 1.0;
    }
    image
}

/// A scene over `truth`: per-sample variance `σ²_c = base · (0.05 + μ_c) · g(x, y)` where `g` is 4
/// in a "glossy" band, 2 in a "soft shadow" and 1 elsewhere; optional fireflies.
pub fn scene_from_truth(truth: LinearImage, base: f64, fireflies: Option<Fireflies>) -> Scene {
    let (w, h) = (truth.width() as usize, truth.height() as usize);
    let mut sigma2 = vec![0.0f32; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            let (u, v) = (x as f64 / w as f64, y as f64 / h as f64);
            let g = if (0.1..0.35).contains(&u) {
                4.0
            } else if (0.6..0.9).contains(&u) && v > 0.4 {
                2.0
            } else {
                1.0
            } * (1.0 + 0.5 * smoothstep(0.3, 0.7, v));
            let px = truth.pixel(x as u32, y as u32);
            for c in 0..3 {
                sigma2[(y * w + x) * 3 + c] = (base * (0.05 + f64::from(px[c])) * g) as f32;
            }
        }
    }
    Scene {
        truth,
        sigma2,
        fireflies,
    }
}

/// The default noise scale of [`scene`]: at 64 samples a mid-grey pixel has ≈ 15–35 % relative noise.
pub const SCENE_NOISE: f64 = 0.25;

/// [`true_image`] + [`scene_from_truth`] with `base =` [`SCENE_NOISE`].
pub fn scene(width: u32, height: u32, seed: u64, fireflies: Option<Fireflies>) -> Scene {
    scene_from_truth(
        true_image(width, height, seed, 0.0, 0.0),
        SCENE_NOISE,
        fireflies,
    )
}

/// A unit-variance noise field per channel (`w × h × 3`), RGB correlated 0.5, optionally filtered.
fn unit_noise(w: usize, h: usize, r: &mut ChaCha8Rng, kind: NoiseKind) -> Result<Vec<f64>> {
    let mut out = vec![0.0f64; w * h * 3];
    match kind {
        NoiseKind::Gaussian | NoiseKind::Student { .. } => {
            let student = match kind {
                NoiseKind::Student { dof } => {
                    if dof <= 2.0 {
                        return Err(Error::invalid("noise.dof", "must be above 2"));
                    }
                    let t = StudentT::new(dof)
                        .map_err(|error| Error::invalid("noise.dof", error.to_string()))?;
                    Some((t, ((dof - 2.0) / dof).sqrt()))
                }
                _ => None,
            };
            let draw = |r: &mut ChaCha8Rng| match &student {
                Some((t, scale)) => t.sample(r) * scale,
                None => StandardNormal.sample(r),
            };
            let a = 0.5f64.sqrt();
            for px in out.chunks_exact_mut(3) {
                let shared = draw(r);
                for v in px.iter_mut() {
                    *v = a * shared + a * draw(r);
                }
            }
            if matches!(kind, NoiseKind::Gaussian) {
                filter(&mut out, w, h);
            }
        }
        NoiseKind::Skewed { .. } => {}
    }
    Ok(out)
}

/// The pixel filter `[0.1, 0.8, 0.1]` in x and y (clamped at the border), rescaled to unit variance.
fn filter(field: &mut [f64], w: usize, h: usize) {
    let k = [0.1, 0.8, 0.1];
    let norm = 1.0 / (k.iter().map(|v| v * v).sum::<f64>());
    let mut tmp = vec![0.0; field.len()];
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let at = |xx: usize| field[(y * w + xx) * 3 + c];
                tmp[(y * w + x) * 3 + c] =
                    k[0] * at(x.saturating_sub(1)) + k[1] * at(x) + k[2] * at((x + 1).min(w - 1));
            }
        }
    }
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let at = |yy: usize| tmp[(yy * w + x) * 3 + c];
                field[(y * w + x) * 3 + c] =
                    (k[0] * at(y.saturating_sub(1)) + k[1] * at(y) + k[2] * at((y + 1).min(h - 1)))
                        * norm;
            }
        }
    }
}

/// An honest `samples`-sample render of `scene` (fractional sample counts allowed): every pixel is
/// `μ + noise`, noise of variance `σ²/samples` of the given kind, plus centred fireflies
/// (`intensity · (K − samples·rate)/samples`, `K ~ Poisson(samples·rate)`).
pub fn render(scene: &Scene, samples: f64, seed: u64, kind: NoiseKind) -> Result<LinearImage> {
    if samples <= 0.0 || !samples.is_finite() {
        return Err(Error::invalid("samples", "must be positive"));
    }
    let (w, h) = (scene.truth.width() as usize, scene.truth.height() as usize);
    let mut r = rng(seed);
    let noise = unit_noise(w, h, &mut r, kind)?;
    let skew = match kind {
        NoiseKind::Skewed { shape } => Some((
            Gamma::new(samples * shape, 1.0)
                .map_err(|error| Error::invalid("noise.shape", error.to_string()))?,
            shape,
        )),
        _ => None,
    };
    let poisson = match scene.fireflies {
        Some(f) if f.rate > 0.0 => Some((
            Poisson::new(samples * f.rate)
                .map_err(|error| Error::invalid("fireflies.rate", error.to_string()))?,
            f,
        )),
        _ => None,
    };
    let mut out = scene.truth.clone();
    for (i, px) in out.as_rgba_mut().chunks_exact_mut(4).enumerate() {
        let firefly = match &poisson {
            Some((p, f)) => {
                let k: f64 = p.sample(&mut r);
                f.intensity * (k - samples * f.rate) / samples
            }
            None => 0.0,
        };
        for c in 0..3 {
            let sd = (f64::from(scene.sigma2[i * 3 + c]) / samples).sqrt();
            let n = match &skew {
                Some((gamma, shape)) => {
                    let g: f64 = gamma.sample(&mut r);
                    (g - samples * shape) / (samples * shape).sqrt()
                }
                None => noise[i * 3 + c],
            };
            px[c] = (f64::from(px[c]) + sd * n + firefly) as f32;
        }
    }
    Ok(out)
}

/// The `size`×`size` tiles of `image` in row-major order (the image must divide evenly).
pub fn tiles(image: &LinearImage, size: u32) -> Result<Vec<LinearImage>> {
    if size == 0 || !image.width().is_multiple_of(size) || !image.height().is_multiple_of(size) {
        return Err(Error::invalid("size", "tiles must divide the image evenly"));
    }
    let mut out = Vec::new();
    for ty in 0..image.height() / size {
        for tx in 0..image.width() / size {
            let rect = PixelRect {
                x: tx * size,
                y: ty * size,
                width: size,
                height: size,
            };
            out.push(
                image
                    .crop(rect)
                    .map_err(|error| Error::invalid("tile", error.to_string()))?,
            );
        }
    }
    Ok(out)
}

/// Applies `f` to the RGB samples (alpha untouched).
pub fn map_rgb(image: &LinearImage, f: impl Fn(usize, f32) -> f32) -> LinearImage {
    let mut out = image.clone();
    for px in out.as_rgba_mut().chunks_exact_mut(4) {
        for (c, v) in px.iter_mut().take(3).enumerate() {
            *v = f(c, *v);
        }
    }
    out
}

/// Multiplies channel `c` by `gains[c]` (exposure: all equal).
pub fn gain(image: &LinearImage, gains: [f32; 3]) -> LinearImage {
    map_rgb(image, |c, v| v * gains[c])
}

/// Swaps the red and blue channels.
pub fn swap_red_blue(image: &LinearImage) -> LinearImage {
    let mut out = image.clone();
    for px in out.as_rgba_mut().chunks_exact_mut(4) {
        px.swap(0, 2);
    }
    out
}

/// Clamps RGB at `max` (what a renderer's "clamp indirect" or a firefly filter does).
pub fn clamp(image: &LinearImage, max: f32) -> LinearImage {
    map_rgb(image, |_, v| v.min(max))
}

/// A constant image (black when `value` is 0, NaN everywhere when NaN).
pub fn constant(width: u32, height: u32, value: f32) -> LinearImage {
    let mut out = LinearImage::new(width, height);
    for px in out.as_rgba_mut().chunks_exact_mut(4) {
        px[..3].fill(value);
        px[3] = 1.0;
    }
    out
}

/// Sets every RGB sample in `fraction` of the pixels (chosen by `seed`) to NaN.
pub fn sprinkle_nan(image: &LinearImage, fraction: f64, seed: u64) -> LinearImage {
    let mut r = rng(seed);
    let mut out = image.clone();
    for px in out.as_rgba_mut().chunks_exact_mut(4) {
        if r.random::<f64>() < fraction {
            px[..3].fill(f32::NAN);
        }
    }
    out
}

/// Separable convolution of RGB with a symmetric 1-D kernel (border clamped).
fn convolve(image: &LinearImage, kernel: &[f64]) -> LinearImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let r = kernel.len() / 2;
    let src = image.as_rgba();
    let mut tmp = image.clone();
    {
        let dst = tmp.as_rgba_mut();
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    let mut s = 0.0;
                    for (k, wt) in kernel.iter().enumerate() {
                        let xx = (x + k).saturating_sub(r).min(w - 1);
                        s += wt * f64::from(src[(y * w + xx) * 4 + c]);
                    }
                    dst[(y * w + x) * 4 + c] = s as f32;
                }
            }
        }
    }
    let mut out = tmp.clone();
    let (src, dst) = (tmp.as_rgba(), out.as_rgba_mut());
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let mut s = 0.0;
                for (k, wt) in kernel.iter().enumerate() {
                    let yy = (y + k).saturating_sub(r).min(h - 1);
                    s += wt * f64::from(src[(yy * w + x) * 4 + c]);
                }
                dst[(y * w + x) * 4 + c] = s as f32;
            }
        }
    }
    out
}

/// Box blur of side `2·radius + 1` (a crude denoiser).
pub fn box_blur(image: &LinearImage, radius: usize) -> LinearImage {
    let n = 2 * radius + 1;
    convolve(image, &vec![1.0 / n as f64; n])
}

/// Gaussian blur with standard deviation `sigma` pixels (a smoother denoiser).
pub fn gaussian_blur(image: &LinearImage, sigma: f64) -> LinearImage {
    let r = (3.0 * sigma).ceil().max(1.0) as i64;
    let mut k: Vec<f64> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let s: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    convolve(image, &k)
}

/// How a half-resolution render is brought back to full size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Upscale {
    /// Pixel replication.
    Nearest,
    /// Bilinear interpolation.
    Bilinear,
    /// Lanczos-3.
    Lanczos,
}

/// Half-resolution cheat: a 2×2 box downsample of `image` (what a half-resolution render at 4× the
/// samples per pixel gives), upscaled back to full size.
pub fn half_resolution(image: &LinearImage, upscale: Upscale) -> LinearImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (hw, hh) = (w.div_ceil(2), h.div_ceil(2));
    let src = image.as_rgba();
    let mut small = vec![0.0f64; hw * hh * 3];
    for y in 0..hh {
        for x in 0..hw {
            for c in 0..3 {
                let mut s = 0.0;
                let mut n = 0.0;
                for (xx, yy) in [
                    (2 * x, 2 * y),
                    (2 * x + 1, 2 * y),
                    (2 * x, 2 * y + 1),
                    (2 * x + 1, 2 * y + 1),
                ] {
                    if xx < w && yy < h {
                        s += f64::from(src[(yy * w + xx) * 4 + c]);
                        n += 1.0;
                    }
                }
                small[(y * hw + x) * 3 + c] = s / n;
            }
        }
    }
    let at = |x: i64, y: i64, c: usize| {
        let x = x.clamp(0, hw as i64 - 1) as usize;
        let y = y.clamp(0, hh as i64 - 1) as usize;
        small[(y * hw + x) * 3 + c]
    };
    let lanczos = |t: f64| {
        if t.abs() < 1e-12 {
            1.0
        } else if t.abs() >= 3.0 {
            0.0
        } else {
            let p = std::f64::consts::PI * t;
            3.0 * p.sin() * (p / 3.0).sin() / (p * p)
        }
    };
    let mut out = image.clone();
    let dst = out.as_rgba_mut();
    for y in 0..h {
        for x in 0..w {
            // Centre of the full-res pixel in half-res coordinates.
            let (sx, sy) = ((x as f64 + 0.5) / 2.0 - 0.5, (y as f64 + 0.5) / 2.0 - 0.5);
            for c in 0..3 {
                let v = match upscale {
                    Upscale::Nearest => at((x / 2) as i64, (y / 2) as i64, c),
                    Upscale::Bilinear => {
                        let (x0, y0) = (sx.floor(), sy.floor());
                        let (fx, fy) = (sx - x0, sy - y0);
                        let (x0, y0) = (x0 as i64, y0 as i64);
                        (1.0 - fy) * ((1.0 - fx) * at(x0, y0, c) + fx * at(x0 + 1, y0, c))
                            + fy * ((1.0 - fx) * at(x0, y0 + 1, c) + fx * at(x0 + 1, y0 + 1, c))
                    }
                    Upscale::Lanczos => {
                        let (x0, y0) = (sx.floor() as i64, sy.floor() as i64);
                        let (mut s, mut ws) = (0.0, 0.0);
                        for j in y0 - 2..=y0 + 3 {
                            let wy = lanczos(sy - j as f64);
                            for i in x0 - 2..=x0 + 3 {
                                let wt = wy * lanczos(sx - i as f64);
                                s += wt * at(i, j, c);
                                ws += wt;
                            }
                        }
                        s / ws
                    }
                };
                dst[(y * w + x) * 4 + c] = v as f32;
            }
        }
    }
    out
}

/// Pastes `source`'s pixels over a square region covering `fraction` of `image`'s area, at a
/// position chosen by `seed` (a tampered region: an edit, a watermark, content from elsewhere).
pub fn tamper(
    image: &LinearImage,
    source: &LinearImage,
    fraction: f64,
    seed: u64,
) -> Result<LinearImage> {
    let (w, h) = (image.width(), image.height());
    if (source.width(), source.height()) != (w, h) {
        return Err(Error::invalid("source", "must match the image's size"));
    }
    let area = fraction.clamp(0.0, 1.0) * f64::from(w) * f64::from(h);
    let side = (area.sqrt().round() as u32).clamp(1, w.min(h));
    let mut r = rng(seed);
    let x = r.random_range(0..=w - side);
    let y = r.random_range(0..=h - side);
    let rect = PixelRect {
        x,
        y,
        width: side,
        height: side,
    };
    let patch = source
        .crop(rect)
        .map_err(|error| Error::invalid("region", error.to_string()))?;
    let mut out = image.clone();
    out.paste(&patch, x, y)
        .map_err(|error| Error::invalid("region", error.to_string()))?;
    Ok(out)
}
