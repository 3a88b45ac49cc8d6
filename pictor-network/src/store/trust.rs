//! What trust needs of the store: checkers' standing from known-outcome checks, the accepted
//! results probes are made from, and whether a worker has work awaiting a verdict (its bond stays
//! locked until none does).

use super::{StoreResult, TaskRow};
use std::future::Future;

/// A checker's record on known-outcome checks (probes), and its penalties.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StandingRow {
    /// The checker account.
    pub account_id: u64,
    /// Checks it has leased, probes included: probes are placed by this count.
    pub leases: u64,
    /// The lease count at which its next probe comes.
    pub next_probe_at: u64,
    /// Probes it answered as an honest checker does.
    pub probes_passed: u64,
    /// Known cheats it was shown: cheat probes, and results a majority of checkers proved cheats.
    pub cheats_seen: u64,
    /// Of those, how many it accepted.
    pub cheats_accepted: u64,
    /// Known-honest frames it was shown (honest probes).
    pub honest_seen: u64,
    /// Of those, how many it rejected.
    pub honest_rejected: u64,
    /// Offences counted against it; each cost the period's fees.
    pub strikes: u32,
    /// Fees taken back from it over all offences, micro-credits.
    pub fees_forfeited: u64,
    /// When it was barred from checking, Unix ms.
    pub barred_at_ms: Option<u64>,
}

/// Trust's reads and writes.
pub trait TrustTx: Send {
    /// A checker's standing (a fresh, clean one before its first lease).
    fn checker_standing(
        &mut self,
        account: u64,
    ) -> impl Future<Output = StoreResult<StandingRow>> + Send;

    /// Writes a checker's standing (inserts or replaces).
    fn put_checker_standing(
        &mut self,
        row: &StandingRow,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The newest accepted tasks that `checker` did not judge (no check of theirs but a probe
    /// went to it), at most `limit`: what its probes are made from.
    fn accepted_tasks_unjudged_by(
        &mut self,
        checker: u64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<TaskRow>>> + Send;

    /// A proven cheat's reputation goes: its accepted tasks count from zero again, so its
    /// unbonded limit and its second opinions are a new worker's.
    fn forget_reputation(&mut self, worker: u64) -> impl Future<Output = StoreResult<()>> + Send;

    /// How many of the worker's results await a verdict: attempts of tasks still leased or
    /// verifying, and confirmations of its rejected results still open.
    fn open_work_of_worker(&mut self, worker: u64)
    -> impl Future<Output = StoreResult<u64>> + Send;
}
