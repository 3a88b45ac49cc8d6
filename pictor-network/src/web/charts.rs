//! Charts drawn on the server as inline SVG (the Content-Security-Policy forbids inline styles,
//! so every size is an attribute): earnings per day as bars.

use crate::service::DayEarnings;
use crate::service::signed_credits;
use maud::{Markup, html};

/// Bars of `days`' earnings, the tallest full height; each bar has its day and amount as a
/// tooltip, and the chart's label sums them up for screen readers.
pub fn earnings_per_day(days: &[DayEarnings], label: &str) -> Markup {
    let tallest = days.iter().map(|d| d.micros).max().unwrap_or(0).max(1);
    let total: i128 = days.iter().map(|d| d.micros).sum();
    let width = 10 * days.len().max(1);
    let description = format!(
        "{label}: {} credits over {} days",
        signed_credits(total),
        days.len()
    );
    html! {
        figure.chart {
            svg.earnings viewBox={ "0 0 " (width) " 50" } preserveAspectRatio="none" role="img" aria-label=(description) {
                @for (i, day) in days.iter().enumerate() {
                    @let height = (day.micros.max(0) * 48 / tallest) as u64;
                    rect.earning x=(i * 10 + 1) y=(50 - height) width="8" height=(height) {
                        title { (crate::calendar::date(day.day_start_ms)) ": " (signed_credits(day.micros)) " credits" }
                    }
                }
            }
            figcaption.muted {
                (description)
                @if let (Some(first), Some(last)) = (days.first(), days.last()) {
                    " (" (crate::calendar::date(first.day_start_ms)) " to " (crate::calendar::date(last.day_start_ms)) ", UTC)"
                }
            }
        }
    }
}

/// Bars of how much a counter grew between consecutive `samples` (`(Unix ms, value)`, oldest
/// first), labelled with the counter's `name` and its value now.
pub fn counter_growth(name: &str, samples: &[(u64, u64)]) -> Markup {
    let steps: Vec<(u64, u64)> = samples
        .windows(2)
        .map(|pair| (pair[1].0, pair[1].1.saturating_sub(pair[0].1)))
        .collect();
    let tallest = steps
        .iter()
        .map(|(_, grew)| *grew)
        .max()
        .unwrap_or(0)
        .max(1);
    let now = samples.last().map_or(0, |(_, value)| *value);
    let width = 10 * steps.len().max(1);
    let description = format!(
        "{name}: {now} in all; {} in the last {} samples",
        steps.iter().map(|(_, grew)| grew).sum::<u64>(),
        steps.len()
    );
    html! {
        figure.chart {
            svg.earnings viewBox={ "0 0 " (width) " 50" } preserveAspectRatio="none" role="img" aria-label=(description) {
                @for (i, (at, grew)) in steps.iter().enumerate() {
                    @let height = grew * 48 / tallest;
                    rect.counter x=(i * 10 + 1) y=(50 - height) width="8" height=(height) {
                        title { (crate::calendar::minute(*at)) ": +" (grew) }
                    }
                }
            }
            figcaption { code { (name) } " " strong.counter-total { (now) } span.muted { " — growth per sample, the last " (steps.len()) } }
        }
    }
}
