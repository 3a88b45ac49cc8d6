//! Pictor's AI upscaler.
//!
//! A super-resolution model (SPAN ×2/×4) is read from its ncnn files by Pictor's own loader
//! ([`ncnn`]), checked into a graph whose scale and receptive radius are known ([`Model`]), and run
//! in fp32 on candle's CPU backend. An image is cut into tiles with context ([`tiles`]) so every
//! output pixel is a function of the input alone: a checker recomputing any tile gets the worker's
//! pixels, up to the [`compare`] rule two honest engines meet.
//!
//! ```no_run
//! use pictor_upscale::{RgbPlanes, TileSpec, load_catalog_model, upscale};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let model = load_catalog_model("models".as_ref(), "spanx4_ch48")?;
//! let input = RgbPlanes::from_image(&image::open("frame.png")?);
//! let output = upscale(&model, &input, TileSpec::DEFAULT, |_, _| {})?;
//! output.to_rgb8().save("frame_x4.png")?;
//! # Ok(())
//! # }
//! ```

/// The models jobs may name, kept in `pictor-core` so specs can be built without the upscaler.
pub use pictor_core::job::catalog;
pub mod chain;
pub mod compare;
pub mod direct;
mod forward;
mod graph;
pub mod io;
pub mod job;
mod model;
pub mod ncnn;
mod planes;
pub mod tiles;
pub mod verify;
pub mod video;
mod wheel;

pub use chain::{Chain, Pass, Rect};
pub use compare::Agreement;
pub use forward::{Precision, RunError};
pub use graph::Graph;
pub use job::{ModelShelf, job_chain, upscale_spec};
pub use model::{Model, UpscaleError, files_hash};
pub use planes::{Rgb16Image, RgbPlanes, quantise_8, quantise_16};
pub use tiles::{Tile, TileSpec, tile_grid, upscale, upscale_tile};
pub use wheel::{install_from_wheel, install_from_wheel_file, load_catalog_model};
