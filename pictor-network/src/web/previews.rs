//! Previews of accepted frames, made by the network: `GET /jobs/{id}/frames/{frame}/preview/{size}`
//! answers a small (320 px) or medium (960 px) JPEG of the frame, whatever its format — PNG,
//! 16-bit PNG, or an OpenEXR tone-mapped with the sRGB "Standard" view transform (the built-in
//! renderer's; a scene's own Filmic/AgX transform is not applied). The frame's output hash is the
//! `ETag`: a re-rendered frame gets a new preview, an unchanged one answers 304.
//!
//! Previews are made on first request and kept in memory (bounded); at most two are made at once,
//! so a crowd of open job pages cannot take the coordinator's CPU from leasing and settlement.

use super::{AppState, session};
use crate::blobs::BlobStore;
use crate::http::HttpError;
use crate::store::Store;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use image::{DynamicImage, ImageReader, RgbImage};
use pictor_core::JobId;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

/// Bytes of previews kept in memory.
const CACHE_BYTES: usize = 64 << 20;
/// Previews made at once.
const MAKING_AT_ONCE: usize = 2;
/// Largest frame file read to make a preview.
const MAX_FRAME_BYTES: u64 = 512 << 20;
/// JPEG quality of previews.
const QUALITY: u8 = 82;

/// The two preview sizes: the longest side in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PreviewSize {
    /// For the frame grid's tiles.
    Small,
    /// For the flipbook.
    Medium,
}

impl PreviewSize {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "small" => Some(PreviewSize::Small),
            "medium" => Some(PreviewSize::Medium),
            _ => None,
        }
    }

    /// The preview's longest side, pixels.
    pub fn longest_side(self) -> u32 {
        match self {
            PreviewSize::Small => 320,
            PreviewSize::Medium => 960,
        }
    }
}

/// Made previews by (frame output hash, size), the oldest dropped first past [`CACHE_BYTES`];
/// and the permits to make new ones.
pub struct Previews {
    cache: Mutex<PreviewCache>,
    making: Semaphore,
}

impl Default for Previews {
    fn default() -> Self {
        Previews {
            cache: Mutex::new(PreviewCache::default()),
            making: Semaphore::new(MAKING_AT_ONCE),
        }
    }
}

#[derive(Default)]
struct PreviewCache {
    previews: HashMap<(String, PreviewSize), Bytes>,
    order: VecDeque<(String, PreviewSize)>,
    bytes: usize,
}

impl Previews {
    fn cached(&self, key: &(String, PreviewSize)) -> Option<Bytes> {
        let cache = self.cache.lock().ok()?;
        cache.previews.get(key).cloned()
    }

    fn keep(&self, key: (String, PreviewSize), preview: Bytes) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.previews.contains_key(&key) || preview.len() > CACHE_BYTES {
            return;
        }
        cache.bytes += preview.len();
        cache.order.push_back(key.clone());
        cache.previews.insert(key, preview);
        while cache.bytes > CACHE_BYTES {
            let Some(oldest) = cache.order.pop_front() else {
                break;
            };
            if let Some(dropped) = cache.previews.remove(&oldest) {
                cache.bytes -= dropped.len();
            }
        }
    }
}

/// The sRGB transfer function of a linear value in 0‥1.
fn linear_to_srgb(linear: f32) -> f32 {
    let value = linear.clamp(0.0, 1.0);
    if value <= 0.003_130_8 {
        value * 12.92
    } else {
        1.055 * value.powf(1.0 / 2.4) - 0.055
    }
}

/// The picture as 8-bit sRGB: float pictures (EXR) are linear and go through the sRGB transfer;
/// integer ones (PNG, JPEG) are sRGB already.
fn display_rgb8(picture: DynamicImage) -> RgbImage {
    match picture {
        DynamicImage::ImageRgb32F(_) | DynamicImage::ImageRgba32F(_) => {
            let linear = picture.to_rgb32f();
            RgbImage::from_fn(linear.width(), linear.height(), |x, y| {
                let pixel = linear.get_pixel(x, y);
                image::Rgb(pixel.0.map(|v| (linear_to_srgb(v) * 255.0 + 0.5) as u8))
            })
        }
        other => other.to_rgb8(),
    }
}

/// A JPEG preview of the frame file `bytes` whose longest side is at most `longest` pixels.
pub fn make_preview(bytes: &[u8], longest: u32) -> Result<Vec<u8>, image::ImageError> {
    let mut reader = ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format()?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(4 << 30);
    reader.limits(limits);
    let picture = display_rgb8(reader.decode()?);
    let (width, height) = picture.dimensions();
    let scale = f64::from(longest) / f64::from(width.max(height).max(1));
    let picture = if scale < 1.0 {
        let fit = |side: u32| ((f64::from(side) * scale).round() as u32).max(1);
        image::imageops::thumbnail(&picture, fit(width), fit(height))
    } else {
        picture
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY).encode_image(&picture)?;
    Ok(out)
}

/// `GET /jobs/{id}/frames/{frame}/preview/{size}`.
pub async fn preview<S: Store>(
    State(state): State<AppState<S>>,
    Extension(previews): Extension<Arc<Previews>>,
    headers: HeaderMap,
    Path((id, frame, size)): Path<(String, String, String)>,
) -> Response {
    let Some(current) = session::current(&state, &headers).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let (Ok(job), Ok(frame), Some(size)) = (
        id.parse::<u64>().map(JobId),
        frame.parse::<u32>(),
        PreviewSize::parse(&size),
    ) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (hash, frame_size) = match state.frame_blob(&current.caller, job, frame).await {
        Ok(found) => found,
        Err(error) => return HttpError::from(error).into_response(),
    };
    let etag = format!("\"{hash}-{}\"", size.longest_side());
    super::live::revalidated(&headers, &etag, async {
        let jpeg = preview_bytes(&state, &previews, &hash, frame_size, size).await?;
        Ok(([(CONTENT_TYPE, "image/jpeg")], jpeg).into_response())
    })
    .await
}

/// The preview from the cache, or made now (waiting for a permit).
async fn preview_bytes<S: Store>(
    state: &AppState<S>,
    previews: &Previews,
    hash: &str,
    frame_size: u64,
    size: PreviewSize,
) -> Result<Bytes, Response> {
    let key = (hash.to_string(), size);
    if let Some(jpeg) = previews.cached(&key) {
        return Ok(jpeg);
    }
    if frame_size > MAX_FRAME_BYTES {
        return Err((StatusCode::NOT_FOUND, "this frame is too large to preview").into_response());
    }
    let unavailable = || StatusCode::SERVICE_UNAVAILABLE.into_response();
    let _permit = previews.making.acquire().await.map_err(|_| unavailable())?;
    if let Some(jpeg) = previews.cached(&key) {
        return Ok(jpeg);
    }
    let blob_hash: pictor_core::BlobHash = hash.parse().map_err(|_| unavailable())?;
    let mut reader = state.blobs().open(&blob_hash).await.map_err(|error| {
        HttpError::from(crate::service::ServiceError::from(error)).into_response()
    })?;
    let mut bytes = Vec::with_capacity(usize::try_from(frame_size).unwrap_or(0));
    reader
        .read_to_end(&mut bytes)
        .await
        .map_err(|_| unavailable())?;
    let longest = size.longest_side();
    let made = tokio::task::spawn_blocking(move || make_preview(&bytes, longest))
        .await
        .map_err(|_| unavailable())?;
    match made {
        Ok(jpeg) => {
            let jpeg = Bytes::from(jpeg);
            previews.keep(key, jpeg.clone());
            Ok(jpeg)
        }
        Err(error) => {
            tracing::debug!(%error, "no preview for a frame");
            Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "this frame's format has no preview",
            )
                .into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(picture: DynamicImage, format: image::ImageFormat) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        picture.write_to(&mut out, format).expect("encode");
        out.into_inner()
    }

    fn decoded_jpeg(jpeg: &[u8]) -> RgbImage {
        image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
            .expect("a JPEG")
            .to_rgb8()
    }

    #[test]
    fn previews_fit_their_size_and_keep_the_picture() {
        let picture = RgbImage::from_fn(1280, 720, |x, _| {
            image::Rgb(if x < 640 {
                [250, 10, 10]
            } else {
                [10, 10, 250]
            })
        });
        let png = encoded(DynamicImage::ImageRgb8(picture), image::ImageFormat::Png);
        let small = decoded_jpeg(&make_preview(&png, 320).expect("preview"));
        assert_eq!(small.dimensions(), (320, 180));
        let left = small.get_pixel(40, 90).0;
        let right = small.get_pixel(280, 90).0;
        assert!(left[0] > 200 && left[2] < 60, "left stays red: {left:?}");
        assert!(
            right[2] > 200 && right[0] < 60,
            "right stays blue: {right:?}"
        );
        // A picture smaller than the preview is not enlarged.
        let tiny = encoded(
            DynamicImage::ImageRgb8(RgbImage::new(64, 36)),
            image::ImageFormat::Png,
        );
        assert_eq!(
            decoded_jpeg(&make_preview(&tiny, 320).expect("preview")).dimensions(),
            (64, 36)
        );
    }

    #[test]
    fn exr_frames_are_tone_mapped_from_linear() {
        // Linear 0.18 (mid grey) is sRGB ~118; 4.0 clips to white; 0 stays black.
        let linear = image::Rgb32FImage::from_fn(96, 32, |x, _| {
            let value = [0.18f32, 4.0, 0.0][(x / 32) as usize];
            image::Rgb([value, value, value])
        });
        let exr = encoded(
            DynamicImage::ImageRgb32F(linear),
            image::ImageFormat::OpenExr,
        );
        let preview = decoded_jpeg(&make_preview(&exr, 320).expect("preview"));
        let grey = preview.get_pixel(16, 16).0[1];
        assert!((112..=124).contains(&grey), "mid grey is {grey}");
        assert!(preview.get_pixel(48, 16).0[1] > 245);
        assert!(preview.get_pixel(80, 16).0[1] < 8);
    }

    #[test]
    fn what_is_not_a_picture_gets_no_preview() {
        assert!(make_preview(b"not a picture at all", 320).is_err());
    }

    #[test]
    fn the_cache_drops_the_oldest_past_its_bound() {
        let previews = Previews::default();
        let big = Bytes::from(vec![0u8; CACHE_BYTES / 2 + 1]);
        previews.keep(("a".into(), PreviewSize::Small), big.clone());
        previews.keep(("b".into(), PreviewSize::Small), big);
        assert!(previews.cached(&("a".into(), PreviewSize::Small)).is_none());
        assert!(previews.cached(&("b".into(), PreviewSize::Small)).is_some());
    }
}
