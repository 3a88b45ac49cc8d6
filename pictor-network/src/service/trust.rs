//! The rules of trust (docs/TRUST.md), as plain functions of numbers: how much work a worker may
//! take without a bond, how big a bond must be, how the votes of several checkers on one result
//! decide, and where a slashed bond goes. The coordinator applies them (`checks`, `bonds`,
//! `probes`); `pictor sim trust` runs the same functions in its market simulation, so that the
//! simulated economics are the network's own.

use pictor_core::ledger::Account;
use pictor_core::money::Rounding;
use pictor_core::{AccountId, Money};

/// `n` whole credits.
const fn credits(n: u64) -> Money {
    Money::from_micros(n * 1_000_000)
}

/// Trust settings, each with its documented default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustRules {
    /// The largest task (its agreed cost) a worker with no accepted work may take without a bond
    /// (default 1 credit).
    pub unbonded_task_limit: Money,
    /// Each this many accepted tasks raise a worker's unbonded limit by another
    /// `unbonded_task_limit` (default 20), up to `unbonded_limit_cap`.
    pub reputation_step: u64,
    /// The most a worker's reputation lets it take without a bond (default 10 credits).
    pub unbonded_limit_cap: Money,
    /// A bonded task needs `bond_multiple` × its cost of free bond for it and for each lease the
    /// worker already holds (default 3).
    pub bond_multiple: u64,
    /// A proven cheat is slashed `slash_multiple` × the cheated task's cost, at most the whole
    /// bond (default 3).
    pub slash_multiple: u64,
    /// A worker with fewer than `trusted_after` accepted tasks has a result costing at least
    /// `double_check_from` accepted only by two checkers (default 5 credits).
    pub double_check_from: Money,
    /// Accepted tasks after which a worker's results are checked once (default 20).
    pub trusted_after: u64,
    /// Most checkers asked about one result before it stays unproven (default 5).
    pub max_votes: u32,
    /// A result costing at least `audit_from`, accepted by one checker, gets a second opinion
    /// after it is paid `audit_per_mille` times in 1,000 (defaults 1 credit and 50): a proven
    /// cheat found so is slashed (the creator refunded) and the checker who accepted it commits
    /// an offence.
    pub audit_from: Money,
    /// See `audit_from`.
    pub audit_per_mille: u64,
    /// One known-outcome check (probe) among every `probe_every` checks a checker leases, at a
    /// random place (default 20; 0 turns probes off).
    pub probe_every: u32,
    /// Bond a checker must hold to lease checks (default 0: a network sets its own).
    pub checker_min_bond: Money,
    /// What each offence takes from a checker's bond, to the network (default 5 credits).
    pub checker_slash: Money,
    /// Offences after which a checker is barred (default 2).
    pub strikes_to_bar: u32,
    /// Known-honest frames a checker may reject per 1,000 it is shown, plus one, before a
    /// further reject is an offence (default 1: the protocol's false-reject budget is 1 in
    /// 10,000).
    pub honest_rejects_per_mille: u64,
    /// Known cheats (probes, and results a majority proved cheats) a checker may accept per
    /// 1,000 it is shown, plus one, before a further accept is an offence (default 100: the
    /// protocol's measured detection of the probes' classes is 10 / 10 each, whose smoothed
    /// miss rate is 4 %; an honest checker stays well inside, a lazy one accepts them all).
    pub cheat_accepts_per_mille: u64,
}

impl Default for TrustRules {
    fn default() -> Self {
        TrustRules {
            unbonded_task_limit: credits(1),
            reputation_step: 20,
            unbonded_limit_cap: credits(10),
            bond_multiple: 3,
            slash_multiple: 3,
            double_check_from: credits(5),
            trusted_after: 20,
            max_votes: 5,
            audit_from: credits(1),
            audit_per_mille: 50,
            probe_every: 20,
            checker_min_bond: Money::ZERO,
            checker_slash: credits(5),
            strikes_to_bar: 2,
            honest_rejects_per_mille: 1,
            cheat_accepts_per_mille: 100,
        }
    }
}

impl TrustRules {
    /// The largest task a worker with `accepted` accepted tasks may take without a bond.
    pub fn unbonded_limit(&self, accepted: u64) -> Money {
        let steps = 1 + accepted / self.reputation_step.max(1);
        self.unbonded_task_limit
            .checked_mul(steps)
            .unwrap_or(self.unbonded_limit_cap)
            .min(self.unbonded_limit_cap)
    }

    /// Whether a worker with `accepted` accepted tasks, `bond` posted and `held` leases may take
    /// a task costing `cost`: within its unbonded limit, or with `bond_multiple` × `cost` of bond
    /// for this lease and each one it holds.
    pub fn may_take(&self, accepted: u64, bond: Money, held: u64, cost: Money) -> bool {
        if cost <= self.unbonded_limit(accepted) {
            return true;
        }
        let needed = cost
            .checked_mul(self.bond_multiple)
            .and_then(|per_lease| per_lease.checked_mul(held.saturating_add(1)));
        matches!(needed, Ok(needed) if bond >= needed)
    }

    /// How many checkers must accept a result costing `cost` of a worker with `accepted`
    /// accepted tasks.
    pub fn accepts_needed(&self, accepted: u64, cost: Money) -> u32 {
        if accepted < self.trusted_after && cost >= self.double_check_from {
            2
        } else {
            1
        }
    }

    /// Whether a checker that rejected `rejected` of the `seen` known-honest frames shown it has
    /// gone past the protocol's false-reject budget.
    pub fn honest_rejects_offend(&self, rejected: u64, seen: u64) -> bool {
        rejected > seen.saturating_mul(self.honest_rejects_per_mille) / 1000 + 1
    }

    /// Whether a checker that accepted `accepted` of the `seen` known cheats shown it has gone
    /// past what an honest run of the protocol misses.
    pub fn cheat_accepts_offend(&self, accepted: u64, seen: u64) -> bool {
        accepted > seen.saturating_mul(self.cheat_accepts_per_mille) / 1000 + 1
    }
}

/// What the verdicts on one result decide so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Enough checkers accepted and none rejected: pay it.
    Settle,
    /// Ask another checker (one who has not judged this result).
    AskAnother,
    /// Rejected by a majority of at least two checkers: a proven cheat, its worker's bond slashed.
    Proven,
    /// A checker rejected it but no majority of two or more agreed: not paid (the creator is never
    /// charged for a disputed result), not held against the worker.
    Unproven,
}

/// Decides a result from its `accepts` and `rejects` (each from a different checker), where
/// `accepts_needed` checkers must accept an undisputed result and at most `max_votes` are asked.
pub fn decide(accepts: u32, rejects: u32, accepts_needed: u32, max_votes: u32) -> Decision {
    let votes = accepts + rejects;
    if rejects == 0 {
        return if accepts >= accepts_needed {
            Decision::Settle
        } else {
            Decision::AskAnother
        };
    }
    if rejects >= 2 && rejects > accepts {
        return Decision::Proven;
    }
    if accepts > rejects || votes >= max_votes {
        return Decision::Unproven;
    }
    Decision::AskAnother
}

/// Where a slashed bond goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlashSplit {
    /// The fee of each checker whose reject stood, in order.
    pub to_checkers: Vec<Money>,
    /// Paid to the creator for the re-render (at most the cheated task's cost).
    pub to_creator: Money,
    /// The rest.
    pub to_network: Money,
}

impl SlashSplit {
    /// Everything slashed.
    pub fn total(&self) -> Money {
        let checkers = Money::sum(self.to_checkers.iter().copied()).unwrap_or(Money::MAX);
        checkers
            .checked_add(self.to_creator)
            .and_then(|sum| sum.checked_add(self.to_network))
            .unwrap_or(Money::MAX)
    }
}

/// Splits the slash of a proven cheat on a task costing `cost`, from a bond of `bond`: at most
/// `slash_multiple` × `cost`; first each of `catchers` checkers' `checker_fee`, then the creator's
/// re-render (up to `cost`), the rest to the network.
pub fn slash_split(
    rules: &TrustRules,
    bond: Money,
    cost: Money,
    checker_fee: Money,
    catchers: usize,
) -> SlashSplit {
    let mut left = cost
        .checked_mul(rules.slash_multiple)
        .unwrap_or(Money::MAX)
        .min(bond);
    let mut to_checkers = Vec::with_capacity(catchers);
    for _ in 0..catchers {
        let fee = checker_fee.min(left);
        to_checkers.push(fee);
        left = left.checked_sub(fee).unwrap_or(Money::ZERO);
    }
    let to_creator = cost.min(left);
    let to_network = left.checked_sub(to_creator).unwrap_or(Money::ZERO);
    SlashSplit {
        to_checkers,
        to_creator,
        to_network,
    }
}

/// Who an accepted result costing `cost` pays, by `fees`: the worker, the first of `checkers` and
/// the network; each further checker (a second opinion) the same fee out of the network's share,
/// as far as it goes. Zero payouts are left out.
pub fn settle_payouts(
    cost: Money,
    worker: u64,
    checkers: &[u64],
    fees: &pictor_core::pricing::FeeSplit,
) -> pictor_core::Result<Vec<(Account, Money)>> {
    let (to_worker, to_checker, mut to_network) = fees.split(cost)?;
    let mut payouts: Vec<(Account, Money)> = vec![(Account::Worker(AccountId(worker)), to_worker)];
    for (index, checker) in checkers.iter().enumerate() {
        let fee = if index == 0 {
            to_checker
        } else {
            let fee = to_checker.min(to_network);
            to_network = to_network.checked_sub(fee)?;
            fee
        };
        payouts.push((Account::Checker(AccountId(*checker)), fee));
    }
    payouts.push((Account::NetworkFees, to_network));
    payouts.retain(|(_, amount)| *amount > Money::ZERO);
    Ok(payouts)
}

/// The checker's share of a task costing `cost` under fee split `fees` (what a catch pays).
pub fn checker_fee(fees: &pictor_core::pricing::FeeSplit, cost: Money) -> Money {
    cost.mul_ratio(
        u64::from(fees.checker_fee_bps),
        u64::from(pictor_core::pricing::BPS_PER_WHOLE),
        Rounding::Down,
    )
    .unwrap_or(Money::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_reject_is_not_proof_and_two_are() {
        assert_eq!(decide(1, 0, 1, 5), Decision::Settle);
        assert_eq!(decide(1, 0, 2, 5), Decision::AskAnother);
        assert_eq!(decide(2, 0, 2, 5), Decision::Settle);
        assert_eq!(decide(0, 1, 1, 5), Decision::AskAnother);
        assert_eq!(decide(0, 2, 1, 5), Decision::Proven);
        assert_eq!(decide(1, 1, 1, 5), Decision::AskAnother);
        assert_eq!(decide(2, 1, 1, 5), Decision::Unproven);
        assert_eq!(decide(1, 2, 1, 5), Decision::Proven);
        assert_eq!(decide(2, 2, 1, 4), Decision::Unproven, "out of votes");
    }

    #[test]
    fn reputation_raises_the_unbonded_limit_to_its_cap() {
        let rules = TrustRules::default();
        assert_eq!(rules.unbonded_limit(0), credits(1));
        assert_eq!(rules.unbonded_limit(20), credits(2));
        assert_eq!(rules.unbonded_limit(1_000_000), credits(10));
        let cost = credits(4);
        assert!(!rules.may_take(0, credits(11), 0, cost));
        assert!(rules.may_take(0, credits(12), 0, cost));
        assert!(
            !rules.may_take(0, credits(12), 1, cost),
            "one more lease held"
        );
        assert!(rules.may_take(60, Money::ZERO, 5, cost), "trusted enough");
    }

    #[test]
    fn a_slash_pays_the_catchers_then_the_creator_then_the_network() {
        let rules = TrustRules::default();
        let cost = credits(2);
        let fee = Money::from_micros(100_000);
        let split = slash_split(&rules, credits(100), cost, fee, 2);
        assert_eq!(split.to_checkers, vec![fee, fee]);
        assert_eq!(split.to_creator, cost);
        assert_eq!(split.total(), credits(6), "three times the cost");
        let small = slash_split(&rules, Money::from_micros(150_000), cost, fee, 2);
        assert_eq!(small.to_checkers, vec![fee, Money::from_micros(50_000)]);
        assert_eq!(
            small.total(),
            Money::from_micros(150_000),
            "never more than the bond"
        );
    }
}
