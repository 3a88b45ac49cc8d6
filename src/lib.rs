//! # pictor
//!
//! The Rust face of Pictor, a decentralized GPU rendering network. This facade re-exports the crates
//! a Rust application links:
//!
//! - [`core`] (`pictor-core`): jobs, frame sets, tasks, money, pricing, the ledger model, the clock
//!   and the API wire types.
//! - [`render`] (`pictor-render`): the renderer interface, the built-in path tracer and Blender.
//! - [`schedule`] (`pictor-schedule`): the pluggable scheduler and its strategies.
//! - [`verify`] (`pictor-verify`): the frame verifier (CPU, and Vulkan with the `vulkan` feature).
//! - [`sdk`] (`pictor-sdk`): the async client of the network API.
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
/// `pictor-schedule`: the [`Scheduler`](schedule::Scheduler) trait and the built-in strategies.
pub use pictor_schedule as schedule;
/// `pictor-sdk`: the async [`Client`](sdk::Client) of the network API.
pub use pictor_sdk as sdk;
/// `pictor-verify`: the frame verifier and the checker protocol.
pub use pictor_verify as verify;
