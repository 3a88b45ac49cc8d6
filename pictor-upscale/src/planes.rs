//! An RGB image as three planes of 32-bit floats in [0, 1], the form the network reads and
//! writes; conversions from and to the image formats jobs use, and crops that mirror the image at
//! its borders (the context a tile on the edge needs).

use candle_core::{Device, Tensor};
use image::{DynamicImage, ImageBuffer, Rgb, RgbImage};

/// Three planes (R, G, B) of `width × height` values, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct RgbPlanes {
    width: u32,
    height: u32,
    values: Vec<f32>,
}

/// 16-bit RGB pixels.
pub type Rgb16Image = ImageBuffer<Rgb<u16>, Vec<u16>>;

impl RgbPlanes {
    /// Planes from `values` (R plane, then G, then B).
    ///
    /// # Errors
    /// When the sizes disagree or either side is 0.
    pub fn new(width: u32, height: u32, values: Vec<f32>) -> Result<Self, String> {
        let expected = plane_len(width, height) * 3;
        if width == 0 || height == 0 || values.len() != expected {
            return Err(format!(
                "{} values for a {width}×{height} RGB image",
                values.len()
            ));
        }
        Ok(RgbPlanes {
            width,
            height,
            values,
        })
    }

    /// Black planes of the given size.
    pub fn black(width: u32, height: u32) -> Self {
        RgbPlanes {
            width,
            height,
            values: vec![0.0; plane_len(width, height) * 3],
        }
    }

    /// An image's colour (alpha is dropped: the models upscale RGB), each channel scaled to
    /// [0, 1] from its own bit depth.
    pub fn from_image(image: &DynamicImage) -> Self {
        let rgb = image.to_rgb32f();
        let (width, height) = rgb.dimensions();
        let len = plane_len(width, height);
        let mut values = vec![0.0; len * 3];
        for (index, pixel) in rgb.pixels().enumerate() {
            for channel in 0..3 {
                values[channel * len + index] = pixel[channel].clamp(0.0, 1.0);
            }
        }
        RgbPlanes {
            width,
            height,
            values,
        }
    }

    /// Every value through `f`.
    pub fn map(mut self, f: impl Fn(f32) -> f32) -> Self {
        for value in &mut self.values {
            *value = f(*value);
        }
        self
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The value of `channel` at `(x, y)`.
    pub fn get(&self, channel: usize, x: u32, y: u32) -> f32 {
        self.values[self.index(channel, x, y)]
    }

    fn index(&self, channel: usize, x: u32, y: u32) -> usize {
        channel * plane_len(self.width, self.height)
            + (y as usize) * (self.width as usize)
            + x as usize
    }

    /// Quantised to 8 bits per channel (rounded, clamped).
    pub fn to_rgb8(&self) -> RgbImage {
        RgbImage::from_fn(self.width, self.height, |x, y| {
            Rgb(std::array::from_fn(|c| quantise_8(self.get(c, x, y))))
        })
    }

    /// Quantised to 16 bits per channel (rounded, clamped).
    pub fn to_rgb16(&self) -> Rgb16Image {
        Rgb16Image::from_fn(self.width, self.height, |x, y| {
            Rgb(std::array::from_fn(|c| quantise_16(self.get(c, x, y))))
        })
    }

    /// The `width × height` window whose top-left corner is `(left, top)` — which may lie outside
    /// the image: outside pixels mirror the image at its edges (without repeating the edge pixel,
    /// as NumPy's and PyTorch's `reflect`).
    pub fn crop_mirrored(&self, left: i64, top: i64, width: u32, height: u32) -> RgbPlanes {
        let columns = mirrored_run(left, width, self.width);
        let rows = mirrored_run(top, height, self.height);
        self.gather(&columns, &rows)
    }

    /// The image of the pixels at `columns × rows` of this one (each index inside it).
    pub(crate) fn gather(&self, columns: &[u32], rows: &[u32]) -> RgbPlanes {
        let (width, height) = (
            u32::try_from(columns.len()).unwrap_or(u32::MAX),
            u32::try_from(rows.len()).unwrap_or(u32::MAX),
        );
        let mut out = RgbPlanes::black(width, height);
        for channel in 0..3 {
            for (y, &row) in rows.iter().enumerate() {
                for (x, &column) in columns.iter().enumerate() {
                    let at = out.index(channel, x as u32, y as u32);
                    out.values[at] = self.get(channel, column, row);
                }
            }
        }
        out
    }

    /// The window `(left, top, width, height)`, which must lie inside the image.
    pub fn crop(&self, left: u32, top: u32, width: u32, height: u32) -> RgbPlanes {
        self.crop_mirrored(i64::from(left), i64::from(top), width, height)
    }

    /// Copies `patch` in with its top-left corner at `(left, top)`; what falls outside is cut.
    pub fn paste(&mut self, patch: &RgbPlanes, left: u32, top: u32) {
        self.paste_at(patch, i64::from(left), i64::from(top));
    }

    /// Copies `patch` in with its top-left corner at `(left, top)`, which may lie outside this
    /// image on any side; what falls outside is cut.
    pub fn paste_at(&mut self, patch: &RgbPlanes, left: i64, top: i64) {
        let span = |start: i64, len: u32, limit: u32| {
            let from = (-start).clamp(0, i64::from(len));
            let to = (i64::from(limit) - start).clamp(0, i64::from(len));
            // Both within 0..=len ≤ u32::MAX.
            (
                u32::try_from(from).unwrap_or(0),
                u32::try_from(to).unwrap_or(0),
            )
        };
        let (x_from, x_to) = span(left, patch.width, self.width);
        let (y_from, y_to) = span(top, patch.height, self.height);
        for channel in 0..3 {
            for y in y_from..y_to {
                for x in x_from..x_to {
                    // Inside this image by the spans above.
                    let (tx, ty) = (
                        u32::try_from(left + i64::from(x)).unwrap_or(0),
                        u32::try_from(top + i64::from(y)).unwrap_or(0),
                    );
                    let at = self.index(channel, tx, ty);
                    self.values[at] = patch.get(channel, x, y);
                }
            }
        }
    }

    /// As the network's input, `(1, 3, height, width)`.
    pub(crate) fn to_tensor(&self) -> candle_core::Result<Tensor> {
        Tensor::from_vec(
            self.values.clone(),
            (1, 3, self.height as usize, self.width as usize),
            &Device::Cpu,
        )
    }

    /// From the network's output, `(1, 3, height, width)`.
    pub(crate) fn from_tensor(tensor: &Tensor) -> Result<RgbPlanes, String> {
        let (_, channels, height, width) = tensor.dims4().map_err(|e| e.to_string())?;
        let values = tensor
            .flatten_all()
            .and_then(|flat| flat.to_vec1::<f32>())
            .map_err(|e| e.to_string())?;
        let (width, height) = (
            u32::try_from(width).map_err(|e| e.to_string())?,
            u32::try_from(height).map_err(|e| e.to_string())?,
        );
        if channels != 3 {
            return Err(format!("the network answered {channels} channels"));
        }
        RgbPlanes::new(width, height, values)
    }
}

fn plane_len(width: u32, height: u32) -> usize {
    width as usize * height as usize
}

/// `value` in [0, 1] as an 8-bit level.
pub fn quantise_8(value: f32) -> u8 {
    // In range after the clamp.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let level = (value.clamp(0.0, 1.0) * 255.0).round() as u8;
    level
}

/// `value` in [0, 1] as a 16-bit level.
pub fn quantise_16(value: f32) -> u16 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let level = (value.clamp(0.0, 1.0) * 65535.0).round() as u16;
    level
}

/// The indices of `count` pixels from `start` along a line of `len`, mirrored into it.
pub(crate) fn mirrored_run(start: i64, count: u32, len: u32) -> Vec<u32> {
    (0..i64::from(count))
        .map(|offset| mirror(start + offset, len))
        .collect()
}

/// Index `i` of a line of `len` pixels, mirrored at both ends without repeating the edge.
fn mirror(i: i64, len: u32) -> u32 {
    let len = i64::from(len);
    if len <= 1 {
        return 0;
    }
    let period = 2 * (len - 1);
    let folded = i.rem_euclid(period);
    let index = if folded < len {
        folded
    } else {
        period - folded
    };
    // 0 ≤ index < len ≤ u32::MAX.
    u32::try_from(index).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirroring_reflects_without_repeating_the_edge() {
        let indices: Vec<u32> = (-4..8).map(|i| mirror(i, 4)).collect();
        assert_eq!(indices, [2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1]);
        assert_eq!(mirror(-3, 1), 0);
    }

    #[test]
    fn crops_paste_back_and_quantise() {
        let values: Vec<f32> = (0..3 * 12).map(|v| v as f32 / 36.0).collect();
        let image = RgbPlanes::new(4, 3, values).unwrap();
        let inside = image.crop(1, 1, 2, 2);
        assert!((inside.get(2, 0, 0) - image.get(2, 1, 1)).abs() < f32::EPSILON);
        let around = image.crop_mirrored(-1, -1, 6, 5);
        assert!((around.get(0, 0, 0) - image.get(0, 1, 1)).abs() < f32::EPSILON);
        let mut copy = RgbPlanes::black(4, 3);
        copy.paste(&around.crop(1, 1, 4, 3), 0, 0);
        assert_eq!(copy, image);
        assert_eq!(quantise_8(0.5), 128);
        assert_eq!(quantise_8(1.7), 255);
        assert_eq!(quantise_16(-0.1), 0);
        assert!(RgbPlanes::new(2, 2, vec![0.0; 11]).is_err());
    }
}
