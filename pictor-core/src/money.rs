//! Money: non-negative integer micro-credits with checked arithmetic.
//!
//! One credit is 1,000,000 micro-credits (µcr). Amounts are never floats: every stored or transferred
//! amount is a [`Money`], and every operation that could overflow or go below zero returns an error.
//! Ratios (fee splits, prices per bench-hour applied to bench-seconds) are computed in `u128` with an
//! explicit rounding direction.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Micro-credits in one credit.
pub const MICROS_PER_CREDIT: u64 = 1_000_000;

/// An amount of money in micro-credits. Serialized as a plain integer of micro-credits.
///
/// ```
/// use pictor_core::Money;
/// let price: Money = "2.5".parse()?;
/// assert_eq!(price.micros(), 2_500_000);
/// assert_eq!(price.checked_add(Money::from_micros(1))?.to_string(), "2.500001");
/// assert!(Money::MAX.checked_add(Money::from_micros(1)).is_err());
/// # Ok::<(), pictor_core::Error>(())
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(u64);

/// Which way a division that does not come out even is rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Toward zero: the payer never pays a fraction it was not charged.
    Down,
    /// Away from zero: holds and quotes never under-reserve.
    Up,
}

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);
    /// The largest representable amount.
    pub const MAX: Money = Money(u64::MAX);

    /// An amount of micro-credits.
    pub const fn from_micros(micros: u64) -> Self {
        Money(micros)
    }

    /// Whole credits, failing on overflow.
    pub fn from_credits(credits: u64) -> Result<Self> {
        credits
            .checked_mul(MICROS_PER_CREDIT)
            .map(Money)
            .ok_or(Error::MoneyOutOfRange {
                operation: "from_credits",
            })
    }

    /// The amount in micro-credits.
    pub const fn micros(self) -> u64 {
        self.0
    }

    /// True for zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + other`, or an error on overflow.
    pub fn checked_add(self, other: Money) -> Result<Money> {
        self.0
            .checked_add(other.0)
            .map(Money)
            .ok_or(Error::MoneyOutOfRange { operation: "add" })
    }

    /// `self - other`, or an error when the result would be negative.
    pub fn checked_sub(self, other: Money) -> Result<Money> {
        self.0
            .checked_sub(other.0)
            .map(Money)
            .ok_or(Error::MoneyOutOfRange {
                operation: "subtract",
            })
    }

    /// `self × factor`, or an error on overflow.
    pub fn checked_mul(self, factor: u64) -> Result<Money> {
        self.0
            .checked_mul(factor)
            .map(Money)
            .ok_or(Error::MoneyOutOfRange {
                operation: "multiply",
            })
    }

    /// `self × numerator ÷ denominator`, computed exactly in 128 bits and rounded as asked.
    pub fn mul_ratio(self, numerator: u64, denominator: u64, rounding: Rounding) -> Result<Money> {
        if denominator == 0 {
            return Err(Error::MoneyOutOfRange {
                operation: "divide by zero",
            });
        }
        let product = u128::from(self.0) * u128::from(numerator);
        let denominator = u128::from(denominator);
        let quotient = match rounding {
            Rounding::Down => product / denominator,
            Rounding::Up => product.div_ceil(denominator),
        };
        u64::try_from(quotient)
            .map(Money)
            .map_err(|_| Error::MoneyOutOfRange {
                operation: "multiply by ratio",
            })
    }

    /// The sum of many amounts, or an error on overflow.
    pub fn sum<I: IntoIterator<Item = Money>>(amounts: I) -> Result<Money> {
        amounts
            .into_iter()
            .try_fold(Money::ZERO, |total, amount| total.checked_add(amount))
    }

    /// The price of `bench_seconds` of work at `price_per_bench_hour`, rounded as asked.
    /// Work is measured in milli-bench-seconds so sub-second tasks are priced exactly.
    pub fn for_work(
        price_per_bench_hour: Money,
        bench_millis: u64,
        rounding: Rounding,
    ) -> Result<Money> {
        price_per_bench_hour.mul_ratio(bench_millis, 3_600_000, rounding)
    }
}

impl fmt::Display for Money {
    /// Credits with six decimals: `12.500000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}",
            self.0 / MICROS_PER_CREDIT,
            self.0 % MICROS_PER_CREDIT
        )
    }
}

impl FromStr for Money {
    type Err = Error;

    /// Parses a decimal number of credits (`"12"`, `"0.5"`, `"0.000001"`) exactly, without floats.
    fn from_str(text: &str) -> Result<Money> {
        let bad = |reason: &str| Error::invalid("amount", format!("{text:?}: {reason}"));
        let text_trimmed = text.trim();
        let (whole, fraction) = match text_trimmed.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (text_trimmed, ""),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(bad("empty amount"));
        }
        let digits_only = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if !digits_only(whole) || !digits_only(fraction) {
            return Err(bad("expected a non-negative decimal number of credits"));
        }
        if fraction.len() > 6 {
            return Err(bad("at most 6 decimals (1 micro-credit)"));
        }
        let whole_credits: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad("too large"))?
        };
        let fraction_micros: u64 = if fraction.is_empty() {
            0
        } else {
            let padded = format!("{fraction:0<6}");
            padded.parse().map_err(|_| bad("bad decimals"))?
        };
        Money::from_credits(whole_credits)
            .and_then(|m| m.checked_add(Money(fraction_micros)))
            .map_err(|_| bad("too large"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_displays_exactly() {
        assert_eq!("1".parse::<Money>().unwrap(), Money(1_000_000));
        assert_eq!("0.000001".parse::<Money>().unwrap(), Money(1));
        assert_eq!(".5".parse::<Money>().unwrap(), Money(500_000));
        assert_eq!(Money(12_345_678).to_string(), "12.345678");
        for bad in ["", ".", "-1", "1.0000001", "1e3", "abc", "18446744073710"] {
            let err = bad.parse::<Money>().unwrap_err();
            assert_eq!(err.field(), Some("amount"), "{bad:?}");
        }
    }

    #[test]
    fn overflow_and_underflow_are_errors() {
        assert!(Money::MAX.checked_add(Money(1)).is_err());
        assert!(Money(1).checked_sub(Money(2)).is_err());
        assert!(Money::MAX.checked_mul(2).is_err());
        assert!(Money::from_credits(u64::MAX).is_err());
        assert!(Money::sum([Money::MAX, Money(1)]).is_err());
        assert!(Money(1).mul_ratio(1, 0, Rounding::Down).is_err());
        assert!(Money::MAX.mul_ratio(3, 2, Rounding::Down).is_err());
    }

    #[test]
    fn ratio_rounds_in_the_direction_asked() {
        assert_eq!(Money(10).mul_ratio(1, 3, Rounding::Down).unwrap(), Money(3));
        assert_eq!(Money(10).mul_ratio(1, 3, Rounding::Up).unwrap(), Money(4));
        // 1 credit per bench-hour for 1.8 bench-seconds = 500 µcr.
        let price = Money::from_credits(1).unwrap();
        assert_eq!(
            Money::for_work(price, 1_800, Rounding::Up).unwrap(),
            Money(500)
        );
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(micros in any::<u64>()) {
            let money = Money(micros);
            prop_assert_eq!(money.to_string().parse::<Money>().unwrap(), money);
        }

        #[test]
        fn add_then_sub_is_identity_or_error(a in any::<u64>(), b in any::<u64>()) {
            match Money(a).checked_add(Money(b)) {
                Ok(sum) => prop_assert_eq!(sum.checked_sub(Money(b)).unwrap(), Money(a)),
                Err(_) => prop_assert!(u128::from(a) + u128::from(b) > u128::from(u64::MAX)),
            }
        }

        #[test]
        fn ratio_bounds(amount in any::<u32>(), num in 1u64..1_000_000, den in 1u64..1_000_000) {
            let down = Money(u64::from(amount)).mul_ratio(num, den, Rounding::Down).unwrap();
            let up = Money(u64::from(amount)).mul_ratio(num, den, Rounding::Up).unwrap();
            prop_assert!(up.micros() - down.micros() <= 1);
            let exact = u128::from(amount) * u128::from(num);
            prop_assert!(u128::from(down.micros()) * u128::from(den) <= exact);
            prop_assert!(u128::from(up.micros()) * u128::from(den) >= exact);
        }
    }
}
