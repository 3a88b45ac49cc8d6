//! Compute kernels: a compiled pipeline, buffer upload/readback and one synchronous dispatch.

use super::backend_error;
use super::device::GpuContext;
use super::shader::{self, WgslSource};
use pictor_core::error::Result;
use std::sync::Arc;
use vulkano::buffer::{Buffer, BufferContents, BufferCreateInfo, BufferUsage, Subbuffer};
use vulkano::command_buffer::{AutoCommandBufferBuilder, CommandBufferUsage};
use vulkano::descriptor_set::{DescriptorSet, WriteDescriptorSet};
use vulkano::memory::allocator::{AllocationCreateInfo, MemoryTypeFilter};
use vulkano::pipeline::compute::ComputePipelineCreateInfo;
use vulkano::pipeline::layout::PipelineDescriptorSetLayoutCreateInfo;
use vulkano::pipeline::{
    ComputePipeline, Pipeline, PipelineBindPoint, PipelineLayout, PipelineShaderStageCreateInfo,
};
use vulkano::shader::{ShaderModule, ShaderModuleCreateInfo};
use vulkano::sync::{self, GpuFuture};

/// The largest group count the kernels put in one grid dimension (the Vulkan minimum guarantee).
pub(crate) const MAX_GROUPS_PER_DIMENSION: u32 = 65_535;

/// A compute pipeline built from one WGSL shader.
pub(crate) struct Kernel {
    /// The shader's file name, for errors.
    pub name: &'static str,
    pipeline: Arc<ComputePipeline>,
}

impl Kernel {
    /// Compiles `source` to SPIR-V with naga and builds its pipeline (layout reflected from SPIR-V).
    pub fn new(context: &GpuContext, source: &WgslSource) -> Result<Self> {
        let words = shader::compile(source)?;
        let fail = |what: &str, error: &dyn std::fmt::Display| {
            backend_error(format!("{what} for {}: {error}", source.name))
        };
        // SAFETY: `words` is SPIR-V that naga emitted for a module its validator accepted (every
        // capability, type and entry point is checked), and vulkano re-parses and validates the
        // module's structure and requirements before creating it.
        let module = unsafe {
            ShaderModule::new(context.device.clone(), ShaderModuleCreateInfo::new(&words))
        }
        .map_err(|error| fail("cannot create the shader module", &error))?;
        let entry = module
            .entry_point(source.entry_point)
            .ok_or_else(|| fail("missing entry point", &source.entry_point))?;
        let stage = PipelineShaderStageCreateInfo::new(entry);
        let layout_info = PipelineDescriptorSetLayoutCreateInfo::from_stages([&stage])
            .into_pipeline_layout_create_info(context.device.clone())
            .map_err(|error| fail("cannot derive the pipeline layout", &error.error))?;
        let layout = PipelineLayout::new(context.device.clone(), layout_info)
            .map_err(|error| fail("cannot create the pipeline layout", &error))?;
        let pipeline = ComputePipeline::new(
            context.device.clone(),
            None,
            ComputePipelineCreateInfo::stage_layout(stage, layout),
        )
        .map_err(|error| fail("cannot create the compute pipeline", &error))?;
        Ok(Kernel {
            name: source.name,
            pipeline,
        })
    }

    /// Runs `groups` workgroups (laid out on a 2-D grid, at most [`MAX_GROUPS_PER_DIMENSION`] wide)
    /// with `bindings` as descriptor set 0, and waits for the device to finish.
    ///
    /// Shaders recover the linear group index as `id.x + id.y * num_workgroups.x` and return when it
    /// is past the real count (the last row of the grid may be partly empty).
    pub fn dispatch(
        &self,
        context: &GpuContext,
        bindings: Vec<WriteDescriptorSet>,
        groups: u32,
    ) -> Result<()> {
        if groups == 0 {
            return Ok(());
        }
        let fail = |what: &str, error: &dyn std::fmt::Display| {
            backend_error(format!("{what} ({}): {error}", self.name))
        };
        let width = MAX_GROUPS_PER_DIMENSION.min(context.max_groups[0]).max(1);
        let grid = [groups.min(width), groups.div_ceil(width), 1];
        if grid[1] > context.max_groups[1] {
            return Err(fail(
                "dispatch too large",
                &format!("{groups} workgroups exceed the device's grid"),
            ));
        }
        let layout = self.pipeline.layout().clone();
        let set_layout = layout
            .set_layouts()
            .first()
            .ok_or_else(|| fail("no descriptor set", &"the shader binds no buffers"))?
            .clone();
        let set = DescriptorSet::new(context.descriptors.clone(), set_layout, bindings, [])
            .map_err(|error| fail("cannot create the descriptor set", &error))?;
        let mut builder = AutoCommandBufferBuilder::primary(
            context.commands.clone(),
            context.queue.queue_family_index(),
            CommandBufferUsage::OneTimeSubmit,
        )
        .map_err(|error| fail("cannot record commands", &error))?;
        builder
            .bind_pipeline_compute(self.pipeline.clone())
            .map_err(|error| fail("cannot bind the pipeline", &error))?
            .bind_descriptor_sets(PipelineBindPoint::Compute, layout, 0, set)
            .map_err(|error| fail("cannot bind the buffers", &error))?;
        // SAFETY: vulkano validates the dispatch itself (bound pipeline and descriptor set match the
        // layout, grid within `maxComputeWorkGroupCount`). What it cannot check is the shader's own
        // memory accesses: every kernel bounds its reads by the tile table it is given (tile
        // offsets and sizes are built on the CPU from the images whose buffers are bound here) and
        // writes only `partials[group * stride + k]` for `group < groups`, a buffer sized for
        // exactly `groups * stride` values; groups past `groups` return before touching memory.
        unsafe { builder.dispatch(grid) }.map_err(|error| fail("cannot dispatch", &error))?;
        let commands = builder
            .build()
            .map_err(|error| fail("cannot build the command buffer", &error))?;
        sync::now(context.device.clone())
            .then_execute(context.queue.clone(), commands)
            .map_err(|error| fail("cannot submit", &error))?
            .then_signal_fence_and_flush()
            .map_err(|error| fail("cannot flush", &error))?
            .wait(None)
            .map_err(|error| fail("the device failed", &error))?;
        Ok(())
    }
}

/// A host-visible storage buffer holding `parts` one after the other (at least one element:
/// Vulkan has no empty buffers). The parts are copied straight into the mapped memory.
pub(crate) fn upload<T: BufferContents + Copy>(
    context: &GpuContext,
    parts: &[&[T]],
) -> Result<Subbuffer<[T]>> {
    let len: usize = parts.iter().map(|part| part.len()).sum();
    let buffer = Buffer::new_slice::<T>(
        context.memory.clone(),
        BufferCreateInfo {
            usage: BufferUsage::STORAGE_BUFFER,
            ..Default::default()
        },
        AllocationCreateInfo {
            memory_type_filter: MemoryTypeFilter::PREFER_DEVICE
                | MemoryTypeFilter::HOST_SEQUENTIAL_WRITE,
            ..Default::default()
        },
        len.max(1) as u64,
    )
    .map_err(|error| backend_error(format!("cannot allocate an input buffer: {error}")))?;
    {
        let mut guard = buffer
            .write()
            .map_err(|error| backend_error(format!("cannot fill an input buffer: {error}")))?;
        let mut start = 0;
        for part in parts {
            guard[start..start + part.len()].copy_from_slice(part);
            start += part.len();
        }
    }
    Ok(buffer)
}

/// A host-readable storage buffer of `len` (at least one) values for the shaders to write.
pub(crate) fn output<T: BufferContents>(
    context: &GpuContext,
    len: usize,
) -> Result<Subbuffer<[T]>> {
    Buffer::new_slice(
        context.memory.clone(),
        BufferCreateInfo {
            usage: BufferUsage::STORAGE_BUFFER,
            ..Default::default()
        },
        AllocationCreateInfo {
            memory_type_filter: MemoryTypeFilter::PREFER_DEVICE
                | MemoryTypeFilter::HOST_RANDOM_ACCESS,
            ..Default::default()
        },
        len.max(1) as u64,
    )
    .map_err(|error| backend_error(format!("cannot allocate an output buffer: {error}")))
}

/// Copies a buffer the device has finished writing back to the host.
pub(crate) fn read_back<T: BufferContents + Copy>(buffer: &Subbuffer<[T]>) -> Result<Vec<T>> {
    let guard = buffer
        .read()
        .map_err(|error| backend_error(format!("cannot read the results back: {error}")))?;
    Ok(guard.to_vec())
}

/// Which per-group tile index a kernel reads at binding 2.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Index {
    /// `tile_sums.wgsl`: one entry per 16×16 workgroup.
    Groups,
    /// `blocks.wgsl`: one entry per bias block.
    Blocks,
}
