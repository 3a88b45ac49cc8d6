//! Reading an upscale's input and writing its output, at the boundary: the format is read from the
//! file's content (not its name), dimensions and memory are limited before decoding, linear EXR is
//! shown through the sRGB display transform, and outputs are written under a temporary name and
//! renamed, so a failed write leaves nothing behind.

use crate::model::UpscaleError;
use crate::planes::RgbPlanes;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use std::io::BufWriter;
use std::path::Path;

/// The largest input side taken (a 16K frame is 15360 wide).
pub const MAX_INPUT_SIDE: u32 = 16_384;

/// How linear (scene-referred) input is made displayable before it is upscaled. Only the sRGB
/// standard transform is computed here: a scene's Filmic or AgX transform needs its OCIO config,
/// so frames meant to keep one are rendered to PNG by Blender first (a render job with upscale).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ViewTransform {
    /// The sRGB transfer function, values clamped to [0, 1] (Blender's "Standard").
    #[default]
    Standard,
}

/// How an output is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputEncoding {
    /// 8-bit PNG.
    Png8,
    /// 16-bit PNG.
    Png16,
    /// JPEG at a quality of 1–100.
    Jpeg {
        /// The encoder's quality.
        quality: u8,
    },
}

/// Reads an input image (PNG, JPEG or OpenEXR, told apart by content), EXR through `view`.
///
/// # Errors
/// When the file cannot be read, is not an image of those formats, or is larger than
/// [`MAX_INPUT_SIDE`] on a side.
pub fn read_input(path: &Path, view: ViewTransform) -> Result<RgbPlanes, UpscaleError> {
    let bad = |why: String| UpscaleError::Spec(format!("{}: {why}", path.display()));
    let mut reader = ImageReader::open(path)
        .map_err(|error| bad(error.to_string()))?
        .with_guessed_format()
        .map_err(|error| bad(error.to_string()))?;
    let format = reader.format();
    if !matches!(
        format,
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::OpenExr)
    ) {
        return Err(bad("not a PNG, JPEG or OpenEXR image".into()));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_INPUT_SIDE);
    limits.max_image_height = Some(MAX_INPUT_SIDE);
    reader.limits(limits);
    let image = reader.decode().map_err(|error| bad(error.to_string()))?;
    Ok(match format {
        Some(ImageFormat::OpenExr) => from_linear(&image, view),
        _ => RgbPlanes::from_image(&image),
    })
}

/// Linear values through the display transform.
fn from_linear(image: &DynamicImage, view: ViewTransform) -> RgbPlanes {
    let linear = RgbPlanes::from_image(&DynamicImage::ImageRgb32F(image.to_rgb32f()));
    match view {
        ViewTransform::Standard => linear.map(linear_to_srgb),
    }
}

/// The sRGB transfer function on a value clamped to [0, 1].
pub fn linear_to_srgb(linear: f32) -> f32 {
    pictor_render::image::linear_to_srgb(linear)
}

/// Writes `planes` to `path` in `encoding`.
///
/// # Errors
/// When the quality is out of range or the file cannot be written (nothing is left behind).
pub fn write_output(
    planes: &RgbPlanes,
    path: &Path,
    encoding: OutputEncoding,
) -> Result<(), UpscaleError> {
    let partial = path.with_extension("partial");
    let failed = |why: String| {
        let _ = std::fs::remove_file(&partial);
        UpscaleError::Io(format!("writing {}: {why}", path.display()))
    };
    let written = match encoding {
        OutputEncoding::Png8 => planes
            .to_rgb8()
            .save_with_format(&partial, ImageFormat::Png)
            .map_err(|error| error.to_string()),
        OutputEncoding::Png16 => planes
            .to_rgb16()
            .save_with_format(&partial, ImageFormat::Png)
            .map_err(|error| error.to_string()),
        OutputEncoding::Jpeg { quality } => {
            if !(1..=100).contains(&quality) {
                return Err(UpscaleError::Spec(format!(
                    "JPEG quality {quality}: 1 to 100"
                )));
            }
            std::fs::File::create(&partial)
                .map_err(|error| error.to_string())
                .and_then(|file| {
                    JpegEncoder::new_with_quality(BufWriter::new(file), quality)
                        .encode_image(&planes.to_rgb8())
                        .map_err(|error| error.to_string())
                })
        }
    };
    written.map_err(failed)?;
    std::fs::rename(&partial, path).map_err(|error| failed(error.to_string()))
}
