//! Vulkan start-up: loader, instance, physical-device choice, one compute queue and the allocators.

use super::backend_error;
use pictor_core::error::Result;
use std::sync::Arc;
use vulkano::VulkanLibrary;
use vulkano::command_buffer::allocator::StandardCommandBufferAllocator;
use vulkano::descriptor_set::allocator::StandardDescriptorSetAllocator;
use vulkano::device::physical::{PhysicalDevice, PhysicalDeviceType};
use vulkano::device::{Device, DeviceCreateInfo, Queue, QueueCreateInfo, QueueFlags};
use vulkano::instance::{Instance, InstanceCreateFlags, InstanceCreateInfo, InstanceExtensions};
use vulkano::memory::allocator::StandardMemoryAllocator;

/// The preference order of device kinds: a discrete GPU first, then integrated, virtual, and a
/// CPU implementation (Mesa's lavapipe) last. Lower is better.
pub(crate) fn device_rank(kind: PhysicalDeviceType) -> u8 {
    match kind {
        PhysicalDeviceType::DiscreteGpu => 0,
        PhysicalDeviceType::IntegratedGpu => 1,
        PhysicalDeviceType::VirtualGpu => 2,
        PhysicalDeviceType::Cpu => 3,
        _ => 4,
    }
}

/// The human name of a device kind, for reports (`"discrete GPU"`, `"CPU"`…).
pub(crate) fn device_kind_name(kind: PhysicalDeviceType) -> &'static str {
    match kind {
        PhysicalDeviceType::DiscreteGpu => "discrete GPU",
        PhysicalDeviceType::IntegratedGpu => "integrated GPU",
        PhysicalDeviceType::VirtualGpu => "virtual GPU",
        PhysicalDeviceType::Cpu => "CPU",
        _ => "other",
    }
}

/// Everything a compute submission needs, created once per verifier.
pub(crate) struct GpuContext {
    pub device: Arc<Device>,
    pub queue: Arc<Queue>,
    pub memory: Arc<StandardMemoryAllocator>,
    pub descriptors: Arc<StandardDescriptorSetAllocator>,
    pub commands: Arc<StandardCommandBufferAllocator>,
    /// `maxComputeWorkGroupCount[0..2]`: the dispatch grid is checked against it.
    pub max_groups: [u32; 3],
    /// The largest storage buffer a kernel may bind, in bytes (`maxStorageBufferRange`, capped by
    /// `maxMemoryAllocationSize`): tiles are verified in batches that fit.
    pub max_buffer_bytes: u64,
}

impl GpuContext {
    /// Loads the Vulkan loader, creates an instance and opens the best device that has a compute
    /// queue (see [`device_rank`]; ties keep the loader's enumeration order, so the choice is stable).
    pub fn new() -> Result<Self> {
        let library = VulkanLibrary::new()
            .map_err(|error| backend_error(format!("no Vulkan loader (libvulkan): {error}")))?;
        // Portability drivers (MoltenVK) are only enumerated when asked for.
        let portability = library.supported_extensions().khr_portability_enumeration;
        let instance = Instance::new(
            library,
            InstanceCreateInfo {
                application_name: Some("pictor-verify".into()),
                flags: if portability {
                    InstanceCreateFlags::ENUMERATE_PORTABILITY
                } else {
                    InstanceCreateFlags::empty()
                },
                enabled_extensions: InstanceExtensions {
                    khr_portability_enumeration: portability,
                    ..InstanceExtensions::empty()
                },
                ..Default::default()
            },
        )
        .map_err(|error| backend_error(format!("cannot create a Vulkan instance: {error}")))?;
        let devices: Vec<Arc<PhysicalDevice>> = instance
            .enumerate_physical_devices()
            .map_err(|error| backend_error(format!("cannot enumerate Vulkan devices: {error}")))?
            .collect();
        let (physical, queue_family_index) = devices
            .iter()
            .filter_map(|device| {
                device
                    .queue_family_properties()
                    .iter()
                    .position(|family| family.queue_flags.intersects(QueueFlags::COMPUTE))
                    .map(|index| (device.clone(), index as u32))
            })
            .min_by_key(|(device, _)| device_rank(device.properties().device_type))
            .ok_or_else(|| {
                backend_error(if devices.is_empty() {
                    "no Vulkan device (the loader found no driver)".to_string()
                } else {
                    format!(
                        "none of the {} Vulkan devices has a compute queue",
                        devices.len()
                    )
                })
            })?;
        let properties = physical.properties();
        let max_groups = properties.max_compute_work_group_count;
        let max_buffer_bytes = u64::from(properties.max_storage_buffer_range)
            .min(properties.max_memory_allocation_size.unwrap_or(u64::MAX));
        let (device, mut queues) = Device::new(
            physical,
            DeviceCreateInfo {
                queue_create_infos: vec![QueueCreateInfo {
                    queue_family_index,
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .map_err(|error| backend_error(format!("cannot open the Vulkan device: {error}")))?;
        let queue = queues
            .next()
            .ok_or_else(|| backend_error("the Vulkan device returned no queue"))?;
        Ok(GpuContext {
            memory: Arc::new(StandardMemoryAllocator::new_default(device.clone())),
            descriptors: Arc::new(StandardDescriptorSetAllocator::new(
                device.clone(),
                Default::default(),
            )),
            commands: Arc::new(StandardCommandBufferAllocator::new(
                device.clone(),
                Default::default(),
            )),
            device,
            queue,
            max_groups,
            max_buffer_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discrete_beats_integrated_beats_virtual_beats_cpu() {
        let order = [
            PhysicalDeviceType::DiscreteGpu,
            PhysicalDeviceType::IntegratedGpu,
            PhysicalDeviceType::VirtualGpu,
            PhysicalDeviceType::Cpu,
            PhysicalDeviceType::Other,
        ];
        for pair in order.windows(2) {
            assert!(device_rank(pair[0]) < device_rank(pair[1]));
        }
    }
}
