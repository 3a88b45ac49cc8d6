//! The render error type, defined beside the `Renderer` trait in `pictor_core::render`.

pub use pictor_core::render::error::{RenderError, Result};
