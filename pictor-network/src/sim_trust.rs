//! `pictor sim trust`: a market simulation of the network's trust rules (docs/TRUST.md). Honest
//! workers, workers cheating in each measured way, a lazy checker (accepts everything unseen) and
//! a colluding worker–checker pair work for one creator for some hours. Every result goes through
//! the coordinator's own rules — `TrustRules`, [`decide`], [`settle_payouts`], [`slash_split`],
//! probes, audits, offences — with each checker's verdict drawn from the verifier's measured
//! rates per frame class ([`MEASURED`]), and every credit moves through a real [`Ledger`] (holds,
//! settlements, bonds, slashes, forfeits), which balances at the end. The report is each
//! strategy's profit per hour beside honesty's, and what false rejects cost honest workers.
//!
//! Assumptions, stated in the report: every worker is given the same number of tasks an hour
//! (the market, not the worker, sets the pace); a worker's costs are a share of its price
//! (`render_cost_per_mille`), a cheat's the part of the work it does; a checker's costs are the
//! measured 4.33 % of a render (docs/BENCHMARKS.md, "Checker cost at 1920×1080").

use crate::service::trust::{
    Decision, TrustRules, checker_fee, decide, settle_payouts, slash_split,
};
use pictor_core::ledger::{Account, Ledger, TransferId};
use pictor_core::pricing::FeeSplit;
use pictor_core::{AccountId, JobId, Money};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// How one class of frame fared in a measurement of the checker protocol, per check.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct MeasuredRates {
    /// The frame class (docs/VERIFICATION.md's test matrix).
    pub class: &'static str,
    /// Checks that rejected.
    pub rejected: u32,
    /// Checks that escalated.
    pub escalated: u32,
    /// Checks that accepted.
    pub accepted: u32,
    /// Where the counts are from.
    pub source: &'static str,
}

const DETECTION: &str = "docs/BENCHMARKS.md, Detection per cheat class (512x288, N = 16): \
                         cargo run --release --example false_reject_rate";
const FALSE_REJECTS: &str = "docs/BENCHMARKS.md, False rejects on honest frames (2,000 frames): \
                             cargo run --release --example false_reject_rate -- --cheats 0";

/// The verifier's measured outcomes per class, the simulation's input.
pub const MEASURED: [MeasuredRates; 8] = [
    rates("H1 honest", 0, 8, 1992, FALSE_REJECTS),
    rates("C1 N/2 samples", 9, 1, 0, DETECTION),
    rates("C1 N/4 samples", 10, 0, 0, DETECTION),
    rates("C2 N/4 samples blurred", 10, 0, 0, DETECTION),
    rates("C3 half resolution upscaled", 10, 0, 0, DETECTION),
    rates("C4 neighbouring frame", 7, 1, 2, DETECTION),
    rates("C6 black frame", 10, 0, 0, DETECTION),
    rates("C9 +2 % exposure", 10, 0, 0, DETECTION),
];

const fn rates(
    class: &'static str,
    rejected: u32,
    escalated: u32,
    accepted: u32,
    source: &'static str,
) -> MeasuredRates {
    MeasuredRates {
        class,
        rejected,
        escalated,
        accepted,
        source,
    }
}

impl MeasuredRates {
    /// Per-check probabilities of reject and escalate: each count plus ½ over the frames plus
    /// 1½, so that an outcome never seen in a small sample is taken as possible, not impossible
    /// (10 / 10 rejected becomes 91 %).
    pub fn probabilities(&self) -> (f64, f64) {
        let frames = f64::from(self.rejected + self.escalated + self.accepted) + 1.5;
        (
            (f64::from(self.rejected) + 0.5) / frames,
            (f64::from(self.escalated) + 0.5) / frames,
        )
    }
}

const HONEST: usize = 0;
const PROBE_CHEATS: [usize; 3] = [3, 4, 7];

/// What the market looks like.
#[derive(Clone, Debug)]
pub struct TrustSimOptions {
    /// Simulated hours.
    pub hours: u32,
    /// Results each worker delivers an hour.
    pub tasks_per_hour: u32,
    /// Honest workers (their mean is honesty's figure).
    pub honest_workers: usize,
    /// Honest checkers (besides the lazy and the colluding one).
    pub honest_checkers: usize,
    /// Task costs, credits in micro-credits, dealt in turn.
    pub task_costs: Vec<Money>,
    /// A worker's own cost of an honest render, per mille of the task's cost (default 500).
    pub render_cost_per_mille: u64,
    /// A checker's cost of a check, per mille of a render's cost (default 43: the measured 4.33 %).
    pub check_cost_per_mille: u64,
    /// Earnings are paid out (out of reach of a forfeit) every this many hours (default 24).
    pub payout_hours: u32,
    /// The trust rules under test.
    pub rules: TrustRules,
    /// Escalations of one result before it is inconclusive (the coordinator's default 2).
    pub max_escalations: u32,
    /// The fee split.
    pub fees: FeeSplit,
    /// The random seed.
    pub seed: u64,
}

impl Default for TrustSimOptions {
    fn default() -> Self {
        TrustSimOptions {
            hours: 200,
            tasks_per_hour: 30,
            honest_workers: 5,
            honest_checkers: 10,
            task_costs: vec![
                Money::from_micros(200_000),
                Money::from_micros(2_000_000),
                Money::from_micros(8_000_000),
            ],
            render_cost_per_mille: 500,
            check_cost_per_mille: 43,
            payout_hours: 24,
            rules: TrustRules::default(),
            max_escalations: 2,
            fees: FeeSplit::default(),
            seed: 1,
        }
    }
}

/// One strategy's result.
#[derive(Clone, Debug, Serialize)]
pub struct StrategyReport {
    /// The strategy.
    pub strategy: String,
    /// `worker`, `checker` or `pair` (a colluding worker and checker together).
    pub side: &'static str,
    /// Whether it is an honest strategy.
    pub honest: bool,
    /// Profit an hour, micro-credits (earnings kept − its own costs − bond lost).
    pub profit_per_hour_micros: i64,
    /// Honesty's profit an hour on the same side, micro-credits.
    pub honest_profit_per_hour_micros: i64,
    /// Results delivered (workers) or checks made (checkers).
    pub work: u64,
    /// Results paid (workers).
    pub paid: u64,
    /// Results proven cheats (workers), offences (checkers).
    pub caught: u64,
    /// Bond lost, micro-credits.
    pub slashed_micros: u64,
    /// Fees forfeited (checkers), micro-credits.
    pub forfeited_micros: u64,
    /// Identities used (a barred checker starts over under a new one).
    pub identities: u32,
}

/// What `pictor sim trust` reports.
#[derive(Clone, Debug, Serialize)]
pub struct TrustSimReport {
    /// Simulated hours.
    pub hours: u32,
    /// Results each worker delivered an hour.
    pub tasks_per_hour: u32,
    /// Each strategy, honest ones first.
    pub strategies: Vec<StrategyReport>,
    /// What false rejects cost honest workers, parts per million of their earnings.
    pub honest_false_reject_loss_ppm: u64,
    /// Whether some cheating strategy earned at least honesty's profit.
    pub cheating_pays: bool,
    /// The verifier's rates the checks were drawn from.
    pub measured: Vec<MeasuredRates>,
    /// The assumptions the figures rest on.
    pub assumptions: Vec<&'static str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WorkerPlay {
    Honest,
    /// Delivers frames of `MEASURED[class]`, doing `work_per_mille` of an honest render.
    Cheat {
        class: usize,
        work_per_mille: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CheckerPlay {
    Honest,
    /// Accepts everything without looking.
    Lazy,
    /// Accepts its partner worker's results unseen, checks everything else honestly.
    Colluding {
        partner: usize,
    },
}

struct Worker {
    name: String,
    play: WorkerPlay,
    id: u64,
    accepted: u64,
    results: u64,
    paid: u64,
    proven: u64,
    cost: u64,
    bond_posted: u64,
    would_earn: u64,
}

struct Checker {
    name: String,
    play: CheckerPlay,
    id: u64,
    strikes: u32,
    cheats_seen: u64,
    cheats_accepted: u64,
    honest_seen: u64,
    honest_rejected: u64,
    identities: u32,
    checks: u64,
    cost: u64,
    bond_posted: u64,
    forfeited: u64,
    offences: u64,
    paid_out: u64,
    retired_earnings: u64,
    retired_bond: u64,
}

/// A check's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Accept,
    Reject,
    Escalate,
}

/// The market: agents, a ledger and a random source.
struct Market {
    options: TrustSimOptions,
    rng: StdRng,
    ledger: Ledger,
    next_transfer: u128,
    workers: Vec<Worker>,
    checkers: Vec<Checker>,
    next_identity: u64,
}

const CREATOR: u64 = 1;

/// Runs the simulation.
pub fn simulate_trust(options: &TrustSimOptions) -> pictor_core::Result<TrustSimReport> {
    let mut market = Market::new(options.clone())?;
    for hour in 0..options.hours {
        for round in 0..options.tasks_per_hour {
            for worker in 0..market.workers.len() {
                let index = (hour as usize * options.tasks_per_hour as usize + round as usize)
                    % options.task_costs.len();
                market.deliver(worker, options.task_costs[index])?;
            }
        }
        if options.payout_hours > 0 && (hour + 1) % options.payout_hours == 0 {
            market.pay_out()?;
        }
    }
    market.report()
}

impl Market {
    fn new(options: TrustSimOptions) -> pictor_core::Result<Market> {
        let mut workers = Vec::new();
        for n in 0..options.honest_workers {
            workers.push((format!("honest worker {}", n + 1), WorkerPlay::Honest));
        }
        // A neighbouring frame is one the cheat rendered for another task: half a render each.
        for (class, work) in [(1, 500), (2, 250), (3, 250), (4, 250), (5, 500), (6, 0)] {
            workers.push((
                format!("cheat: {}", MEASURED[class].class),
                WorkerPlay::Cheat {
                    class,
                    work_per_mille: work,
                },
            ));
        }
        let colluder = workers.len();
        workers.push((
            format!("colluding worker: {}", MEASURED[2].class),
            WorkerPlay::Cheat {
                class: 2,
                work_per_mille: 250,
            },
        ));
        let mut checkers: Vec<(String, CheckerPlay)> = (0..options.honest_checkers)
            .map(|n| (format!("honest checker {}", n + 1), CheckerPlay::Honest))
            .collect();
        checkers.push(("lazy checker".into(), CheckerPlay::Lazy));
        checkers.push((
            "colluding checker".into(),
            CheckerPlay::Colluding { partner: colluder },
        ));
        let mut ledger = Ledger::new();
        ledger.deposit(
            TransferId(0),
            AccountId(CREATOR),
            Money::from_micros(u64::MAX / 4),
        )?;
        let mut market = Market {
            rng: StdRng::seed_from_u64(options.seed),
            options,
            ledger,
            next_transfer: 1,
            workers: Vec::new(),
            checkers: Vec::new(),
            next_identity: 100,
        };
        for (name, play) in workers {
            let id = market.identity();
            market.workers.push(Worker {
                name,
                play,
                id,
                accepted: 0,
                results: 0,
                paid: 0,
                proven: 0,
                cost: 0,
                bond_posted: 0,
                would_earn: 0,
            });
        }
        for (name, play) in checkers {
            let id = market.identity();
            market.checkers.push(Checker {
                name,
                play,
                id,
                strikes: 0,
                cheats_seen: 0,
                cheats_accepted: 0,
                honest_seen: 0,
                honest_rejected: 0,
                identities: 1,
                checks: 0,
                cost: 0,
                bond_posted: 0,
                forfeited: 0,
                offences: 0,
                paid_out: 0,
                retired_earnings: 0,
                retired_bond: 0,
            });
            let index = market.checkers.len() - 1;
            market.bond_checker(index)?;
        }
        Ok(market)
    }

    fn identity(&mut self) -> u64 {
        self.next_identity += 1;
        self.next_identity
    }

    fn transfer_id(&mut self) -> TransferId {
        self.next_transfer += 1;
        TransferId(self.next_transfer)
    }

    fn balance(&self, account: Account) -> u64 {
        u64::try_from(self.ledger.balance(account).max(0)).unwrap_or(u64::MAX)
    }

    /// Money from outside into `owner`'s bond.
    fn fund_bond(&mut self, owner: u64, amount: u64) -> pictor_core::Result<()> {
        if amount == 0 {
            return Ok(());
        }
        let deposit = self.transfer_id();
        self.ledger
            .deposit(deposit, AccountId(owner), Money::from_micros(amount))?;
        let post = self.transfer_id();
        self.ledger.transfer(
            post,
            Account::Creator(AccountId(owner)),
            Account::Bond(AccountId(owner)),
            Money::from_micros(amount),
        )?;
        Ok(())
    }

    fn bond_checker(&mut self, index: usize) -> pictor_core::Result<()> {
        let minimum = self.options.rules.checker_min_bond.micros();
        let id = self.checkers[index].id;
        let missing = minimum.saturating_sub(self.balance(Account::Bond(AccountId(id))));
        self.checkers[index].bond_posted += missing;
        self.fund_bond(id, missing)
    }

    /// A render's cost to a worker for a task costing `cost`.
    fn render_cost(&self, cost: Money) -> u64 {
        cost.micros() * self.options.render_cost_per_mille / 1000
    }

    /// Worker `w` delivers one result of a task costing `cost`, which the network checks.
    fn deliver(&mut self, w: usize, cost: Money) -> pictor_core::Result<()> {
        let rules = self.options.rules.clone();
        let (id, accepted) = (self.workers[w].id, self.workers[w].accepted);
        let bond = Money::from_micros(self.balance(Account::Bond(AccountId(id))));
        if !rules.may_take(accepted, bond, 0, cost) {
            let needed = cost.micros().saturating_mul(rules.bond_multiple);
            let missing = needed.saturating_sub(bond.micros());
            self.workers[w].bond_posted += missing;
            self.fund_bond(id, missing)?;
        }
        let work = match self.workers[w].play {
            WorkerPlay::Honest => 1000,
            WorkerPlay::Cheat { work_per_mille, .. } => work_per_mille,
        };
        let render = self.render_cost(cost);
        let share = self.options.fees.split(cost)?.0.micros();
        let worker = &mut self.workers[w];
        worker.cost += render * work / 1000;
        worker.results += 1;
        worker.would_earn += share;
        let hold = self.transfer_id();
        self.ledger.create_pending(
            hold,
            Account::Creator(AccountId(CREATOR)),
            Account::Escrow(JobId(1)),
            cost,
        )?;
        // The result check, escalated up to the cap (each escalation to any checker).
        let mut verdict = None;
        for _ in 0..=self.options.max_escalations {
            let checker = self.pick_checker(&[]);
            match self.check(checker, w, render)? {
                Outcome::Escalate => continue,
                outcome => {
                    verdict = Some((outcome, checker));
                    break;
                }
            }
        }
        let Some((outcome, checker)) = verdict else {
            // Inconclusive: rendered again elsewhere, not paid, not held against the worker.
            self.ledger.void_pending(hold)?;
            return Ok(());
        };
        let needed = rules.accepts_needed(accepted, cost);
        let mut votes = Votes::default();
        match outcome {
            Outcome::Accept if needed == 1 => {
                self.settle(w, hold, cost, &[checker])?;
                if cost >= rules.audit_from && self.draw(rules.audit_per_mille as f64 / 1000.0) {
                    votes.accepting.push(checker);
                    self.confirm(w, cost, hold, votes, false, true)?;
                }
            }
            Outcome::Accept => {
                votes.accepting.push(checker);
                self.confirm(w, cost, hold, votes, true, false)?;
            }
            _ => {
                self.ledger.void_pending(hold)?;
                votes.rejecting.push(checker);
                self.confirm(w, cost, hold, votes, false, false)?;
            }
        }
        Ok(())
    }

    fn draw(&mut self, probability: f64) -> bool {
        self.rng.random::<f64>() < probability
    }

    /// A checker at random among those who have not voted (`voted`).
    fn pick_checker(&mut self, voted: &[usize]) -> usize {
        let open: Vec<usize> = (0..self.checkers.len())
            .filter(|c| !voted.contains(c))
            .collect();
        open[self.rng.random_range(0..open.len())]
    }

    /// Checker `c` checks a result of worker `w` (a render costing `render`): its verdict, its
    /// cost, and now and then a probe mixed into its leases.
    fn check(&mut self, c: usize, w: usize, render: u64) -> pictor_core::Result<Outcome> {
        let every = u64::from(self.options.rules.probe_every);
        if every > 0 && self.draw(1.0 / every as f64) {
            self.probe(c, render)?;
        }
        let class = match self.workers[w].play {
            WorkerPlay::Honest => HONEST,
            WorkerPlay::Cheat { class, .. } => class,
        };
        let checker = &mut self.checkers[c];
        checker.checks += 1;
        match checker.play {
            CheckerPlay::Lazy => return Ok(Outcome::Accept),
            CheckerPlay::Colluding { partner } if partner == w => return Ok(Outcome::Accept),
            _ => {}
        }
        checker.cost += render * self.options.check_cost_per_mille / 1000;
        Ok(self.honest_verdict(class))
    }

    fn honest_verdict(&mut self, class: usize) -> Outcome {
        let (reject, escalate) = MEASURED[class].probabilities();
        let x = self.rng.random::<f64>();
        if x < reject {
            Outcome::Reject
        } else if x < reject + escalate {
            Outcome::Escalate
        } else {
            Outcome::Accept
        }
    }

    /// A known-outcome check for checker `c`: half honest, half a cheat the network made.
    fn probe(&mut self, c: usize, render: u64) -> pictor_core::Result<()> {
        let cheat = self.draw(0.5);
        let class = if cheat {
            PROBE_CHEATS[self.rng.random_range(0..PROBE_CHEATS.len())]
        } else {
            HONEST
        };
        let outcome = match self.checkers[c].play {
            CheckerPlay::Lazy => Outcome::Accept,
            _ => {
                self.checkers[c].cost += render * self.options.check_cost_per_mille / 1000;
                self.honest_verdict(class)
            }
        };
        let rules = &self.options.rules;
        let checker = &mut self.checkers[c];
        checker.checks += 1;
        let offence = if cheat {
            checker.cheats_seen += 1;
            checker.cheats_accepted += u64::from(outcome == Outcome::Accept);
            outcome == Outcome::Accept
                && rules.cheat_accepts_offend(checker.cheats_accepted, checker.cheats_seen)
        } else {
            checker.honest_seen += 1;
            checker.honest_rejected += u64::from(outcome == Outcome::Reject);
            outcome == Outcome::Reject
                && rules.honest_rejects_offend(checker.honest_rejected, checker.honest_seen)
        };
        if offence {
            self.offence(c)?;
        }
        Ok(())
    }

    /// Checker `c` judged a result a majority proved a cheat, and `accepted` it or not.
    fn judged_proven_cheat(&mut self, c: usize, accepted: bool) -> pictor_core::Result<()> {
        let rules = &self.options.rules;
        let checker = &mut self.checkers[c];
        checker.cheats_seen += 1;
        checker.cheats_accepted += u64::from(accepted);
        if accepted && rules.cheat_accepts_offend(checker.cheats_accepted, checker.cheats_seen) {
            self.offence(c)?;
        }
        Ok(())
    }

    /// An offence of checker `c`: its unpaid fees and `checker_slash` of its bond go to the
    /// network; barred at `strikes_to_bar`, it starts over as a new identity.
    fn offence(&mut self, c: usize) -> pictor_core::Result<()> {
        let id = self.checkers[c].id;
        let fees = self.balance(Account::Checker(AccountId(id)));
        if fees > 0 {
            let transfer = self.transfer_id();
            self.ledger.transfer(
                transfer,
                Account::Checker(AccountId(id)),
                Account::NetworkFees,
                Money::from_micros(fees),
            )?;
        }
        let bond = self.balance(Account::Bond(AccountId(id)));
        let slash = self.options.rules.checker_slash.micros().min(bond);
        if slash > 0 {
            let transfer = self.transfer_id();
            self.ledger.transfer(
                transfer,
                Account::Bond(AccountId(id)),
                Account::NetworkFees,
                Money::from_micros(slash),
            )?;
        }
        let bond_left = self.balance(Account::Bond(AccountId(id)));
        let earnings_left = self.balance(Account::Checker(AccountId(id)));
        let checker = &mut self.checkers[c];
        checker.forfeited += fees;
        checker.offences += 1;
        checker.strikes += 1;
        if checker.strikes >= self.options.rules.strikes_to_bar {
            // Barred: what is left in its bond it keeps; it comes back as someone new.
            checker.retired_bond += bond_left;
            checker.retired_earnings += earnings_left;
            let fresh = self.identity();
            let checker = &mut self.checkers[c];
            checker.id = fresh;
            checker.strikes = 0;
            checker.cheats_seen = 0;
            checker.cheats_accepted = 0;
            checker.honest_seen = 0;
            checker.honest_rejected = 0;
            checker.identities += 1;
            self.bond_checker(c)?;
        }
        Ok(())
    }

    fn settle(
        &mut self,
        w: usize,
        hold: TransferId,
        cost: Money,
        checkers: &[usize],
    ) -> pictor_core::Result<()> {
        let ids: Vec<u64> = checkers.iter().map(|c| self.checkers[*c].id).collect();
        let payouts = settle_payouts(cost, self.workers[w].id, &ids, &self.options.fees)?;
        self.ledger.post_pending(hold, &payouts)?;
        self.workers[w].paid += 1;
        self.workers[w].accepted += 1;
        Ok(())
    }

    /// Second opinions on a result, as the coordinator's `confirmations` takes them.
    fn confirm(
        &mut self,
        w: usize,
        cost: Money,
        hold: TransferId,
        mut votes: Votes,
        mut waiting: bool,
        paid: bool,
    ) -> pictor_core::Result<()> {
        let rules = self.options.rules.clone();
        let needed = rules.accepts_needed(self.workers[w].accepted, cost);
        let render = self.render_cost(cost);
        let mut confirmations = 0;
        loop {
            let voted: Vec<usize> = votes
                .accepting
                .iter()
                .chain(&votes.rejecting)
                .copied()
                .collect();
            let checker = self.pick_checker(&voted);
            let outcome = self.check(checker, w, render)?;
            confirmations += 1;
            match outcome {
                Outcome::Accept => votes.accepting.push(checker),
                Outcome::Reject => votes.rejecting.push(checker),
                Outcome::Escalate => {}
            }
            let mut decision = decide(
                votes.accepting.len() as u32,
                votes.rejecting.len() as u32,
                needed,
                rules.max_votes,
            );
            if decision == Decision::AskAnother && confirmations + 1 >= rules.max_votes {
                decision = Decision::Unproven;
            }
            if waiting {
                match decision {
                    Decision::Settle => {
                        let accepting = votes.accepting.clone();
                        return self.settle(w, hold, cost, &accepting);
                    }
                    Decision::AskAnother if votes.rejecting.is_empty() => continue,
                    _ => {
                        self.ledger.void_pending(hold)?;
                        waiting = false;
                    }
                }
            }
            match decision {
                Decision::AskAnother => continue,
                Decision::Proven => return self.slash(w, cost, &votes),
                Decision::Unproven if !paid && votes.accepting.len() > votes.rejecting.len() => {
                    return self.compensate(w, cost);
                }
                Decision::Settle | Decision::Unproven => return Ok(()),
            }
        }
    }

    fn slash(&mut self, w: usize, cost: Money, votes: &Votes) -> pictor_core::Result<()> {
        let id = self.workers[w].id;
        let fee = checker_fee(&self.options.fees, cost);
        let bond = Money::from_micros(self.balance(Account::Bond(AccountId(id))));
        let split = slash_split(&self.options.rules, bond, cost, fee, votes.rejecting.len());
        let mut legs: Vec<(Account, Money)> = votes
            .rejecting
            .iter()
            .zip(&split.to_checkers)
            .map(|(c, paid)| (Account::Checker(AccountId(self.checkers[*c].id)), *paid))
            .collect();
        legs.push((Account::Creator(AccountId(CREATOR)), split.to_creator));
        legs.push((Account::NetworkFees, split.to_network));
        for (to, amount) in legs {
            if amount > Money::ZERO {
                let transfer = self.transfer_id();
                self.ledger
                    .transfer(transfer, Account::Bond(AccountId(id)), to, amount)?;
            }
        }
        self.workers[w].proven += 1;
        self.workers[w].accepted = 0;
        for c in votes.accepting.clone() {
            self.judged_proven_cheat(c, true)?;
        }
        for c in votes.rejecting.clone() {
            self.judged_proven_cheat(c, false)?;
        }
        Ok(())
    }

    fn compensate(&mut self, w: usize, cost: Money) -> pictor_core::Result<()> {
        let share = self.options.fees.split(cost)?.0;
        let paid = share.min(Money::from_micros(self.balance(Account::NetworkFees)));
        if paid > Money::ZERO {
            let transfer = self.transfer_id();
            self.ledger.transfer(
                transfer,
                Account::NetworkFees,
                Account::Worker(AccountId(self.workers[w].id)),
                paid,
            )?;
        }
        Ok(())
    }

    /// Checkers' earnings leave the network (paid out): a later forfeit cannot reach them.
    fn pay_out(&mut self) -> pictor_core::Result<()> {
        for c in 0..self.checkers.len() {
            let id = self.checkers[c].id;
            let earned = self.balance(Account::Checker(AccountId(id)));
            if earned > 0 {
                let transfer = self.transfer_id();
                self.ledger.transfer(
                    transfer,
                    Account::Checker(AccountId(id)),
                    Account::External,
                    Money::from_micros(earned),
                )?;
                self.checkers[c].paid_out += earned;
            }
        }
        Ok(())
    }

    fn report(&self) -> pictor_core::Result<TrustSimReport> {
        self.ledger.check_invariants()?;
        let hours = i64::from(self.options.hours.max(1));
        let worker_profit = |worker: &Worker| -> i64 {
            let earned = self.balance(Account::Worker(AccountId(worker.id)));
            let bond_left = self.balance(Account::Bond(AccountId(worker.id)));
            (earned as i64 + bond_left as i64 - worker.bond_posted as i64 - worker.cost as i64)
                / hours
        };
        let checker_profit = |checker: &Checker| -> i64 {
            let earned = self.balance(Account::Checker(AccountId(checker.id)))
                + checker.paid_out
                + checker.retired_earnings;
            let bond_left =
                self.balance(Account::Bond(AccountId(checker.id))) + checker.retired_bond;
            (earned as i64 + bond_left as i64 - checker.bond_posted as i64 - checker.cost as i64)
                / hours
        };
        let honest_workers: Vec<&Worker> = self
            .workers
            .iter()
            .filter(|w| w.play == WorkerPlay::Honest)
            .collect();
        let honest_checkers: Vec<&Checker> = self
            .checkers
            .iter()
            .filter(|c| c.play == CheckerPlay::Honest)
            .collect();
        let mean = |values: Vec<i64>| values.iter().sum::<i64>() / (values.len().max(1) as i64);
        let honest_worker = mean(honest_workers.iter().map(|w| worker_profit(w)).collect());
        let honest_checker = mean(honest_checkers.iter().map(|c| checker_profit(c)).collect());
        let mut strategies = Vec::new();
        strategies.push(StrategyReport {
            strategy: "honest worker (mean)".into(),
            side: "worker",
            honest: true,
            profit_per_hour_micros: honest_worker,
            honest_profit_per_hour_micros: honest_worker,
            work: honest_workers.iter().map(|w| w.results).sum(),
            paid: honest_workers.iter().map(|w| w.paid).sum(),
            caught: honest_workers.iter().map(|w| w.proven).sum(),
            slashed_micros: 0,
            forfeited_micros: 0,
            identities: honest_workers.len() as u32,
        });
        strategies.push(StrategyReport {
            strategy: "honest checker (mean)".into(),
            side: "checker",
            honest: true,
            profit_per_hour_micros: honest_checker,
            honest_profit_per_hour_micros: honest_checker,
            work: honest_checkers.iter().map(|c| c.checks).sum(),
            paid: 0,
            caught: honest_checkers.iter().map(|c| c.offences).sum(),
            slashed_micros: 0,
            forfeited_micros: honest_checkers.iter().map(|c| c.forfeited).sum(),
            identities: honest_checkers.iter().map(|c| c.identities).sum(),
        });
        let mut colluding_worker = 0;
        for worker in self.workers.iter().filter(|w| w.play != WorkerPlay::Honest) {
            let slashed = worker
                .bond_posted
                .saturating_sub(self.balance(Account::Bond(AccountId(worker.id))));
            let profit = worker_profit(worker);
            if worker.name.starts_with("colluding") {
                colluding_worker = profit;
                continue;
            }
            strategies.push(StrategyReport {
                strategy: worker.name.clone(),
                side: "worker",
                honest: false,
                profit_per_hour_micros: profit,
                honest_profit_per_hour_micros: honest_worker,
                work: worker.results,
                paid: worker.paid,
                caught: worker.proven,
                slashed_micros: slashed,
                forfeited_micros: 0,
                identities: 1,
            });
        }
        for checker in self
            .checkers
            .iter()
            .filter(|c| c.play != CheckerPlay::Honest)
        {
            let profit = checker_profit(checker);
            let (strategy, side, profit, honest) = match checker.play {
                CheckerPlay::Colluding { .. } => (
                    "colluding pair: worker C1 N/4 + its checker".to_string(),
                    "pair",
                    profit + colluding_worker,
                    honest_worker + honest_checker,
                ),
                _ => (checker.name.clone(), "checker", profit, honest_checker),
            };
            strategies.push(StrategyReport {
                strategy,
                side,
                honest: false,
                profit_per_hour_micros: profit,
                honest_profit_per_hour_micros: honest,
                work: checker.checks,
                paid: 0,
                caught: checker.offences,
                slashed_micros: 0,
                forfeited_micros: checker.forfeited,
                identities: checker.identities,
            });
        }
        let would: u64 = honest_workers.iter().map(|w| w.would_earn).sum();
        let earned: u64 = honest_workers
            .iter()
            .map(|w| self.balance(Account::Worker(AccountId(w.id))))
            .sum();
        let lost = would.saturating_sub(earned);
        let cheating_pays = strategies
            .iter()
            .any(|s| !s.honest && s.profit_per_hour_micros >= s.honest_profit_per_hour_micros);
        Ok(TrustSimReport {
            hours: self.options.hours,
            tasks_per_hour: self.options.tasks_per_hour,
            strategies,
            honest_false_reject_loss_ppm: lost.saturating_mul(1_000_000) / earned.max(1),
            cheating_pays,
            measured: MEASURED.to_vec(),
            assumptions: vec![
                "every worker is given the same number of tasks an hour",
                "a worker's cost of an honest render is render_cost_per_mille of the task's cost; a cheat's, the part of the render it does",
                "a check costs a checker 4.33 % of a render (measured at 1920x1080)",
                "per-check verdicts are drawn from the measured counts, each plus 1/2 (no outcome taken as impossible)",
                "a barred checker comes back at once as a new identity, posting the minimum bond again",
            ],
        })
    }
}

/// The checkers who accepted and rejected one result.
#[derive(Debug, Default)]
struct Votes {
    accepting: Vec<usize>,
    rejecting: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_market_balances_and_no_cheat_pays() {
        let options = TrustSimOptions {
            hours: 10,
            ..TrustSimOptions::default()
        };
        let report = simulate_trust(&options).expect("simulate");
        assert!(!report.cheating_pays, "{report:#?}");
        assert!(
            report
                .strategies
                .iter()
                .any(|s| s.honest && s.profit_per_hour_micros > 0)
        );
    }

    #[test]
    fn smoothing_never_makes_an_outcome_impossible() {
        let (reject, escalate) = MEASURED[2].probabilities();
        assert!(reject < 1.0 && reject > 0.9);
        assert!(escalate > 0.0);
    }
}
