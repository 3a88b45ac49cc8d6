//! Known-outcome checks ("probes", docs/TRUST.md): the coordinator mixes into each checker's
//! leases checks whose verdict it already knows — a result other checkers accepted (honest), or
//! one it made into a cheat itself (blurred, upscaled from half size, brightened) — leased like
//! any check of that task. A checker that accepts a known cheat, or rejects known-honest frames
//! beyond the protocol's false-reject budget, commits an offence: it forfeits its unpaid fees and
//! part of its bond, and after `strikes_to_bar` offences it is barred.

use super::bonds::bond_account;
use super::escrow::TrustMove;
use super::probe_cheats::CheatClass;
use super::views::state_view;
use super::{Caller, Coordinator, ServiceError, ServiceResult, Write};
use crate::blobs::BlobStore;
use crate::store::prelude::*;
use crate::store::{CheckPurpose, CheckRow, CheckState, StandingRow, Store, TaskRow};
use bytes::Bytes;
use pictor_core::api::{
    CheckLease, CheckLeaseRequest, CheckerStanding, ErrorCode, Role, TaskOutput, TaskStateView,
    Verdict,
};
use pictor_core::ledger::Account;
use pictor_core::task::{TaskState, TaskWork};
use pictor_core::{AccountId, CheckId, JobId, TaskId};
use tokio::io::AsyncReadExt;

/// Accepted tasks a probe is chosen from (the newest).
const CANDIDATES: u32 = 64;

/// Largest frame made into a cheat, bytes (decoding and blurring happen on the request).
const MAX_PROBE_FRAME_BYTES: u64 = 16 << 20;

/// What `expected` says of an honest probe.
const HONEST: &str = "honest";

/// A probe ready to lease: the accepted task it poses as, what an honest checker answers and the
/// outputs shown.
pub(crate) struct PreparedProbe {
    task: TaskRow,
    expected: &'static str,
    subject: Vec<TaskOutput>,
}

/// The wire view of a checker's standing.
pub(crate) fn standing_view(standing: &StandingRow) -> CheckerStanding {
    CheckerStanding {
        account: AccountId(standing.account_id),
        probes_passed: standing.probes_passed,
        cheats_seen: standing.cheats_seen,
        cheats_accepted: standing.cheats_accepted,
        honest_seen: standing.honest_seen,
        honest_rejected: standing.honest_rejected,
        strikes: standing.strikes,
        fees_forfeited: pictor_core::Money::from_micros(standing.fees_forfeited),
        barred: standing.barred_at_ms.is_some(),
    }
}

/// A uniformly random number in `0..n` (`n` > 0) from the operating system.
fn random_below(n: u64) -> ServiceResult<u64> {
    let raw = u64::from_le_bytes(super::auth::random_bytes::<8>()?);
    Ok(raw % n.max(1))
}

impl<S: Store> Coordinator<S> {
    /// The caller's record on known-outcome checks.
    pub async fn checker_standing(&self, caller: &Caller) -> ServiceResult<CheckerStanding> {
        caller.require(Role::Checker)?;
        let mut tx = self.read().await?;
        let standing = tx.checker_standing(caller.id()).await?;
        Ok(standing_view(&standing))
    }

    /// Refuses a checker the network barred, or one whose bond is below the network's minimum.
    pub(crate) fn admit_checker(
        &self,
        write: &Write<'_, S::Tx>,
        standing: &StandingRow,
    ) -> ServiceResult<()> {
        if standing.barred_at_ms.is_some() {
            return Err(ServiceError::new(
                ErrorCode::Forbidden,
                "this checker is barred: it failed known-outcome checks repeatedly (docs/TRUST.md)",
            ));
        }
        let bond = write.available(bond_account(standing.account_id));
        let minimum = self.config.trust.checker_min_bond;
        if bond < minimum {
            return Err(ServiceError::new(
                ErrorCode::Forbidden,
                format!(
                    "checkers on this network post a bond of at least {minimum} (this one has \
                     {bond}): POST /v1/bond"
                ),
            ));
        }
        Ok(())
    }

    /// Whether the checker's next lease is due a probe, by its standing as last committed.
    pub(crate) async fn probe_due(&self, checker: u64) -> ServiceResult<bool> {
        let mut tx = self.read().await?;
        let standing = tx.checker_standing(checker).await?;
        Ok(self.probe_place(&standing))
    }

    /// Makes a probe for `checker` out of a recent accepted result it can verify and has not
    /// judged itself: half the time the result as accepted, half the time a cheat made of it
    /// (stored as a new blob). Runs before the lease's write, outside the ledger lock. `None` when
    /// no such result exists yet.
    pub(crate) async fn prepare_probe(
        &self,
        checker: u64,
        request: &CheckLeaseRequest,
    ) -> ServiceResult<Option<PreparedProbe>> {
        let mut tx = self.read().await?;
        let mut candidates = Vec::new();
        // The candidates mostly share a few jobs: each is read once.
        let mut kinds = std::collections::HashMap::new();
        for task in tx.accepted_tasks_unjudged_by(checker, CANDIDATES).await? {
            let outputs = task.outputs.clone().unwrap_or_default();
            let plain = !outputs.is_empty()
                && outputs
                    .iter()
                    .all(|o| o.evidence.is_none() && o.size <= MAX_PROBE_FRAME_BYTES);
            if !plain || matches!(task.work, TaskWork::Tile { .. }) {
                continue;
            }
            let kind = match kinds.get(&task.job_id) {
                Some(kind) => *kind,
                None => {
                    let kind = tx.job(task.job_id).await?.map(|job| job.spec.renderer.kind);
                    kinds.insert(task.job_id, kind);
                    kind
                }
            };
            if kind.is_some_and(|kind| request.can_verify(kind, &outputs)) {
                candidates.push(task);
            }
        }
        drop(tx);
        if candidates.is_empty() {
            return Ok(None);
        }
        let index = random_below(candidates.len() as u64)? as usize;
        let task = candidates.swap_remove(index);
        let mut subject = task.outputs.clone().unwrap_or_default();
        if random_below(2)? == 0 {
            return Ok(Some(PreparedProbe {
                task,
                expected: HONEST,
                subject,
            }));
        }
        let class = CheatClass::ALL[random_below(CheatClass::ALL.len() as u64)? as usize];
        let frame = random_below(subject.len() as u64)? as usize;
        let honest = self.blob_bytes(&subject[frame].hash).await?;
        let cheat = tokio::task::spawn_blocking(move || class.apply(&honest))
            .await
            .map_err(|error| ServiceError::internal(&error))?;
        let Ok(cheat) = cheat else {
            // Not a PNG this build decodes: no probe this time.
            return Ok(None);
        };
        let (hash, size) = self
            .blobs()
            .put(Bytes::from(cheat))
            .await
            .map_err(|error| ServiceError::internal(&error))?;
        subject[frame].hash = hash.to_string();
        subject[frame].size = size;
        Ok(Some(PreparedProbe {
            task,
            expected: class.name(),
            subject,
        }))
    }

    /// The bytes of the blob `hash` (an accepted output).
    pub(crate) async fn blob_bytes(&self, hash: &str) -> ServiceResult<Vec<u8>> {
        let hash = hash
            .parse()
            .map_err(|_| ServiceError::internal(&"a stored output hash does not parse"))?;
        let mut reader = self
            .blobs()
            .open(&hash)
            .await
            .map_err(|error| ServiceError::internal(&error))?;
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|error| ServiceError::internal(&error))?;
        Ok(bytes)
    }

    /// Whether the checker's next lease is a probe's place (none before the first place is
    /// drawn, on its first lease).
    pub(crate) fn probe_place(&self, standing: &StandingRow) -> bool {
        self.config.trust.probe_every > 0
            && standing.next_probe_at > 0
            && standing.leases + 1 >= standing.next_probe_at
    }

    /// Counts a lease (a probe when `probed`) in the checker's standing and writes it: after a
    /// probe (and on the first lease) the next probe's place is drawn at random `⌈e/2⌉` to
    /// `⌈e/2⌉ + e − 1` leases ahead (`e` = `probe_every`), so probes come one in `e` on average,
    /// never two in a row, and at most `⌈e/2⌉ + e − 1` leases apart; a place passed without a
    /// probe (nothing to make one of yet) moves to the next lease.
    pub(crate) async fn count_lease(
        &self,
        write: &mut Write<'_, S::Tx>,
        standing: &mut StandingRow,
        probed: bool,
    ) -> ServiceResult<()> {
        let place = self.probe_place(standing);
        standing.leases += 1;
        let every = u64::from(self.config.trust.probe_every);
        if every > 0 && (probed || standing.next_probe_at == 0) {
            standing.next_probe_at = standing.leases + every.div_ceil(2) + random_below(every)?;
        } else if place {
            standing.next_probe_at = standing.leases + 1;
        }
        write.tx.put_checker_standing(standing).await?;
        Ok(())
    }

    /// Inserts `probe` as a check leased to `checker` and answers its lease.
    pub(crate) async fn insert_probe(
        &self,
        write: &mut Write<'_, S::Tx>,
        checker: u64,
        probe: PreparedProbe,
    ) -> ServiceResult<CheckLease> {
        let job = self.job_of_task(write, &probe.task).await?;
        let attempt = match probe.task.state {
            TaskState::Accepted { attempt, .. } => attempt,
            _ => 1,
        };
        let now = write.now_ms;
        let expires_at_ms = now.saturating_add(self.config.check_lease_ttl_ms);
        let row = CheckRow {
            state: CheckState::Leased,
            checker: Some(checker),
            lease_expires_ms: Some(expires_at_ms),
            leased_at_ms: Some(now),
            purpose: CheckPurpose::Probe,
            expected: Some(probe.expected.to_string()),
            subject: Some(probe.subject.clone()),
            ..CheckRow::waiting(probe.task.id, attempt, 0)
        };
        let id = write.tx.insert_check(&row).await?;
        Ok(CheckLease {
            check: CheckId(id),
            task: TaskId(probe.task.id),
            job: JobId(job.id),
            attempt,
            spec: job.spec.clone(),
            work: probe.task.work.clone(),
            outputs: probe.subject,
            escalation: 0,
            expires_at_ms,
        })
    }

    /// Grades a probe's verdict against what the network knows, records it in the checker's
    /// standing and penalises an offence. Answers the task's state as a real check of the same
    /// verdict would have left it, so that the answer does not tell a probe apart.
    pub(crate) async fn grade_probe(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        check: &mut CheckRow,
        verdict: Verdict,
    ) -> ServiceResult<TaskStateView> {
        let checker = caller.id();
        let mut standing = write.tx.checker_standing(checker).await?;
        let honest = check.expected.as_deref() == Some(HONEST);
        if honest {
            standing.honest_seen += 1;
        } else {
            standing.cheats_seen += 1;
        }
        let rules = &self.config.trust;
        let offence = match (honest, verdict) {
            (_, Verdict::Escalate) => false,
            (true, Verdict::Accept) | (false, Verdict::Reject) => {
                standing.probes_passed += 1;
                false
            }
            (false, Verdict::Accept) => {
                standing.cheats_accepted += 1;
                rules.cheat_accepts_offend(standing.cheats_accepted, standing.cheats_seen)
            }
            (true, Verdict::Reject) => {
                standing.honest_rejected += 1;
                rules.honest_rejects_offend(standing.honest_rejected, standing.honest_seen)
            }
        };
        if offence {
            self.penalise(write, &mut standing).await?;
        }
        write.tx.put_checker_standing(&standing).await?;
        let task = write
            .tx
            .task(check.task_id)
            .await?
            .ok_or_else(|| ServiceError::internal(&"probe without task"))?;
        let mut shown = task.clone();
        if verdict != Verdict::Accept {
            shown.state = TaskState::Pending {
                attempt: check.attempt + 1,
            };
        }
        Ok(state_view(&shown))
    }

    /// A known cheat outside a probe: `checker` judged a result a majority of checkers proved a
    /// cheat (see `confirmations`), and `accepted` it or not; accepting more of them than the
    /// protocol misses is an offence.
    pub(crate) async fn judged_proven_cheat(
        &self,
        write: &mut Write<'_, S::Tx>,
        checker: u64,
        accepted: bool,
    ) -> ServiceResult<()> {
        let mut standing = write.tx.checker_standing(checker).await?;
        standing.cheats_seen += 1;
        if accepted {
            standing.cheats_accepted += 1;
            if self
                .config
                .trust
                .cheat_accepts_offend(standing.cheats_accepted, standing.cheats_seen)
            {
                self.penalise(write, &mut standing).await?;
            }
        }
        write.tx.put_checker_standing(&standing).await?;
        Ok(())
    }

    /// An offence: the checker's unpaid fees go back to the network, `checker_slash` of its bond
    /// too, and at `strikes_to_bar` offences it is barred.
    async fn penalise(
        &self,
        write: &mut Write<'_, S::Tx>,
        standing: &mut StandingRow,
    ) -> ServiceResult<()> {
        let checker = standing.account_id;
        standing.strikes += 1;
        let fees = write.available(Account::Checker(AccountId(checker)));
        write
            .escrow()
            .forfeit_fees(checker, standing.strikes, fees)?;
        standing.fees_forfeited = standing.fees_forfeited.saturating_add(fees.micros());
        let slash = self
            .config
            .trust
            .checker_slash
            .min(write.available(bond_account(checker)));
        let number = (checker << 16) | u64::from(standing.strikes & 0xffff);
        write.escrow().pay_from_bond(
            checker,
            TrustMove::CheckerSlash,
            number,
            &[(Account::NetworkFees, slash)],
        )?;
        if standing.strikes >= self.config.trust.strikes_to_bar {
            standing.barred_at_ms = Some(write.now_ms);
        }
        tracing::warn!(
            checker,
            strikes = standing.strikes,
            forfeited = %fees,
            slashed = %slash,
            barred = standing.barred_at_ms.is_some(),
            "a checker failed a known-outcome check"
        );
        Ok(())
    }
}
