//! One write: the ledger lock (settling writes queue ahead of starting ones), one store write
//! transaction, and what to announce after the commit.
//!
//! The in-memory [`Ledger`] is a private field of [`Write`]: code outside this module reads
//! balances through [`Write::balance`] and moves money only through [`Write::escrow`], so every
//! hold, post and void of the ledger happens in [`super::escrow`]. The compiler enforces it.

use super::escrow::Escrow;
use super::{Coordinator, ServiceError, ServiceResult, ledger};
use crate::store::Store;
use crate::store::prelude::*;
use pictor_core::Money;
use pictor_core::ledger::{Account, Ledger};
use std::sync::atomic::Ordering;
use tokio::sync::MutexGuard;

/// A write in progress: the ledger lock, the transaction, and the jobs whose watchers to wake
/// after the commit.
pub(crate) struct Write<'a, T: StoreTx> {
    /// The store transaction every row of this write goes through.
    pub(crate) tx: T,
    /// The time of this write, read once from the coordinator's clock when it began.
    pub(crate) now_ms: u64,
    ledger: MutexGuard<'a, Ledger>,
    journal_mark: usize,
    touched_jobs: Vec<u64>,
}

impl<T: StoreTx> Write<'_, T> {
    /// Remembers that `job` got events, to wake its watchers after the commit.
    pub(crate) fn touched(&mut self, job: u64) {
        if !self.touched_jobs.contains(&job) {
            self.touched_jobs.push(job);
        }
    }

    /// The ledger including this write's changes so far.
    pub(crate) fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The balance of `account` including this write's changes so far.
    pub(crate) fn balance(&self, account: Account) -> i128 {
        self.ledger.balance(account)
    }

    /// The spendable balance of `account` as money (a negative balance, which the ledger never
    /// produces for a creator, reads as zero).
    pub(crate) fn available(&self, account: Account) -> Money {
        Money::from_micros(u64::try_from(self.balance(account).max(0)).unwrap_or(0))
    }

    /// The escrow operations on this write's ledger: the only way to move money.
    pub(crate) fn escrow(&mut self) -> Escrow<'_> {
        Escrow::new(&mut self.ledger)
    }
}

impl<S: Store> Coordinator<S> {
    /// Starts a write: takes the ledger lock, then the store's write connection (the lock order).
    /// On a shared store the in-memory ledger first catches up with what other coordinators
    /// committed; after a failed write it is rebuilt from the journal here.
    ///
    /// Writes that start new work (a lease, a job) queue for the ledger lock one at a time,
    /// through `starting_lane`: at most one of them waits at the lock, so a *settling* write
    /// ([`Coordinator::write_settling`]) arriving in a flood of them is behind one, not all.
    pub(crate) async fn write(&self) -> ServiceResult<Write<'_, S::Tx>> {
        let lane = self.starting_lane.lock().await;
        let ledger = self.ledger.lock().await;
        drop(lane);
        self.write_locked(ledger).await
    }

    /// Starts a write that finishes work already under way — a result, a heartbeat, a check lease
    /// or a verdict: it queues at the ledger lock directly, ahead of every write that starts new
    /// work but one, so under a flood of lease requests the work already done is still settled
    /// (and paid) first. Settling only follows work started, so starting writes are delayed,
    /// never starved for good.
    pub(crate) async fn write_settling(&self) -> ServiceResult<Write<'_, S::Tx>> {
        let ledger = self.ledger.lock().await;
        self.write_locked(ledger).await
    }

    async fn write_locked<'a>(
        &'a self,
        mut ledger: MutexGuard<'a, Ledger>,
    ) -> ServiceResult<Write<'a, S::Tx>> {
        let mut tx = self.store.begin_write().await?;
        self.sync_ledger(&mut tx, &mut ledger).await?;
        let journal_mark = ledger.journal().len();
        Ok(Write {
            tx,
            now_ms: self.now_ms(),
            ledger,
            journal_mark,
            touched_jobs: Vec::new(),
        })
    }

    /// Ends a write: commits on `Ok` (sealing and persisting new journal entries first), rolls back
    /// on `Err`; in both failure cases, if the in-memory ledger moved, it is marked stale and the
    /// next write rebuilds it from the store. Answers once the commit is durable.
    pub(crate) async fn finish<R>(
        &self,
        write: Write<'_, S::Tx>,
        result: ServiceResult<R>,
    ) -> ServiceResult<R> {
        let Write {
            mut tx,
            mut ledger,
            journal_mark,
            touched_jobs,
            now_ms,
            ..
        } = write;
        let value = match result {
            Ok(value) => value,
            Err(error) => {
                drop(tx);
                if ledger.journal().len() != journal_mark {
                    self.ledger_stale.store(true, Ordering::SeqCst);
                }
                return Err(error);
            }
        };
        let persisted =
            ledger::persist_new(&mut tx, &mut ledger, journal_mark, &self.key, now_ms).await;
        let committed = match persisted {
            Ok(()) => match tx.announce_jobs(&touched_jobs).await {
                Ok(()) => tx.commit_visible().await.map_err(ServiceError::from),
                Err(error) => Err(error.into()),
            },
            Err(error) => Err(error),
        };
        let flush = match committed {
            Ok(flush) => flush,
            Err(error) => {
                // The commit may or may not have happened (a lost connection): the next write
                // reloads the ledger from what the store holds.
                self.ledger_stale.store(true, Ordering::SeqCst);
                return Err(error);
            }
        };
        self.publish_balances(&ledger, journal_mark);
        // The next writer goes on while this one waits for the disk (group commit): the caller
        // is answered, and watchers woken, only once the write is durable.
        drop(ledger);
        flush.wait().await?;
        for job in touched_jobs {
            // Nobody listening is fine.
            let _ = self.events.send(job);
        }
        Ok(value)
    }

    /// Brings the in-memory ledger up to the journal `tx` sees (inside the write lock): rebuilt
    /// after a failed write, caught up with other coordinators' entries on a shared store, and
    /// publishes the balances that changed.
    async fn sync_ledger(&self, tx: &mut S::Tx, ledger: &mut Ledger) -> ServiceResult<()> {
        let stale = self.ledger_stale.load(Ordering::SeqCst);
        if !stale && !self.store.is_shared() {
            return Ok(());
        }
        if stale {
            *ledger = Ledger::new();
        }
        let mark = ledger.journal().len();
        if let Err(error) = ledger::catch_up(tx, ledger, &self.key.verifying_key()).await {
            self.ledger_stale.store(true, Ordering::SeqCst);
            return Err(error);
        }
        self.ledger_stale.store(false, Ordering::SeqCst);
        self.publish_balances(ledger, mark);
        Ok(())
    }

    /// On a shared store, catches the ledger up with what other coordinators committed and
    /// publishes the balances, so a read on this replica sees money moved through another. Waits
    /// for this replica's write in progress, if any; a no-op on a store of one process.
    pub(crate) async fn refresh_balances(&self) -> ServiceResult<()> {
        if !self.store.is_shared() {
            return Ok(());
        }
        let mut ledger = self.ledger.lock().await;
        let mut tx = self.store.begin_read().await?;
        self.sync_ledger(&mut tx, &mut ledger).await
    }

    /// Publishes the balances the journal entries after `mark` changed (called after their commit).
    fn publish_balances(&self, ledger: &Ledger, mark: usize) {
        let entries = ledger.journal().entries().get(mark..).unwrap_or_default();
        if entries.is_empty() {
            return;
        }
        let mut balances = self
            .committed_balances
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for entry in entries {
            for account in [entry.posting.debit, entry.posting.credit] {
                balances.insert(account, ledger.balance(account));
            }
        }
    }

    /// The balance of `account` as of the last committed write, without waiting for a writer.
    pub fn committed_balance(&self, account: Account) -> i128 {
        // A poisoned lock only means a panic elsewhere while publishing; the map is still whole.
        let balances = self
            .committed_balances
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        balances.get(&account).copied().unwrap_or(0)
    }

    /// A read-only transaction: waits for neither the ledger nor the writer.
    pub(crate) async fn read(&self) -> ServiceResult<S::Tx> {
        Ok(self.store.begin_read().await?)
    }

    /// A write transaction for a change that moves no money: the write connection alone, without
    /// the ledger lock (the lock order allows it; see the module's docs).
    pub(crate) async fn write_without_ledger(&self) -> ServiceResult<S::Tx> {
        Ok(self.store.begin_write().await?)
    }
}

#[cfg(test)]
mod tests {
    use crate::service::Config;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_settling_write_goes_ahead_of_queued_starting_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let coordinator = crate::server::open(dir.path(), Config::default())
            .await
            .expect("open");
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = coordinator.write().await.expect("first write");
        let mut queued = Vec::new();
        for name in ["start-1", "start-2", "start-3"] {
            let (coordinator, order) = (coordinator.clone(), order.clone());
            queued.push(tokio::spawn(async move {
                let write = coordinator.write().await.expect("write");
                order.lock().expect("order").push(name);
                coordinator.finish(write, Ok(())).await.expect("finish");
            }));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let settle = {
            let (coordinator, order) = (coordinator.clone(), order.clone());
            tokio::spawn(async move {
                let write = coordinator.write_settling().await.expect("write");
                order.lock().expect("order").push("settle");
                coordinator.finish(write, Ok(())).await.expect("finish");
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        coordinator.finish(held, Ok(())).await.expect("finish");
        settle.await.expect("settle");
        for task in queued {
            task.await.expect("start");
        }
        let order = order.lock().expect("order").clone();
        // The first starting write was already queued at the lock; the others gave way.
        assert_eq!(order, ["start-1", "settle", "start-2", "start-3"]);
    }
}
