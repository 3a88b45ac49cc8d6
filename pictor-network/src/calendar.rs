//! Dates and times in UTC from Unix milliseconds, without a date library (the civil calendar
//! conversions are Howard Hinnant's algorithms): how the web app shows times, and the calendar
//! months that statements and budgets are counted in.

const DAY_MS: u64 = 86_400_000;

/// (year, month 1–12, day 1–31) of a count of days since 1970-01-01.
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a civil date (year ≥ 1970, month 1–12, day 1–31).
pub fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `2026-12-06`.
pub fn date(ms: u64) -> String {
    let (year, month, day) = civil_from_days(ms / DAY_MS);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `2026-12-06 01:52 UTC`.
pub fn minute(ms: u64) -> String {
    let of_day = (ms % DAY_MS) / 1000;
    format!(
        "{} {:02}:{:02} UTC",
        date(ms),
        of_day / 3600,
        (of_day % 3600) / 60
    )
}

/// `2026-12-06T01:52:03Z` (RFC 3339, for files).
pub fn rfc3339(ms: u64) -> String {
    let of_day = (ms % DAY_MS) / 1000;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date(ms),
        of_day / 3600,
        (of_day % 3600) / 60,
        of_day % 60
    )
}

/// `2026-12` of a time.
pub fn month_of(ms: u64) -> String {
    let (year, month, _) = civil_from_days(ms / DAY_MS);
    format!("{year:04}-{month:02}")
}

/// The Unix-ms range `[first ms of the month, first ms of the next)` of `YYYY-MM`; `None` for
/// anything else (or a month before 1970 or after 9999).
pub fn month_range(month: &str) -> Option<(u64, u64)> {
    let (year, month) = month.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    let year: u64 = year.parse().ok()?;
    let month: u64 = month.parse().ok()?;
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    Some((
        days_from_civil(year, month, 1) * DAY_MS,
        days_from_civil(next_year, next_month, 1) * DAY_MS,
    ))
}

/// A duration in words: `850 ms`, `12.4 s`, `3 min 5 s`, `2 h 10 min`.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
        _ => format!("{} h {} min", ms / 3_600_000, (ms % 3_600_000) / 60_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_and_months_have_their_lengths() {
        for days in [0, 59, 60, 365, 10_957, 20_428, 20_793] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        // 2026-12-05 22:47:06 UTC.
        assert_eq!(minute(1_796_510_826_000), "2026-12-05 22:47 UTC");
        assert_eq!(rfc3339(1_796_510_826_000), "2026-12-05T22:47:06Z");
        assert_eq!(month_of(1_796_510_826_000), "2026-12");
        let (from, to) = month_range("2024-02").expect("a month");
        assert_eq!((to - from) / DAY_MS, 29);
        let (from, to) = month_range("2026-12").expect("a month");
        assert_eq!((to - from) / DAY_MS, 31);
        assert!(from <= 1_796_510_826_000 && 1_796_510_826_000 < to);
        for bad in ["2026-13", "2026-1", "1969-12", "x", "2026-12-01", ""] {
            assert_eq!(month_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_read_in_the_right_unit() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_400), "12.4 s");
        assert_eq!(duration(185_000), "3 min 5 s");
        assert_eq!(duration(7_800_000), "2 h 10 min");
    }
}
