//! The Vulkan backend of the frame verifier: the per-tile sums of [`super::CpuVerifier`] computed
//! by compute shaders (WGSL compiled to SPIR-V with naga at start-up) on any Vulkan 1.0 device.
//!
//! Shaders work in `f32` and write one row of partial sums per workgroup; the host adds the rows
//! of each tile in `f64`, in group order, so results are reproducible run to run.

mod device;
mod kernel;
mod shader;

use crate::error::{Error, Result};
use device::GpuContext;

/// A [`crate::Error`] for the Vulkan backend: missing loader or device, shader or dispatch failure.
pub(crate) fn backend_error(reason: impl Into<String>) -> Error {
    Error::invalid("backend", format!("vulkan: {}", reason.into()))
}

/// Frame verification on a Vulkan device.
pub struct VulkanVerifier {
    context: GpuContext,
    device_name: String,
    device_kind: &'static str,
}

impl std::fmt::Debug for VulkanVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VulkanVerifier")
            .field("device", &self.device_name)
            .field("kind", &self.device_kind)
            .finish_non_exhaustive()
    }
}

impl VulkanVerifier {
    /// Opens the best Vulkan device (discrete GPU, then integrated, virtual, CPU) and compiles the
    /// shaders. Fails with a clear error when there is no Vulkan loader, no device, or no compute queue.
    pub fn new() -> Result<Self> {
        let context = GpuContext::new()?;
        let properties = context.device.physical_device().properties();
        let device_name = properties.device_name.clone();
        let device_kind = device::device_kind_name(properties.device_type);
        Ok(VulkanVerifier {
            context,
            device_name,
            device_kind,
        })
    }

    /// The device's name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)` or `NVIDIA GeForce RTX 4090`.
    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// The device's kind: `discrete GPU`, `integrated GPU`, `virtual GPU`, `CPU` or `other`.
    pub fn device_kind(&self) -> &'static str {
        self.device_kind
    }
}

#[cfg(test)]
mod tests {
    use super::kernel::{Kernel, output, read_back, upload};
    use super::shader::WgslSource;
    use super::*;
    use vulkano::descriptor_set::WriteDescriptorSet;

    const SUM: WgslSource = WgslSource {
        name: "test_sum.wgsl",
        entry_point: "main",
        source: r"
@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
var<workgroup> scratch: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let group = wid.x + wid.y * nwg.x;
    let n = arrayLength(&input);
    let i = group * 64u + lid;
    var v = 0.0;
    if (i < n) { v = input[i]; }
    scratch[lid] = v;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s >> 1u) {
        if (lid < s) { scratch[lid] = scratch[lid] + scratch[lid + s]; }
        workgroupBarrier();
    }
    if (lid == 0u) { partials[group] = scratch[0]; }
}
",
    };

    /// Runs only where a Vulkan device exists (lavapipe counts); prints why otherwise.
    #[test]
    fn a_reduction_kernel_runs_on_the_selected_device() {
        let verifier = match VulkanVerifier::new() {
            Ok(verifier) => verifier,
            Err(error) => {
                println!("SKIP: {error}");
                return;
            }
        };
        println!("{} ({})", verifier.device_name(), verifier.device_kind());
        let context = &verifier.context;
        let kernel = Kernel::new(context, &SUM).expect("kernel");
        let data: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let groups = 1000_u32.div_ceil(64);
        let input = upload(context, &data).expect("input");
        let partials = output::<f32>(context, groups as usize).expect("output");
        kernel
            .dispatch(
                context,
                vec![
                    WriteDescriptorSet::buffer(0, input),
                    WriteDescriptorSet::buffer(1, partials.clone()),
                ],
                groups,
            )
            .expect("dispatch");
        let total: f64 = read_back(&partials)
            .expect("read")
            .iter()
            .map(|&v| f64::from(v))
            .sum();
        assert_eq!(total, 999.0 * 1000.0 / 2.0);
    }

    #[test]
    fn invalid_wgsl_is_a_clear_error() {
        let broken = WgslSource {
            name: "broken.wgsl",
            entry_point: "main",
            source: "@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }",
        };
        let error = super::shader::compile(&broken).expect_err("type error");
        assert!(error.to_string().contains("broken.wgsl"), "{error}");
    }
}
