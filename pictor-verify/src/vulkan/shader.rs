//! WGSL → SPIR-V with naga, in pure Rust (no shaderc): parse, validate, emit.
//!
//! The shaders' sources are compiled into the binary with `include_str!`; they are translated once,
//! when a [`super::VulkanVerifier`] starts, and the SPIR-V is kept in the verifier's pipelines.

use super::backend_error;
use naga::back::spv;
use naga::proc::{BoundsCheckPolicies, BoundsCheckPolicy};
use naga::valid::{Capabilities, ValidationFlags, Validator};
use pictor_core::error::Result;

/// One compute shader: a name for error messages, its WGSL source and its entry point.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WgslSource {
    /// File name, e.g. `tile_sums.wgsl`.
    pub name: &'static str,
    /// The WGSL source text, built into the binary with `include_str!`.
    pub source: &'static str,
    /// The `@compute` entry point's name.
    pub entry_point: &'static str,
}

/// Parses and validates `shader`, then writes SPIR-V 1.0 words for its compute entry point.
///
/// Bounds checks and workgroup-memory zeroing are off (the design's performance notes): every index
/// the shaders compute is guarded by an explicit comparison with the tile size, and every
/// workgroup-shared array is written before the barrier that precedes its first read.
pub(crate) fn compile(shader: &WgslSource) -> Result<Vec<u32>> {
    let module = naga::front::wgsl::parse_str(shader.source).map_err(|error| {
        backend_error(format!(
            "WGSL parse error in {}: {}",
            shader.name,
            error.emit_to_string_with_path(shader.source, shader.name)
        ))
    })?;
    let info = Validator::new(ValidationFlags::all(), Capabilities::empty())
        .validate(&module)
        .map_err(|error| {
            backend_error(format!(
                "WGSL validation error in {}: {}",
                shader.name,
                error.emit_to_string_with_path(shader.source, shader.name)
            ))
        })?;
    let options = spv::Options {
        lang_version: (1, 0),
        flags: spv::WriterFlags::empty(),
        bounds_check_policies: BoundsCheckPolicies {
            index: BoundsCheckPolicy::Unchecked,
            buffer: BoundsCheckPolicy::Unchecked,
            image_load: BoundsCheckPolicy::Unchecked,
            binding_array: BoundsCheckPolicy::Unchecked,
        },
        zero_initialize_workgroup_memory: spv::ZeroInitializeWorkgroupMemoryMode::None,
        force_loop_bounding: false,
        ..spv::Options::default()
    };
    let pipeline = spv::PipelineOptions {
        shader_stage: naga::ShaderStage::Compute,
        entry_point: shader.entry_point.to_string(),
    };
    spv::write_vec(&module, &info, &options, Some(&pipeline)).map_err(|error| {
        backend_error(format!(
            "SPIR-V generation failed for {}: {error}",
            shader.name
        ))
    })
}
