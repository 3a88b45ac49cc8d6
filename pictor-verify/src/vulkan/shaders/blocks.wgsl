// Bias-block sums (see `BlockSums` in verify/mod.rs): one workgroup per block of one tile.
//
// The statistics use a block's one-sample t, whose variance `(n·Σx² − (Σx)²)/(n − 1)` cancels
// catastrophically when the block's values are nearly constant (a consistent bias: exactly the
// blocks that matter). So this kernel does not return Σx² directly: pass one sums x (Σẽ, Σd̃), pass
// two sums the squared deviations from the block mean, M₂ = Σ(x − m)² − (Σ(x − m))²/n, which is
// accurate to a few units of f32 roundoff however large the mean. The host rebuilds
// Σx² = M₂ + (Σx)²/n in f64, so n·Σx² − (Σx)² = n·M₂ to f64 precision.
// Output per block: Σẽ (R, G, B), M₂(ẽ), Σd̃, M₂(d̃).

struct Params {
    lim_d: vec4<f32>,
    lim_e: vec4<f32>,
    var_floor: vec4<f32>,
    grad_thr: vec4<f32>,
    z_thr: f32,
    z_band: f32,
    c1: f32,
    c2: f32,
    radius: u32,
    win: u32,
    halo_lo: u32,
    side: u32,
    groups: u32,
    blocks: u32,
    block: u32,
    pad: u32,
}

struct Tile {
    offset: u32,
    width: u32,
    height: u32,
    first_group: u32,
    groups_x: u32,
    first_block: u32,
    blocks_x: u32,
    pad: u32,
}

@group(0) @binding(0) var<storage, read> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<Tile>;
@group(0) @binding(2) var<storage, read> block_tile: array<u32>;
@group(0) @binding(3) var<storage, read> worker: array<f32>;
@group(0) @binding(4) var<storage, read> ref_a: array<f32>;
@group(0) @binding(5) var<storage, read> ref_b: array<f32>;
@group(0) @binding(6) var<storage, read_write> partials: array<f32>;

const THREADS: u32 = 64u;
const VALUES: u32 = 12u;

var<workgroup> scratch: array<f32, 768>;

fn nonfinite(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u;
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let index = wid.x + wid.y * nwg.x;
    if (index >= params.blocks) {
        return;
    }
    let tile = tiles[block_tile[index]];
    let local_block = index - tile.first_block;
    let bs = params.block;
    let x0 = (local_block % tile.blocks_x) * bs;
    let y0 = (local_block / tile.blocks_x) * bs;
    let count = f32(min(bs, tile.width - x0) * min(bs, tile.height - y0));

    // Pass one: Σẽ and Σd̃ per channel.
    var v: array<f32, 12>;
    for (var j = 0u; j < VALUES; j = j + 1u) {
        v[j] = 0.0;
    }
    for (var i = lid; i < bs * bs; i = i + THREADS) {
        let x = x0 + i % bs;
        let y = y0 + i / bs;
        if (x < tile.width && y < tile.height) {
            let s = (tile.offset + y * tile.width + x) * 4u;
            for (var c = 0u; c < 3u; c = c + 1u) {
                let ed = winsorized(s, c);
                v[c] += ed.x;
                v[6u + c] += ed.y;
            }
        }
    }
    reduce(lid, &v);
    let sums = v;
    var mean: array<f32, 12>;
    for (var c = 0u; c < 3u; c = c + 1u) {
        mean[c] = sums[c] / count;
        mean[6u + c] = sums[6u + c] / count;
    }
    workgroupBarrier();

    // Pass two: Σ(x − m) and Σ(x − m)² per channel, then M₂.
    var dev: array<f32, 12>;
    for (var j = 0u; j < VALUES; j = j + 1u) {
        v[j] = 0.0;
        dev[j] = 0.0;
    }
    for (var i = lid; i < bs * bs; i = i + THREADS) {
        let x = x0 + i % bs;
        let y = y0 + i / bs;
        if (x < tile.width && y < tile.height) {
            let s = (tile.offset + y * tile.width + x) * 4u;
            for (var c = 0u; c < 3u; c = c + 1u) {
                let ed = winsorized(s, c);
                let de = ed.x - mean[c];
                let dd = ed.y - mean[6u + c];
                v[c] += de;
                v[3u + c] += de * de;
                v[6u + c] += dd;
                v[9u + c] += dd * dd;
            }
        }
    }
    reduce(lid, &v);
    if (lid < 3u) {
        let c = lid;
        let out = index * VALUES;
        partials[out + c] = sums[c];
        partials[out + 3u + c] = max(v[3u + c] - v[c] * v[c] / count, 0.0);
        partials[out + 6u + c] = sums[6u + c];
        partials[out + 9u + c] = max(v[9u + c] - v[6u + c] * v[6u + c] / count, 0.0);
    }
}

// (ẽ, d̃) of sample `s + c`: e = ((W − R₁) + (W − R₂))/2 (0 where W is not finite), d = R₁ − R₂,
// both clamped at the winsorizing limits.
fn winsorized(s: u32, c: u32) -> vec2<f32> {
    let w = worker[s + c];
    let a = ref_a[s + c];
    let b = ref_b[s + c];
    var e = 0.5 * ((w - a) + (w - b));
    if (nonfinite(w)) {
        e = 0.0;
    }
    return vec2<f32>(
        clamp(e, -params.lim_e[c], params.lim_e[c]),
        clamp(a - b, -params.lim_d[c], params.lim_d[c]),
    );
}

// Tree reduction of every invocation's `v` into scratch[j * THREADS] (all invocations take part;
// `v` is overwritten by the workgroup totals on return).
fn reduce(lid: u32, v: ptr<function, array<f32, 12>>) {
    for (var j = 0u; j < VALUES; j = j + 1u) {
        scratch[j * THREADS + lid] = (*v)[j];
    }
    workgroupBarrier();
    for (var s = THREADS / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            for (var j = 0u; j < VALUES; j = j + 1u) {
                scratch[j * THREADS + lid] += scratch[j * THREADS + lid + s];
            }
        }
        workgroupBarrier();
    }
    for (var j = 0u; j < VALUES; j = j + 1u) {
        (*v)[j] = scratch[j * THREADS];
    }
}
