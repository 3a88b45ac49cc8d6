//! Large synthetic journals for benchmarks and tests.

use super::account::Account;
use super::journal::Journal;
use super::transfer::{Posting, PostingKind, TransferId};
use crate::{AccountId, JobId, Money};
use ed25519_dalek::SigningKey;

/// **Benchmark / test fixture.** Builds a valid, fully sealed journal of exactly `entries` entries,
/// quickly (straight onto the journal, without the ledger's bookkeeping).
///
/// The postings repeat a realistic job cycle of four entries — deposit 10 µcr to a creator, hold 10 µcr
/// in a job escrow, settle 7 µcr to a worker, release 3 µcr — over 1,000 creators and 100 workers;
/// when fewer than four entries remain, the tail is deposits. The result therefore also replays
/// ([`Ledger::replay`](super::Ledger::replay)). A seal is signed after every `seal_every` entries
/// (`0` means only one seal at the end) and the last entries are always sealed, so
/// [`verify`](super::verify()) with `key`'s verifying key accepts it.
pub fn synthetic_journal(entries: usize, seal_every: usize, key: &SigningKey) -> Journal {
    let mut journal = Journal::new();
    journal.reserve(entries);
    let mut cycle = 0u64;
    let mut next_id = 0u128;
    let mut id = || {
        next_id += 1;
        TransferId(next_id)
    };
    let push = |journal: &mut Journal, posting: Posting| {
        journal.append(posting);
        if seal_every > 0 && journal.len().is_multiple_of(seal_every) {
            journal.seal(key);
        }
    };
    while journal.len() < entries {
        let creator = Account::Creator(AccountId(cycle % 1_000));
        let deposit = Posting {
            transfer: id(),
            kind: PostingKind::Deposit,
            debit: Account::External,
            credit: creator,
            amount: Money::from_micros(10),
        };
        push(&mut journal, deposit);
        if entries - journal.len() < 3 {
            cycle += 1;
            continue;
        }
        let hold_id = id();
        let escrow = Account::Escrow(JobId(cycle));
        let legs = [
            (PostingKind::Hold, creator, escrow, 10),
            (
                PostingKind::Settle,
                escrow,
                Account::Worker(AccountId(cycle % 100)),
                7,
            ),
            (PostingKind::Release, escrow, creator, 3),
        ];
        for (kind, debit, credit, amount) in legs {
            let posting = Posting {
                transfer: hold_id,
                kind,
                debit,
                credit,
                amount: Money::from_micros(amount),
            };
            push(&mut journal, posting);
        }
        cycle += 1;
    }
    journal.seal(key);
    journal
}
