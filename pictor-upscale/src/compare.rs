//! The rule a checker accepts a recomputed tile by. Two honest fp32 runs of the same model on the
//! same tile — on another engine, thread count or CPU — differ by at most one 8-bit level, and in
//! at most a few values in ten thousand (measured: ../shared/design/UPSCALING.md); every cheat
//! measured (another model, half precision, an interpolation, another input) differs by more.
//! A PSNR threshold is no rule: a sibling model scores 38–49 dB against the reference.

use serde::{Deserialize, Serialize};

/// The largest difference, in 8-bit levels, an honest value may show.
pub const MAX_DIFFERENCE: u8 = 1;

/// The share of values that must be identical, in thousandths: 999 ‰ = 99.9 %.
pub const MIN_IDENTICAL_PER_MILLE: u64 = 999;

/// How two 8-bit renditions of one tile agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// Values compared (pixels × channels).
    pub values: u64,
    /// Values equal in both.
    pub identical: u64,
    /// The largest difference seen, in 8-bit levels.
    pub max_difference: u8,
}

impl Agreement {
    /// Compares two equally long runs of 8-bit values.
    ///
    /// # Errors
    /// When their lengths differ (the worker's tile has the wrong size).
    pub fn of(expected: &[u8], got: &[u8]) -> Result<Agreement, String> {
        if expected.len() != got.len() {
            return Err(format!(
                "{} values where {} were expected",
                got.len(),
                expected.len()
            ));
        }
        let mut identical = 0_u64;
        let mut max_difference = 0_u8;
        for (a, b) in expected.iter().zip(got) {
            let difference = a.abs_diff(*b);
            identical += u64::from(difference == 0);
            max_difference = max_difference.max(difference);
        }
        Ok(Agreement {
            values: expected.len() as u64,
            identical,
            max_difference,
        })
    }

    /// Whether the values agree as two honest runs do.
    pub fn accepts(&self) -> bool {
        self.max_difference <= MAX_DIFFERENCE
            && self.identical * 1000 >= self.values * MIN_IDENTICAL_PER_MILLE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_level_in_a_few_values_passes_and_more_does_not() {
        let expected = vec![100_u8; 10_000];
        let mut honest = expected.clone();
        for value in honest.iter_mut().take(10) {
            *value += 1;
        }
        assert!(Agreement::of(&expected, &honest).unwrap().accepts());
        let mut two_levels = expected.clone();
        two_levels[0] = 102;
        assert!(!Agreement::of(&expected, &two_levels).unwrap().accepts());
        let mut many = expected.clone();
        for value in many.iter_mut().take(11) {
            *value = 99;
        }
        let agreement = Agreement::of(&expected, &many).unwrap();
        assert_eq!((agreement.identical, agreement.max_difference), (9_989, 1));
        assert!(!agreement.accepts(), "11 in 10,000 differ: below 99.9 %");
        assert!(Agreement::of(&expected, &expected[1..]).is_err());
    }
}
