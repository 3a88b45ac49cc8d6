//! Comparing two finished frames pixel by pixel, whatever format Blender wrote them in.
//!
//! Two files of the same frame differ in their metadata (Blender stamps the date and the render
//! time), so frames are compared by their decoded samples: integer code values for PNG and JPEG
//! (8 or 16 bits), every channel of every layer for OpenEXR. [`compare_frames`] answers how many
//! samples differ and by how much at most, in the format's own units.

use crate::LinearImage;
use crate::error::{RenderError, Result};
use crate::evidence::{COMPOSITE_LAYER, Evidence};
use image::{DynamicImage, ImageFormat};
use serde::{Deserialize, Serialize};
use std::io::Cursor;

/// How two frames differ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameDifference {
    /// Width and height of both frames.
    pub size: (u32, u32),
    /// Samples compared (pixels × channels; for OpenEXR, over the channels both files have).
    pub samples: u64,
    /// Samples that differ.
    pub differing: u64,
    /// The largest difference, in code values (8- or 16-bit integers) or linear floats (OpenEXR).
    pub max_abs: f64,
    /// Channels (OpenEXR) only one of the files has, by full name.
    pub unmatched_channels: Vec<String>,
}

impl FrameDifference {
    /// True when every compared sample is equal and both files have the same channels.
    pub fn identical(&self) -> bool {
        self.differing == 0 && self.unmatched_channels.is_empty()
    }

    /// True when the frames have the same channels and differ by no more than `tolerance`.
    pub fn within(&self, tolerance: &Tolerance) -> bool {
        self.unmatched_channels.is_empty()
            && self.max_abs <= tolerance.max_abs
            && (self.differing as f64) <= tolerance.max_fraction * self.samples as f64
    }
}

/// How far two finishings of one evidence may differ and still count as the same frame.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    /// The largest difference of one sample, in the format's units (code values for PNG and
    /// JPEG, linear floats for OpenEXR).
    pub max_abs: f64,
    /// The largest fraction of samples that may differ at all.
    pub max_fraction: f64,
}

/// Exact: every sample equal (the finishing without a denoiser is deterministic).
pub const EXACT: Tolerance = Tolerance {
    max_abs: 0.0,
    max_fraction: 0.0,
};

/// A denoised frame: Cycles denoises inside the render, the checker's refinishing with the
/// compositor's Denoise node on the same noisy image and guides, and the two runs of
/// OpenImageDenoise differ slightly. Measured with Blender 4.2 (docs/VERIFICATION.md, 2a): at most 1
/// code value, in 0.22 % of the samples of a 16-bit PNG; bit-exact on simpler scenes. The bound
/// allows 1 code value (or 1e-3 in linear floats) in at most 1 % of the samples: far below any
/// visible edit, and a render's noise is judged by the evidence's own statistical check.
pub const DENOISED_TOLERANCE: Tolerance = Tolerance {
    max_abs: 1.0,
    max_fraction: 0.01,
};

/// [`DENOISED_TOLERANCE`] for an OpenEXR (linear float) deliverable.
pub const DENOISED_FLOAT_TOLERANCE: Tolerance = Tolerance {
    max_abs: 1e-3,
    max_fraction: 0.01,
};

/// Decodes both files and compares their samples. Frames of different sizes, formats or bit
/// depths are an error (they cannot be the same frame).
pub fn compare_frames(a: &[u8], b: &[u8]) -> Result<FrameDifference> {
    let format_a = image::guess_format(a).map_err(decode_error)?;
    let format_b = image::guess_format(b).map_err(decode_error)?;
    if format_a != format_b {
        return Err(mismatch(format!("{format_a:?} against {format_b:?}")));
    }
    if format_a == ImageFormat::OpenExr {
        return compare_exr(a, b);
    }
    let decode = |bytes: &[u8]| {
        image::ImageReader::with_format(Cursor::new(bytes), format_a)
            .decode()
            .map_err(decode_error)
    };
    let (image_a, image_b) = (decode(a)?, decode(b)?);
    let size = (image_a.width(), image_a.height());
    if size != (image_b.width(), image_b.height()) {
        return Err(mismatch(format!(
            "{}×{} against {}×{}",
            size.0,
            size.1,
            image_b.width(),
            image_b.height()
        )));
    }
    if image_a.color() != image_b.color() {
        return Err(mismatch(format!(
            "{:?} against {:?}",
            image_a.color(),
            image_b.color()
        )));
    }
    let (samples_a, samples_b) = (code_values(&image_a), code_values(&image_b));
    let mut difference = FrameDifference {
        size,
        samples: samples_a.len() as u64,
        differing: 0,
        max_abs: 0.0,
        unmatched_channels: Vec::new(),
    };
    for (x, y) in samples_a.iter().zip(&samples_b) {
        if x != y {
            difference.differing += 1;
            difference.max_abs = difference.max_abs.max(f64::from(x.abs_diff(*y)));
        }
    }
    Ok(difference)
}

/// Compares a delivered frame with the same scene's finishing of its evidence
/// ([`crate::Renderer::refinish_frame`]): as [`compare_frames`], except that a multilayer
/// OpenEXR is compared on the layers the refinishing writes (the composite); its render passes
/// are the evidence's own, compared by the checker against the evidence itself.
pub fn compare_finishing(delivered: &[u8], refinished: &[u8]) -> Result<FrameDifference> {
    let exr = image::guess_format(delivered).ok() == Some(ImageFormat::OpenExr);
    if exr {
        let composite = format!("{COMPOSITE_LAYER}.");
        let delivered_layers = Evidence::decode(delivered)?;
        if delivered_layers
            .channel_names()
            .any(|name| name.starts_with(&composite))
        {
            return compare_exr_channels(delivered, refinished, |name| {
                name.starts_with(&composite)
            });
        }
    }
    compare_frames(delivered, refinished)
}

/// Decodes a frame as Blender wrote it into RGBA `f32` without any colour conversion: integer
/// formats as code value ÷ maximum (0..=1, the display-referred values the file holds), OpenEXR as
/// its floats (a multilayer file: its composite). Frames from one scene's finishing can then be
/// compared statistically in the space the creator sees.
pub fn decode_samples(bytes: &[u8]) -> Result<LinearImage> {
    let format = image::guess_format(bytes).map_err(decode_error)?;
    if format == ImageFormat::OpenExr {
        let layers = Evidence::decode(bytes)?;
        if let Some(composite) = layers.composite() {
            return Ok(composite);
        }
        let channel = |name: &str| layers.channel(name);
        let (Some(r), Some(g), Some(b)) = (channel("R"), channel("G"), channel("B")) else {
            return Err(mismatch(
                "an OpenEXR without a composite or plain RGB channels".to_string(),
            ));
        };
        let alpha = channel("A");
        let mut data = Vec::with_capacity(r.len() * 4);
        for i in 0..r.len() {
            data.extend_from_slice(&[r[i], g[i], b[i], alpha.map_or(1.0, |a| a[i])]);
        }
        return LinearImage::from_rgba(layers.width(), layers.height(), data);
    }
    let decoded = image::ImageReader::with_format(Cursor::new(bytes), format)
        .decode()
        .map_err(decode_error)?;
    let (width, height) = (decoded.width(), decoded.height());
    let data = match decoded {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => decoded
            .to_rgba8()
            .into_raw()
            .into_iter()
            .map(|v| f32::from(v) / 255.0)
            .collect(),
        _ => decoded
            .to_rgba16()
            .into_raw()
            .into_iter()
            .map(|v| f32::from(v) / 65_535.0)
            .collect(),
    };
    LinearImage::from_rgba(width, height, data)
}

/// Integer samples at the image's own depth (8-bit images as 0..=255, 16-bit as 0..=65535).
fn code_values(image: &DynamicImage) -> Vec<u16> {
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image.as_bytes().iter().map(|&v| u16::from(v)).collect(),
        _ => image.to_rgba16().into_raw(),
    }
}

fn compare_exr(a: &[u8], b: &[u8]) -> Result<FrameDifference> {
    compare_exr_channels(a, b, |_| true)
}

/// Compares the channels `compared` selects (by full name) of two OpenEXR files.
fn compare_exr_channels(
    a: &[u8],
    b: &[u8],
    compared: impl Fn(&str) -> bool,
) -> Result<FrameDifference> {
    let (a, b) = (Evidence::decode(a)?, Evidence::decode(b)?);
    let size = (a.width(), a.height());
    if size != (b.width(), b.height()) {
        return Err(mismatch(format!(
            "{}×{} against {}×{}",
            size.0,
            size.1,
            b.width(),
            b.height()
        )));
    }
    let mut difference = FrameDifference {
        size,
        samples: 0,
        differing: 0,
        max_abs: 0.0,
        unmatched_channels: Vec::new(),
    };
    for name in a.channel_names().filter(|name| compared(name)) {
        let (Some(x), Some(y)) = (a.channel(name), b.channel(name)) else {
            difference.unmatched_channels.push(name.to_string());
            continue;
        };
        difference.samples += x.len() as u64;
        for (x, y) in x.iter().zip(y) {
            // Bit patterns: NaN equals the same NaN, and -0 differs from +0.
            if x.to_bits() != y.to_bits() {
                difference.differing += 1;
                let delta = f64::from(*x) - f64::from(*y);
                difference.max_abs = difference.max_abs.max(if delta.is_finite() {
                    delta.abs()
                } else {
                    f64::INFINITY
                });
            }
        }
    }
    for name in b.channel_names().filter(|name| compared(name)) {
        if a.channel(name).is_none() {
            difference.unmatched_channels.push(name.to_string());
        }
    }
    Ok(difference)
}

fn decode_error(error: image::ImageError) -> RenderError {
    RenderError::Image {
        operation: "decode",
        reason: error.to_string(),
    }
}

fn mismatch(reason: String) -> RenderError {
    RenderError::Image {
        operation: "compare",
        reason: format!("not the same kind of frame: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_core::job::OutputFormat;

    fn encoded(values: &[f32], format: OutputFormat) -> Vec<u8> {
        let mut data = Vec::new();
        for &v in values {
            data.extend_from_slice(&[v, v, v, 1.0]);
        }
        LinearImage::from_rgba(values.len() as u32, 1, data)
            .expect("image")
            .encode(format)
            .expect("encode")
    }

    #[test]
    fn equal_frames_are_identical_and_a_changed_sample_is_counted() {
        for format in [OutputFormat::Png8, OutputFormat::Png16, OutputFormat::Exr] {
            let a = encoded(&[0.1, 0.5, 0.9], format);
            let same = compare_frames(&a, &a).expect("compare");
            assert!(same.identical(), "{format:?}: {same:?}");
            let b = encoded(&[0.1, 0.5, 0.91], format);
            let changed = compare_frames(&a, &b).expect("compare");
            assert!(!changed.identical());
            assert_eq!(changed.differing, 3, "{format:?}: R, G and B of one pixel");
            assert!(changed.max_abs > 0.0);
        }
    }

    #[test]
    fn samples_decode_as_code_values_without_conversion() {
        let png = encoded(&[0.0, 1.0], OutputFormat::Png8);
        let decoded = decode_samples(&png).expect("decode");
        assert_eq!(decoded.as_rgba()[..4], [0.0, 0.0, 0.0, 1.0]);
        assert_eq!(decoded.as_rgba()[4..8], [1.0, 1.0, 1.0, 1.0]);
        let exr = encoded(&[0.25, 3.0], OutputFormat::Exr);
        let decoded = decode_samples(&exr).expect("decode");
        assert_eq!(decoded.as_rgba()[4], 3.0, "EXR floats as they are");
        assert!(decode_samples(b"junk").is_err());
    }

    #[test]
    fn frames_of_different_kinds_are_an_error() {
        let png = encoded(&[0.5], OutputFormat::Png8);
        let png16 = encoded(&[0.5], OutputFormat::Png16);
        let exr = encoded(&[0.5], OutputFormat::Exr);
        let wide = encoded(&[0.5, 0.5], OutputFormat::Png8);
        for (a, b) in [(&png, &png16), (&png, &exr), (&png, &wide)] {
            assert!(compare_frames(a, b).is_err());
        }
        assert!(compare_frames(b"junk", &png).is_err());
    }
}
