//! Escrow: every movement of a creator's money, in one place.
//!
//! A job's money moves through the double-entry [`Ledger`] as pending transfers from the creator's
//! balance into the job's escrow account ([`job_account`]):
//!
//! - **Open.** On submit the quote's hold (`min(P90 cost, budget cap)`) is shared over the tasks
//!   ([`split_hold`]); each share is one pending transfer, its id [`hold_transfer`]`(task,
//!   generation)`. A job too big to insert in one write reserves the escrow of its tasks not
//!   inserted yet with one more pending transfer ([`reservation_transfer`]), re-reserved a batch at
//!   a time.
//! - **Top up.** A retried task whose new worker charges more than its hold gets a bigger hold,
//!   within the creator's balance and budget cap ([`Coordinator::top_up_hold`]).
//! - **Settle.** An accepted result posts its hold: the agreed cost split between worker, checker
//!   and network ([`Escrow::settle`]); the rest returns to the creator.
//! - **Void.** A cancelled or failed job's open holds return to the creator ([`Escrow::void_hold`]).
//! - **Reopen.** A re-rendered frame, or a task whose hold was voided, needs a new hold: when the
//!   balance covers every missing one they open together ([`Coordinator::open_missing_holds`]),
//!   otherwise the job pauses for funds and resumes on the deposit that covers them.
//! - **Deposit.** Money enters from outside the network ([`Escrow::deposit`]).
//!
//! Transfer ids are tagged by kind in their top two bits so that no two kinds can ever collide:
//! `00` task holds (`task << 32 | generation`), `01` bonds, slashes and forfeits (`escrow_bonds.rs`),
//! `10` reservations (`job << 32 | generation`), `11` deposits (random or derived from the
//! idempotency key).
//!
//! Code outside this module cannot reach the ledger: [`super::Write`] keeps it private and hands
//! out an [`Escrow`] to move money.

#[path = "escrow_bonds.rs"]
mod bonds;

pub(crate) use bonds::{TrustMove, bond_transfer};

use super::trust::settle_payouts;
use super::{Coordinator, ServiceError, ServiceResult, Write};
use crate::store::prelude::*;
use crate::store::{JobRow, Store, TaskRow};
use pictor_core::api::ErrorCode;
use pictor_core::ledger::{Account, Ledger, TransferId};
use pictor_core::money::Rounding;
use pictor_core::pricing::FeeSplit;
use pictor_core::task::TaskState;
use pictor_core::{AccountId, JobId, Money};

/// Tag of reservation transfer ids (top bits `10`).
const RESERVATION_TAG: u128 = 0b10 << 126;
/// Tag of deposit transfer ids (top bits `11`).
const DEPOSIT_TAG: u128 = 0b11 << 126;

/// The ledger transfer holding task `task`'s escrow, generation `generation`.
pub fn hold_transfer(task: u64, generation: u32) -> TransferId {
    TransferId((u128::from(task) << 32) | u128::from(generation))
}

/// The pending transfer reserving the escrow of a job's tasks not inserted yet, generation
/// `generation` (see `batches`).
pub fn reservation_transfer(job: u64, generation: u32) -> TransferId {
    TransferId(RESERVATION_TAG | (u128::from(job) << 32) | u128::from(generation))
}

/// The transfer id of a deposit to account `account`: derived from the idempotency key when there
/// is one (a retry maps to the same transfer), random otherwise.
pub(crate) fn deposit_transfer(
    account: u64,
    idempotency_key: Option<&str>,
) -> ServiceResult<TransferId> {
    let raw = match idempotency_key {
        Some(key) => {
            let digest = blake3::hash(format!("deposit\0{account}\0{key}").as_bytes());
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&digest.as_bytes()[..16]);
            u128::from_le_bytes(bytes)
        }
        None => u128::from_le_bytes(super::auth::random_bytes::<16>()?),
    };
    Ok(TransferId((raw & !(0b11 << 126)) | DEPOSIT_TAG))
}

/// The escrow account of job `job`.
pub(crate) fn job_account(job: u64) -> Account {
    Account::Escrow(JobId(job))
}

/// The balance account of creator `owner`.
pub(crate) fn creator_account(owner: u64) -> Account {
    Account::Creator(AccountId(owner))
}

/// The 402 answered when a creator's balance does not cover a hold: it says by how much.
pub(crate) fn shortfall_error(balance: Money, needed: Money) -> ServiceError {
    let short = needed.checked_sub(balance).unwrap_or(Money::ZERO);
    ServiceError {
        code: ErrorCode::InsufficientFunds,
        message: format!(
            "balance {balance} does not cover the escrow hold {needed}: short by {short}; deposit at least that much"
        ),
        field: Some("balance".into()),
    }
}

/// Shares `total` over tasks: in proportion to their planned costs when the plan priced every task
/// (so each task holds what the worker it was planned for charges), else to their pixels. The last
/// task takes the rounding remainder, so the holds sum to `total` exactly.
pub(crate) fn split_hold(
    total: Money,
    planned: Option<&[Money]>,
    pixel_frames: &[u64],
) -> ServiceResult<Vec<Money>> {
    let weights: Vec<u64> = match planned {
        Some(costs)
            if costs.len() == pixel_frames.len() && costs.iter().any(|c| *c > Money::ZERO) =>
        {
            costs.iter().map(|c| c.micros()).collect()
        }
        _ => pixel_frames.to_vec(),
    };
    let sum = weights
        .iter()
        .try_fold(0u64, |acc, w| acc.checked_add(*w))
        .unwrap_or(u64::MAX)
        .max(1);
    let mut holds = Vec::with_capacity(weights.len());
    let mut held = Money::ZERO;
    for (index, weight) in weights.iter().enumerate() {
        let hold = if index + 1 == weights.len() {
            total.checked_sub(held)?
        } else {
            total.mul_ratio(*weight, sum, Rounding::Down)?
        };
        held = held.checked_add(hold)?;
        holds.push(hold);
    }
    Ok(holds)
}

/// The money operations of one write, on its ledger (from [`Write::escrow`]).
pub(crate) struct Escrow<'a> {
    ledger: &'a mut Ledger,
}

impl<'a> Escrow<'a> {
    pub(super) fn new(ledger: &'a mut Ledger) -> Self {
        Escrow { ledger }
    }

    /// Opens a new hold of `amount` for `task` (its next generation), from creator `owner`'s
    /// balance into the task's job's escrow. The task's previous hold must be closed.
    pub(crate) fn open_hold(
        &mut self,
        task: &mut TaskRow,
        owner: u64,
        amount: Money,
    ) -> ServiceResult<()> {
        let generation = task.hold_generation + 1;
        self.ledger.create_pending(
            hold_transfer(task.id, generation),
            creator_account(owner),
            job_account(task.job_id),
            amount,
        )?;
        task.hold_generation = generation;
        task.hold = amount;
        task.hold_open = true;
        Ok(())
    }

    /// Returns `task`'s open hold (if any) to the creator.
    pub(crate) fn void_hold(&mut self, task: &mut TaskRow) -> ServiceResult<()> {
        if task.hold_open {
            self.ledger
                .void_pending(hold_transfer(task.id, task.hold_generation))?;
            task.hold_open = false;
        }
        Ok(())
    }

    /// Replaces `task`'s open hold by one of `amount` (the creator's balance must cover the
    /// difference; [`Coordinator::top_up_hold`] checks it).
    pub(crate) fn raise_hold(
        &mut self,
        task: &mut TaskRow,
        owner: u64,
        amount: Money,
    ) -> ServiceResult<()> {
        self.void_hold(task)?;
        self.open_hold(task, owner, amount)
    }

    /// Reserves `amount` of creator `owner`'s balance for job `job`'s tasks not inserted yet.
    pub(crate) fn reserve(
        &mut self,
        job: u64,
        owner: u64,
        generation: u32,
        amount: Money,
    ) -> ServiceResult<()> {
        self.ledger.create_pending(
            reservation_transfer(job, generation),
            creator_account(owner),
            job_account(job),
            amount,
        )?;
        Ok(())
    }

    /// Returns reservation `generation` of job `job` to its creator.
    pub(crate) fn release_reservation(&mut self, job: u64, generation: u32) -> ServiceResult<()> {
        self.ledger
            .void_pending(reservation_transfer(job, generation))?;
        Ok(())
    }

    /// Pays out `task`'s hold for an accepted result: the agreed cost (never more than the hold)
    /// split by `fees` between `worker`, the first of `checkers` and the network; each further
    /// checker (a second opinion, docs/TRUST.md) gets the same fee out of the network's share, as
    /// far as it goes. The rest of the hold returns to the creator. Answers the cost paid.
    pub(crate) fn settle(
        &mut self,
        task: &mut TaskRow,
        worker: u64,
        checkers: &[u64],
        fees: &FeeSplit,
    ) -> ServiceResult<Money> {
        let cost = task.agreed_cost.unwrap_or(Money::ZERO).min(task.hold);
        let payouts = settle_payouts(cost, worker, checkers, fees)?;
        self.ledger
            .post_pending(hold_transfer(task.id, task.hold_generation), &payouts)?;
        task.hold_open = false;
        Ok(cost)
    }

    /// Credits creator `account` with `amount` from outside the network.
    pub(crate) fn deposit(
        &mut self,
        transfer: TransferId,
        account: u64,
        amount: Money,
    ) -> ServiceResult<()> {
        self.ledger.deposit(transfer, AccountId(account), amount)?;
        Ok(())
    }
}

impl<S: Store> Coordinator<S> {
    /// Raises a task's hold to `cost` when the worker asking charges more than the hold (a
    /// re-render after a cheaper worker's result was rejected, say), drawing the difference from
    /// the creator's balance within the job's budget cap. Answers false (and changes nothing) when
    /// the balance or the cap does not allow it.
    pub(crate) async fn top_up_hold(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: &JobRow,
        task: &mut TaskRow,
        cost: Money,
    ) -> ServiceResult<bool> {
        let extra = cost.checked_sub(task.hold)?;
        if write.available(creator_account(job.owner)) < extra {
            return Ok(false);
        }
        if let Some(cap) = job.spec.budget_cap {
            let tasks = write.tx.tasks_of_job(job.id).await?;
            let committed = Money::sum(tasks.iter().map(|t| match t.state {
                TaskState::Accepted { .. } => t.agreed_cost.unwrap_or(Money::ZERO),
                _ if t.hold_open => t.hold,
                _ => Money::ZERO,
            }))?;
            if committed.checked_add(extra)? > cap {
                return Ok(false);
            }
        }
        write.escrow().raise_hold(task, job.owner, cost)?;
        Ok(true)
    }

    /// Opens holds for the job's unfinished tasks that have none, all or nothing. Answers whether
    /// they are covered, the balance, and the amount needed.
    pub(crate) async fn open_missing_holds(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: &JobRow,
    ) -> ServiceResult<(bool, Money, Money)> {
        let tasks: Vec<TaskRow> = write
            .tx
            .tasks_of_job(job.id)
            .await?
            .into_iter()
            .filter(|t| !t.hold_open && !t.state.is_final())
            .collect();
        let needed = Money::sum(tasks.iter().map(|t| t.hold))?;
        let balance = write.available(creator_account(job.owner));
        if balance < needed {
            return Ok((false, balance, needed));
        }
        for mut task in tasks {
            let amount = task.hold;
            write.escrow().open_hold(&mut task, job.owner, amount)?;
            write.tx.update_task(&task).await?;
        }
        Ok((true, balance, needed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_kinds_never_collide() {
        let task = hold_transfer(u64::MAX, u32::MAX).0;
        let reservation = reservation_transfer(u64::MAX, u32::MAX).0;
        assert_eq!(task >> 126, 0b00);
        assert_eq!(reservation >> 126, 0b10);
        for key in [None, Some("k"), Some("another key")] {
            let deposit = deposit_transfer(7, key).expect("deposit id").0;
            assert_eq!(deposit >> 126, 0b11);
        }
        assert_eq!(
            deposit_transfer(7, Some("k")).expect("deposit id"),
            deposit_transfer(7, Some("k")).expect("deposit id"),
            "a retried keyed deposit maps to the same transfer"
        );
    }

    #[test]
    fn holds_sum_to_the_total() {
        let total = Money::from_micros(1_000_003);
        let holds = split_hold(total, None, &[1, 2, 3]).expect("split");
        assert_eq!(Money::sum(holds.iter().copied()).expect("sum"), total);
        let planned = [Money::from_micros(10), Money::ZERO, Money::from_micros(30)];
        let holds = split_hold(total, Some(&planned), &[1, 2, 3]).expect("split");
        assert_eq!(holds[1], Money::ZERO);
        assert_eq!(Money::sum(holds.iter().copied()).expect("sum"), total);
    }

    #[test]
    fn a_months_spending_is_its_holds_less_what_came_back() {
        // Budgets count a month's spending from the ledger (`budgets::outflow_since`); the
        // ledger with holds is built here, where holds are made.
        use crate::service::budgets::{outflow_since, per_mille};
        use pictor_core::ledger::{Ledger, TransferId};
        use pictor_core::{AccountId, Money};
        let creator = Account::Creator(AccountId(1));
        let escrow = Account::Escrow(pictor_core::JobId(7));
        let worker = Account::Worker(AccountId(2));
        let mut ledger = Ledger::new();
        ledger
            .deposit(
                TransferId(1 << 126),
                AccountId(1),
                Money::from_micros(1_000),
            )
            .expect("deposit");
        ledger
            .create_pending(
                TransferId(1 << 32),
                creator,
                escrow,
                Money::from_micros(300),
            )
            .expect("hold");
        let month_begins = ledger.journal().len() as u64;
        ledger
            .create_pending(
                TransferId(2 << 32),
                creator,
                escrow,
                Money::from_micros(200),
            )
            .expect("hold");
        ledger
            .post_pending(TransferId(2 << 32), &[(worker, Money::from_micros(150))])
            .expect("post");
        // This month: 200 held, 50 of it back.
        assert_eq!(outflow_since(&ledger, creator, month_begins), 150);
        // Since the start: 300 + 200 held, 50 back.
        assert_eq!(outflow_since(&ledger, creator, 0), 450);
        assert_eq!(per_mille(150, Money::from_micros(300)), 500);
    }
}
