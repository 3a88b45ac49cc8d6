//! The figures of My Workers that are pure arithmetic over what the store and the ledger hold:
//! earnings per day and uptime.

use super::statements::AccountEntry;
use crate::store::providers::ActivityRow;
use pictor_core::api::WorkerActivity;

/// Days of earnings the charts show.
pub const CHART_DAYS: u64 = 14;
const DAY_MS: u64 = 86_400_000;

/// Earnings of one UTC day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayEarnings {
    /// The day's first millisecond, Unix ms.
    pub day_start_ms: u64,
    /// Earned that day, micro-credits.
    pub micros: i128,
}

/// The per-day sums of `entries`' earnings over the [`CHART_DAYS`] days up to `now_ms`.
pub fn earnings_per_day<'a>(
    entries: impl IntoIterator<Item = &'a AccountEntry>,
    now_ms: u64,
) -> Vec<DayEarnings> {
    let today = now_ms / DAY_MS;
    let first = today.saturating_sub(CHART_DAYS - 1);
    let mut days: Vec<DayEarnings> = (first..=today)
        .map(|day| DayEarnings {
            day_start_ms: day * DAY_MS,
            micros: 0,
        })
        .collect();
    for entry in entries {
        if let (true, Some(at)) = (entry.is_earning(), entry.at_ms)
            && let Some(slot) = (at / DAY_MS)
                .checked_sub(first)
                .and_then(|i| days.get_mut(usize::try_from(i).ok()?))
        {
            slot.micros += entry.signed_micros;
        }
    }
    days
}

/// Per mille of the 24 hours before `now_ms` that a worker was connected, from its activity
/// (oldest first): a session runs from a `connected` report to a `stopped` report or to its last
/// report before the next `connected`; the session going on now (when `connected_now`) runs to
/// `now_ms`.
pub fn uptime_permille(
    activity_oldest_first: &[ActivityRow],
    now_ms: u64,
    connected_now: bool,
) -> u32 {
    let from = now_ms.saturating_sub(DAY_MS);
    let mut total = 0u64;
    let mut session: Option<(u64, u64)> = None;
    let close = |session: Option<(u64, u64)>, total: &mut u64| {
        if let Some((start, end)) = session {
            *total += end.min(now_ms).saturating_sub(start.max(from));
        }
    };
    for row in activity_oldest_first {
        match row.activity {
            WorkerActivity::Connected => {
                close(session.take(), &mut total);
                session = Some((row.at_ms, row.at_ms));
            }
            WorkerActivity::Stopped => {
                if let Some((start, _)) = session.take() {
                    close(Some((start, row.at_ms)), &mut total);
                }
            }
            _ => {
                if let Some((_, end)) = session.as_mut() {
                    *end = row.at_ms;
                }
            }
        }
    }
    if let Some((start, end)) = session {
        let end = if connected_now { now_ms } else { end };
        close(Some((start, end)), &mut total);
    }
    u32::try_from(total.min(DAY_MS) * 1000 / DAY_MS).unwrap_or(1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_core::ledger::Account;

    const HOUR_MS: u64 = 3_600_000;

    fn report(at_ms: u64, activity: WorkerActivity) -> ActivityRow {
        ActivityRow {
            at_ms,
            activity,
            task_id: None,
            gpu_utilisation_percent: None,
        }
    }

    #[test]
    fn uptime_counts_sessions_within_the_last_day() {
        let now = 10 * DAY_MS;
        let hour = HOUR_MS;
        // Six hours online then a clean stop; then online for the last two hours.
        let activity = vec![
            report(now - 10 * hour, WorkerActivity::Connected),
            report(now - 5 * hour, WorkerActivity::Idle),
            report(now - 4 * hour, WorkerActivity::Stopped),
            report(now - 2 * hour, WorkerActivity::Connected),
        ];
        assert_eq!(uptime_permille(&activity, now, true), 333);
        // Not connected now: the second session ends at its last report.
        assert_eq!(uptime_permille(&activity, now, false), 250);
        // A session begun two days ago counts from the window's start.
        let old = vec![report(now - 2 * DAY_MS, WorkerActivity::Connected)];
        assert_eq!(uptime_permille(&old, now, true), 1000);
    }

    #[test]
    fn earnings_fall_on_their_day_and_only_settles_count() {
        let now = 40 * DAY_MS + 5;
        let entry = |at_ms, kind, micros| AccountEntry {
            seq: 0,
            at_ms: Some(at_ms),
            kind,
            counterparty: Account::External,
            signed_micros: micros,
            job: None,
            task: None,
        };
        let entries = [
            entry(now, pictor_core::ledger::PostingKind::Settle, 7),
            entry(now - DAY_MS, pictor_core::ledger::PostingKind::Settle, 5),
            entry(now, pictor_core::ledger::PostingKind::Direct, -3),
            entry(
                now - 30 * DAY_MS,
                pictor_core::ledger::PostingKind::Settle,
                9,
            ),
        ];
        let days = earnings_per_day(&entries, now);
        assert_eq!(days.len(), CHART_DAYS as usize);
        assert_eq!(days[days.len() - 1].micros, 7);
        assert_eq!(days[days.len() - 2].micros, 5);
        assert_eq!(days.iter().map(|d| d.micros).sum::<i128>(), 12);
    }
}
