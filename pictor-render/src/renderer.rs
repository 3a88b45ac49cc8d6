//! The renderer interface: the [`Renderer`] trait. What to render ([`RenderRequest`]), how to steer
//! it ([`RenderControl`]) and what comes back ([`RenderOutput`]) are in [`crate::request`]; linear
//! images and their codecs ([`LinearImage`](crate::LinearImage)) in [`crate::image`]. The
//! verifier (`pictor-verify`) drives any renderer through this trait.

use crate::blender::finish::{FinishRequest, FinishedFrame, RefinishRequest, Refinished};
use crate::error::{self, RenderError};
use crate::request::{RenderControl, RenderOutput, RenderRequest};
use std::path::Path;

/// A renderer: Blender, the built-in path tracer, or your own.
pub trait Renderer: Send + Sync {
    /// `builtin`, `blender`, ...
    fn name(&self) -> &str;

    /// The renderer's version (Blender's `x.y.z`, the crate version for the built-in one).
    fn version(&self) -> error::Result<String>;

    /// Renders the request's regions (or its whole frame). Validates the request first; honours the
    /// control's cancellation and timeout; reports progress through it.
    fn render(
        &self,
        request: &RenderRequest,
        control: &RenderControl,
    ) -> error::Result<RenderOutput>;

    /// Renders the request's regions (or its whole frame) once per seed of `seeds` — the request's
    /// own `seed` is ignored — as one batch: one [`RenderOutput`] per seed, in the order of
    /// `seeds`, each with one image per region in request order, each image exactly what
    /// [`Renderer::render`] returns for the request with that seed (regions stay exact crops).
    /// The checker renders its split references this way: one call per round instead of one per
    /// seed.
    ///
    /// The default calls [`Renderer::render`] once per seed; the built-in renderer and Blender
    /// override it to render the whole batch in one call (the scene loaded once, one Blender
    /// process).
    fn render_seeds(
        &self,
        request: &RenderRequest,
        seeds: &[u64],
        control: &RenderControl,
    ) -> error::Result<Vec<RenderOutput>> {
        seeds
            .iter()
            .map(|&seed| {
                let mut single = request.clone();
                single.seed = seed;
                self.render(&single, control)
            })
            .collect()
    }

    /// A renderer for several calls on `scene` that keeps it loaded between them: what a checker
    /// verifying one frame renders its references (and refinishes a faithful frame) with. Blender
    /// answers one process for the lot ([`crate::blender::BlenderSession`]) instead of a start and
    /// a scene load per call; calls on other scenes still work. `None` (the default): nothing to
    /// keep, use this renderer itself.
    fn open_scene_session<'a>(
        &'a self,
        scene: &Path,
    ) -> error::Result<Option<Box<dyn Renderer + 'a>>> {
        let _ = scene;
        Ok(None)
    }

    /// Renders one frame with the scene's own settings and lets the renderer write the file the
    /// scene asks for, keeping the evidence a checker verifies it with (see
    /// [`crate::blender::finish`]). Only Blender has scene settings; the default refuses.
    fn render_finished(
        &self,
        request: &FinishRequest,
        control: &RenderControl,
    ) -> error::Result<FinishedFrame> {
        let _ = (request, control);
        Err(RenderError::invalid(
            "output",
            format!(
                "the {} renderer has no scene settings to finish frames with: ask for png, png16 or exr",
                self.name()
            ),
        ))
    }

    /// Runs the scene's finishing (denoiser, compositor, view transform, output format) on a
    /// frame's evidence instead of a render, and answers the file written: what the worker wrote
    /// if its deliverable is the finishing of its evidence. Takes a fraction of a render's time
    /// (no path is traced). Only Blender has scene settings; the default refuses.
    fn refinish_frame(
        &self,
        request: &RefinishRequest,
        control: &RenderControl,
    ) -> error::Result<Refinished> {
        let _ = (request, control);
        Err(RenderError::invalid(
            "output",
            format!(
                "the {} renderer has no scene settings to finish frames with",
                self.name()
            ),
        ))
    }
}
