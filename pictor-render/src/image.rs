//! Linear RGBA images and their encodings: PNG 8/16-bit (sRGB) and OpenEXR (linear f32).

use crate::error::{RenderError, Result};
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgba};
use pictor_core::job::OutputFormat;
use pictor_core::task::PixelRect;
use std::io::{Cursor, Write};
use std::path::Path;

/// A linear-light RGBA image, `f32` per channel, row-major from the top-left corner.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearImage {
    width: u32,
    height: u32,
    data: Vec<f32>,
}

impl LinearImage {
    /// A black, transparent image.
    pub fn new(width: u32, height: u32) -> Self {
        LinearImage {
            width,
            height,
            data: vec![0.0; width as usize * height as usize * 4],
        }
    }

    /// Wraps RGBA samples; `data.len()` must be `width × height × 4`.
    pub fn from_rgba(width: u32, height: u32, data: Vec<f32>) -> Result<Self> {
        if data.len() != width as usize * height as usize * 4 {
            return Err(RenderError::invalid(
                "image",
                format!(
                    "{} samples do not make a {width}×{height} RGBA image",
                    data.len()
                ),
            ));
        }
        Ok(LinearImage {
            width,
            height,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// All samples, RGBA interleaved.
    pub fn as_rgba(&self) -> &[f32] {
        &self.data
    }

    /// All samples, mutable.
    pub fn as_rgba_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The RGBA of pixel `(x, y)`. Panics outside the image (callers index within bounds).
    pub fn pixel(&self, x: u32, y: u32) -> [f32; 4] {
        let i = (y as usize * self.width as usize + x as usize) * 4;
        [
            self.data[i],
            self.data[i + 1],
            self.data[i + 2],
            self.data[i + 3],
        ]
    }

    /// A copy of the pixels inside `region`.
    pub fn crop(&self, region: PixelRect) -> Result<LinearImage> {
        if !region.fits_in(self.width, self.height) {
            return Err(RenderError::invalid(
                "region",
                format!(
                    "{},{},{},{} is outside the {}×{} image",
                    region.x, region.y, region.width, region.height, self.width, self.height
                ),
            ));
        }
        let mut data = Vec::with_capacity(region.area() as usize * 4);
        for y in region.y..region.y + region.height {
            let start = (y as usize * self.width as usize + region.x as usize) * 4;
            data.extend_from_slice(&self.data[start..start + region.width as usize * 4]);
        }
        LinearImage::from_rgba(region.width, region.height, data)
    }

    /// Copies `tile` into this image with its top-left corner at `(x, y)`.
    pub fn paste(&mut self, tile: &LinearImage, x: u32, y: u32) -> Result<()> {
        let rect = PixelRect {
            x,
            y,
            width: tile.width,
            height: tile.height,
        };
        if !rect.fits_in(self.width, self.height) {
            return Err(RenderError::invalid("tile", "does not fit in the image"));
        }
        for row in 0..tile.height {
            let dst = ((y + row) as usize * self.width as usize + x as usize) * 4;
            let src = row as usize * tile.width as usize * 4;
            let len = tile.width as usize * 4;
            self.data[dst..dst + len].copy_from_slice(&tile.data[src..src + len]);
        }
        Ok(())
    }

    /// Encodes the image: PNG as sRGB (8 or 16 bits), OpenEXR as linear f32.
    pub fn encode(&self, format: OutputFormat) -> Result<Vec<u8>> {
        let fail = |error: image::ImageError| RenderError::Image {
            operation: "encode",
            reason: error.to_string(),
        };
        let mut bytes = Cursor::new(Vec::new());
        match format {
            OutputFormat::Scene | OutputFormat::Png8 => {
                let samples: Vec<u8> = self.srgb_samples(255.0).map(|v| v as u8).collect();
                let buffer: ImageBuffer<Rgba<u8>, Vec<u8>> =
                    ImageBuffer::from_raw(self.width, self.height, samples)
                        .ok_or_else(|| RenderError::invalid("image", "buffer size"))?;
                DynamicImage::ImageRgba8(buffer)
                    .write_to(&mut bytes, ImageFormat::Png)
                    .map_err(fail)?;
            }
            OutputFormat::Png16 => {
                let samples: Vec<u16> = self.srgb_samples(65_535.0).map(|v| v as u16).collect();
                let buffer: ImageBuffer<Rgba<u16>, Vec<u16>> =
                    ImageBuffer::from_raw(self.width, self.height, samples)
                        .ok_or_else(|| RenderError::invalid("image", "buffer size"))?;
                DynamicImage::ImageRgba16(buffer)
                    .write_to(&mut bytes, ImageFormat::Png)
                    .map_err(fail)?;
            }
            OutputFormat::Exr => {
                let buffer: ImageBuffer<Rgba<f32>, Vec<f32>> =
                    ImageBuffer::from_raw(self.width, self.height, self.data.clone())
                        .ok_or_else(|| RenderError::invalid("image", "buffer size"))?;
                DynamicImage::ImageRgba32F(buffer)
                    .write_to(&mut bytes, ImageFormat::OpenExr)
                    .map_err(fail)?;
            }
        }
        Ok(bytes.into_inner())
    }

    /// Quantised sRGB samples (rounded, clamped): colour channels through the sRGB curve, alpha linear.
    fn srgb_samples(&self, scale: f32) -> impl Iterator<Item = f32> + '_ {
        self.data.iter().enumerate().map(move |(i, &v)| {
            let v = if v.is_finite() { v } else { 0.0 };
            let encoded = if i % 4 == 3 {
                v.clamp(0.0, 1.0)
            } else {
                linear_to_srgb(v)
            };
            (encoded * scale).round().clamp(0.0, scale)
        })
    }

    /// Decodes PNG (8/16-bit sRGB) or OpenEXR (linear) into linear RGBA.
    pub fn decode(bytes: &[u8]) -> Result<LinearImage> {
        let format = image::guess_format(bytes).map_err(|error| RenderError::Image {
            operation: "decode",
            reason: error.to_string(),
        })?;
        let decoded = image::load_from_memory_with_format(bytes, format).map_err(|error| {
            RenderError::Image {
                operation: "decode",
                reason: error.to_string(),
            }
        })?;
        let (width, height) = (decoded.width(), decoded.height());
        let mut data = decoded.to_rgba32f().into_raw();
        if format != ImageFormat::OpenExr {
            for (i, v) in data.iter_mut().enumerate() {
                if i % 4 != 3 {
                    *v = srgb_to_linear(*v);
                }
            }
        }
        LinearImage::from_rgba(width, height, data)
    }
}

/// The sRGB transfer function (linear → encoded), for values in 0..=1 (clamped).
pub fn linear_to_srgb(linear: f32) -> f32 {
    let v = linear.clamp(0.0, 1.0);
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

/// The inverse sRGB transfer function (encoded → linear).
pub fn srgb_to_linear(encoded: f32) -> f32 {
    let v = encoded.clamp(0.0, 1.0);
    if v <= 0.040_45 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename, so a
/// failed or interrupted write never leaves a partial output file behind.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(folder).map_err(|error| {
        RenderError::io(format!("creating a file in {}", folder.display()), error)
    })?;
    file.write_all(bytes)
        .map_err(|error| RenderError::io(format!("writing {}", path.display()), error))?;
    file.persist(path)
        .map_err(|error| RenderError::io(format!("writing {}", path.display()), error.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: u32, height: u32) -> LinearImage {
        let mut image = LinearImage::new(width, height);
        for (i, v) in image.as_rgba_mut().iter_mut().enumerate() {
            *v = if i % 4 == 3 {
                1.0
            } else {
                (i % 97) as f32 / 96.0
            };
        }
        image
    }

    #[test]
    fn exr_round_trips_exactly_and_png_within_quantisation() {
        let image = gradient(13, 7);
        let exr =
            LinearImage::decode(&image.encode(OutputFormat::Exr).expect("exr")).expect("decode");
        assert_eq!(exr, image);
        for (format, tolerance) in [
            (OutputFormat::Png8, 0.5 / 255.0),
            (OutputFormat::Png16, 0.5 / 65_535.0),
        ] {
            let bytes = image.encode(format).expect("png");
            let back = LinearImage::decode(&bytes).expect("decode");
            assert_eq!((back.width(), back.height()), (13, 7));
            for (a, b) in image.as_rgba().iter().zip(back.as_rgba()) {
                assert!((linear_to_srgb(*a) - linear_to_srgb(*b)).abs() <= tolerance + 1e-6);
            }
        }
    }

    #[test]
    fn crop_and_paste_are_inverse() {
        let image = gradient(20, 10);
        let rect = PixelRect {
            x: 3,
            y: 2,
            width: 9,
            height: 5,
        };
        let tile = image.crop(rect).expect("crop");
        let mut canvas = LinearImage::new(20, 10);
        canvas.paste(&tile, 3, 2).expect("paste");
        assert_eq!(canvas.crop(rect).expect("crop"), tile);
        assert!(
            image
                .crop(PixelRect {
                    x: 15,
                    y: 0,
                    width: 9,
                    height: 1
                })
                .is_err()
        );
    }

    #[test]
    fn corrupt_bytes_are_a_clear_error() {
        assert!(matches!(
            LinearImage::decode(b"definitely not an image"),
            Err(RenderError::Image {
                operation: "decode",
                ..
            })
        ));
        let mut png = gradient(4, 4).encode(OutputFormat::Png8).expect("png");
        png.truncate(png.len() / 2);
        assert!(LinearImage::decode(&png).is_err());
    }

    #[test]
    fn atomic_write_leaves_no_partial_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("frame.png");
        write_atomically(&path, b"abc").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"abc");
        let missing = dir.path().join("no/such/dir/frame.png");
        assert!(write_atomically(&missing, b"abc").is_err());
        assert!(!missing.exists());
    }
}
