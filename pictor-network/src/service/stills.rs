//! A tiled still, merged: the tiles of a still split across workers (each accepted on its own
//! check) put back together into the one frame the creator downloads. The merge is done on
//! request, in the job's output format, and stored as a blob (content-addressed, so a second
//! download of the same tiles stores nothing new).

use super::{Coordinator, ServiceError, ServiceResult};
use crate::blobs::BlobStore;
use crate::store::Store;
use crate::store::prelude::*;
use bytes::Bytes;
use image::{DynamicImage, ImageFormat};
use pictor_core::api::FrameView;
use pictor_core::job::{OutputFormat, Resolution};
use pictor_core::task::{PixelRect, TaskWork};

/// The image format a job's output is written in.
fn image_format(output: OutputFormat) -> ImageFormat {
    match output {
        OutputFormat::Exr => ImageFormat::OpenExr,
        OutputFormat::Scene | OutputFormat::Png8 | OutputFormat::Png16 => ImageFormat::Png,
    }
}

/// Puts `tiles` (each a region and its encoded image) together into a `full` frame written as
/// `format`. Every tile must decode to its region's size, and the regions must cover the frame
/// exactly once.
pub(crate) fn merge_tiles(
    full: Resolution,
    tiles: &[(PixelRect, Vec<u8>)],
    format: ImageFormat,
) -> Result<Vec<u8>, String> {
    let covered: u64 = tiles.iter().map(|(region, _)| region.area()).sum();
    let inside = tiles.iter().all(|(r, _)| {
        u64::from(r.x) + u64::from(r.width) <= u64::from(full.width)
            && u64::from(r.y) + u64::from(r.height) <= u64::from(full.height)
    });
    if covered != u64::from(full.width) * u64::from(full.height) || !inside {
        return Err("the tiles do not cover the still exactly once".into());
    }
    let mut canvas: Option<DynamicImage> = None;
    for (region, bytes) in tiles {
        let tile = image::load_from_memory(bytes).map_err(|e| format!("a tile: {e}"))?;
        if (tile.width(), tile.height()) != (region.width, region.height) {
            return Err(format!(
                "a tile is {}×{}, its region {}×{}",
                tile.width(),
                tile.height(),
                region.width,
                region.height
            ));
        }
        let canvas =
            canvas.get_or_insert_with(|| DynamicImage::new(full.width, full.height, tile.color()));
        paste(canvas, &tile, i64::from(region.x), i64::from(region.y))?;
    }
    let canvas = canvas.ok_or("no tiles")?;
    let mut out = std::io::Cursor::new(Vec::new());
    canvas
        .write_to(&mut out, format)
        .map_err(|e| format!("encoding the merged still: {e}"))?;
    Ok(out.into_inner())
}

/// Copies `tile` into `canvas` at `(x, y)`, pixel format kept (`DynamicImage`'s own
/// `GenericImage` would go through 8-bit RGBA).
fn paste(canvas: &mut DynamicImage, tile: &DynamicImage, x: i64, y: i64) -> Result<(), String> {
    use image::imageops::replace;
    match (canvas, tile) {
        (DynamicImage::ImageLuma8(c), DynamicImage::ImageLuma8(t)) => replace(c, t, x, y),
        (DynamicImage::ImageLumaA8(c), DynamicImage::ImageLumaA8(t)) => replace(c, t, x, y),
        (DynamicImage::ImageRgb8(c), DynamicImage::ImageRgb8(t)) => replace(c, t, x, y),
        (DynamicImage::ImageRgba8(c), DynamicImage::ImageRgba8(t)) => replace(c, t, x, y),
        (DynamicImage::ImageLuma16(c), DynamicImage::ImageLuma16(t)) => replace(c, t, x, y),
        (DynamicImage::ImageLumaA16(c), DynamicImage::ImageLumaA16(t)) => replace(c, t, x, y),
        (DynamicImage::ImageRgb16(c), DynamicImage::ImageRgb16(t)) => replace(c, t, x, y),
        (DynamicImage::ImageRgba16(c), DynamicImage::ImageRgba16(t)) => replace(c, t, x, y),
        (DynamicImage::ImageRgb32F(c), DynamicImage::ImageRgb32F(t)) => replace(c, t, x, y),
        (DynamicImage::ImageRgba32F(c), DynamicImage::ImageRgba32F(t)) => replace(c, t, x, y),
        _ => return Err("the tiles are not all of one pixel format".into()),
    }
    Ok(())
}

impl<S: Store> Coordinator<S> {
    /// The merged frame of a tiled still whose accepted tiles are `tiles` (of job `job`): its
    /// blob's hash and size.
    pub(crate) async fn merged_still(
        &self,
        job: u64,
        tiles: &[FrameView],
    ) -> ServiceResult<(String, u64)> {
        let mut tx = self.read().await?;
        let row = tx
            .job(job)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("job {job}")))?;
        let mut regions = Vec::with_capacity(tiles.len());
        for tile in tiles {
            let task = tx
                .task(tile.task.0)
                .await?
                .ok_or_else(|| ServiceError::internal(&"a frame without its task"))?;
            match task.work {
                TaskWork::Tile { region, .. } => regions.push(region),
                TaskWork::Frames { .. } => {
                    return Err(ServiceError::internal(
                        &"several outputs of one frame, not tiles",
                    ));
                }
            }
        }
        drop(tx);
        let full = Resolution {
            width: row.spec.resolution.width,
            height: row.spec.resolution.height,
        };
        let covered: u64 = regions.iter().map(|r| r.area()).sum();
        if covered < u64::from(full.width) * u64::from(full.height) {
            return Err(ServiceError::conflict(format!(
                "{} tiles of this still are accepted so far; it downloads once all are",
                tiles.len()
            )));
        }
        let mut parts = Vec::with_capacity(tiles.len());
        for (tile, region) in tiles.iter().zip(regions) {
            parts.push((region, self.blob_bytes(&tile.hash).await?));
        }
        let format = image_format(row.spec.output);
        let merged = tokio::task::spawn_blocking(move || merge_tiles(full, &parts, format))
            .await
            .map_err(|error| ServiceError::internal(&error))?
            .map_err(|reason| ServiceError::internal(&reason))?;
        let (hash, size) = self
            .blobs()
            .put(Bytes::from(merged))
            .await
            .map_err(|error| ServiceError::internal(&error))?;
        Ok((hash.to_string(), size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, shade: u8) -> Vec<u8> {
        let picture =
            image::RgbImage::from_pixel(width, height, image::Rgb([shade, 0, 255 - shade]));
        let mut out = std::io::Cursor::new(Vec::new());
        picture
            .write_to(&mut out, ImageFormat::Png)
            .expect("encode");
        out.into_inner()
    }

    #[test]
    fn tiles_go_back_where_they_were_cut_from() {
        let full = Resolution {
            width: 6,
            height: 4,
        };
        let rect = |x, y, width, height| PixelRect {
            x,
            y,
            width,
            height,
        };
        let tiles = vec![
            (rect(0, 0, 4, 4), png(4, 4, 10)),
            (rect(4, 0, 2, 4), png(2, 4, 200)),
        ];
        let merged = merge_tiles(full, &tiles, ImageFormat::Png).expect("merge");
        let image = image::load_from_memory(&merged).expect("decode").to_rgb8();
        assert_eq!(image.dimensions(), (6, 4));
        assert_eq!(image.get_pixel(3, 3).0, [10, 0, 245]);
        assert_eq!(image.get_pixel(4, 0).0, [200, 0, 55]);
        assert!(
            merge_tiles(full, &tiles[..1], ImageFormat::Png).is_err(),
            "a gap"
        );
        let float = image::Rgba32FImage::from_pixel(6, 4, image::Rgba([0.0461, 0.5, 2.25, 1.0]));
        let mut exr = std::io::Cursor::new(Vec::new());
        DynamicImage::ImageRgba32F(float.clone())
            .write_to(&mut exr, ImageFormat::OpenExr)
            .expect("encode");
        let merged = merge_tiles(
            full,
            &[(rect(0, 0, 6, 4), exr.into_inner())],
            ImageFormat::OpenExr,
        )
        .expect("merge");
        let decoded = image::load_from_memory(&merged)
            .expect("decode")
            .to_rgba32f();
        assert_eq!(decoded, float, "float pixels pass through exactly");
        let wrong = vec![(rect(0, 0, 6, 4), png(5, 4, 1))];
        assert!(
            merge_tiles(full, &wrong, ImageFormat::Png).is_err(),
            "a tile of the wrong size"
        );
    }
}
