//! Frame intake: the first step of verification, before any challenge exists.
//!
//! [`intake`] decodes a worker's frame (PNG 8/16-bit sRGB or OpenEXR linear) into linear RGBA `f32`
//! with bounded memory — the header is read first and a frame whose dimensions differ from the job's,
//! or exceed [`IntakeSpec::max_pixels`], is refused before a single pixel is allocated (a
//! 100k × 100k "decompression bomb" costs a few hundred bytes of parsing) — and records the facts the
//! protocol needs: the format, non-finite sample counts, constant/black flags, the BLAKE3 hash of the
//! pixels (the frame's commitment H(W)) and a 64-bit perceptual hash (dHash).
//!
//! [`DuplicateIndex`] compares those hashes with the job's other frames: an exact pixel duplicate is
//! a reject; a perceptual match is only noted (static scenes legitimately render alike frames).

use image::{ColorType, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use pictor_core::job::{MAX_DIMENSION, MAX_PIXELS, OutputFormat};
use pictor_render::LinearImage;
use pictor_render::image::srgb_to_linear;
use serde::{Deserialize, Serialize};
use std::io::Cursor;

/// Largest frame file accepted, in bytes (1 GiB: a 16K RGBA f32 EXR without compression).
pub const MAX_FILE_BYTES: u64 = 1 << 30;
/// A frame whose linear RGB samples all lie at or below this is "black".
pub const BLACK_LEVEL: f32 = 1.0 / 4096.0;
/// A frame whose RGB channels each vary by no more than this is "constant".
pub const CONSTANT_TOLERANCE: f32 = 1e-6;
/// dHash Hamming distance at or below which two frames count as perceptual duplicates.
pub const PERCEPTUAL_DISTANCE: u32 = 2;

/// What the job expects of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeSpec {
    /// Expected width in pixels.
    pub width: u32,
    /// Expected height in pixels.
    pub height: u32,
    /// Expected encoding; `None` accepts any of PNG 8/16-bit and OpenEXR.
    pub format: Option<OutputFormat>,
    /// Refuse headers claiming more pixels than this (before decoding).
    pub max_pixels: u64,
}

impl IntakeSpec {
    /// A spec for a `width × height` frame in any accepted format, capped at [`MAX_PIXELS`].
    pub fn new(width: u32, height: u32) -> Self {
        IntakeSpec {
            width,
            height,
            format: None,
            max_pixels: MAX_PIXELS,
        }
    }
}

/// Why a frame was refused at intake. Every variant is a clear, final answer about the file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntakeError {
    /// A 0-byte file.
    #[error("the image file is empty (0 bytes)")]
    Empty,
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("the image file is {bytes} bytes, over the {limit}-byte cap")]
    FileTooLarge {
        /// The file's size in bytes.
        bytes: u64,
        /// The largest file accepted, in bytes (`MAX_FILE_BYTES`).
        limit: u64,
    },
    /// Neither PNG nor OpenEXR (or not an image at all).
    #[error("not a PNG or OpenEXR image{0}")]
    UnknownFormat(String),
    /// The header claims more pixels than allowed: refused before decoding.
    #[error(
        "the header claims {width}×{height} pixels, over the cap of {limit} pixels; refused before decoding"
    )]
    TooManyPixels {
        /// Claimed width.
        width: u32,
        /// Claimed height.
        height: u32,
        /// Most pixels accepted: the spec's `max_pixels` (a side over `MAX_DIMENSION` also fails).
        limit: u64,
    },
    /// The frame's dimensions are not the job's: refused before decoding.
    #[error("the image is {width}×{height}, the job asks for {expected_width}×{expected_height}")]
    WrongDimensions {
        /// Found width.
        width: u32,
        /// Found height.
        height: u32,
        /// The job's width.
        expected_width: u32,
        /// The job's height.
        expected_height: u32,
    },
    /// The encoding is not the one the job asks for.
    #[error("the image is {found:?}, the job asks for {expected:?}")]
    WrongFormat {
        /// What the file is.
        found: OutputFormat,
        /// What the job wants.
        expected: OutputFormat,
    },
    /// A pixel layout we do not read (e.g. a 1-bit PNG palette is fine, a 32-bit float PNG is not).
    #[error("unsupported pixel layout {0}")]
    UnsupportedLayout(String),
    /// The codec failed: truncated or corrupt data, an EXR without R, G and B channels, ...
    #[error("the image could not be decoded: {0}")]
    Decode(String),
}

/// What intake learned about a frame. Serialized into the verdict as evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameFacts {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The file's encoding.
    pub format: OutputFormat,
    /// NaN samples (RGBA).
    pub nan_count: u64,
    /// ±Inf samples (RGBA).
    pub inf_count: u64,
    /// Every RGB channel is constant over the frame (within [`CONSTANT_TOLERANCE`]).
    pub constant: bool,
    /// Every RGB sample is at or below [`BLACK_LEVEL`].
    pub black: bool,
    /// Mean linear luminance of the finite pixels.
    pub mean_luminance: f64,
    /// BLAKE3 of the dimensions and the decoded linear samples (little-endian `f32` bits), hex:
    /// the frame's commitment H(W).
    pub pixel_hash: String,
    /// Perceptual difference hash of the luminance (9×8 box-averaged, horizontal gradients), hex.
    pub dhash: String,
}

impl FrameFacts {
    /// The pixel hash as raw bytes (all zeros if the hex is malformed, which intake never produces).
    pub fn pixel_hash_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        if let Ok(bytes) = hex::decode(&self.pixel_hash)
            && bytes.len() == 32
        {
            out.copy_from_slice(&bytes);
        }
        out
    }

    /// The dHash as 64 bits, to compare by Hamming distance; 0 if the hex is malformed.
    pub fn dhash_bits(&self) -> u64 {
        u64::from_str_radix(&self.dhash, 16).unwrap_or(0)
    }
}

/// A decoded frame and its facts.
#[derive(Clone, Debug, PartialEq)]
pub struct Intake {
    /// Linear RGBA `f32` pixels.
    pub image: LinearImage,
    /// What intake learned.
    pub facts: FrameFacts,
}

/// Decodes and checks a frame file against `spec`. Reads the header first: wrong dimensions, more
/// than `spec.max_pixels` pixels and unknown formats are refused before any pixel buffer exists; the
/// decoder itself runs under [`Limits`] sized for the expected frame.
pub fn intake(bytes: &[u8], spec: &IntakeSpec) -> Result<Intake, IntakeError> {
    if bytes.is_empty() {
        return Err(IntakeError::Empty);
    }
    let size = bytes.len() as u64;
    if size > MAX_FILE_BYTES {
        return Err(IntakeError::FileTooLarge {
            bytes: size,
            limit: MAX_FILE_BYTES,
        });
    }
    let format = match image::guess_format(bytes) {
        Ok(ImageFormat::Png) => ImageFormat::Png,
        Ok(ImageFormat::OpenExr) => ImageFormat::OpenExr,
        Ok(other) => return Err(IntakeError::UnknownFormat(format!(" (found {other:?})"))),
        Err(_) => return Err(IntakeError::UnknownFormat(String::new())),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(spec.width.clamp(1, MAX_DIMENSION));
    limits.max_image_height = Some(spec.height.clamp(1, MAX_DIMENSION));
    // The output buffer (RGBA f32 at most) twice over plus codec working memory.
    let expected_bytes = u64::from(spec.width) * u64::from(spec.height) * 16;
    limits.max_alloc = Some(expected_bytes.saturating_mul(2).saturating_add(64 << 20));
    // Header only: dimensions and layout before any allocation proportional to them. The reader's
    // own limits are left off here so that an oversized header yields our typed error, not the codec's.
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > spec.max_pixels || width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(IntakeError::TooManyPixels {
            width,
            height,
            limit: spec.max_pixels,
        });
    }
    if (width, height) != (spec.width, spec.height) {
        return Err(IntakeError::WrongDimensions {
            width,
            height,
            expected_width: spec.width,
            expected_height: spec.height,
        });
    }
    let color = decoder.color_type();
    let found = match (format, color) {
        (ImageFormat::Png, ColorType::L8 | ColorType::La8 | ColorType::Rgb8 | ColorType::Rgba8) => {
            OutputFormat::Png8
        }
        (
            ImageFormat::Png,
            ColorType::L16 | ColorType::La16 | ColorType::Rgb16 | ColorType::Rgba16,
        ) => OutputFormat::Png16,
        (ImageFormat::OpenExr, ColorType::Rgb32F | ColorType::Rgba32F) => OutputFormat::Exr,
        (_, other) => return Err(IntakeError::UnsupportedLayout(format!("{other:?}"))),
    };
    if let Some(expected) = spec.format.map(OutputFormat::encoded)
        && expected != found
    {
        return Err(IntakeError::WrongFormat { found, expected });
    }
    decoder.set_limits(limits).map_err(decode_error)?;
    let decoded = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    let mut data = decoded.into_rgba32f().into_raw();
    if found != OutputFormat::Exr {
        for (i, v) in data.iter_mut().enumerate() {
            if i % 4 != 3 {
                *v = srgb_to_linear(*v);
            }
        }
    }
    let image = LinearImage::from_rgba(width, height, data)
        .map_err(|error| IntakeError::Decode(error.to_string()))?;
    let facts = facts_of(&image, found);
    Ok(Intake { image, facts })
}

fn decode_error(error: image::ImageError) -> IntakeError {
    match error {
        image::ImageError::Unsupported(inner) => IntakeError::UnsupportedLayout(inner.to_string()),
        other => IntakeError::Decode(other.to_string()),
    }
}

/// Rec. 709 luminance of linear RGB.
pub fn luminance(rgb: [f32; 3]) -> f64 {
    0.2126 * f64::from(rgb[0]) + 0.7152 * f64::from(rgb[1]) + 0.0722 * f64::from(rgb[2])
}

/// The facts of a decoded frame (also usable on images that did not come from a file).
pub fn facts_of(image: &LinearImage, format: OutputFormat) -> FrameFacts {
    let mut nan_count = 0u64;
    let mut inf_count = 0u64;
    let mut lo = [f32::INFINITY; 3];
    let mut hi = [f32::NEG_INFINITY; 3];
    let mut luminance_sum = 0.0f64;
    let mut finite_pixels = 0u64;
    for pixel in image.as_rgba().chunks_exact(4) {
        let mut finite = true;
        for (c, &v) in pixel.iter().enumerate() {
            if v.is_nan() {
                nan_count += 1;
                finite = false;
            } else if v.is_infinite() {
                inf_count += 1;
                finite = false;
            } else if c < 3 {
                lo[c] = lo[c].min(v);
                hi[c] = hi[c].max(v);
            }
        }
        if finite {
            luminance_sum += luminance([pixel[0], pixel[1], pixel[2]]);
            finite_pixels += 1;
        }
    }
    let spread_ok = (0..3).all(|c| hi[c] - lo[c] <= CONSTANT_TOLERANCE || hi[c] < lo[c]);
    let constant = spread_ok;
    let black = (0..3).all(|c| hi[c] <= BLACK_LEVEL || hi[c] < lo[c]);
    FrameFacts {
        width: image.width(),
        height: image.height(),
        format,
        nan_count,
        inf_count,
        constant,
        black,
        mean_luminance: if finite_pixels == 0 {
            0.0
        } else {
            luminance_sum / finite_pixels as f64
        },
        pixel_hash: hex::encode(pixel_hash(image)),
        dhash: format!("{:016x}", dhash(image)),
    }
}

/// BLAKE3 over `width`, `height` (u32 little-endian) and every sample's `f32` bits (little-endian).
pub fn pixel_hash(image: &LinearImage) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"pictor frame pixels v1");
    hasher.update(&image.width().to_le_bytes());
    hasher.update(&image.height().to_le_bytes());
    let mut buffer = Vec::with_capacity(64 * 1024);
    for chunk in image.as_rgba().chunks(16 * 1024) {
        buffer.clear();
        for v in chunk {
            buffer.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        hasher.update(&buffer);
    }
    *hasher.finalize().as_bytes()
}

/// Difference hash: luminance box-averaged onto a 9×8 grid (non-finite pixels count as 0), one bit
/// per horizontal neighbour pair (left brighter than right).
pub fn dhash(image: &LinearImage) -> u64 {
    const GW: usize = 9;
    const GH: usize = 8;
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut sums = [[0.0f64; GW]; GH];
    let mut counts = [[0u64; GW]; GH];
    if w == 0 || h == 0 {
        return 0;
    }
    for (i, pixel) in image.as_rgba().chunks_exact(4).enumerate() {
        let (x, y) = (i % w, i / w);
        let (gx, gy) = (x * GW / w, y * GH / h);
        let l = luminance([pixel[0], pixel[1], pixel[2]]);
        sums[gy][gx] += if l.is_finite() { l } else { 0.0 };
        counts[gy][gx] += 1;
    }
    let mut bits = 0u64;
    for gy in 0..GH {
        for gx in 0..GW - 1 {
            let a = sums[gy][gx] / counts[gy][gx].max(1) as f64;
            let b = sums[gy][gx + 1] / counts[gy][gx + 1].max(1) as f64;
            bits = (bits << 1) | u64::from(a > b);
        }
    }
    bits
}

/// The fingerprint of one frame of a job, kept for duplicate checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameFingerprint {
    /// Frame number.
    pub frame: u32,
    /// [`FrameFacts::pixel_hash`].
    pub pixel_hash: String,
    /// [`FrameFacts::dhash`].
    pub dhash: String,
}

/// A match against another frame of the job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DuplicateMatch {
    /// Bit-identical pixels: the same image submitted for two frames. Reject.
    Exact {
        /// The indexed frame with bit-identical pixels (the same `pixel_hash`).
        frame: u32,
    },
    /// dHash within [`PERCEPTUAL_DISTANCE`]: noted as evidence only.
    Perceptual {
        /// The indexed frame whose dHash is within `PERCEPTUAL_DISTANCE` bits.
        frame: u32,
        /// Hamming distance of the dHashes.
        distance: u32,
    },
}

/// The fingerprints of a job's frames.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateIndex {
    frames: Vec<FrameFingerprint>,
}

impl DuplicateIndex {
    /// An empty index: `insert` the frames to compare against, then ask `matches`.
    pub fn new() -> Self {
        DuplicateIndex::default()
    }

    /// Records a frame's fingerprint.
    pub fn insert(&mut self, frame: u32, facts: &FrameFacts) {
        self.frames.push(FrameFingerprint {
            frame,
            pixel_hash: facts.pixel_hash.clone(),
            dhash: facts.dhash.clone(),
        });
    }

    /// Number of recorded frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when no frame is recorded.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The other frames (numbers ≠ `frame`) that `facts` duplicates, exactly or perceptually.
    pub fn matches(&self, frame: u32, facts: &FrameFacts) -> Vec<DuplicateMatch> {
        let bits = facts.dhash_bits();
        self.frames
            .iter()
            .filter(|other| other.frame != frame)
            .filter_map(|other| {
                if other.pixel_hash == facts.pixel_hash {
                    return Some(DuplicateMatch::Exact { frame: other.frame });
                }
                let distance =
                    (u64::from_str_radix(&other.dhash, 16).unwrap_or(!bits) ^ bits).count_ones();
                (distance <= PERCEPTUAL_DISTANCE).then_some(DuplicateMatch::Perceptual {
                    frame: other.frame,
                    distance,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: u32, height: u32) -> LinearImage {
        let mut image = LinearImage::new(width, height);
        for (i, v) in image.as_rgba_mut().iter_mut().enumerate() {
            let p = i / 4;
            *v = if i % 4 == 3 {
                1.0
            } else {
                ((p % width as usize) as f32 / width as f32) * 0.8 + (i % 4) as f32 * 0.05
            };
        }
        image
    }

    /// A minimal PNG whose IHDR claims `width × height` (8-bit RGBA) followed by a tiny IDAT/IEND.
    fn png_header_claiming(width: u32, height: u32) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            let mut crc_input = kind.to_vec();
            crc_input.extend_from_slice(data);
            out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        // An empty zlib stream: decoding must not get this far.
        chunk(
            &mut out,
            b"IDAT",
            &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        );
        chunk(&mut out, b"IEND", &[]);
        out
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn png_and_exr_decode_with_facts() {
        let image = gradient(40, 24);
        for format in [OutputFormat::Png8, OutputFormat::Png16, OutputFormat::Exr] {
            let bytes = image.encode(format).expect("encode");
            let got = intake(&bytes, &IntakeSpec::new(40, 24)).expect("intake");
            assert_eq!(got.facts.format, format);
            assert_eq!((got.facts.width, got.facts.height), (40, 24));
            assert_eq!(got.facts.nan_count + got.facts.inf_count, 0);
            assert!(!got.facts.constant && !got.facts.black);
            assert_eq!(got.facts.pixel_hash.len(), 64);
            assert_eq!(got.facts.dhash.len(), 16);
            if format == OutputFormat::Exr {
                assert_eq!(got.image, image);
            }
            let mut spec = IntakeSpec::new(40, 24);
            let other = if format == OutputFormat::Exr {
                OutputFormat::Png8
            } else {
                OutputFormat::Exr
            };
            spec.format = Some(other);
            assert!(matches!(
                intake(&bytes, &spec),
                Err(IntakeError::WrongFormat { .. })
            ));
        }
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let image = gradient(32, 16);
        let png = image.encode(OutputFormat::Png8).expect("png");
        let spec = IntakeSpec::new(32, 16);
        assert_eq!(intake(&[], &spec), Err(IntakeError::Empty));
        assert!(matches!(
            intake(b"hello, not an image", &spec),
            Err(IntakeError::UnknownFormat(_))
        ));
        assert!(matches!(
            intake(&png[..png.len() / 2], &spec),
            Err(IntakeError::Decode(_))
        ));
        assert!(matches!(
            intake(&png, &IntakeSpec::new(33, 16)),
            Err(IntakeError::WrongDimensions {
                width: 32,
                height: 16,
                ..
            })
        ));
    }

    #[test]
    fn decompression_bombs_are_refused_from_the_header() {
        let bomb = png_header_claiming(100_000, 100_000);
        assert!(bomb.len() < 100);
        // Against a small job: wrong dimensions, decided from the header.
        assert!(matches!(
            intake(&bomb, &IntakeSpec::new(192, 108)),
            Err(IntakeError::TooManyPixels { width: 100_000, .. })
        ));
        // Even against a job that asks for it: over the pixel cap.
        assert!(matches!(
            intake(&bomb, &IntakeSpec::new(100_000, 100_000)),
            Err(IntakeError::TooManyPixels { .. })
        ));
        // Within the cap but wrong for the job.
        let claim = png_header_claiming(4_000, 3_000);
        assert!(matches!(
            intake(&claim, &IntakeSpec::new(192, 108)),
            Err(IntakeError::WrongDimensions { .. })
        ));
        // Right dimensions, but the data is missing: a decode error, not a panic.
        assert!(matches!(
            intake(&claim, &IntakeSpec::new(4_000, 3_000)),
            Err(IntakeError::Decode(_))
        ));
    }

    #[test]
    fn exr_without_colour_channels_is_refused() {
        // Rename the "R", "G" and "B" channels to "r", "g" and "b": still a valid EXR (channel names
        // stay sorted after "A"), but without colour channels.
        let image = gradient(8, 8);
        let mut exr = image.encode(OutputFormat::Exr).expect("exr");
        let mut renamed = 0;
        for i in 1..exr.len().min(400).saturating_sub(1) {
            if matches!(exr[i], b'R' | b'G' | b'B') && exr[i + 1] == 0 && exr[i - 1] == 0 {
                exr[i] = exr[i].to_ascii_lowercase();
                renamed += 1;
            }
        }
        assert!(renamed >= 3, "found the channel names");
        let result = intake(&exr, &IntakeSpec::new(8, 8));
        assert!(result.is_err(), "{result:?}");
    }

    #[test]
    fn nan_black_constant_are_counted() {
        let mut image = gradient(16, 8);
        image.as_rgba_mut()[0] = f32::NAN;
        image.as_rgba_mut()[5] = f32::INFINITY;
        let facts = facts_of(&image, OutputFormat::Exr);
        assert_eq!((facts.nan_count, facts.inf_count), (1, 1));
        let black = LinearImage::new(16, 8);
        let facts = facts_of(&black, OutputFormat::Exr);
        assert!(facts.black && facts.constant);
        let mut grey = LinearImage::new(16, 8);
        grey.as_rgba_mut().fill(0.5);
        let facts = facts_of(&grey, OutputFormat::Exr);
        assert!(facts.constant && !facts.black);
    }

    #[test]
    fn duplicates_are_found_exactly_and_perceptually() {
        let a = gradient(64, 32);
        let mut b = a.clone();
        b.as_rgba_mut()[100] += 0.001;
        let fa = facts_of(&a, OutputFormat::Exr);
        let fb = facts_of(&b, OutputFormat::Exr);
        assert_ne!(fa.pixel_hash, fb.pixel_hash);
        let mut index = DuplicateIndex::new();
        index.insert(1, &fa);
        assert_eq!(
            index.matches(2, &fa),
            vec![DuplicateMatch::Exact { frame: 1 }]
        );
        assert!(
            index.matches(1, &fa).is_empty(),
            "a frame is not its own duplicate"
        );
        assert!(matches!(
            index.matches(2, &fb)[..],
            [DuplicateMatch::Perceptual { frame: 1, .. }]
        ));
        assert_eq!(fa.pixel_hash_bytes().len(), 32);
    }
}
