//! Trust through the real network (docs/TRUST.md): a lazy checker caught by known-outcome checks
//! and barred; a cheating worker's bond paying the checkers who caught it; an honest worker's bond
//! untouched by an inconclusive check or by one checker's reject; a new worker's high-value result
//! paid only after two accepts; bonds gating big tasks; and after each, a ledger that verifies,
//! pays nothing twice and holds exactly what was deposited.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::ledger::assert_ledger_sound;
use common::{Network, deliver, deliver_pngs, small_spec, upload_test_scene};
use pictor_core::api::{BondSource, CheckLease, Role, TaskLease, Verdict};
use pictor_core::ledger::{Account, PostingKind, SigningKey};
use pictor_core::{AccountId, JobId, Money};
use pictor_network::service::Config;
use pictor_network::service::trust::TrustRules;
use pictor_sdk::Client;
use serde_json::json;

/// A worker price that makes the small test tasks cost ~0.01 credits, so every fee is whole
/// micro-credits.
const PRICE_CREDITS: u64 = 1_000;

fn config(trust: TrustRules) -> Config {
    Config {
        trust,
        ..Config::default()
    }
}

/// Rules with probes off, so that only the checks a test makes are leased.
fn no_probes() -> TrustRules {
    TrustRules {
        probe_every: 0,
        ..TrustRules::default()
    }
}

/// Rules under which every test task needs a bond (no reputation allows one unbonded).
fn bonded_only() -> TrustRules {
    TrustRules {
        unbonded_task_limit: Money::from_micros(1),
        unbonded_limit_cap: Money::from_micros(1),
        ..no_probes()
    }
}

async fn earnings(network: &Network, id: AccountId) -> Money {
    network
        .admin
        .accounts()
        .get(id)
        .await
        .expect("account")
        .balance
}

/// An admin deposit of 10 credits to worker `id`, 5 of them posted as its bond; answers the bond.
async fn post_bond(network: &Network, worker: &Client, id: AccountId) -> Money {
    network
        .admin
        .accounts()
        .deposit(id, Money::from_credits(10).expect("credits"))
        .send()
        .await
        .expect("deposit to the worker");
    let bond = Money::from_credits(5).expect("credits");
    worker
        .accounts()
        .post_bond(bond, BondSource::Balance)
        .await
        .expect("post the bond");
    bond
}

async fn submit(creator: &Client, frames: &str) -> JobId {
    let scene = upload_test_scene(creator).await;
    creator
        .jobs()
        .submit(small_spec(scene, frames))
        .send()
        .await
        .expect("submit")
        .id
}

/// `worker` leases the next task and delivers real PNG frames for it, signed with `key`.
async fn lease_and_deliver(worker: &Client, key: &SigningKey) -> TaskLease {
    let lease = worker
        .workers()
        .lease()
        .await
        .expect("lease")
        .expect("a task");
    deliver_pngs(worker, key, &lease).await;
    lease
}

async fn lease_check(checker: &Client) -> Option<CheckLease> {
    checker.checks().lease().await.expect("check lease")
}

async fn verdict(checker: &Client, check: &CheckLease, verdict: Verdict) {
    checker
        .checks()
        .verdict(check.check, verdict, json!({"reasons": ["test"]}))
        .await
        .expect("verdict");
}

/// The amounts of the direct transfers from `from` to `to` in the journal.
async fn journal_moves(client: &Client, from: Account, to: Account) -> Vec<Money> {
    let journal = client.ledger().fetch_journal().await.expect("journal");
    journal
        .entries()
        .iter()
        .filter(|e| {
            e.posting.kind == PostingKind::Direct
                && e.posting.debit == from
                && e.posting.credit == to
        })
        .map(|e| e.posting.amount)
        .collect()
}

#[tokio::test]
async fn a_lazy_checker_is_caught_by_known_outcome_checks_and_stops_earning() {
    let network = Network::start(config(TrustRules {
        probe_every: 2,
        ..TrustRules::default()
    }))
    .await;
    let (creator, _) = network.creator(1_000).await;
    let (worker, _, key) = network.worker("gpu", PRICE_CREDITS).await;
    let (honest, _) = network.account(Role::Checker, "honest").await;
    let (lazy, lazy_id) = network.account(Role::Checker, "lazy").await;
    submit(&creator, "1-80").await;
    // One result accepted by an honest checker: something the network can make probes of.
    lease_and_deliver(&worker, &key).await;
    let seed = lease_check(&honest)
        .await
        .expect("the first result's check");
    verdict(&honest, &seed, Verdict::Accept).await;

    // The lazy checker accepts whatever it leases, without looking.
    let mut leased = 0;
    let mut earned_before_bar = Money::ZERO;
    let mut rounds = 0;
    let barred = loop {
        rounds += 1;
        assert!(
            leased < 60 && rounds < 200,
            "a checker accepting everything was not barred within {leased} checks"
        );
        if let Some(lease) = worker.workers().lease().await.expect("lease") {
            deliver_pngs(&worker, &key, &lease).await;
        }
        match lazy.checks().lease().await {
            Ok(Some(check)) => {
                leased += 1;
                verdict(&lazy, &check, Verdict::Accept).await;
                earned_before_bar = earned_before_bar.max(earnings(&network, lazy_id).await);
            }
            Ok(None) => {}
            Err(error) => break error,
        }
    };
    assert_eq!(barred.status(), Some(403), "{barred}");
    assert!(barred.to_string().contains("barred"), "{barred}");
    let standing = lazy.checks().standing().await.expect("standing");
    assert!(standing.barred);
    // Each cheat accepted past one plus a tenth of those shown is an offence: the second and the
    // third cost it its fees, the third (its second offence) bars it.
    assert_eq!(standing.strikes, 2, "{standing:?}");
    assert_eq!(
        (standing.cheats_accepted, standing.cheats_seen),
        (3, 3),
        "{standing:?}"
    );
    // Every honest probe among them it passed (it accepts everything).
    assert_eq!(standing.probes_passed, standing.honest_seen, "{standing:?}");
    // It earned real fees before being caught, and lost them: nothing is left and it can lease
    // nothing more.
    assert!(earned_before_bar > Money::ZERO);
    assert!(standing.fees_forfeited > Money::ZERO, "{standing:?}");
    assert_eq!(earnings(&network, lazy_id).await, Money::ZERO);
    assert!(lazy.checks().lease().await.is_err());
    // The honest checker is untouched.
    let honest_standing = honest.checks().standing().await.expect("standing");
    assert_eq!(honest_standing.strikes, 0);
    assert_ledger_sound(&creator).await;
}

#[tokio::test]
async fn a_cheating_workers_bond_pays_the_checkers_who_catch_it() {
    let network = Network::start(config(bonded_only())).await;
    let (creator, creator_id) = network.creator(1_000).await;
    let (cheat, cheat_id, key) = network.worker("cheat", PRICE_CREDITS).await;
    let (first, first_id) = network.account(Role::Checker, "first").await;
    let (second, second_id) = network.account(Role::Checker, "second").await;
    submit(&creator, "1-4").await;

    // No bond, no task: every task here is above what no reputation allows unbonded.
    assert!(cheat.workers().lease().await.expect("lease").is_none());
    let view = cheat.accounts().bond().await.expect("bond");
    assert_eq!(view.unbonded_task_limit, Money::from_micros(1));
    let posted = cheat
        .accounts()
        .post_bond(
            Money::from_credits(1).expect("credits"),
            BondSource::Balance,
        )
        .await
        .expect_err("nothing deposited yet");
    assert_eq!(posted.status(), Some(400), "{posted}");
    let bond = post_bond(&network, &cheat, cheat_id).await;
    assert_eq!(cheat.accounts().bond().await.expect("bond").bond, bond);

    // Bonded, it leases and returns garbage; the first checker rejects it.
    let lease = cheat.workers().lease().await.expect("lease").expect("task");
    deliver(&cheat, &key, &lease, "garbage")
        .await
        .expect("result");
    let check = lease_check(&first).await.expect("the result's check");
    verdict(&first, &check, Verdict::Reject).await;
    // One reject is not proof: the bond is whole, locked while a second checker looks.
    let view = cheat.accounts().bond().await.expect("bond");
    assert_eq!(view.bond, bond);
    assert_eq!(view.open_work, 1, "{view:?}");
    let locked = cheat
        .accounts()
        .withdraw_bond(Money::from_micros(1))
        .await
        .expect_err("a confirmation is open");
    assert_eq!(locked.status(), Some(409), "{locked}");
    assert!(
        lease_check(&first).await.is_none(),
        "the checker who rejected does not confirm itself"
    );
    let confirmation = lease_check(&second).await.expect("the confirmation");
    assert_eq!(confirmation.task, check.task);
    assert_eq!(confirmation.outputs, check.outputs, "the same result");
    let before = (
        earnings(&network, first_id).await,
        earnings(&network, second_id).await,
        earnings(&network, creator_id).await,
    );
    verdict(&second, &confirmation, Verdict::Reject).await;

    // Proven: the bond pays both catchers their fee, the creator the re-render, the network the
    // rest (three times the task's cost in all).
    let ledger = assert_ledger_sound(&creator).await;
    let after = cheat.accounts().bond().await.expect("bond");
    let slashed = bond.checked_sub(after.bond).expect("the bond only shrinks");
    assert!(slashed > Money::ZERO);
    let paid_first = earnings(&network, first_id)
        .await
        .checked_sub(before.0)
        .expect("grows");
    let paid_second = earnings(&network, second_id)
        .await
        .checked_sub(before.1)
        .expect("grows");
    assert!(paid_first > Money::ZERO && paid_first == paid_second);
    let refund = earnings(&network, creator_id)
        .await
        .checked_sub(before.2)
        .expect("grows");
    let cost = refund; // the creator gets the cheated task's cost back
    assert_eq!(
        paid_first,
        cost.mul_ratio(1, 10, pictor_core::money::Rounding::Down)
            .expect("fee")
    );
    assert_eq!(slashed, cost.checked_mul(3).expect("3×"));
    assert_eq!(
        ledger.balance(Account::Bond(cheat_id)),
        i128::from(after.bond.micros())
    );
    // Nothing of it awaits a verdict any more: the rest of the bond comes back.
    assert_eq!(after.open_work, 0);
    let back = cheat
        .accounts()
        .withdraw_bond(after.bond)
        .await
        .expect("withdraw");
    assert_eq!(back.bond, Money::ZERO);
    assert_ledger_sound(&creator).await;
}

#[tokio::test]
async fn an_honest_workers_bond_survives_an_inconclusive_check_and_a_lone_reject() {
    let network = Network::start(config(bonded_only())).await;
    let (creator, _) = network.creator(1_000).await;
    let (worker, worker_id, key) = network.worker("honest", PRICE_CREDITS).await;
    let checkers = [
        network.account(Role::Checker, "a").await.0,
        network.account(Role::Checker, "b").await.0,
        network.account(Role::Checker, "c").await.0,
    ];
    submit(&creator, "1-3").await;
    let bond = post_bond(&network, &worker, worker_id).await;

    // One result accepted: the network has some fee income.
    lease_and_deliver(&worker, &key).await;
    let check = lease_check(&checkers[2]).await.expect("check");
    verdict(&checkers[2], &check, Verdict::Accept).await;

    // Inconclusive: every escalation escalates again. Rendered again, but no confirmation, no
    // slash, no bar.
    lease_and_deliver(&worker, &key).await;
    for _ in 0..=Config::default().max_escalations {
        let check = lease_check(&checkers[0]).await.expect("an escalation");
        verdict(&checkers[0], &check, Verdict::Escalate).await;
    }
    let view = worker.accounts().bond().await.expect("bond");
    assert_eq!((view.bond, view.open_work), (bond, 0), "{view:?}");

    // One checker rejects; the two asked after it accept: not proven, the bond stays whole.
    lease_and_deliver(&worker, &key).await;
    let check = lease_check(&checkers[1]).await.expect("check");
    verdict(&checkers[1], &check, Verdict::Reject).await;
    let earned = earnings(&network, worker_id).await;
    for checker in [&checkers[2], &checkers[0]] {
        let confirmation = lease_check(checker).await.expect("a confirmation");
        verdict(checker, &confirmation, Verdict::Accept).await;
    }
    for checker in &checkers {
        assert!(lease_check(checker).await.is_none(), "nobody else is asked");
    }
    let view = worker.accounts().bond().await.expect("bond");
    assert_eq!((view.bond, view.open_work), (bond, 0), "{view:?}");
    // Cleared by the majority: the network pays the worker for the work the lone reject cost it.
    assert_ledger_sound(&creator).await;
    let compensated =
        journal_moves(&creator, Account::NetworkFees, Account::Worker(worker_id)).await;
    assert_eq!(compensated.len(), 1, "{compensated:?}");
    assert!(compensated[0] > Money::ZERO);
    assert_eq!(
        earnings(&network, worker_id).await,
        earned.checked_add(compensated[0]).expect("sum")
    );
    worker
        .accounts()
        .withdraw_bond(bond)
        .await
        .expect("an honest worker's bond comes back whole");
    assert_ledger_sound(&creator).await;
}

#[tokio::test]
async fn a_new_workers_high_value_result_is_paid_after_two_accepts() {
    let network = Network::start(config(TrustRules {
        double_check_from: Money::from_micros(1),
        ..no_probes()
    }))
    .await;
    let (creator, _) = network.creator(1_000).await;
    let (worker, worker_id, key) = network.worker("new", PRICE_CREDITS).await;
    let (a, a_id) = network.account(Role::Checker, "a").await;
    let (b, b_id) = network.account(Role::Checker, "b").await;
    let job = submit(&creator, "1").await;
    lease_and_deliver(&worker, &key).await;
    let check = lease_check(&a).await.expect("check");
    verdict(&a, &check, Verdict::Accept).await;
    // One accept is not enough for a new worker's result at this value.
    assert_eq!(earnings(&network, worker_id).await, Money::ZERO);
    assert!(
        lease_check(&a).await.is_none(),
        "a second opinion is another's"
    );
    let second = lease_check(&b).await.expect("the second opinion");
    verdict(&b, &second, Verdict::Accept).await;
    let view = creator.jobs().get(job).await.expect("job");
    assert_eq!(
        view.state,
        pictor_core::job::JobState::Completed,
        "{view:?}"
    );
    let fee_a = earnings(&network, a_id).await;
    assert!(fee_a > Money::ZERO);
    assert_eq!(
        earnings(&network, b_id).await,
        fee_a,
        "both opinions paid alike"
    );
    assert!(earnings(&network, worker_id).await > Money::ZERO);
    assert_ledger_sound(&creator).await;
}

#[tokio::test]
async fn an_audit_finds_a_cheat_a_colluding_checker_passed() {
    let network = Network::start(config(TrustRules {
        audit_from: Money::from_micros(1),
        audit_per_mille: 1_000,
        ..bonded_only()
    }))
    .await;
    let (creator, creator_id) = network.creator(1_000).await;
    let (cheat, cheat_id, key) = network.worker("cheat", PRICE_CREDITS).await;
    let (friend, friend_id) = network.account(Role::Checker, "friend").await;
    let (b, _) = network.account(Role::Checker, "b").await;
    let (c, _) = network.account(Role::Checker, "c").await;
    let job = submit(&creator, "1-2").await;
    let bond = post_bond(&network, &cheat, cheat_id).await;
    // Two garbage results; the cheat's friend accepts both: paid, the job done.
    let mut checks = Vec::new();
    for _ in 0..2 {
        let lease = cheat.workers().lease().await.expect("lease").expect("task");
        deliver(&cheat, &key, &lease, "garbage")
            .await
            .expect("result");
        let check = lease_check(&friend).await.expect("check");
        verdict(&friend, &check, Verdict::Accept).await;
        checks.push(check);
    }
    let view = creator.jobs().get(job).await.expect("job");
    assert_eq!(view.state, pictor_core::job::JobState::Completed);
    let friend_fee = earnings(&network, friend_id).await;
    assert!(friend_fee > Money::ZERO);
    let deposited = Money::from_credits(1_000).expect("credits");
    let spent = deposited
        .checked_sub(earnings(&network, creator_id).await)
        .expect("spent");
    assert!(spent > Money::ZERO);
    // The audits: two honest checkers reject each, a majority over the friend's accept.
    assert_eq!(cheat.accounts().bond().await.expect("bond").open_work, 2);
    for _ in 0..2 {
        for checker in [&b, &c] {
            let audit = lease_check(checker).await.expect("the audit");
            assert!(checks.iter().any(|check| check.outputs == audit.outputs));
            verdict(checker, &audit, Verdict::Reject).await;
        }
    }
    // Proven: the bond refunds the creator what the cheat cost it and pays the catchers; the
    // friend commits an offence and loses its fee.
    assert_eq!(
        earnings(&network, creator_id).await,
        deposited,
        "the creator is refunded the {spent} it paid"
    );
    assert!(cheat.accounts().bond().await.expect("bond").bond < bond);
    let standing = friend.checks().standing().await.expect("standing");
    // Two proven cheats accepted of two: past the protocol's miss rate, an offence.
    assert_eq!(
        (
            standing.strikes,
            standing.cheats_accepted,
            standing.cheats_seen
        ),
        (1, 2, 2),
        "{standing:?}"
    );
    let honest = b.checks().standing().await.expect("standing");
    assert_eq!((honest.strikes, honest.cheats_seen), (0, 2), "{honest:?}");
    assert_eq!(standing.fees_forfeited, friend_fee);
    assert_eq!(earnings(&network, friend_id).await, Money::ZERO);
    assert_ledger_sound(&creator).await;
}

#[test]
fn pictor_sim_trust_finds_no_cheat_that_pays_on_a_small_market() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(["sim", "trust", "--json", "--hours", "20"])
        .output()
        .expect("run pictor sim trust");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(report["cheating_pays"], false);
    let strategies = report["strategies"].as_array().expect("strategies");
    let cheats: Vec<&serde_json::Value> =
        strategies.iter().filter(|s| s["honest"] == false).collect();
    assert!(cheats.len() >= 8, "every strategy reported: {report}");
    for cheat in cheats {
        let profit = cheat["profit_per_hour_micros"].as_i64().expect("profit");
        let honest = cheat["honest_profit_per_hour_micros"]
            .as_i64()
            .expect("honest");
        assert!(profit < honest, "{cheat}");
    }
    assert!(
        report["honest_false_reject_loss_ppm"]
            .as_u64()
            .expect("loss")
            <= 1_000
    );
}

#[tokio::test]
async fn a_retried_bond_post_moves_the_money_once_and_bad_requests_move_nothing() {
    let network = Network::start(config(no_probes())).await;
    let (worker, id, key) = network.account_with_key(Role::Worker, "w").await;
    network
        .admin
        .accounts()
        .deposit(id, Money::from_credits(10).expect("credits"))
        .send()
        .await
        .expect("deposit");
    let http = common::http_client();
    let post = |amount: u64, idempotency: &'static str| {
        http.post(format!("{}/v1/bond", network.url))
            .bearer_auth(&key)
            .header("Idempotency-Key", idempotency)
            .json(&json!({"action": "post", "amount": amount}))
            .send()
    };
    for _ in 0..2 {
        let answer = post(3_000_000, "k1").await.expect("response");
        assert_eq!(answer.status(), 200);
    }
    let view = worker.accounts().bond().await.expect("bond");
    assert_eq!(view.bond, Money::from_micros(3_000_000), "posted once");
    assert_eq!(view.balance, Money::from_micros(7_000_000));
    let reused = post(1_000_000, "k1").await.expect("response");
    assert_eq!(reused.status(), 409, "the key of another request");
    for (body, why) in [
        (json!({"action": "post", "amount": 0}), "nothing"),
        (
            json!({"action": "post", "amount": 8_000_000}),
            "more than the balance",
        ),
        (
            json!({"action": "withdraw", "amount": 4_000_000}),
            "more than the bond",
        ),
        (json!({"action": "keep", "amount": 1}), "no such action"),
    ] {
        let answer = http
            .post(format!("{}/v1/bond", network.url))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .expect("response");
        assert!(
            answer.status().is_client_error(),
            "{why}: {}",
            answer.status()
        );
    }
    let (creator, _) = network.creator(10).await;
    let refused = creator
        .accounts()
        .post_bond(Money::from_micros(1), BondSource::Balance)
        .await
        .expect_err("creators post no bond");
    assert_eq!(refused.status(), Some(403), "{refused}");
    let view = worker.accounts().bond().await.expect("bond");
    assert_eq!(
        (view.bond, view.balance),
        (Money::from_micros(3_000_000), Money::from_micros(7_000_000)),
        "bad requests changed nothing"
    );
    assert_ledger_sound(&worker).await;
}
