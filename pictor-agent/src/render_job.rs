//! One task's frames, rendered on a blocking thread: finished and written by Blender with the
//! scene's own settings (an `output: scene` job, with the evidence beside each frame), or rendered
//! linear and encoded by Pictor in the job's format.

use pictor_core::api::valid_output_name;
use pictor_core::job::{JobSpec, Resolution};
use pictor_core::task::TaskWork;
use pictor_render::blender::finish::FinishRequest;
use pictor_render::image::write_atomically;
use pictor_render::{RenderControl, RenderRequest, Renderer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// One rendered frame on disk, ready to upload.
pub(crate) struct RenderedFile {
    pub(crate) frame: u32,
    /// The deliverable.
    pub(crate) path: PathBuf,
    /// The name the scene gives it, for a frame Blender finished with the scene's settings.
    pub(crate) name: Option<String>,
    /// Its evidence, for a frame Blender finished with the scene's settings.
    pub(crate) evidence: Option<PathBuf>,
    /// The Blender version that finished it, for such a frame.
    pub(crate) renderer_version: Option<String>,
}

/// One task's frames to render, on a blocking thread.
pub(crate) struct RenderJob {
    pub(crate) renderer: Box<dyn Renderer>,
    pub(crate) spec: JobSpec,
    pub(crate) work: TaskWork,
    pub(crate) main_file: PathBuf,
    pub(crate) out_dir: PathBuf,
    pub(crate) progress: Arc<AtomicU16>,
    pub(crate) cancel: pictor_render::CancelToken,
}

impl RenderJob {
    /// Renders every frame of the task (or its tile) and writes it to the task's folder — finished
    /// and written by Blender with the scene's settings, or encoded by Pictor in the job's
    /// format; answers the files and the render time in ms.
    pub(crate) fn render(self) -> Result<(Vec<RenderedFile>, u64), String> {
        let RenderJob {
            renderer,
            spec,
            work,
            main_file,
            out_dir,
            progress,
            cancel,
        } = self;
        std::fs::create_dir_all(&out_dir)
            .map_err(|e| format!("creating {}: {e}", out_dir.display()))?;
        let frames = work.frames();
        let region = match &work {
            TaskWork::Tile { region, .. } => Some(*region),
            TaskWork::Frames { .. } => None,
        };
        let count = frames.len().max(1) as f32;
        let started = Instant::now();
        let mut files = Vec::new();
        for (index, &frame) in frames.iter().enumerate() {
            let reporter = progress.clone();
            let control = RenderControl {
                cancel: cancel.clone(),
                timeout: Duration::from_secs(24 * 3600),
                progress: Some(Arc::new(move |p: pictor_render::Progress| {
                    let permille = ((index as f32 + p.fraction) / count * 1000.0) as u16;
                    reporter.store(permille.min(1000), Ordering::Relaxed);
                })),
            };
            if spec.delivers_scene_output() {
                files.push(finish_frame(
                    renderer.as_ref(),
                    &spec,
                    &main_file,
                    &out_dir,
                    frame,
                    &control,
                )?);
                progress.store(
                    (((index + 1) as f32 / count) * 1000.0) as u16,
                    Ordering::Relaxed,
                );
                continue;
            }
            let request = RenderRequest {
                scene: Some(main_file.clone()),
                frame,
                resolution: Resolution {
                    width: spec.resolution.width,
                    height: spec.resolution.height,
                },
                samples: spec.samples,
                seed: spec.seed.seed_for(frame),
                regions: region.into_iter().collect(),
                engine: spec.renderer.engine,
                scene_sampling: false,
            };
            let output = renderer
                .render(&request, &control)
                .map_err(|e| e.to_string())?;
            let image = output
                .regions
                .into_iter()
                .next()
                .ok_or_else(|| "the renderer returned no image".to_string())?
                .image;
            let bytes = image
                .encode(spec.output)
                .map_err(|e| format!("encoding frame {frame}: {e}"))?;
            let path = out_dir.join(pictor_sdk::frames::frame_file_name(
                frame,
                spec.output.extension(),
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
            progress.store(
                (((index + 1) as f32 / count) * 1000.0) as u16,
                Ordering::Relaxed,
            );
        }
        Ok((
            files,
            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        ))
    }
}

/// Renders `frame` with the scene's own settings: Blender writes the deliverable into `out_dir`
/// under the scene's name, and the evidence into `out_dir/.evidence/`.
fn finish_frame(
    renderer: &dyn Renderer,
    spec: &JobSpec,
    main_file: &Path,
    out_dir: &Path,
    frame: u32,
    control: &RenderControl,
) -> Result<RenderedFile, String> {
    let request = FinishRequest {
        scene: main_file.to_path_buf(),
        frame,
        resolution: spec.resolution,
        samples: spec.samples,
        seed: spec.seed.seed_for(frame),
        engine: spec.renderer.engine,
        output: None,
        out_dir: out_dir.join(format!("frame-{frame}")),
        evidence: out_dir
            .join(".evidence")
            .join(format!("frame_{frame:06}.exr")),
    };
    let finished = renderer
        .render_finished(&request, control)
        .map_err(|e| e.to_string())?;
    let name = finished
        .deliverable
        .file_name()
        .and_then(|name| name.to_str())
        .filter(|name| valid_output_name(name))
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "frame {frame}: the scene names its file {:?}, which cannot be delivered: \
                 use letters, digits and ._- +#() in the output path's file name",
                finished.deliverable.file_name().unwrap_or_default()
            )
        })?;
    Ok(RenderedFile {
        frame,
        path: finished.deliverable,
        name: Some(name),
        evidence: Some(finished.evidence),
        renderer_version: Some(finished.renderer_version),
    })
}
