//! Counter-based random numbers: every number the path tracer draws is a pure function of
//! `(seed, frame, pixel x, pixel y, sample index, bounce, dimension)`.
//!
//! There is no generator state. A number is computed by absorbing the seven integers one after the
//! other into a 64-bit hash state, each absorption being `state ← mix64((state + γ) ⊕ value)`, where
//! `mix64` is the SplitMix64 finaliser (Stafford's "Mix13": xor-shift, multiply, xor-shift, multiply,
//! xor-shift — a bijection of `u64` with full avalanche) and `γ` is the golden-ratio increment
//! `0x9E37_79B9_7F4A_7C15`. The top 53 bits of the final state become a uniform `f64` in `[0, 1)`.
//!
//! The per-pixel and per-sample prefixes of the chain are cached in [`PixelKey`] and [`SampleRng`],
//! so a path pays two `mix64` rounds per number. Because nothing is shared between pixels, a region of
//! a frame renders bit-identical to the same pixels of the full frame, whatever the thread count, and
//! two seeds give statistically independent images.

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
/// Domain separator of the chain's start, so seed 0 does not begin from state 0.
const DOMAIN: u64 = 0x7069_6374_6f72_5254; // "pictorRT"
/// 2⁻⁵³: turns 53 random bits into `[0, 1)`.
const UNIT_53: f64 = 1.0 / (1u64 << 53) as f64;

/// The SplitMix64 finaliser: a bijective 64-bit mix with full avalanche.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Absorbs one integer into a hash state.
#[inline]
fn absorb(state: u64, value: u64) -> u64 {
    mix64(state.wrapping_add(GAMMA) ^ value)
}

/// The hash state after absorbing `(seed, frame, x, y)`: the key of one pixel of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelKey(u64);

impl PixelKey {
    /// The key of pixel `(x, y)` (frame coordinates) of `frame`, rendered with `seed`.
    pub fn new(seed: u64, frame: u32, x: u32, y: u32) -> Self {
        let state = absorb(DOMAIN, seed);
        let state = absorb(state, u64::from(frame));
        let state = absorb(state, u64::from(x));
        PixelKey(absorb(state, u64::from(y)))
    }

    /// The random numbers of sample `index` of this pixel.
    pub fn sample(self, index: u32) -> SampleRng {
        SampleRng(absorb(self.0, u64::from(index)))
    }
}

/// The random numbers of one sample (one camera path) of one pixel: a pure function of
/// `(bounce, dimension)`, evaluated on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleRng(u64);

impl SampleRng {
    /// 64 random bits for `(bounce, dim)`.
    #[inline]
    pub fn bits(self, bounce: u32, dim: u32) -> u64 {
        mix64(absorb(self.0, (u64::from(bounce) << 32) | u64::from(dim)))
    }

    /// A uniform number in `[0, 1)` for `(bounce, dim)`.
    #[inline]
    pub fn uniform(self, bounce: u32, dim: u32) -> f64 {
        (self.bits(bounce, dim) >> 11) as f64 * UNIT_53
    }
}

/// The whole chain in one call: the uniform number in `[0, 1)` that the renderer uses for
/// `(seed, frame, x, y, sample, bounce, dim)`.
pub fn uniform(seed: u64, frame: u32, x: u32, y: u32, sample: u32, bounce: u32, dim: u32) -> f64 {
    PixelKey::new(seed, frame, x, y)
        .sample(sample)
        .uniform(bounce, dim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_pure_function_of_its_counters() {
        let a = uniform(7, 3, 10, 20, 5, 2, 1);
        assert_eq!(a.to_bits(), uniform(7, 3, 10, 20, 5, 2, 1).to_bits());
        let neighbours = [
            uniform(8, 3, 10, 20, 5, 2, 1),
            uniform(7, 4, 10, 20, 5, 2, 1),
            uniform(7, 3, 11, 20, 5, 2, 1),
            uniform(7, 3, 10, 21, 5, 2, 1),
            uniform(7, 3, 10, 20, 6, 2, 1),
            uniform(7, 3, 10, 20, 5, 3, 1),
            uniform(7, 3, 10, 20, 5, 2, 2),
            // x and y swapped must differ too
            uniform(7, 3, 20, 10, 5, 2, 1),
        ];
        for other in neighbours {
            assert_ne!(a.to_bits(), other.to_bits());
        }
    }

    #[test]
    fn is_uniform_and_uncorrelated() {
        const N: usize = 200_000;
        const BINS: usize = 64;
        let mut counts = [0u32; BINS];
        let (mut sum, mut sum_xy) = (0.0, 0.0);
        for i in 0..N as u32 {
            let rng = PixelKey::new(1, 1, i % 640, i / 640).sample(0);
            let (u, v) = (rng.uniform(0, 0), rng.uniform(0, 1));
            assert!((0.0..1.0).contains(&u));
            counts[(u * BINS as f64) as usize] += 1;
            sum += u;
            sum_xy += (u - 0.5) * (v - 0.5);
        }
        let mean = sum / N as f64;
        // σ(mean) = √(1/12/N) ≈ 6.5e-4: allow 5σ.
        assert!((mean - 0.5).abs() < 3.3e-3, "mean {mean}");
        // Correlation of neighbouring dimensions: σ ≈ (1/12)/√N ≈ 1.9e-4 for the covariance.
        assert!((sum_xy / N as f64).abs() < 1e-3, "covariance {sum_xy}");
        // χ² with 63 degrees of freedom: mean 63, σ ≈ 11.2; 130 is beyond 5σ.
        let expected = N as f64 / BINS as f64;
        let chi2: f64 = counts
            .iter()
            .map(|&c| (f64::from(c) - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 130.0, "chi2 {chi2}");
    }
}
