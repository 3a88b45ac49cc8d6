//! One upscale task, on a blocking thread: each frame's input image read from the job's asset
//! (`000001.png`, …), the task's region of the output (the whole frame, or one tile of a still)
//! computed by the job's chain of models, written as PNG in the job's bit depth.

use crate::render_job::RenderedFile;
use crate::scene::LocalScene;
use pictor_core::job::{OutputFormat, UPSCALE_INPUT_EXTENSIONS, UpscaleSpec, input_file_stem};
use pictor_core::task::TaskWork;
use pictor_render::image::write_atomically;
use pictor_upscale::chain::Rect;
use pictor_upscale::io::{ViewTransform, read_input};
use pictor_upscale::job::rect_of;
use pictor_upscale::{ModelShelf, RgbPlanes, job_chain};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;

/// What computes an upscale task's pixels. The production worker's is [`ShelfUpscaler`]: the
/// job's models from the machine's models folder. Tests put a dishonest one in its place to show
/// the checkers catching it.
pub trait Upscaler: Send + Sync {
    /// The pixels of `region` of `input` upscaled as `spec` says; `on_tile(done, of)` hears of
    /// each output tile finished.
    ///
    /// # Errors
    /// In words: a model missing or not the pinned one, an input of the wrong size.
    fn upscale_region(
        &self,
        spec: &UpscaleSpec,
        input: &RgbPlanes,
        region: Rect,
        on_tile: &mut dyn FnMut(usize, usize),
    ) -> Result<RgbPlanes, String>;
}

/// The honest upscaler: the models `spec` pins, from a [`ModelShelf`].
pub struct ShelfUpscaler {
    shelf: Arc<ModelShelf>,
}

impl ShelfUpscaler {
    /// Upscales with the models of `shelf`.
    pub fn new(shelf: Arc<ModelShelf>) -> Self {
        ShelfUpscaler { shelf }
    }
}

impl Upscaler for ShelfUpscaler {
    fn upscale_region(
        &self,
        spec: &UpscaleSpec,
        input: &RgbPlanes,
        region: Rect,
        on_tile: &mut dyn FnMut(usize, usize),
    ) -> Result<RgbPlanes, String> {
        let models = self
            .shelf
            .models_for(spec)
            .map_err(|error| error.to_string())?;
        let chain = job_chain(input, &models, spec).map_err(|error| error.to_string())?;
        if models.len() > 1 {
            // A chain computes the region in one call, so its earlier passes are computed once.
            let pixels = chain.region(region).map_err(|error| error.to_string())?;
            on_tile(1, 1);
            return Ok(pixels);
        }
        // One pass: tile after tile, each reported (every tile's pixels are the same whichever
        // way the region is cut).
        let tiles: Vec<Rect> = chain
            .output_tiles()
            .into_iter()
            .filter(|tile| region.contains(tile))
            .collect();
        let mut out = RgbPlanes::black(region.width, region.height);
        for (index, tile) in tiles.iter().enumerate() {
            let pixels = chain.region(*tile).map_err(|error| error.to_string())?;
            out.paste(&pixels, tile.left - region.left, tile.top - region.top);
            on_tile(index + 1, tiles.len());
        }
        Ok(out)
    }
}

/// The input image of `frame` in an upscale job's materialised asset: for a one-frame job its
/// main file (whatever its name), else `000001.png`, `.jpg`, `.jpeg` or `.exr` (either case).
pub fn input_path(scene: &LocalScene, frames_in_job: usize, frame: u32) -> Result<PathBuf, String> {
    inputs_path(&scene.root, &scene.main_file, frames_in_job, frame)
}

/// [`input_path`] in a folder `root` whose main file is `main_file`.
fn inputs_path(
    root: &Path,
    main_file: &Path,
    frames_in_job: usize,
    frame: u32,
) -> Result<PathBuf, String> {
    if frames_in_job == 1 {
        return Ok(main_file.to_path_buf());
    }
    let stem = input_file_stem(frame);
    let entries = std::fs::read_dir(root).map_err(|e| format!("reading the inputs: {e}"))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some((found_stem, extension)) = name.rsplit_once('.')
            && found_stem == stem
            && UPSCALE_INPUT_EXTENSIONS
                .iter()
                .any(|known| extension.eq_ignore_ascii_case(known))
        {
            return Ok(entry.path());
        }
    }
    Err(format!(
        "the job's asset has no input image for frame {frame} ({stem}.png, .jpg or .exr)"
    ))
}

/// The output rectangle a task computes: its tile, or the whole frame.
pub fn task_rect(spec: &UpscaleSpec, work: &TaskWork) -> Rect {
    match work {
        TaskWork::Tile { region, .. } => rect_of(*region),
        TaskWork::Frames { .. } => {
            let output = spec.output();
            Rect {
                left: 0,
                top: 0,
                width: output.width,
                height: output.height,
            }
        }
    }
}

/// One upscale task's frames, on a blocking thread.
pub(crate) struct UpscaleJob {
    pub(crate) upscaler: Arc<dyn Upscaler>,
    pub(crate) spec: UpscaleSpec,
    pub(crate) output: OutputFormat,
    pub(crate) work: TaskWork,
    /// The job's asset, materialised: its folder and main file.
    pub(crate) inputs: (PathBuf, PathBuf),
    /// How many frames the job has (a one-frame job's input is the asset's main file).
    pub(crate) frames_in_job: usize,
    pub(crate) out_dir: PathBuf,
    pub(crate) progress: Arc<AtomicU16>,
    /// Cancelled with the lease: the task stops before its next frame.
    pub(crate) cancel: pictor_render::CancelToken,
}

impl UpscaleJob {
    /// Upscales every frame of the task and writes it to the task's folder; answers the files
    /// and the time taken in ms.
    pub(crate) fn run(self) -> Result<(Vec<RenderedFile>, u64), String> {
        std::fs::create_dir_all(&self.out_dir)
            .map_err(|e| format!("creating {}: {e}", self.out_dir.display()))?;
        let frames = self.work.frames();
        let count = frames.len().max(1);
        let rect = task_rect(&self.spec, &self.work);
        let started = Instant::now();
        let mut files = Vec::with_capacity(frames.len());
        for (index, &frame) in frames.iter().enumerate() {
            if self.cancel.is_cancelled() {
                return Err("cancelled".into());
            }
            let (root, main_file) = &self.inputs;
            let path = inputs_path(root, main_file, self.frames_in_job, frame)?;
            let input = read_input(&path, ViewTransform::Standard)
                .map_err(|e| format!("frame {frame}: {e}"))?;
            let progress = self.progress.clone();
            let mut on_tile = |done: usize, of: usize| {
                let fraction = (index as f32 + done as f32 / of.max(1) as f32) / count as f32;
                progress.store((fraction * 1000.0).min(1000.0) as u16, Ordering::Relaxed);
            };
            let pixels = self
                .upscaler
                .upscale_region(&self.spec, &input, rect, &mut on_tile)
                .map_err(|e| format!("frame {frame}: {e}"))?;
            let bytes = encode(&pixels, self.output)?;
            let path = self.out_dir.join(pictor_sdk::frames::frame_file_name(
                frame,
                self.output.extension(),
            ));
            write_atomically(&path, &bytes)
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            files.push(RenderedFile {
                frame,
                path,
                name: None,
                evidence: None,
                renderer_version: None,
            });
        }
        Ok((
            files,
            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        ))
    }
}

/// `pixels` as a PNG of the job's bit depth.
pub fn encode(pixels: &RgbPlanes, output: OutputFormat) -> Result<Vec<u8>, String> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    let written = match output {
        OutputFormat::Png16 => pixels
            .to_rgb16()
            .write_to(&mut bytes, image::ImageFormat::Png),
        _ => pixels
            .to_rgb8()
            .write_to(&mut bytes, image::ImageFormat::Png),
    };
    written.map_err(|e| format!("encoding the output: {e}"))?;
    Ok(bytes.into_inner())
}
