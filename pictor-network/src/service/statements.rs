//! An account's money as its owner reads it: every journal entry of the account with when it was
//! committed and the job and task it belongs to (`Ledger::account_entries`, the store's entry
//! times), its balance, what it holds in escrow, earned and spent, and a statement of a period
//! that opens and closes on balances the entries add up to.

use super::accounts::ledger_account;
use super::{Coordinator, ServiceError, ServiceResult};
use crate::store::prelude::*;
use crate::store::{AccountRow, Store};
use pictor_core::api::ErrorCode;
use pictor_core::ledger::{Account, PostingKind, TransferId};
use pictor_core::{JobId, Money, TaskId};
use std::collections::HashMap;
use std::sync::atomic::Ordering;

/// One journal entry of an account, from the account's side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountEntry {
    /// The journal entry's seq.
    pub seq: u64,
    /// When it was committed, Unix ms (`None` for entries older than the times kept).
    pub at_ms: Option<u64>,
    /// What the entry does.
    pub kind: PostingKind,
    /// The other account of the entry.
    pub counterparty: Account,
    /// Money in (positive) or out (negative), micro-credits.
    pub signed_micros: i128,
    /// The job whose escrow it moved money in or out of.
    pub job: Option<JobId>,
    /// The task whose hold it is or settles.
    pub task: Option<TaskId>,
}

impl AccountEntry {
    /// True for a payment received for work: a settle leg into the account.
    pub fn is_earning(&self) -> bool {
        self.kind == PostingKind::Settle && self.signed_micros > 0
    }
}

/// An account's money in one view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MoneySummary {
    /// What it holds now (its ledger balance).
    pub balance: i128,
    /// Held from it in job escrows now (open holds).
    pub held: i128,
    /// Paid to it for work (settles in), over all time.
    pub earned: i128,
    /// Paid out of its holds for work (holds − what came back − what is still held).
    pub spent: i128,
    /// Deposited into it.
    pub deposited: i128,
}

/// A statement of one account over `[from_ms, to_ms)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The balance before the period's first entry.
    pub opening: i128,
    /// The period's entries, oldest first.
    pub entries: Vec<AccountEntry>,
    /// The balance after its last entry (opening + the entries).
    pub closing: i128,
}

/// Which of an account's entries get their commit time read from the store (a read per 500
/// entries): a page that shows the last two weeks need not read the times of years.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryTimes {
    /// Every entry's.
    All,
    /// The entries committed at or after this Unix ms (the older read `None`).
    Since(u64),
    /// The newest this many entries'.
    Newest(usize),
}

/// Journal seqs found at times (`Coordinator::first_seq_since`), at most 256 remembered.
#[derive(Default)]
pub(crate) struct SeqAtTime {
    found: std::sync::Mutex<HashMap<u64, u64>>,
}

impl SeqAtTime {
    fn get(&self, since_ms: u64) -> Option<u64> {
        self.lock().get(&since_ms).copied()
    }

    fn put(&self, since_ms: u64, seq: u64) {
        let mut found = self.lock();
        if found.len() >= 256 {
            found.clear();
        }
        found.insert(since_ms, seq);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, u64>> {
        // Plain data: a panic while holding the lock cannot leave it half-written.
        self.found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One account's money: its summary and every entry, oldest first.
#[derive(Clone, Debug)]
pub struct AccountMoney {
    /// The account.
    pub account: AccountRow,
    /// Balance, held, earned, spent, deposited.
    pub summary: MoneySummary,
    /// Its journal entries, oldest first.
    pub entries: Vec<AccountEntry>,
}

/// The task a transfer id names: task holds are `task << 32 | generation` with the two tag bits
/// clear (reservations and deposits set them; see `escrow`).
pub(crate) fn task_of(transfer: TransferId) -> Option<TaskId> {
    let untagged = transfer.0 >> 126 == 0;
    untagged
        .then(|| u64::try_from(transfer.0 >> 32).ok())
        .flatten()
        .map(TaskId)
}

/// The summary of `entries` (an account's, oldest first) with `held` open now.
pub fn summarise(entries: &[AccountEntry], held: i128) -> MoneySummary {
    let mut summary = MoneySummary {
        held,
        ..MoneySummary::default()
    };
    let mut holds = 0i128;
    let mut returned = 0i128;
    for entry in entries {
        summary.balance += entry.signed_micros;
        match entry.kind {
            PostingKind::Settle if entry.signed_micros > 0 => summary.earned += entry.signed_micros,
            PostingKind::Deposit => summary.deposited += entry.signed_micros,
            PostingKind::Hold => holds -= entry.signed_micros,
            PostingKind::Release | PostingKind::Void => returned += entry.signed_micros,
            _ => {}
        }
    }
    summary.spent = holds - returned - held;
    summary
}

/// The statement of `entries` (an account's, oldest first) over `[from_ms, to_ms)`: entries
/// without a time count as before the period.
pub fn statement(entries: &[AccountEntry], from_ms: u64, to_ms: u64) -> Statement {
    let mut opening = 0i128;
    let mut within = Vec::new();
    for entry in entries {
        match entry.at_ms {
            Some(at) if at >= to_ms => {}
            Some(at) if at >= from_ms => within.push(entry.clone()),
            _ => opening += entry.signed_micros,
        }
    }
    let closing = opening + within.iter().map(|e| e.signed_micros).sum::<i128>();
    Statement {
        opening,
        entries: within,
        closing,
    }
}

/// Micro-credits as signed decimal credits (`-1.500000`).
pub fn signed_credits(micros: i128) -> String {
    let magnitude = Money::from_micros(u64::try_from(micros.unsigned_abs()).unwrap_or(u64::MAX));
    if micros < 0 {
        format!("-{magnitude}")
    } else {
        magnitude.to_string()
    }
}

impl<S: Store> Coordinator<S> {
    /// Every journal entry of `account` (a creator's balance, a worker's or checker's earnings),
    /// oldest first, with the commit times `times` asks for (the others read `None`); the caller
    /// must have checked the account is the asker's.
    pub(crate) async fn account_entries(
        &self,
        account: Account,
        times: EntryTimes,
    ) -> ServiceResult<Vec<AccountEntry>> {
        self.refresh_balances().await?;
        let mut entries = {
            let ledger = self.ledger.lock().await;
            if self.ledger_stale.load(Ordering::SeqCst) {
                return Err(ServiceError::new(
                    ErrorCode::Unavailable,
                    "the ledger is being reloaded; try again in a moment",
                ));
            }
            ledger
                .account_entries(account)
                .into_iter()
                .map(|entry| {
                    let posting = entry.posting;
                    let (counterparty, sign) = if posting.credit == account {
                        (posting.debit, 1)
                    } else {
                        (posting.credit, -1)
                    };
                    let job =
                        [posting.debit, posting.credit]
                            .into_iter()
                            .find_map(|side| match side {
                                Account::Escrow(job) => Some(job),
                                _ => None,
                            });
                    AccountEntry {
                        seq: entry.seq,
                        at_ms: None,
                        kind: posting.kind,
                        counterparty,
                        signed_micros: sign * i128::from(posting.amount.micros()),
                        job,
                        task: task_of(posting.transfer),
                    }
                })
                .collect::<Vec<_>>()
        };
        let mut tx = self.read().await?;
        let from = match times {
            EntryTimes::All => 0,
            EntryTimes::Newest(n) => entries.len().saturating_sub(n),
            EntryTimes::Since(ms) => {
                let journal_len = self.ledger.lock().await.journal().len() as u64;
                let first = self.first_seq_since(&mut tx, journal_len, ms).await?;
                entries.partition_point(|entry| entry.seq < first)
            }
        };
        let seqs: Vec<u64> = entries[from..].iter().map(|entry| entry.seq).collect();
        let found: HashMap<u64, Option<u64>> =
            tx.ledger_entry_times(&seqs).await?.into_iter().collect();
        for entry in &mut entries[from..] {
            entry.at_ms = found.get(&entry.seq).copied().flatten();
        }
        Ok(entries)
    }

    /// The first journal seq committed at or after `since_ms`, as `tx` sees the journal of
    /// `journal_len` entries: a binary search over the entries' commit times (entries without one
    /// count as older). Remembered for times already past (the journal only grows, and later
    /// entries are committed later).
    pub(crate) async fn first_seq_since<T: StoreTx>(
        &self,
        tx: &mut T,
        journal_len: u64,
        since_ms: u64,
    ) -> ServiceResult<u64> {
        if let Some(seq) = self.seq_at_time.get(since_ms) {
            return Ok(seq);
        }
        let (mut low, mut high) = (0u64, journal_len);
        while low < high {
            let middle = low + (high - low) / 2;
            let at = tx
                .ledger_entry_times(&[middle])
                .await?
                .first()
                .and_then(|(_, at)| *at)
                .unwrap_or(0);
            if at >= since_ms {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        if since_ms < self.now_ms() {
            self.seq_at_time.put(since_ms, low);
        }
        Ok(low)
    }

    /// The money of `account` (`None` for an admin account, which holds none); the caller must
    /// have checked the account is the asker's.
    pub async fn account_money(
        &self,
        account: &AccountRow,
        times: EntryTimes,
    ) -> ServiceResult<Option<AccountMoney>> {
        let Some(ledger_account) = ledger_account(account) else {
            return Ok(None);
        };
        let entries = self.account_entries(ledger_account, times).await?;
        let held = self.held_by(ledger_account).await;
        Ok(Some(AccountMoney {
            account: account.clone(),
            summary: summarise(&entries, held),
            entries,
        }))
    }

    /// What `account` has held in job escrows now (its open holds).
    pub(crate) async fn held_by(&self, account: Account) -> i128 {
        let ledger = self.ledger.lock().await;
        ledger
            .open_pendings()
            .filter(|transfer| transfer.debit == account)
            .map(|transfer| i128::from(transfer.amount.micros()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::escrow::{hold_transfer, reservation_transfer};

    fn entry(seq: u64, at_ms: Option<u64>, kind: PostingKind, micros: i128) -> AccountEntry {
        AccountEntry {
            seq,
            at_ms,
            kind,
            counterparty: Account::External,
            signed_micros: micros,
            job: None,
            task: None,
        }
    }

    #[test]
    fn task_holds_name_their_task_and_reservations_none() {
        assert_eq!(task_of(hold_transfer(42, 3)), Some(TaskId(42)));
        assert_eq!(task_of(reservation_transfer(42, 0)), None);
    }

    #[test]
    fn a_statement_opens_and_closes_on_what_its_entries_add_up_to() {
        let entries = vec![
            entry(0, None, PostingKind::Deposit, 1_000),
            entry(1, Some(10), PostingKind::Hold, -300),
            entry(2, Some(20), PostingKind::Release, 100),
            entry(3, Some(30), PostingKind::Hold, -50),
        ];
        let period = statement(&entries, 15, 30);
        assert_eq!(period.opening, 700);
        assert_eq!(period.entries.len(), 1);
        assert_eq!(period.closing, 800);
        let summary = summarise(&entries, 50);
        assert_eq!(summary.balance, 750);
        assert_eq!(summary.deposited, 1_000);
        // Held 350, 100 came back, 50 is still held: 200 was spent.
        assert_eq!(summary.spent, 200);
    }

    #[test]
    fn signed_credits_show_six_decimals_and_a_sign() {
        assert_eq!(signed_credits(-1_500_000), "-1.500000");
        assert_eq!(signed_credits(2), "0.000002");
    }
}
