//! The Vulkan backend of the frame verifier: the per-tile sums of [`super::CpuVerifier`] computed
//! by compute shaders (WGSL compiled to SPIR-V with naga at start-up) on any Vulkan 1.0 device.
//!
//! * `tile_sums.wgsl`: one workgroup per 16×16 pixels of a tile; per channel it loads the block and
//!   a halo into shared memory and computes e, d, winsorized and raw squares, lag-1 products, the
//!   z test against `½·box(d²)`, the Immerkær sums on the low-gradient mask and SSIM of both pairs.
//! * `blocks.wgsl`: one workgroup per bias block (Σẽ, Σd̃, Σd̃²).
//!
//! Shaders work in `f32` and write one row of partial sums per workgroup (no float atomics); the
//! host adds the rows of each tile in `f64`, in group order, so results are reproducible run to
//! run. Threshold tests that `f32` cannot decide are recomputed on the host (see `fallback`).

mod device;
mod fallback;
mod kernel;
mod shader;

use super::{
    BlockSums, CELL_SIDE, CHANNELS, CellSums, FrameVerifier, SumParams, TileSums, TileTriple,
};
use device::GpuContext;
use fallback::{Planes, Rect};
use kernel::{Kernel, output, read_back, upload};
use pictor_core::error::{Error, Result};
use pictor_render::LinearImage;
use shader::WgslSource;
use vulkano::descriptor_set::WriteDescriptorSet;

/// The shaders, compiled once by [`VulkanVerifier::new`].
const TILE_SUMS: WgslSource = WgslSource {
    name: "tile_sums.wgsl",
    source: include_str!("shaders/tile_sums.wgsl"),
    entry_point: "main",
};
const BLOCKS: WgslSource = WgslSource {
    name: "blocks.wgsl",
    source: include_str!("shaders/blocks.wgsl"),
    entry_point: "main",
};

/// Side of the pixel block one `tile_sums` workgroup covers: one [`CellSums`] cell, so a
/// workgroup's partial row is its cell's sums.
const GROUP_SIDE: u32 = CELL_SIDE;
/// Partial sums per (workgroup, channel) written by `tile_sums.wgsl` (its slot constants).
const VALUES: usize = 16;
/// Partial sums per bias block written by `blocks.wgsl`.
const BLOCK_VALUES: usize = 12;
/// Largest `halo_lo + halo_hi` the shared-memory region of `tile_sums.wgsl` holds (side ≤ 36).
const MAX_HALO: u32 = 20;
/// Largest bias block side (the block kernel loops over `block²` pixels in a `u32`).
const MAX_BLOCK: u32 = 4096;
/// Unit roundoff of `f32`.
const F32_UNIT: f64 = 5.960_464_477_539_063e-8;

// Slots of a `tile_sums.wgsl` row (see the shader).
const NONFINITE: usize = 0;
const E2W: usize = 1;
const D2W: usize = 2;
const E2: usize = 3;
const D2: usize = 4;
const LAG_E: usize = 5;
const LAG_D: usize = 6;
const Z_EXCEED: usize = 7;
const Z_NULL_EXCEED: usize = 8;
const Z_MAX: usize = 9;
const IMM_W: usize = 10;
const IMM_R: usize = 11;
const IMM_N: usize = 12;
/// Undecided tests: z-family samples + `IMM_UNDECIDED` × Immerkær pixels (each count ≤ 256).
const UNDECIDED: usize = 13;
const IMM_UNDECIDED: f64 = 512.0;
const SSIM_W: usize = 14;
const SSIM_R: usize = 15;

/// A [`pictor_core::Error`] for the Vulkan backend: missing loader or device, shader or dispatch failure.
pub(crate) fn backend_error(reason: impl Into<String>) -> Error {
    Error::invalid("backend", format!("vulkan: {}", reason.into()))
}

/// The [`FrameVerifier`] on a Vulkan device: the per-tile sums of [`super::CpuVerifier`] computed by
/// compute shaders, equal to the CPU's within 1e-5 relative (counts exactly).
///
/// ```no_run
/// use pictor_verify::{FrameVerifier, vulkan::VulkanVerifier};
/// match VulkanVerifier::new() {
///     Ok(gpu) => println!("verifying on {} ({})", gpu.device_name(), gpu.device_kind()),
///     Err(error) => println!("no Vulkan: {error}"), // fall back to CpuVerifier
/// }
/// ```
pub struct VulkanVerifier {
    context: GpuContext,
    tile_kernel: Kernel,
    block_kernel: Kernel,
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
    /// shaders. Fails with an [`Error::Invalid`] for the field `backend` when there is no Vulkan
    /// loader, no device, or no compute queue, or when a shader does not build.
    pub fn new() -> Result<Self> {
        let context = GpuContext::new()?;
        let properties = context.device.physical_device().properties();
        let device_name = properties.device_name.clone();
        let device_kind = device::device_kind_name(properties.device_type);
        Ok(VulkanVerifier {
            tile_kernel: Kernel::new(&context, &TILE_SUMS)?,
            block_kernel: Kernel::new(&context, &BLOCKS)?,
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

    /// One batch of tiles whose images fit in one storage buffer each.
    fn batch(
        &self,
        tiles: &[TileTriple<'_>],
        dims: &[(u32, u32)],
        shape: &Shape,
    ) -> Result<Vec<TileSums>> {
        let mut table = Vec::with_capacity(tiles.len() * 8);
        let mut group_tile = Vec::new();
        let mut block_tile = Vec::new();
        let mut offset = 0u32;
        for (index, &(w, h)) in dims.iter().enumerate() {
            let index = index as u32;
            let groups_x = w.div_ceil(GROUP_SIDE);
            let groups = groups_x * h.div_ceil(GROUP_SIDE);
            let blocks_x = w.div_ceil(shape.block);
            let blocks = blocks_x * h.div_ceil(shape.block);
            table.extend_from_slice(&[
                offset,
                w,
                h,
                group_tile.len() as u32,
                groups_x,
                block_tile.len() as u32,
                blocks_x,
                0,
            ]);
            group_tile.extend(std::iter::repeat_n(index, groups as usize));
            block_tile.extend(std::iter::repeat_n(index, blocks as usize));
            offset += w * h;
        }
        let (groups, blocks) = (group_tile.len() as u32, block_tile.len() as u32);
        let context = &self.context;
        let params = upload(context, &[&shape.words(groups, blocks)[..]])?;
        let table = upload(context, &[&table[..]])?;
        let group_tile = upload(context, &[&group_tile[..]])?;
        let block_tile = upload(context, &[&block_tile[..]])?;
        let worker = upload(context, &planes(tiles, |t| t.worker))?;
        let reference_a = upload(context, &planes(tiles, |t| t.reference_a))?;
        let reference_b = upload(context, &planes(tiles, |t| t.reference_b))?;
        let tile_partials = output::<f32>(context, groups as usize * CHANNELS * VALUES)?;
        let block_partials = output::<f32>(context, blocks as usize * BLOCK_VALUES)?;
        let bindings = |index: kernel::Index, partials: &vulkano::buffer::Subbuffer<[f32]>| {
            vec![
                WriteDescriptorSet::buffer(0, params.clone()),
                WriteDescriptorSet::buffer(1, table.clone()),
                WriteDescriptorSet::buffer(
                    2,
                    match index {
                        kernel::Index::Groups => group_tile.clone(),
                        kernel::Index::Blocks => block_tile.clone(),
                    },
                ),
                WriteDescriptorSet::buffer(3, worker.clone()),
                WriteDescriptorSet::buffer(4, reference_a.clone()),
                WriteDescriptorSet::buffer(5, reference_b.clone()),
                WriteDescriptorSet::buffer(6, partials.clone()),
            ]
        };
        self.tile_kernel.dispatch(
            context,
            bindings(kernel::Index::Groups, &tile_partials),
            groups,
        )?;
        self.block_kernel.dispatch(
            context,
            bindings(kernel::Index::Blocks, &block_partials),
            blocks,
        )?;
        let rows = read_back(&tile_partials)?;
        let block_rows = read_back(&block_partials)?;

        let mut sums = Vec::with_capacity(tiles.len());
        let (mut first_group, mut first_block) = (0usize, 0usize);
        for (tile, &(w, h)) in tiles.iter().zip(dims) {
            let planes = Planes::new(tile, w as usize, h as usize);
            let groups_x = w.div_ceil(GROUP_SIDE) as usize;
            let groups = groups_x * h.div_ceil(GROUP_SIDE) as usize;
            let blocks_x = w.div_ceil(shape.block) as usize;
            let blocks = blocks_x * h.div_ceil(shape.block) as usize;
            let mut out = TileSums {
                width: w,
                height: h,
                ssim_count: shape.ssim_count(w, h),
                cells: vec![CellSums::default(); groups],
                ..TileSums::default()
            };
            for g in 0..groups {
                let side = GROUP_SIDE as usize;
                let (x0, y0) = ((g % groups_x) * side, (g / groups_x) * side);
                let rect = Rect {
                    x0,
                    y0,
                    x1: (x0 + side).min(w as usize),
                    y1: (y0 + side).min(h as usize),
                };
                for c in 0..CHANNELS {
                    let start = ((first_group + g) * CHANNELS + c) * VALUES;
                    let row: Vec<f64> = rows[start..start + VALUES]
                        .iter()
                        .map(|&v| f64::from(v))
                        .collect();
                    out.nonfinite += row[NONFINITE] as u64;
                    out.sum_e2_w[c] += row[E2W];
                    out.sum_d2_w[c] += row[D2W];
                    out.sum_e2[c] += row[E2];
                    out.sum_d2[c] += row[D2];
                    out.lag_e[c] += row[LAG_E];
                    out.lag_d[c] += row[LAG_D];
                    let cell = &mut out.cells[g];
                    cell.sum_e2_w[c] = row[E2W];
                    cell.sum_d2_w[c] = row[D2W];
                    cell.lag_d[c] = row[LAG_D];
                    let undecided_imm = (row[UNDECIDED] / IMM_UNDECIDED).floor();
                    let undecided_z = row[UNDECIDED] - undecided_imm * IMM_UNDECIDED;
                    if undecided_z > 0.0 {
                        let z = planes.z_test(rect, c, &shape.params);
                        out.z_exceed[c] += z.exceed;
                        out.z_null_exceed[c] += z.null_exceed;
                        out.z_max = out.z_max.max(z.z_max);
                    } else {
                        out.z_exceed[c] += row[Z_EXCEED] as u64;
                        out.z_null_exceed[c] += row[Z_NULL_EXCEED] as u64;
                        out.z_max = out.z_max.max(row[Z_MAX]);
                    }
                    let (count, sum_w, sum_r) = if undecided_imm > 0.0 {
                        planes.immerkaer(rect, c, &shape.params)
                    } else {
                        (row[IMM_N] as u64, row[IMM_W], row[IMM_R])
                    };
                    out.immerkaer_count[c] += count;
                    out.immerkaer_w[c] += sum_w;
                    out.immerkaer_ref[c] += sum_r;
                    out.cells[g].immerkaer_w[c] = sum_w;
                    out.cells[g].immerkaer_ref[c] = sum_r;
                    out.ssim_w[c] += row[SSIM_W];
                    out.ssim_ref[c] += row[SSIM_R];
                }
            }
            let bs = shape.block as usize;
            out.blocks = (0..blocks)
                .map(|b| {
                    let row = &block_rows[(first_block + b) * BLOCK_VALUES..][..BLOCK_VALUES];
                    let (bx, by) = (b % blocks_x, b / blocks_x);
                    let pixels = bs.min(w as usize - bx * bs) * bs.min(h as usize - by * bs);
                    let mut block = BlockSums {
                        pixels: pixels as u32,
                        ..BlockSums::default()
                    };
                    // The kernel returns Σx and the deviation sum M₂ = Σ(x − x̄)² (see blocks.wgsl):
                    // Σx² = M₂ + (Σx)²/n keeps n·Σx² − (Σx)² = n·M₂ accurate in f64.
                    let n = pixels as f64;
                    for c in 0..CHANNELS {
                        let (sum_e, m2_e) = (f64::from(row[c]), f64::from(row[CHANNELS + c]));
                        let (sum_d, m2_d) = (
                            f64::from(row[2 * CHANNELS + c]),
                            f64::from(row[3 * CHANNELS + c]),
                        );
                        block.sum_e[c] = sum_e;
                        block.sum_e2[c] = m2_e + sum_e * sum_e / n;
                        block.sum_d[c] = sum_d;
                        block.sum_d2[c] = m2_d + sum_d * sum_d / n;
                    }
                    block
                })
                .collect();
            first_group += groups;
            first_block += blocks;
            sums.push(out);
        }
        Ok(sums)
    }
}

/// One image of every tile, as RGBA slices in tile order.
fn planes<'a>(
    tiles: &[TileTriple<'a>],
    pick: impl Fn(&TileTriple<'a>) -> &'a LinearImage,
) -> Vec<&'a [f32]> {
    tiles.iter().map(|tile| pick(tile).as_rgba()).collect()
}

impl FrameVerifier for VulkanVerifier {
    fn name(&self) -> &str {
        "vulkan"
    }

    fn tile_sums(&self, tiles: &[TileTriple<'_>], params: &SumParams) -> Result<Vec<TileSums>> {
        let shape = Shape::new(params)?;
        let dims = tiles
            .iter()
            .map(TileTriple::dimensions)
            .collect::<Result<Vec<_>>>()?;
        // Batches of consecutive tiles whose RGBA images fit in one storage buffer each.
        let max_pixels = self.context.max_buffer_bytes / 16;
        let mut sums = Vec::with_capacity(tiles.len());
        let mut start = 0;
        while start < tiles.len() {
            let mut end = start;
            let mut pixels = 0u64;
            while end < tiles.len() {
                let next = u64::from(dims[end].0) * u64::from(dims[end].1);
                if pixels + next > max_pixels {
                    break;
                }
                pixels += next;
                end += 1;
            }
            if end == start {
                return Err(Error::invalid(
                    format!("tiles[{start}]"),
                    format!(
                        "{}×{} is larger than the Vulkan device's largest storage buffer ({} bytes)",
                        dims[start].0, dims[start].1, self.context.max_buffer_bytes
                    ),
                ));
            }
            sums.extend(self.batch(&tiles[start..end], &dims[start..end], &shape)?);
            start = end;
        }
        Ok(sums)
    }
}

/// The [`SumParams`] as the shaders need them, with the region geometry derived from the windows.
struct Shape {
    params: SumParams,
    radius: u32,
    win: u32,
    halo_lo: u32,
    side: u32,
    block: u32,
}

impl Shape {
    fn new(params: &SumParams) -> Result<Self> {
        let radius = params.box_size / 2;
        let win = params.ssim_window.max(1);
        // The region a workgroup loads: the box and the 3×3 operators reach `radius`/1 pixels on
        // every side, the lag products 1 and an SSIM window `win − 1` to the right and below.
        let halo_lo = radius.max(1);
        let halo_hi = radius.max(1).max(win - 1);
        if halo_lo + halo_hi > MAX_HALO {
            return Err(Error::invalid(
                "stat_params",
                format!(
                    "the Vulkan verifier supports box_size/2 + max(box_size/2, ssim_window − 1) ≤ \
                     {MAX_HALO}; got box_size {} and ssim_window {}",
                    params.box_size, params.ssim_window
                ),
            ));
        }
        let block = params.block_size.max(1);
        if block > MAX_BLOCK {
            return Err(Error::invalid(
                "stat_params.block_size",
                format!("the Vulkan verifier supports blocks up to {MAX_BLOCK}"),
            ));
        }
        Ok(Shape {
            params: params.clone(),
            radius,
            win,
            halo_lo,
            side: GROUP_SIDE + halo_lo + halo_hi,
            block,
        })
    }

    /// SSIM windows fully inside a `w`×`h` tile.
    fn ssim_count(&self, w: u32, h: u32) -> u64 {
        if self.win <= w && self.win <= h {
            u64::from(w - self.win + 1) * u64::from(h - self.win + 1)
        } else {
            0
        }
    }

    /// The `Params` struct of the shaders, as 32-bit words.
    fn words(&self, groups: u32, blocks: u32) -> Vec<u32> {
        let p = &self.params;
        let channels = |f: &dyn Fn(usize) -> f64| -> [u32; 4] {
            [
                (f(0) as f32).to_bits(),
                (f(1) as f32).to_bits(),
                (f(2) as f32).to_bits(),
                0,
            ]
        };
        let cap = |c: usize| p.cap_d[c].max(0.0);
        // The z test's undecided band: the box sum of (2r+1)² squares, the variance, square root
        // and division each add a few units of roundoff; 4× that bound, at least 3e-5.
        let box_terms = f64::from((2 * self.radius + 1).pow(2));
        let z_band = (4.0 * (box_terms + 16.0) * F32_UNIT).max(3e-5);
        let mut words = Vec::with_capacity(28);
        words.extend(channels(&|c| cap(c).sqrt()));
        words.extend(channels(&|c| (0.5 * cap(c)).sqrt()));
        words.extend(channels(&|c| p.variance_floor[c]));
        words.extend(channels(&|c| p.gradient_threshold[c]));
        words.extend([
            (p.z_threshold as f32).to_bits(),
            (z_band as f32).to_bits(),
            (p.ssim_c1 as f32).to_bits(),
            (p.ssim_c2 as f32).to_bits(),
            self.radius,
            self.win,
            self.halo_lo,
            self.side,
            groups,
            blocks,
            self.block,
            0,
        ]);
        words
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
        let input = upload(context, &[&data[..]]).expect("input");
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
