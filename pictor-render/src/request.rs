//! Render requests, controls and outputs, defined beside the `Renderer` trait in
//! `pictor_core::render`.

pub use pictor_core::render::request::*;
