// Per-tile sums of the frame verifier (see `TileSums` in verify/mod.rs), one workgroup per 16×16
// pixels of a tile. For each channel the workgroup loads the pixels it needs (its 16×16 block plus
// a halo) into shared memory, every invocation computes its pixel's terms in f32, and a tree
// reduction writes one row of VALUES partial sums per (group, channel). The host adds the rows in
// f64, in group order.
//
// Accuracy: e and d and every neighbourhood difference are formed from differences of nearby input
// samples (exact when within a factor of two, Sterbenz), never from large values that cancel.
// Threshold tests whose f32 result could differ from the f64 reference (the Immerkær gradient mask,
// the z test) are not decided here when the value lies within a rigorous error band of the
// threshold: the group-channel is flagged and the host recomputes its sums in f64.

struct Params {
    lim_d: vec4<f32>,      // √cap_d per channel
    lim_e: vec4<f32>,      // √(cap_d/2)
    var_floor: vec4<f32>,  // floor of v̂
    grad_thr: vec4<f32>,   // Immerkær Sobel threshold
    z_thr: f32,            // |z| threshold
    z_band: f32,           // relative half-width of the undecided band around z_thr
    c1: f32,               // SSIM C₁
    c2: f32,               // SSIM C₂
    radius: u32,           // box radius of v̂ (box_size / 2)
    win: u32,              // SSIM window side
    halo_lo: u32,          // halo left of / above the block
    side: u32,             // side of the loaded region: 16 + halo_lo + halo_hi
    groups: u32,           // workgroups in this dispatch
    blocks: u32,           // bias blocks in this dispatch (blocks.wgsl)
    block: u32,            // bias block side
    pad: u32,
}

struct Tile {
    offset: u32,       // first pixel of the tile in the image buffers
    width: u32,
    height: u32,
    first_group: u32,  // first workgroup of the tile (this kernel)
    groups_x: u32,     // workgroups per row
    first_block: u32,  // first bias block of the tile (blocks.wgsl)
    blocks_x: u32,     // bias blocks per row
    pad: u32,
}

@group(0) @binding(0) var<storage, read> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<Tile>;
@group(0) @binding(2) var<storage, read> group_tile: array<u32>;
@group(0) @binding(3) var<storage, read> worker: array<f32>;
@group(0) @binding(4) var<storage, read> ref_a: array<f32>;
@group(0) @binding(5) var<storage, read> ref_b: array<f32>;
@group(0) @binding(6) var<storage, read_write> partials: array<f32>;

const BLOCK: u32 = 16u;
const THREADS: u32 = 256u;
const VALUES: u32 = 16u;
// Largest region: side ≤ 36 (halo_lo + halo_hi ≤ 20), three planes. The same 16 KB hold the
// reduction scratch (VALUES × THREADS = 4096 values) once the region is no longer needed.
const PLANE: u32 = 1296u;
const U: f32 = 5.9604645e-8; // unit roundoff of f32, 2⁻²⁴

// Output slots per (group, channel).
const NONFINITE: u32 = 0u;
const E2W: u32 = 1u;
const D2W: u32 = 2u;
const E2: u32 = 3u;
const D2: u32 = 4u;
const LAG_E: u32 = 5u;
const LAG_D: u32 = 6u;
const Z_EXCEED: u32 = 7u;
const Z_NULL_EXCEED: u32 = 8u;
const Z_MAX: u32 = 9u;
const IMM_W: u32 = 10u;
const IMM_R: u32 = 11u;
const IMM_N: u32 = 12u;
// Undecided threshold tests: (z or null-z samples) + IMM_UNDECIDED × (Immerkær pixels); both
// counts are ≤ 256, so the sum stays an exact integer in f32.
const UNDECIDED: u32 = 13u;
const Z_UNDECIDED: f32 = 1.0;
const IMM_UNDECIDED: f32 = 512.0;
const SSIM_W: u32 = 14u;
const SSIM_R: u32 = 15u;

var<workgroup> mem: array<f32, 4096>;

fn nonfinite(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u;
}

fn at(rx: u32, ry: u32) -> u32 {
    return ry * params.side + rx;
}

fn w_raw(k: u32) -> f32 { return mem[k]; }
fn a_at(k: u32) -> f32 { return mem[PLANE + k]; }
fn b_at(k: u32) -> f32 { return mem[2u * PLANE + k]; }

// W with non-finite samples replaced by R̄.
fn w_clean(k: u32) -> f32 {
    let w = mem[k];
    if (nonfinite(w)) {
        return 0.5 * (a_at(k) + b_at(k));
    }
    return w;
}

// e = W − R̄ = ((W − R₁) + (W − R₂))/2; 0 for a non-finite worker sample.
fn e_at(k: u32) -> f32 {
    let w = mem[k];
    if (nonfinite(w)) {
        return 0.0;
    }
    return 0.5 * ((w - a_at(k)) + (w - b_at(k)));
}

fn d_at(k: u32) -> f32 {
    return a_at(k) - b_at(k);
}

@compute @workgroup_size(16, 16)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let group = wid.x + wid.y * nwg.x;
    if (group >= params.groups) {
        return;
    }
    let tile = tiles[group_tile[group]];
    let local_group = group - tile.first_group;
    let x0 = (local_group % tile.groups_x) * BLOCK;
    let y0 = (local_group / tile.groups_x) * BLOCK;
    let x = x0 + lid % BLOCK;
    let y = y0 + lid / BLOCK;
    let inside = x < tile.width && y < tile.height;
    let side = params.side;
    let hl = params.halo_lo;
    // This pixel in region coordinates.
    let rx = lid % BLOCK + hl;
    let ry = lid / BLOCK + hl;
    let k = at(rx, ry);

    for (var c = 0u; c < 3u; c = c + 1u) {
        // Load W, R₁, R₂ of channel c over the region (zeros outside the tile, never read).
        for (var i = lid; i < side * side; i = i + THREADS) {
            let gx = i32(x0 + i % side) - i32(hl);
            let gy = i32(y0 + i / side) - i32(hl);
            var wv = 0.0;
            var av = 0.0;
            var bv = 0.0;
            if (gx >= 0 && gy >= 0 && u32(gx) < tile.width && u32(gy) < tile.height) {
                let s = (tile.offset + u32(gy) * tile.width + u32(gx)) * 4u + c;
                wv = worker[s];
                av = ref_a[s];
                bv = ref_b[s];
            }
            mem[i] = wv;
            mem[PLANE + i] = av;
            mem[2u * PLANE + i] = bv;
        }
        workgroupBarrier();

        var v: array<f32, 16>;
        for (var j = 0u; j < VALUES; j = j + 1u) {
            v[j] = 0.0;
        }
        if (inside) {
            let lim_e = params.lim_e[c];
            let lim_d = params.lim_d[c];
            let bad = nonfinite(w_raw(k));
            let e = e_at(k);
            let d = d_at(k);
            let ec = clamp(e, -lim_e, lim_e);
            let dc = clamp(d, -lim_d, lim_d);
            v[NONFINITE] = select(0.0, 1.0, bad);
            v[E2W] = ec * ec;
            v[D2W] = dc * dc;
            v[E2] = e * e;
            v[D2] = d * d;
            // (5) lag-1 products with the right and lower neighbours inside the tile.
            if (x + 1u < tile.width) {
                let kn = at(rx + 1u, ry);
                v[LAG_E] += ec * clamp(e_at(kn), -lim_e, lim_e);
                v[LAG_D] += dc * clamp(d_at(kn), -lim_d, lim_d);
            }
            if (y + 1u < tile.height) {
                let kn = at(rx, ry + 1u);
                v[LAG_E] += ec * clamp(e_at(kn), -lim_e, lim_e);
                v[LAG_D] += dc * clamp(d_at(kn), -lim_d, lim_d);
            }

            // (2) z = e / √v̂, v̂ = max(½·mean of d² over the box clipped to the tile, floor), and
            // the reference's own leave-one-out null z' = (d/√2) / √v̂', v̂' = max(½·(Σd² without
            // this pixel)/(k − 1), floor) (summed without the pixel: no cancellation).
            {
                let r = params.radius;
                let bx0 = max(x, r) - r;
                let by0 = max(y, r) - r;
                let bx1 = min(x + r, tile.width - 1u);
                let by1 = min(y + r, tile.height - 1u);
                var others = 0.0;
                for (var yy = by0; yy <= by1; yy = yy + 1u) {
                    for (var xx = bx0; xx <= bx1; xx = xx + 1u) {
                        if (xx != x || yy != y) {
                            let dd = d_at(at(xx - x0 + hl, yy - y0 + hl));
                            others += dd * dd;
                        }
                    }
                }
                let count = (bx1 - bx0 + 1u) * (by1 - by0 + 1u);
                let floor = params.var_floor[c];
                let thr = params.z_thr;
                let band = params.z_band * thr;
                var null_var = floor;
                if (count > 1u) {
                    null_var = max(0.5 * others / f32(count - 1u), floor);
                }
                if (null_var > 0.0) {
                    let z_null = abs(d) * 0.70710677 / sqrt(null_var);
                    if (abs(z_null - thr) <= band) {
                        v[UNDECIDED] = Z_UNDECIDED;
                    } else if (z_null > thr) {
                        v[Z_NULL_EXCEED] = 1.0;
                    }
                } else {
                    v[UNDECIDED] = Z_UNDECIDED;
                }
                if (bad) {
                    v[Z_EXCEED] = 1.0;
                } else {
                    let variance = max(0.5 * (others + d * d) / f32(count), floor);
                    if (variance > 0.0) {
                        // One-sided: only the worker's pixel below the reference counts.
                        let z_low = -e / sqrt(variance);
                        if (abs(z_low - thr) <= band) {
                            v[UNDECIDED] = Z_UNDECIDED;
                        } else if (z_low > thr) {
                            v[Z_EXCEED] = 1.0;
                        }
                        v[Z_MAX] = abs(z_low);
                    } else {
                        v[UNDECIDED] = Z_UNDECIDED;
                    }
                }
            }

            // (4) Immerkær on interior pixels whose Sobel gradient of M = (W + R̄)/2 is low.
            if (x >= 1u && y >= 1u && x + 1u < tile.width && y + 1u < tile.height) {
                var any_bad = false;
                // p = 4(M − M_centre) = 2ΔW + ΔR₁ + ΔR₂ and its magnitude bound for the error.
                var p: array<f32, 9>;
                var mag: array<f32, 9>;
                var lw = 0.0;
                var lr = 0.0;
                let wc = w_raw(k);
                let ac = a_at(k);
                let bc = b_at(k);
                for (var j = 0u; j < 9u; j = j + 1u) {
                    let kj = at(rx + j % 3u - 1u, ry + j / 3u - 1u);
                    let wj = w_raw(kj);
                    any_bad = any_bad || nonfinite(wj);
                    let dw = wj - wc;
                    let da = a_at(kj) - ac;
                    let db = b_at(kj) - bc;
                    p[j] = 2.0 * dw + da + db;
                    mag[j] = 2.0 * abs(dw) + abs(da) + abs(db);
                    // L = [[1,−2,1],[−2,4,−2],[1,−2,1]]; the centre term is 4·0.
                    var l = 1.0;
                    if (j == 1u || j == 3u || j == 5u || j == 7u) {
                        l = -2.0;
                    }
                    if (j != 4u) {
                        lw += l * dw;
                        lr += l * (da + db);
                    }
                }
                if (any_bad) {
                    v[UNDECIDED] += IMM_UNDECIDED;
                } else {
                    let gx = (p[2] + 2.0 * p[5] + p[8]) - (p[0] + 2.0 * p[3] + p[6]);
                    let gy = (p[6] + 2.0 * p[7] + p[8]) - (p[0] + 2.0 * p[1] + p[2]);
                    let sx = (mag[2] + 2.0 * mag[5] + mag[8]) + (mag[0] + 2.0 * mag[3] + mag[6]);
                    let sy = (mag[6] + 2.0 * mag[7] + mag[8]) + (mag[0] + 2.0 * mag[1] + mag[2]);
                    let g = 0.25 * sqrt(gx * gx + gy * gy);
                    let thr = params.grad_thr[c];
                    // Rounding: each of gx, gy (differences, then 7 additions) is within 8u·s of
                    // the exact value, so |ĝ − g| ≤ 2u·(sx + sy) + 4u·g (squares, sum, sqrt);
                    // the threshold was rounded to f32 (u·thr). The band is four times that.
                    let band = 8.0 * U * (sx + sy) + 16.0 * U * g + 4.0 * U * thr;
                    if (abs(g - thr) < band) {
                        v[UNDECIDED] += IMM_UNDECIDED;
                    } else if (g <= thr) {
                        v[IMM_N] = 1.0;
                        v[IMM_W] = abs(lw);
                        v[IMM_R] = 0.5 * abs(lr);
                    }
                }
            }

            // (8) SSIM over the window whose top-left pixel is this one, if it fits in the tile.
            let win = params.win;
            if (x + win <= tile.width && y + win <= tile.height) {
                let kc = at(rx + win / 2u, ry + win / 2u);
                // Moments about the window's centre sample (no cancellation of large means).
                let sw = w_clean(kc);
                let sa = a_at(kc);
                let sb = b_at(kc);
                var m_u = 0.0;
                var m_v = 0.0;
                var m_uu = 0.0;
                var m_vv = 0.0;
                var m_uv = 0.0;
                var n_a = 0.0;
                var n_b = 0.0;
                var n_aa = 0.0;
                var n_bb = 0.0;
                var n_ab = 0.0;
                for (var yy = 0u; yy < win; yy = yy + 1u) {
                    for (var xx = 0u; xx < win; xx = xx + 1u) {
                        let kj = at(rx + xx, ry + yy);
                        let da = a_at(kj) - sa;
                        let db = b_at(kj) - sb;
                        let u = w_clean(kj) - sw;
                        let r = 0.5 * (da + db);
                        m_u += u;
                        m_v += r;
                        m_uu += u * u;
                        m_vv += r * r;
                        m_uv += u * r;
                        n_a += da;
                        n_b += db;
                        n_aa += da * da;
                        n_bb += db * db;
                        n_ab += da * db;
                    }
                }
                let inv = 1.0 / f32(win * win);
                v[SSIM_W] = ssim(sw, 0.5 * (sa + sb), m_u * inv, m_v * inv, m_uu * inv, m_vv * inv, m_uv * inv);
                v[SSIM_R] = ssim(sa, sb, n_a * inv, n_b * inv, n_aa * inv, n_bb * inv, n_ab * inv);
            }
        }
        workgroupBarrier();

        // Reduce the VALUES terms of all invocations (sums, except the maximum of |z|).
        for (var j = 0u; j < VALUES; j = j + 1u) {
            mem[j * THREADS + lid] = v[j];
        }
        workgroupBarrier();
        for (var s = THREADS / 2u; s > 0u; s = s >> 1u) {
            if (lid < s) {
                for (var j = 0u; j < VALUES; j = j + 1u) {
                    let here = mem[j * THREADS + lid];
                    let there = mem[j * THREADS + lid + s];
                    if (j == Z_MAX) {
                        mem[j * THREADS + lid] = max(here, there);
                    } else {
                        mem[j * THREADS + lid] = here + there;
                    }
                }
            }
            workgroupBarrier();
        }
        if (lid < VALUES) {
            partials[(group * 3u + c) * VALUES + lid] = mem[lid * THREADS];
        }
        workgroupBarrier();
    }
}

// SSIM from the means about shifts (su, sv) and raw second moments about them.
fn ssim(su: f32, sv: f32, mu: f32, mv: f32, muu: f32, mvv: f32, muv: f32) -> f32 {
    let mean_u = su + mu;
    let mean_v = sv + mv;
    let var_u = muu - mu * mu;
    let var_v = mvv - mv * mv;
    let cov = muv - mu * mv;
    let c1 = params.c1;
    let c2 = params.c2;
    return ((2.0 * mean_u * mean_v + c1) * (2.0 * cov + c2))
        / ((mean_u * mean_u + mean_v * mean_v + c1) * (var_u + var_v + c2));
}
