//! From pooled statistics to a verdict: the thresholds table of `docs/VERIFICATION.md` as configuration.

use super::stats::{PooledStats, inverse_normal_cdf, student_t_quantile};
use super::{CHANNELS, Verdict};
use serde::{Deserialize, Serialize};

/// The decision thresholds (defaults calibrated on the synthetic honest matrix: the honest maximum
/// plus a margin; see the tests in `tests/verify_synthetic.rs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// (1) `Q` inside `[lo, hi]` accepts. Default `[0.85, 1.15]`.
    pub q_accept: [f64; 2],
    /// (1) `Q` above this rejects. Default 1.30.
    pub q_reject_high: f64,
    /// (1) `Q` below this rejects when a bias/correlation signal is present (else escalates).
    /// Default 0.70.
    pub q_reject_low: f64,
    /// (2) `z_excess` (fraction of samples whose worker value lies below the reference by more
    /// than the Šidák quantile, one-sided) that rejects. Default 0.0025.
    pub z_fraction_reject: f64,
    /// (2) `z_excess` that escalates. Default 0.002 (honest maximum measured: 0.0016, fireflies).
    pub z_fraction_escalate: f64,
    /// (3) Family-wise α for `max |T_B|`: the limit is
    /// `max(t_max_floor, √max(1, mean T'_B²) · t⁻¹(1 − α'/2; n_B − 1))`, `α'` the Šidák per-block level
    /// over all `(block, channel)` pairs, `n_B` the block's pixels. Default 1e-6 (honest max |T_B| reached 0.92 of the 1e-4 limit).
    pub block_alpha: f64,
    /// (3) Lowest `max |T_B|` limit. Default 5.0.
    pub t_max_floor: f64,
    /// (3) `bias_ratio` at most this is no bias signal. Default 1.25.
    pub bias_ratio_accept: f64,
    /// (3) `bias_ratio` above this rejects. Default 1.6.
    pub bias_ratio_reject: f64,
    /// (3) `max_c |bias_z|` at most this is no bias signal. Default 4.5.
    pub bias_z_accept: f64,
    /// (3) `max_c |bias_z|` above this rejects. Default 6.0.
    pub bias_z_reject: f64,
    /// (4) Noise-level ratio inside `[lo, hi]` accepts. Default `[0.8, 1.25]`.
    pub noise_accept: [f64; 2],
    /// (4) Noise-level ratio above this rejects. Default 1.6.
    pub noise_reject_high: f64,
    /// (4) Below this rejects with a bias/correlation signal (else escalates). Default 0.6.
    pub noise_reject_low: f64,
    /// (5) `ρ(e) − ρ(d)` at most this accepts. Default 0.05.
    pub rho_accept: f64,
    /// (5) Above this rejects. Default 0.15.
    pub rho_reject: f64,
    /// (8) Rejects when `1 − SSIM(W,R̄) > ssim_factor · (1 − SSIM(R₁,R₂)) + 0.01`. Default 2.0
    /// (honest ≈ 0.5–1).
    pub ssim_factor: f64,
    /// (8) Rejects when `PSNR(W,R̄) < PSNR(R₁,R₂) − psnr_margin_db` (honest ≈ +3 dB). Default 3.0.
    pub psnr_margin_db: f64,
    /// (1, 3, 4, 5) Sampling-aware accept edges: the accept band of `Q`, the noise-level ratio,
    /// `ρ(e) − ρ(d)` and `bias_ratio` is at least `k_a · SE` wide on each side of its honest value,
    /// `k_a = t⁻¹(1 − α/2; units − 1)` with this `α` and the statistic's standard error
    /// ([`PooledStats::q_se`] etc.). On a large frame `k_a · SE` is inside the fixed edges and
    /// changes nothing; on a tiny frame the statistics are that uncertain and the edges follow.
    /// Default 1e-3.
    pub sampling_alpha_accept: f64,
    /// (1, 3, 4, 5) The same for the reject edges. Default 1e-6.
    pub sampling_alpha_reject: f64,
}

/// The edges of one statistic after [`Thresholds`]' sampling-aware widening.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Edges {
    accept_low: f64,
    accept_high: f64,
    reject_low: f64,
    reject_high: f64,
}

impl Edges {
    /// A two-sided statistic: accepted inside `accept`, rejected outside the reject edges.
    fn band(accept: [f64; 2], reject_low: f64, reject_high: f64) -> Edges {
        Edges {
            accept_low: accept[0],
            accept_high: accept[1],
            reject_low,
            reject_high,
        }
    }

    /// A statistic judged on its high side only.
    fn upper(accept_high: f64, reject_high: f64) -> Edges {
        Edges {
            accept_low: f64::NEG_INFINITY,
            accept_high,
            reject_low: f64::NEG_INFINITY,
            reject_high,
        }
    }

    /// Widens these edges around `centre` to at least `k_accept·se` / `k_reject·se` from it (a
    /// zero or NaN standard error leaves them; an infinite one opens them).
    fn widened(self, centre: f64, se: f64, (k_accept, k_reject): (f64, f64)) -> Edges {
        let margin = |k: f64| if se > 0.0 { k * se } else { 0.0 };
        let (accept, reject) = (margin(k_accept), margin(k_reject));
        Edges {
            accept_low: self.accept_low.min(centre - accept),
            accept_high: self.accept_high.max(centre + accept),
            reject_low: self.reject_low.min(centre - reject),
            reject_high: self.reject_high.max(centre + reject),
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            q_accept: [0.85, 1.15],
            q_reject_high: 1.30,
            q_reject_low: 0.70,
            z_fraction_reject: 0.0025,
            z_fraction_escalate: 0.002,
            block_alpha: 1e-6,
            t_max_floor: 5.0,
            bias_ratio_accept: 1.25,
            bias_ratio_reject: 1.6,
            bias_z_accept: 4.5,
            bias_z_reject: 6.0,
            noise_accept: [0.8, 1.25],
            noise_reject_high: 1.6,
            noise_reject_low: 0.6,
            rho_accept: 0.05,
            rho_reject: 0.15,
            ssim_factor: 2.0,
            psnr_margin_db: 3.0,
            sampling_alpha_accept: 1e-3,
            sampling_alpha_reject: 1e-6,
        }
    }
}

impl Thresholds {
    /// The sampling-aware multipliers `(k_accept, k_reject)` of a statistic whose standard error
    /// comes from `units` independent units (see [`Thresholds::sampling_alpha_accept`]); infinite
    /// with fewer than two units (the statistic cannot be judged).
    fn sampling_multipliers(&self, units: u64) -> (f64, f64) {
        if units < 2 {
            return (f64::INFINITY, f64::INFINITY);
        }
        let df = (units - 1) as f64;
        let k = |alpha: f64| student_t_quantile(1.0 - alpha / 2.0, df);
        (k(self.sampling_alpha_accept), k(self.sampling_alpha_reject))
    }

    /// The `max |T_B|` limit for these statistics (see [`Thresholds::block_alpha`]).
    pub fn t_max_limit(&self, stats: &PooledStats) -> f64 {
        let n = stats.blocks.max(1) as f64;
        let per_block = -((-self.block_alpha).ln_1p() / n).exp_m1();
        let df = f64::from(stats.block_pixels.max(2) - 1);
        let q = if df >= 10.0 {
            student_t_quantile(1.0 - per_block / 2.0, df)
        } else {
            -inverse_normal_cdf(per_block / 2.0) * 2.0
        };
        let scale = stats.t_null_mean_sq.max(1.0).sqrt();
        (scale * q).max(self.t_max_floor)
    }
}

/// The outcome of verifying a frame: the verdict, why, and every statistic as evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Accept, reject or escalate (rerun with more tiles).
    pub verdict: Verdict,
    /// One line per statistic outside its accept range, naming the statistic and its value.
    pub reasons: Vec<String>,
    /// The statistics the thresholds were applied to, pooled over every checked tile.
    pub stats: PooledStats,
}

/// Applies the thresholds: any REJECT → reject; else any ESCALATE → escalate; else accept.
pub fn decide(stats: &PooledStats, thresholds: &Thresholds) -> Decision {
    let t = thresholds;
    let mut rejects = Vec::new();
    let mut escalates = Vec::new();
    let t_limit = t.t_max_limit(stats);
    let per_cell = t.sampling_multipliers(stats.cells);
    let q_edges =
        Edges::band(t.q_accept, t.q_reject_low, t.q_reject_high).widened(1.0, stats.q_se, per_cell);
    let noise_edges = Edges::band(t.noise_accept, t.noise_reject_low, t.noise_reject_high).widened(
        1.0,
        stats.noise_ratio_se,
        per_cell,
    );
    let rho_edges =
        Edges::upper(t.rho_accept, t.rho_reject).widened(0.0, stats.rho_diff_se, per_cell);
    let bias_edges = Edges::upper(t.bias_ratio_accept, t.bias_ratio_reject).widened(
        1.0,
        stats.bias_ratio_se,
        t.sampling_multipliers(stats.blocks / CHANNELS as u64),
    );
    let signal = stats.bias_ratio > bias_edges.accept_high
        || stats.rho_diff > rho_edges.accept_high
        || stats.bias_z_max > t.bias_z_accept
        || stats.t_max > t_limit;

    if stats.nonfinite > 0 {
        rejects.push(format!(
            "non-finite worker samples = {} > 0",
            stats.nonfinite
        ));
    }
    // (1) noise ratio
    let q = stats.q;
    if q.is_nan() || q > q_edges.reject_high {
        rejects.push(format!("Q = {q:.4} > {:.2}", q_edges.reject_high));
    } else if q < q_edges.reject_low && signal {
        rejects.push(format!(
            "Q = {q:.4} < {:.2} with a bias/correlation signal",
            q_edges.reject_low
        ));
    } else if q < q_edges.accept_low || q > q_edges.accept_high {
        escalates.push(format!(
            "Q = {q:.4} outside [{:.2}, {:.2}]",
            q_edges.accept_low, q_edges.accept_high
        ));
    }
    // (2) z count
    let zf = stats.z_excess;
    if zf > t.z_fraction_reject {
        rejects.push(format!(
            "z excess = {:.4} % ({} samples below the reference by z > {:.2}) > {:.4} %",
            zf * 100.0,
            stats.z_exceed,
            stats.z_threshold,
            t.z_fraction_reject * 100.0,
        ));
    } else if zf > t.z_fraction_escalate {
        escalates.push(format!(
            "z excess = {:.4} % ({} samples below the reference by z > {:.2}) > {:.4} %",
            zf * 100.0,
            stats.z_exceed,
            stats.z_threshold,
            t.z_fraction_escalate * 100.0,
        ));
    }
    // (3) block bias
    if stats.t_max.is_nan() || stats.t_max > t_limit {
        rejects.push(format!(
            "max |T_B| = {:.3} > limit {t_limit:.3}",
            stats.t_max
        ));
    }
    if stats.bias_ratio.is_nan() || stats.bias_ratio > bias_edges.reject_high {
        rejects.push(format!(
            "block bias ratio mean T_B²/mean T'_B² = {:.4} > {:.2}",
            stats.bias_ratio, bias_edges.reject_high
        ));
    } else if stats.bias_ratio > bias_edges.accept_high {
        escalates.push(format!(
            "block bias ratio mean T_B²/mean T'_B² = {:.4} > {:.2}",
            stats.bias_ratio, bias_edges.accept_high
        ));
    }
    let bz = stats.bias_z_max;
    let bias_z = format!(
        "signed block bias max |bias_z| = {bz:.3} (R {:.2}, G {:.2}, B {:.2})",
        stats.bias_z[0], stats.bias_z[1], stats.bias_z[2]
    );
    if bz.is_nan() || bz > t.bias_z_reject {
        rejects.push(format!("{bias_z} > {:.2}", t.bias_z_reject));
    } else if bz > t.bias_z_accept {
        escalates.push(format!("{bias_z} > {:.2}", t.bias_z_accept));
    }
    // (4) noise level
    let nr = stats.noise_ratio;
    if nr.is_nan() || nr > noise_edges.reject_high {
        rejects.push(format!(
            "noise-level ratio = {nr:.4} > {:.2}",
            noise_edges.reject_high
        ));
    } else if nr < noise_edges.reject_low && signal {
        rejects.push(format!(
            "noise-level ratio = {nr:.4} < {:.2} with a bias/correlation signal",
            noise_edges.reject_low
        ));
    } else if nr < noise_edges.accept_low || nr > noise_edges.accept_high {
        escalates.push(format!(
            "noise-level ratio = {nr:.4} outside [{:.2}, {:.2}]",
            noise_edges.accept_low, noise_edges.accept_high
        ));
    }
    // (5) residual correlation
    let rd = stats.rho_diff;
    if rd.is_nan() || rd > rho_edges.reject_high {
        rejects.push(format!(
            "ρ(e) − ρ(d) = {rd:.4} > {:.3} (ρ(e) = {:.4}, ρ(d) = {:.4})",
            rho_edges.reject_high, stats.rho_e, stats.rho_d
        ));
    } else if rd > rho_edges.accept_high {
        escalates.push(format!(
            "ρ(e) − ρ(d) = {rd:.4} > {:.3} (ρ(e) = {:.4}, ρ(d) = {:.4})",
            rho_edges.accept_high, stats.rho_e, stats.rho_d
        ));
    }
    // (8) coarse gates
    let ssim_gate = t.ssim_factor * (1.0 - stats.ssim_ref) + 0.01;
    if (1.0 - stats.ssim_w).is_nan() || 1.0 - stats.ssim_w > ssim_gate {
        rejects.push(format!(
            "1 − SSIM(W,R̄) = {:.4} > {ssim_gate:.4} (1 − SSIM(R₁,R₂) = {:.4})",
            1.0 - stats.ssim_w,
            1.0 - stats.ssim_ref
        ));
    }
    if stats.psnr_w.is_nan() || stats.psnr_w < stats.psnr_ref - t.psnr_margin_db {
        rejects.push(format!(
            "PSNR(W,R̄) = {:.2} dB < PSNR(R₁,R₂) − {:.1} = {:.2} dB",
            stats.psnr_w,
            t.psnr_margin_db,
            stats.psnr_ref - t.psnr_margin_db
        ));
    }

    let verdict = if !rejects.is_empty() {
        Verdict::Reject
    } else if !escalates.is_empty() {
        Verdict::Escalate
    } else {
        Verdict::Accept
    };
    let reasons = rejects
        .into_iter()
        .map(|r| format!("REJECT: {r}"))
        .chain(escalates.into_iter().map(|r| format!("ESCALATE: {r}")))
        .collect();
    Decision {
        verdict,
        reasons,
        stats: stats.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn honest() -> PooledStats {
        PooledStats {
            tiles: 16,
            samples: 196_608,
            q: 1.0,
            z_threshold: 5.8,
            blocks: 3072,
            block_pixels: 64,
            t_max: 4.0,
            t_null_mean_sq: 1.0,
            bias_ratio: 1.0,
            noise_ratio: 1.0,
            ssim_w: 0.5,
            ssim_ref: 0.3,
            psnr_w: 23.0,
            psnr_ref: 20.0,
            ..PooledStats::default()
        }
    }

    #[test]
    fn any_reject_rejects_any_escalate_escalates() {
        let t = Thresholds::default();
        assert_eq!(decide(&honest(), &t).verdict, Verdict::Accept);
        let d = decide(
            &PooledStats {
                q: 0.75,
                ..honest()
            },
            &t,
        );
        assert_eq!(d.verdict, Verdict::Escalate);
        assert!(d.reasons[0].contains("Q = 0.7500"));
        let d = decide(
            &PooledStats {
                q: 1.5,
                noise_ratio: 0.7,
                ..honest()
            },
            &t,
        );
        assert_eq!(d.verdict, Verdict::Reject);
        assert!(
            d.reasons
                .iter()
                .any(|r| r.starts_with("REJECT: Q = 1.5000"))
        );
        assert!(
            d.reasons
                .iter()
                .any(|r| r.starts_with("ESCALATE: noise-level ratio"))
        );
        // Low Q rejects only with a bias or correlation signal.
        let d = decide(
            &PooledStats {
                q: 0.5,
                rho_diff: 0.1,
                ..honest()
            },
            &t,
        );
        assert_eq!(d.verdict, Verdict::Reject);
        let d = decide(
            &PooledStats {
                nonfinite: 3,
                ..honest()
            },
            &t,
        );
        assert_eq!(d.verdict, Verdict::Reject);
        let d = decide(
            &PooledStats {
                t_max: 40.0,
                ..honest()
            },
            &t,
        );
        assert!(d.reasons[0].contains("max |T_B| = 40.000"));
        let json = serde_json::to_string(&d).expect("json");
        assert!(json.contains("\"verdict\":\"reject\""));
    }

    #[test]
    fn edges_widen_with_the_standard_error_of_a_small_frame() {
        let t = Thresholds::default();
        // A large frame: Q = 1.4 is 40 standard errors out — rejected on the fixed edge.
        let large = PooledStats {
            q: 1.4,
            q_se: 0.01,
            cells: 256,
            ..honest()
        };
        let d = decide(&large, &t);
        assert_eq!(d.verdict, Verdict::Reject);
        assert!(
            d.reasons[0].contains("Q = 1.4000 > 1.30"),
            "{:?}",
            d.reasons
        );
        // The same Q on 12 cells with a standard error of 0.2 is 2 standard errors out: the
        // reject edge is 1 + t⁻¹(1 − 5e-7; 11)·0.2 and the accept band 1 ± t⁻¹(1 − 5e-4; 11)·0.2.
        let small = PooledStats {
            q_se: 0.2,
            cells: 12,
            ..large.clone()
        };
        let d = decide(&small, &t);
        assert_eq!(d.verdict, Verdict::Accept, "{:?}", d.reasons);
        // Far out even for a small frame: rejected, and the reason names the widened edge.
        let d = decide(
            &PooledStats {
                q: 4.0,
                ..small.clone()
            },
            &t,
        );
        assert_eq!(d.verdict, Verdict::Reject);
        let (k_accept, k_reject) = t.sampling_multipliers(12);
        assert!(k_accept > 4.0 && k_reject > 9.0 && k_reject < 11.0);
        assert!(
            d.reasons[0].contains(&format!("> {:.2}", 1.0 + k_reject * 0.2)),
            "{:?}",
            d.reasons
        );
        // ρ(e) − ρ(d) and the bias ratio follow the same rule.
        let rho = PooledStats {
            rho_diff: 0.3,
            rho_diff_se: 0.1,
            cells: 12,
            ..honest()
        };
        assert_eq!(decide(&rho, &t).verdict, Verdict::Accept);
        let rho_large = PooledStats {
            rho_diff_se: 0.01,
            cells: 256,
            ..rho
        };
        assert_eq!(decide(&rho_large, &t).verdict, Verdict::Reject);
        // Without cells (no standard error) the fixed edges hold.
        let none = PooledStats { q: 1.4, ..honest() };
        assert_eq!(decide(&none, &t).verdict, Verdict::Reject);
    }
}
