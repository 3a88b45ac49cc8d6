//! # pictor-render
//!
//! The renderers behind Pictor's workers and checkers, behind one [`Renderer`] trait:
//!
//! - [`builtin`]: a small deterministic Monte Carlo path tracer — the embedded default, so the network
//!   and its tests run without Blender, and so the verifier has renders whose noise is known exactly.
//!   Randomness is a pure function of (seed, frame, pixel, sample): a region renders bit-identical to
//!   the same pixels of the full frame, on any number of threads.
//! - [`blender`]: Blender run headless with a generated Python override script (engine, resolution,
//!   samples, seed, frame, border regions, output), many regions of a frame batched in one process.
//!
//! Renders produce linear RGBA `f32` ([`LinearImage`]), which encodes to PNG 8/16-bit (sRGB) or
//! OpenEXR (linear). The [`Renderer`] trait and its request, control, output and error types are
//! defined here; the verifier (`pictor-verify`) drives any renderer through them.
#![warn(missing_docs)]

pub mod blender;
pub mod builtin;
pub mod compare;
pub mod error;
pub mod evidence;
pub mod image;
pub mod renderer;
pub mod request;

pub use blender::BlenderRenderer;
pub use builtin::BuiltinRenderer;
pub use error::{RenderError, Result};
pub use image::LinearImage;
pub use renderer::Renderer;
pub use request::{
    CancelToken, Progress, ProgressCallback, RegionImage, RenderControl, RenderOutput,
    RenderRequest,
};
