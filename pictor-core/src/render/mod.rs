//! The renderer interface: the [`Renderer`] trait, what to render ([`RenderRequest`]), how to steer
//! it ([`RenderControl`]), what comes back ([`RenderOutput`]), and linear images with their codecs
//! ([`LinearImage`]). Implementations (the built-in path tracer, Blender) live in `pictor-render`; the
//! verifier drives them through this trait.

pub mod error;
pub mod image;
pub mod request;

pub use error::RenderError;
pub use image::LinearImage;
pub use request::{
    CancelToken, Progress, ProgressCallback, RegionImage, RenderControl, RenderOutput,
    RenderRequest,
};

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
}
