//! The money section of a job's page: where the job's escrow came from and went — held from the
//! creator's balance, paid to each worker and checker account and to the network, returned — as
//! totals per payee and the latest entries of the ledger, each with its journal seq.

use crate::service::MoneyMove;
use maud::{Markup, html};
use pictor_core::Money;
use pictor_core::ledger::{Account, PostingKind};
use std::collections::BTreeMap;

/// Entries listed one by one under the totals (a big job has thousands).
const LATEST: usize = 20;

/// Who an account is, for the creator reading their job's money.
fn who(account: Account) -> String {
    match account {
        Account::Creator(_) => "your balance".into(),
        Account::Escrow(job) => format!("job {} escrow", job.0),
        Account::Worker(id) => format!("worker account {}", id.0),
        Account::Checker(id) => format!("checker account {}", id.0),
        Account::NetworkFees => "network fees".into(),
        Account::External => "outside the network".into(),
        Account::Bond(id) => format!("bond of account {}", id.0),
    }
}

/// What one entry did, in words.
fn says(entry: &MoneyMove) -> String {
    let task = entry
        .task
        .map(|task| format!(" (task {})", task.0))
        .unwrap_or_default();
    match entry.kind {
        PostingKind::Hold => format!("held from {}{task}", who(entry.from)),
        PostingKind::Settle => format!("paid to {}{task}", who(entry.to)),
        PostingKind::Release => format!("returned to {}{task}", who(entry.to)),
        PostingKind::Void => format!("hold cancelled, back to {}{task}", who(entry.to)),
        PostingKind::Deposit | PostingKind::Direct => format!("moved to {}", who(entry.to)),
    }
}

/// The section: totals by what happened and to whom, then the latest entries.
pub fn section(moves: &[MoneyMove]) -> Markup {
    let mut totals: BTreeMap<String, (Money, u32)> = BTreeMap::new();
    for entry in moves.iter().filter(|entry| entry.amount > Money::ZERO) {
        let line = match entry.kind {
            PostingKind::Hold => "Held from your balance".to_string(),
            PostingKind::Settle => format!("Paid to {}", who(entry.to)),
            PostingKind::Release | PostingKind::Void => "Returned to your balance".to_string(),
            PostingKind::Deposit | PostingKind::Direct => format!("Moved to {}", who(entry.to)),
        };
        let total = totals.entry(line).or_insert((Money::ZERO, 0));
        total.0 = total.0.checked_add(entry.amount).unwrap_or(total.0);
        total.1 += 1;
    }
    let latest: Vec<&MoneyMove> = moves
        .iter()
        .rev()
        .filter(|entry| entry.amount > Money::ZERO)
        .take(LATEST)
        .collect();
    html! {
        section #money aria-labelledby="money-title" {
            h2 #money-title { "Money" }
            @if totals.is_empty() {
                p { "Nothing has moved yet." }
            } @else {
                table {
                    caption.muted { "Where this job's escrow came from and went, from the ledger" }
                    thead { tr {
                        th scope="col" { "What" }
                        th scope="col" { "Entries" }
                        th scope="col" { "Credits" }
                    } }
                    tbody {
                        @for (line, (amount, count)) in &totals {
                            tr { td { (line) } td { (count) } td { (amount) } }
                        }
                    }
                }
                h3 { "Latest entries" }
                ol.ledger-entries {
                    @for entry in &latest {
                        li { "#" (entry.seq) ": " (entry.amount) " credits " (says(entry)) }
                    }
                }
            }
        }
    }
}
