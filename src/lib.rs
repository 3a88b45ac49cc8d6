//! # pictor
//!
//! The Rust face of Pictor, a decentralized GPU rendering network. This facade re-exports the crates
//! a Rust application links:
//!
//! - [`core`] (`pictor-core`): jobs, frame sets, tasks, money, pricing, the pluggable scheduler, the
//!   ledger model and the API wire types.
//!
//! The network SDK (`pictor-sdk`) joins it as `pictor::sdk` when it lands.
//!
//! ```
//! use pictor::core::{FrameSet, Money};
//! let frames: FrameSet = "1-100x2,150".parse()?;
//! assert_eq!(frames.len(), 51);
//! assert_eq!("1.5".parse::<Money>()?.micros(), 1_500_000);
//! # Ok::<(), pictor::core::Error>(())
//! ```
#![warn(missing_docs)]

pub use pictor_core as core;
/// `pictor-render`: the [`Renderer`](render::Renderer) trait, the built-in path tracer and Blender.
pub use pictor_render as render;
