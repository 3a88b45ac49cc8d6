//! The in-memory double-entry ledger: balances, transfers, two-phase holds, and its journal.

use super::account::{Account, AccountKind};
use super::journal::{Entry, Journal};
use super::signing::Seal;
use super::transfer::{Posting, PostingKind, Transfer, TransferId, TransferKind, TransferStatus};
use crate::{Error, JobId, Money, Result};
use ed25519_dalek::SigningKey;
use std::collections::{BTreeMap, BTreeSet};

fn refused(reason: impl Into<String>) -> Error {
    Error::Ledger {
        reason: reason.into(),
    }
}

/// One leg of an operation: `(debit, credit, amount)`.
type Leg = (Account, Account, Money);

/// The ledger: account balances, the transfers created so far and the journal recording every posting.
///
/// Every operation is atomic: it is validated completely (ids, account kinds, balances, overflow)
/// before anything changes, so a failed operation leaves balances, transfers and journal untouched.
/// Balances are signed credit balances in `i128` (see [`Account`]); every account but
/// [`Account::External`] must stay within `0..=Money::MAX`.
///
/// The state is fully determined by the journal: [`Ledger::replay`] rebuilds it. Persist the journal,
/// not the ledger.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    balances: BTreeMap<Account, i128>,
    transfers: BTreeMap<TransferId, Transfer>,
    open: BTreeSet<TransferId>,
    journal: Journal,
    /// The seqs of the entries moving money in or out of each job's escrow, in order: a job's
    /// money trail without a walk over the whole journal.
    job_entries: BTreeMap<JobId, Vec<u64>>,
    /// The seqs of the entries moving money in or out of each owner's account (a creator's
    /// balance, a worker's or a checker's earnings), in order: an account's statement without a
    /// walk over the whole journal.
    account_entries: BTreeMap<Account, Vec<u64>>,
}

impl Ledger {
    /// An empty ledger: every balance zero, no transfers, an empty journal.
    pub fn new() -> Self {
        Ledger::default()
    }

    // ----- operations -------------------------------------------------------------------------

    /// Deposits `amount` from [`Account::External`] into `creator`'s balance.
    ///
    /// Idempotent on `id`: re-submitting the same deposit returns the existing transfer and changes
    /// nothing; re-using `id` for anything else is an error.
    pub fn deposit(
        &mut self,
        id: TransferId,
        creator: crate::AccountId,
        amount: Money,
    ) -> Result<Transfer> {
        self.create(Transfer {
            id,
            kind: TransferKind::Deposit,
            debit: Account::External,
            credit: Account::Creator(creator),
            amount,
            status: TransferStatus::Posted,
        })
    }

    /// Moves `amount` from `debit` to `credit` at once. Escrow accounts cannot take part (they move
    /// only through pending transfers); [`Account::External`] can (a withdrawal or an outside credit).
    /// Idempotent on `id` like [`Ledger::deposit`].
    pub fn transfer(
        &mut self,
        id: TransferId,
        debit: Account,
        credit: Account,
        amount: Money,
    ) -> Result<Transfer> {
        self.create(Transfer {
            id,
            kind: TransferKind::Direct,
            debit,
            credit,
            amount,
            status: TransferStatus::Posted,
        })
    }

    /// Opens a pending (two-phase) transfer: moves `amount` from `debit` (typically a creator balance)
    /// into the job escrow `escrow`, where it is held until [`Ledger::post_pending`] or
    /// [`Ledger::void_pending`]. Idempotent on `id` like [`Ledger::deposit`].
    pub fn create_pending(
        &mut self,
        id: TransferId,
        debit: Account,
        escrow: Account,
        amount: Money,
    ) -> Result<Transfer> {
        self.create(Transfer {
            id,
            kind: TransferKind::Pending,
            debit,
            credit: escrow,
            amount,
            status: TransferStatus::Pending,
        })
    }

    /// Posts the pending transfer `id`: pays each `(account, amount)` of `payouts` out of the hold
    /// (e.g. worker price, checker fee, network fee) and returns the remainder to the payer. The payouts
    /// must be positive, must not go to an escrow account, and must total at most the held amount.
    ///
    /// Journal: one [`PostingKind::Settle`] entry per payout, in order, then one
    /// [`PostingKind::Release`] entry with the remainder (possibly zero).
    ///
    /// A pending transfer resolves exactly once: posting or voiding it again is an error that changes
    /// nothing.
    pub fn post_pending(
        &mut self,
        id: TransferId,
        payouts: &[(Account, Money)],
    ) -> Result<Transfer> {
        let pending = self.open_pending(id, "post")?;
        for (account, amount) in payouts {
            check_payout(*account, *amount)?;
        }
        let settled = Money::sum(payouts.iter().map(|(_, amount)| *amount))?;
        let released = pending.amount.checked_sub(settled).map_err(|_| {
            refused(format!(
                "payouts of pending transfer {id} total {settled}, more than the {} held",
                pending.amount
            ))
        })?;
        let mut legs: Vec<Leg> = payouts
            .iter()
            .map(|(account, amount)| (pending.credit, *account, *amount))
            .collect();
        legs.push((pending.credit, pending.debit, released));
        let changes = self.plan(&legs)?;

        self.apply(changes);
        for (account, amount) in payouts {
            self.record(Posting {
                transfer: id,
                kind: PostingKind::Settle,
                debit: pending.credit,
                credit: *account,
                amount: *amount,
            });
        }
        self.record(Posting {
            transfer: id,
            kind: PostingKind::Release,
            debit: pending.credit,
            credit: pending.debit,
            amount: released,
        });
        Ok(self.resolve(pending, TransferStatus::PendingPosted { settled, released }))
    }

    /// Voids the pending transfer `id`: the whole hold returns to the payer (one
    /// [`PostingKind::Void`] entry). Resolving twice is an error that changes nothing.
    pub fn void_pending(&mut self, id: TransferId) -> Result<Transfer> {
        let pending = self.open_pending(id, "void")?;
        let changes = self.plan(&[(pending.credit, pending.debit, pending.amount)])?;
        self.apply(changes);
        self.record(Posting {
            transfer: id,
            kind: PostingKind::Void,
            debit: pending.credit,
            credit: pending.debit,
            amount: pending.amount,
        });
        Ok(self.resolve(pending, TransferStatus::PendingVoided))
    }

    /// Seals the entries appended since the last seal with the network key (see
    /// [`Journal::seal`]); `None` when there is nothing new.
    pub fn seal(&mut self, key: &SigningKey) -> Option<Seal> {
        self.journal.seal(key)
    }

    // ----- queries ----------------------------------------------------------------------------

    /// The credit balance (credits − debits) of `account`; 0 for an account never touched.
    pub fn balance(&self, account: Account) -> i128 {
        self.balances.get(&account).copied().unwrap_or(0)
    }

    /// Every account touched so far, with its balance, in account order.
    pub fn accounts(&self) -> impl Iterator<Item = (Account, i128)> + '_ {
        self.balances
            .iter()
            .map(|(account, balance)| (*account, *balance))
    }

    /// The transfer with this id, if one was created.
    pub fn get_transfer(&self, id: TransferId) -> Option<&Transfer> {
        self.transfers.get(&id)
    }

    /// Every transfer, in id order.
    pub fn transfers(&self) -> impl Iterator<Item = &Transfer> + '_ {
        self.transfers.values()
    }

    /// The open pending transfers, in id order.
    pub fn open_pendings(&self) -> impl Iterator<Item = &Transfer> + '_ {
        self.open.iter().filter_map(|id| self.transfers.get(id))
    }

    /// The journal of every posting so far, hash-chained and sealed; persist it, not the ledger.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Gives up the ledger, keeping its journal.
    pub fn into_journal(self) -> Journal {
        self.journal
    }

    // ----- invariants -------------------------------------------------------------------------

    /// The sum of all balances. Double entry keeps it at exactly zero.
    pub fn trial_balance(&self) -> i128 {
        self.balances.values().sum()
    }

    /// The sum of all job escrow balances.
    pub fn escrow_total(&self) -> i128 {
        self.balances
            .iter()
            .filter(|(account, _)| account.kind() == AccountKind::JobEscrow)
            .map(|(_, balance)| *balance)
            .sum()
    }

    /// The sum of the amounts held by open pending transfers (computed from the transfers, not the
    /// balances). Always equal to [`Ledger::escrow_total`].
    pub fn open_pending_total(&self) -> i128 {
        self.transfers
            .values()
            .filter(|transfer| transfer.is_open())
            .map(|transfer| i128::from(transfer.amount.micros()))
            .sum()
    }

    /// Checks every invariant: trial balance zero; each escrow's balance equals the sum of its open
    /// holds; every bounded account within `0..=Money::MAX`; the open-pending index matches the
    /// transfers. An error names the first violation (which would be a bug).
    pub fn check_invariants(&self) -> Result<()> {
        let trial = self.trial_balance();
        if trial != 0 {
            return Err(refused(format!("trial balance is {trial}, not zero")));
        }
        let mut held: BTreeMap<Account, i128> = BTreeMap::new();
        for transfer in self.transfers.values().filter(|t| t.is_open()) {
            *held.entry(transfer.credit).or_insert(0) += i128::from(transfer.amount.micros());
        }
        for (account, balance) in &self.balances {
            if account.kind() == AccountKind::JobEscrow {
                let expected = held.get(account).copied().unwrap_or(0);
                if *balance != expected {
                    return Err(refused(format!(
                        "{account} holds {balance} but its open holds total {expected}"
                    )));
                }
            }
            if account.kind().is_bounded() && !(0..=i128::from(u64::MAX)).contains(balance) {
                return Err(refused(format!(
                    "{account} has out-of-range balance {balance}"
                )));
            }
        }
        if held
            .keys()
            .any(|account| !self.balances.contains_key(account))
        {
            return Err(refused("an open hold's escrow has no balance"));
        }
        let open: BTreeSet<TransferId> = self
            .transfers
            .values()
            .filter(|t| t.is_open())
            .map(|t| t.id)
            .collect();
        if open != self.open {
            return Err(refused("open-pending index disagrees with the transfers"));
        }
        Ok(())
    }

    // ----- replay -----------------------------------------------------------------------------

    /// Rebuilds a ledger by replaying journal entries in order. Each entry must continue the chain
    /// (seq, `prev_hash` and hash as the rebuilt journal computes them) and be a valid posting in the
    /// state reached so far; settlement postings of one pending transfer must be contiguous and end
    /// with its release. The result's journal holds the same entries (and no seals).
    pub fn replay<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Result<Ledger> {
        let mut ledger = Ledger::new();
        let mut settling: Option<(TransferId, Money)> = None;
        for entry in entries {
            ledger.replay_one(entry, &mut settling)?;
        }
        if let Some((id, _)) = settling {
            return Err(refused(format!(
                "journal ends inside the settlement of pending transfer {id}"
            )));
        }
        Ok(ledger)
    }

    /// Rebuilds a ledger from a whole journal: replays its entries and keeps its seals after checking
    /// that each seal extends the previous one and names the right head hash. Seal *signatures* are
    /// not checked here (no key): run [`verify`](super::verify()) for that.
    pub fn from_journal(journal: Journal) -> Result<Ledger> {
        let (entries, seals) = journal.into_parts();
        let mut ledger = Ledger::replay(&entries)?;
        let mut next = 0u64;
        for seal in seals {
            let head = usize::try_from(seal.upto_seq)
                .ok()
                .and_then(|upto| entries.get(upto));
            if seal.upto_seq < next || head.is_none_or(|entry| entry.hash != seal.head_hash) {
                return Err(refused(format!(
                    "seal up to seq {} does not match the journal",
                    seal.upto_seq
                )));
            }
            next = seal.upto_seq + 1;
            ledger.journal.push_seal(seal);
        }
        Ok(ledger)
    }

    /// Continues this ledger with entries and seals another writer appended to the same journal
    /// (a second coordinator on one database): replays `entries`, which must start at this
    /// journal's next seq and continue its chain, then keeps `seals` after checking each extends
    /// the last one and names the head it claims. Seal signatures are not checked here.
    ///
    /// Every write ends its settlements, so the entries must not end inside one. On an error the
    /// ledger may be partly advanced: rebuild it from the whole journal.
    pub fn catch_up(&mut self, entries: &[Entry], seals: &[Seal]) -> Result<()> {
        let mut settling = None;
        for entry in entries {
            self.replay_one(entry, &mut settling)?;
        }
        if let Some((id, _)) = settling {
            return Err(refused(format!(
                "appended entries end inside the settlement of pending transfer {id}"
            )));
        }
        let mut next = self
            .journal
            .seals()
            .last()
            .map_or(0, |seal| seal.upto_seq + 1);
        for seal in seals {
            let head = usize::try_from(seal.upto_seq)
                .ok()
                .and_then(|upto| self.journal.entries().get(upto));
            if seal.upto_seq < next || head.is_none_or(|entry| entry.hash != seal.head_hash) {
                return Err(refused(format!(
                    "appended seal up to seq {} does not match the journal",
                    seal.upto_seq
                )));
            }
            next = seal.upto_seq + 1;
            self.journal.push_seal(*seal);
        }
        Ok(())
    }

    fn replay_one(
        &mut self,
        entry: &Entry,
        settling: &mut Option<(TransferId, Money)>,
    ) -> Result<()> {
        let posting = entry.posting;
        let at = entry.seq;
        let bad = |reason: String| refused(format!("replay: entry {at}: {reason}"));
        if let Some((id, _)) = *settling {
            let continues = posting.transfer == id
                && matches!(posting.kind, PostingKind::Settle | PostingKind::Release);
            if !continues {
                return Err(bad(format!(
                    "interrupts the settlement of pending transfer {id}"
                )));
            }
        }
        match posting.kind {
            PostingKind::Deposit | PostingKind::Direct | PostingKind::Hold => {
                let (kind, status) = match posting.kind {
                    PostingKind::Deposit => (TransferKind::Deposit, TransferStatus::Posted),
                    PostingKind::Direct => (TransferKind::Direct, TransferStatus::Posted),
                    _ => (TransferKind::Pending, TransferStatus::Pending),
                };
                if self.transfers.contains_key(&posting.transfer) {
                    return Err(bad(format!("transfer {} created twice", posting.transfer)));
                }
                let transfer = Transfer {
                    id: posting.transfer,
                    kind,
                    debit: posting.debit,
                    credit: posting.credit,
                    amount: posting.amount,
                    status,
                };
                self.validate_new(&transfer)?;
                let changes = self.plan(&[(transfer.debit, transfer.credit, transfer.amount)])?;
                self.apply(changes);
                self.insert(transfer);
            }
            PostingKind::Settle | PostingKind::Release | PostingKind::Void => {
                let pending = self.open_pending(posting.transfer, "settle")?;
                let settled = settling.map_or(Money::ZERO, |(_, settled)| settled);
                let remaining = pending.amount.checked_sub(settled)?;
                let expected_credit = match posting.kind {
                    PostingKind::Settle => {
                        check_payout(posting.credit, posting.amount)?;
                        posting.credit
                    }
                    _ => pending.debit,
                };
                let amount_ok = match posting.kind {
                    PostingKind::Settle => posting.amount <= remaining,
                    PostingKind::Release => posting.amount == remaining,
                    _ => settling.is_none() && posting.amount == pending.amount,
                };
                if posting.debit != pending.credit
                    || posting.credit != expected_credit
                    || !amount_ok
                {
                    return Err(bad(format!(
                        "{:?} posting does not fit pending transfer {}",
                        posting.kind, posting.transfer
                    )));
                }
                let changes = self.plan(&[(posting.debit, posting.credit, posting.amount)])?;
                self.apply(changes);
                match posting.kind {
                    PostingKind::Settle => {
                        *settling = Some((posting.transfer, settled.checked_add(posting.amount)?));
                    }
                    PostingKind::Release => {
                        *settling = None;
                        let status = TransferStatus::PendingPosted {
                            settled,
                            released: posting.amount,
                        };
                        self.resolve(pending, status);
                    }
                    _ => {
                        self.resolve(pending, TransferStatus::PendingVoided);
                    }
                }
            }
        }
        let appended = self.record(posting);
        if appended != *entry {
            return Err(bad(
                "seq, link or hash differs from the rebuilt chain".to_string()
            ));
        }
        Ok(())
    }

    /// The journal entries moving money in or out of `job`'s escrow, in journal order: its holds,
    /// the payments to workers, checkers and the network, and what returned to its creator.
    pub fn job_entries(&self, job: JobId) -> Vec<&Entry> {
        self.entries_at(self.job_entries.get(&job))
    }

    /// The journal entries moving money in or out of `account` — a creator's balance, a worker's
    /// or a checker's earnings — in journal order; empty for the escrow, external and network-fee
    /// accounts (a job's escrow has [`job_entries`](Self::job_entries)).
    pub fn account_entries(&self, account: Account) -> Vec<&Entry> {
        self.entries_at(self.account_entries.get(&account))
    }

    /// The journal entries of an index's `seqs`, in their order.
    fn entries_at(&self, seqs: Option<&Vec<u64>>) -> Vec<&Entry> {
        seqs.into_iter()
            .flatten()
            .filter_map(|seq| {
                usize::try_from(*seq)
                    .ok()
                    .and_then(|at| self.journal.entries().get(at))
            })
            .collect()
    }

    // ----- internals --------------------------------------------------------------------------

    /// Appends `posting` to the journal and indexes it under the job whose escrow it touches and
    /// under the owners' accounts it touches.
    fn record(&mut self, posting: Posting) -> Entry {
        let entry = self.journal.append(posting);
        let mut indexed_job = false;
        for account in [posting.debit, posting.credit] {
            match account {
                Account::Escrow(job) if !indexed_job => {
                    self.job_entries.entry(job).or_default().push(entry.seq);
                    indexed_job = true;
                }
                Account::Creator(_) | Account::Worker(_) | Account::Checker(_) => {
                    let seqs = self.account_entries.entry(account).or_default();
                    if seqs.last() != Some(&entry.seq) {
                        seqs.push(entry.seq);
                    }
                }
                _ => {}
            }
        }
        entry
    }

    /// Creates a deposit, direct or pending transfer (idempotent on the id).
    fn create(&mut self, transfer: Transfer) -> Result<Transfer> {
        if let Some(existing) = self.transfers.get(&transfer.id) {
            return if existing.same_request(&transfer) {
                Ok(*existing)
            } else {
                Err(refused(format!(
                    "transfer id {} is already used by a different transfer ({:?} of {} from {} to {})",
                    transfer.id, existing.kind, existing.amount, existing.debit, existing.credit
                )))
            };
        }
        self.validate_new(&transfer)?;
        let changes = self.plan(&[(transfer.debit, transfer.credit, transfer.amount)])?;
        self.apply(changes);
        let kind = match transfer.kind {
            TransferKind::Deposit => PostingKind::Deposit,
            TransferKind::Direct => PostingKind::Direct,
            TransferKind::Pending => PostingKind::Hold,
        };
        self.record(Posting {
            transfer: transfer.id,
            kind,
            debit: transfer.debit,
            credit: transfer.credit,
            amount: transfer.amount,
        });
        self.insert(transfer);
        Ok(transfer)
    }

    /// The account-kind and amount rules of a new transfer (balances are checked by `plan`).
    fn validate_new(&self, transfer: &Transfer) -> Result<()> {
        let (debit, credit) = (transfer.debit, transfer.credit);
        if transfer.amount.is_zero() {
            return Err(refused(format!(
                "transfer {}: the amount must be positive",
                transfer.id
            )));
        }
        if debit == credit {
            return Err(refused(format!(
                "transfer {}: debit and credit are the same account ({debit})",
                transfer.id
            )));
        }
        let escrow = |account: Account| account.kind() == AccountKind::JobEscrow;
        let ok = match transfer.kind {
            TransferKind::Deposit => {
                debit == Account::External && credit.kind() == AccountKind::CreatorBalance
            }
            TransferKind::Direct => !escrow(debit) && !escrow(credit),
            TransferKind::Pending => !escrow(debit) && escrow(credit),
        };
        if !ok {
            let rule = match transfer.kind {
                TransferKind::Deposit => "a deposit goes from external to a creator balance",
                TransferKind::Direct => {
                    "escrow accounts move only through pending transfers, not direct ones"
                }
                TransferKind::Pending => {
                    "a pending transfer moves money from a non-escrow account into a job escrow"
                }
            };
            return Err(refused(format!(
                "transfer {} from {debit} to {credit} refused: {rule}",
                transfer.id
            )));
        }
        Ok(())
    }

    /// The open pending transfer `id`, or the error explaining why it cannot be resolved.
    fn open_pending(&self, id: TransferId, action: &str) -> Result<Transfer> {
        let transfer = self
            .transfers
            .get(&id)
            .ok_or_else(|| refused(format!("cannot {action} transfer {id}: no such transfer")))?;
        match transfer.status {
            TransferStatus::Pending => Ok(*transfer),
            TransferStatus::Posted => Err(refused(format!(
                "cannot {action} transfer {id}: it is not a pending transfer"
            ))),
            TransferStatus::PendingPosted { .. } => Err(refused(format!(
                "cannot {action} pending transfer {id}: it was already posted"
            ))),
            TransferStatus::PendingVoided => Err(refused(format!(
                "cannot {action} pending transfer {id}: it was already voided"
            ))),
        }
    }

    /// Computes the new balance of every account the legs touch and checks the balance rules,
    /// without changing anything.
    fn plan(&self, legs: &[Leg]) -> Result<Vec<(Account, i128)>> {
        let mut changes: Vec<(Account, i128, i128)> = Vec::with_capacity(legs.len() + 1);
        let mut touch = |account: Account, delta: i128| -> Result<()> {
            let slot = match changes.iter().position(|(a, _, _)| *a == account) {
                Some(slot) => slot,
                None => {
                    let current = self.balance(account);
                    changes.push((account, current, current));
                    changes.len() - 1
                }
            };
            let balance = &mut changes[slot].2;
            *balance = balance.checked_add(delta).ok_or(Error::MoneyOutOfRange {
                operation: "ledger balance",
            })?;
            Ok(())
        };
        for (debit, credit, amount) in legs {
            let amount = i128::from(amount.micros());
            touch(*debit, -amount)?;
            touch(*credit, amount)?;
        }
        for (account, before, after) in &changes {
            if !account.kind().is_bounded() {
                continue;
            }
            if *after < 0 {
                let needed = before - after;
                return Err(refused(format!(
                    "insufficient funds: {account} has {}, the operation needs {}",
                    as_money(*before),
                    as_money(needed)
                )));
            }
            if *after > i128::from(u64::MAX) {
                return Err(Error::MoneyOutOfRange {
                    operation: "credit account",
                });
            }
        }
        Ok(changes
            .into_iter()
            .map(|(account, _, after)| (account, after))
            .collect())
    }

    fn apply(&mut self, changes: Vec<(Account, i128)>) {
        for (account, balance) in changes {
            self.balances.insert(account, balance);
        }
    }

    fn insert(&mut self, transfer: Transfer) {
        if transfer.is_open() {
            self.open.insert(transfer.id);
        }
        self.transfers.insert(transfer.id, transfer);
    }

    fn resolve(&mut self, mut pending: Transfer, status: TransferStatus) -> Transfer {
        pending.status = status;
        self.open.remove(&pending.id);
        self.transfers.insert(pending.id, pending);
        pending
    }
}

/// Displays an `i128` amount of micro-credits as money when it fits (for error messages).
fn as_money(micros: i128) -> String {
    u64::try_from(micros).map_or_else(
        |_| format!("{micros} µcr"),
        |m| Money::from_micros(m).to_string(),
    )
}

fn check_payout(account: Account, amount: Money) -> Result<()> {
    if amount.is_zero() {
        return Err(refused(format!(
            "payout to {account}: the amount must be positive"
        )));
    }
    if account.kind() == AccountKind::JobEscrow {
        return Err(refused(format!(
            "payout to {account} refused: a pending transfer cannot pay into an escrow"
        )));
    }
    Ok(())
}
