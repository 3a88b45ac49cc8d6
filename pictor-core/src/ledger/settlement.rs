//! The [`Settlement`] trait: the hold / post / void interface the rest of Pictor settles jobs through.

use super::account::Account;
use super::state::Ledger;
use super::transfer::{Transfer, TransferId};
use crate::{JobId, Money, Result};

/// How jobs are paid for: money is held in a job's escrow when work is scheduled, then either posted
/// (split between worker, checker and network, the rest back to the payer) or voided.
///
/// This trait leaves room for an on-chain backend; the built-in implementation is the local journal
/// ([`Ledger`]). Implementations must give the same guarantees as the ledger: `hold` is idempotent on
/// its id (same request → same result, different request → error), a hold resolves exactly once, and
/// a failed call changes nothing.
pub trait Settlement {
    /// Holds `amount` from `payer` in the escrow of `job` under transfer id `id`.
    fn hold(
        &mut self,
        id: TransferId,
        payer: Account,
        job: JobId,
        amount: Money,
    ) -> Result<Transfer>;

    /// Posts hold `id`: pays out `payouts` (total at most the held amount) and releases the rest to the
    /// payer.
    fn post(&mut self, id: TransferId, payouts: &[(Account, Money)]) -> Result<Transfer>;

    /// Voids hold `id`: the whole amount goes back to the payer.
    fn void(&mut self, id: TransferId) -> Result<Transfer>;
}

impl Settlement for Ledger {
    fn hold(
        &mut self,
        id: TransferId,
        payer: Account,
        job: JobId,
        amount: Money,
    ) -> Result<Transfer> {
        self.create_pending(id, payer, Account::Escrow(job), amount)
    }

    fn post(&mut self, id: TransferId, payouts: &[(Account, Money)]) -> Result<Transfer> {
        self.post_pending(id, payouts)
    }

    fn void(&mut self, id: TransferId) -> Result<Transfer> {
        self.void_pending(id)
    }
}
