//! What a job's scene needs before the job is priced or accepted: the scene must be the caller's,
//! its renderer must read the scene's main file, and a `.blend` needs a Blender at least as new as
//! the one that saved it (read from the file's header), so the job is never sent to a worker whose
//! Blender cannot open it.

use super::{Caller, Coordinator, ServiceError, ServiceResult};
use crate::blobs::BlobStore;
use crate::store::Store;
use crate::store::prelude::*;
use pictor_core::BlobHash;
use pictor_core::api::ErrorCode;
use pictor_core::asset::Manifest;
use pictor_core::asset::blend::{self, Compression};
use pictor_core::job::{JobSpec, RendererKind, Resolution, Version, VersionConstraint};
use std::io::Read;
use tokio::io::AsyncReadExt;

/// Compressed bytes read to find a compressed `.blend`'s header (a zstd block is at most 128 KiB).
const COMPRESSED_PREFIX: u64 = 256 << 10;

/// Bytes of an image read to find its size (a JPEG's frame header may follow large metadata).
const IMAGE_HEADER_PREFIX: u64 = 1 << 20;

/// The version constraint of a Blender job whose scene was saved by `saved_by`: at least that
/// Blender, within what the creator asked for; an error when what they asked for cannot open it.
fn narrow(asked: VersionConstraint, saved_by: Version) -> ServiceResult<VersionConstraint> {
    let too_old = |asked: &str| ServiceError {
        code: ErrorCode::Infeasible,
        message: format!(
            "the scene was saved by Blender {}.{}, and the job asks for Blender {asked}, which cannot open it; ask for {}.{} or newer",
            saved_by.major, saved_by.minor, saved_by.major, saved_by.minor
        ),
        field: Some("renderer.version".into()),
    };
    let same_minor = |v: Version| (v.major, v.minor) >= (saved_by.major, saved_by.minor);
    match asked {
        VersionConstraint::Any => Ok(VersionConstraint::AtLeast(saved_by)),
        VersionConstraint::AtLeast(min) => Ok(VersionConstraint::AtLeast(min.max(saved_by))),
        VersionConstraint::Exactly(v) if same_minor(v) => Ok(asked),
        VersionConstraint::SameMinor { major, minor }
            if same_minor(Version::new(major, minor, 0)) =>
        {
            Ok(asked)
        }
        VersionConstraint::Exactly(v) => Err(too_old(&v.to_string())),
        VersionConstraint::SameMinor { major, minor } => Err(too_old(&format!("{major}.{minor}"))),
    }
}

/// The first bytes of `compressed` decompressed: enough for a `.blend` header.
fn decompressed_prefix(compression: Compression, compressed: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = vec![0u8; blend::HEADER_BYTES];
    match compression {
        Compression::Zstd => {
            let mut decoder = ruzstd::decoding::StreamingDecoder::new(compressed)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            decoder.read_exact(&mut out)?;
        }
        Compression::Gzip => flate2::read::GzDecoder::new(compressed).read_exact(&mut out)?,
    }
    Ok(out)
}

impl<S: Store> Coordinator<S> {
    /// The Blender version that saved the blob `hash`, from its header (decompressing it when the
    /// file is compressed). A file that is not a `.blend` is refused naming the scene.
    async fn blend_version(&self, hash: &BlobHash) -> ServiceResult<Version> {
        let mut prefix = Vec::new();
        self.blobs
            .open(hash)
            .await?
            .take(COMPRESSED_PREFIX)
            .read_to_end(&mut prefix)
            .await
            .map_err(|e| ServiceError::internal(&e))?;
        let header = match blend::compression_of(&prefix) {
            None => prefix,
            Some(compression) => decompressed_prefix(compression, &prefix).map_err(|e| {
                ServiceError::invalid(
                    "scene",
                    format!("the main file is a compressed .blend that does not decompress: {e}"),
                )
            })?,
        };
        Ok(blend::parse_header(&header)?.version)
    }

    /// The size of the image that is `manifest`'s main file, read from its header.
    async fn image_size(&self, manifest: &Manifest) -> ServiceResult<Resolution> {
        let entry = manifest
            .entries
            .iter()
            .find(|e| e.path == manifest.main_file)
            .ok_or_else(|| ServiceError::internal(&"a manifest without its main file"))?;
        let mut prefix = Vec::new();
        self.blobs
            .open(&entry.hash)
            .await?
            .take(IMAGE_HEADER_PREFIX)
            .read_to_end(&mut prefix)
            .await
            .map_err(|e| ServiceError::internal(&e))?;
        let unreadable = |why: String| {
            ServiceError::invalid(
                "scene",
                format!("{} is not a readable image: {why}", manifest.main_file),
            )
        };
        let (width, height) = image::ImageReader::new(std::io::Cursor::new(prefix))
            .with_guessed_format()
            .map_err(|e| unreadable(e.to_string()))?
            .into_dimensions()
            .map_err(|e| unreadable(e.to_string()))?;
        Ok(Resolution { width, height })
    }

    /// The size of the images of `asset` (the caller's), an upscale's input: what its main file's
    /// header says (every input of a job is checked against it by the workers).
    pub async fn upscale_input_size(
        &self,
        caller: &Caller,
        asset: &pictor_core::AssetId,
    ) -> ServiceResult<Resolution> {
        let mut tx = self.read().await?;
        let Some(asset) = tx.asset(caller.id(), asset.as_str()).await? else {
            return Err(ServiceError::not_found("asset"));
        };
        let manifest: Manifest =
            serde_json::from_str(&asset.manifest_json).map_err(|e| ServiceError::internal(&e))?;
        if !RendererKind::Upscale.reads_main_file(&manifest.main_file) {
            return Err(ServiceError::invalid(
                "scene",
                format!(
                    "{} is not an image: an upscale reads PNG, JPEG or EXR images",
                    manifest.main_file
                ),
            ));
        }
        self.image_size(&manifest).await
    }

    /// Checks the scene is the caller's and that the job's renderer can read its main file, and
    /// answers the spec as the network will run it: a Blender job's version constraint narrowed
    /// to the Blender versions that can open the scene. A job whose workers could only fail is
    /// refused here, never sent to them.
    pub(crate) async fn scene_spec<T: StoreTx>(
        &self,
        tx: &mut T,
        caller: &Caller,
        spec: &JobSpec,
    ) -> ServiceResult<JobSpec> {
        spec.validate()?;
        let Some(asset) = tx.asset(caller.id(), spec.scene.as_str()).await? else {
            return Err(ServiceError {
                code: ErrorCode::NotFound,
                message: format!("asset {} not found; upload the scene first", spec.scene),
                field: Some("scene".into()),
            });
        };
        let manifest: Manifest =
            serde_json::from_str(&asset.manifest_json).map_err(|e| ServiceError::internal(&e))?;
        let main_file = manifest.main_file.as_str();
        let renderer = spec.renderer.kind;
        if !renderer.reads_main_file(main_file) {
            let hint = match RendererKind::for_main_file(main_file) {
                Some(kind) => format!(
                    "set the renderer to {kind} for a .{} scene",
                    kind.scene_extension()
                ),
                None => {
                    "the main file must be a .blend (Blender) or a .toml (the built-in renderer)"
                        .into()
                }
            };
            return Err(ServiceError::invalid(
                "renderer",
                format!(
                    "the {renderer} renderer reads .{} scenes, and the scene's main file is {main_file:?}; {hint}",
                    renderer.scene_extension()
                ),
            ));
        }
        let mut effective = spec.clone();
        if renderer == RendererKind::Blender {
            let entry = manifest
                .entries
                .iter()
                .find(|e| e.path == manifest.main_file)
                .ok_or_else(|| ServiceError::internal(&"a manifest without its main file"))?;
            let saved_by = self.blend_version(&entry.hash).await?;
            effective.renderer.version = narrow(spec.renderer.version, saved_by)?;
        }
        if let Some(upscale) = &spec.upscale {
            pictor_core::job::catalog::check_pins(upscale)?;
            upscale_inputs_present(&manifest, spec)?;
            let size = self.image_size(&manifest).await?;
            if size != upscale.input {
                return Err(ServiceError::invalid(
                    "upscale.input",
                    format!(
                        "the images are {}×{} ({} is), the spec says {}×{}",
                        size.width,
                        size.height,
                        manifest.main_file,
                        upscale.input.width,
                        upscale.input.height
                    ),
                ));
            }
        }
        Ok(effective)
    }
}

/// Refuses an upscale whose asset lacks the input image of one of its frames (`000001.png`, …
/// at the asset's top level), naming the first missing frame. A one-frame upscale reads the
/// asset's main file, whatever its name.
fn upscale_inputs_present(manifest: &Manifest, spec: &JobSpec) -> ServiceResult<()> {
    if spec.frames.len() == 1 {
        return Ok(());
    }
    let stems: std::collections::HashSet<&str> = manifest
        .entries
        .iter()
        .map(|entry| entry.path.as_str())
        .filter(|path| !path.contains('/') && pictor_core::job::is_upscale_input(path))
        .filter_map(|path| path.rsplit_once('.').map(|(stem, _)| stem))
        .collect();
    match spec
        .frames
        .iter()
        .find(|frame| !stems.contains(pictor_core::job::input_file_stem(*frame).as_str()))
    {
        Some(frame) => Err(ServiceError::invalid(
            "frames",
            format!(
                "frame {frame} has no input image in the asset: an upscale reads frame N from \
                 {}.png (or .jpg, .jpeg, .exr)",
                pictor_core::job::input_file_stem(frame)
            ),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_asks_at_least_for_the_blender_that_saved_its_scene() {
        let v34 = Version::new(3, 4, 0);
        let v42 = Version::new(4, 2, 0);
        assert_eq!(
            narrow(VersionConstraint::Any, v42).expect("any"),
            VersionConstraint::AtLeast(v42)
        );
        assert_eq!(
            narrow(VersionConstraint::AtLeast(v34), v42).expect("at least"),
            VersionConstraint::AtLeast(v42)
        );
        assert_eq!(
            narrow(VersionConstraint::Exactly(Version::new(4, 2, 1)), v42).expect("exact"),
            VersionConstraint::Exactly(Version::new(4, 2, 1))
        );
        let refused = narrow(VersionConstraint::Exactly(Version::new(3, 4, 1)), v42)
            .expect_err("3.4 cannot open a 4.2 scene");
        assert_eq!(refused.code, ErrorCode::Infeasible);
        assert_eq!(refused.field.as_deref(), Some("renderer.version"));
        assert!(narrow(VersionConstraint::SameMinor { major: 3, minor: 6 }, v42).is_err());
    }

    #[test]
    fn compressed_headers_are_read() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"BLENDER-v304 and the rest of the file")
            .expect("gzip");
        let compressed = gz.finish().expect("gzip");
        let header = decompressed_prefix(Compression::Gzip, &compressed).expect("gunzip");
        assert_eq!(
            blend::parse_header(&header).expect("header").version,
            Version::new(3, 4, 0)
        );
        assert!(decompressed_prefix(Compression::Zstd, b"\x28\xb5\x2f\xfd garbage").is_err());
    }
}
