//! Exactly-once and escrow rules against the real coordinator: fencing tokens, foreign leases,
//! concurrent results, idempotent submission, insufficient funds, pause on exhausted escrow and resume
//! on deposit, expired leases, rejected results; checks of a scene a checker has open leased to it
//! first.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Network, check_once, deliver, small_spec as spec, upload_test_scene as scene};
use futures_util::StreamExt;
use pictor_core::api::{CheckLeaseRequest, ErrorCode, JobView, Role, Verdict};
use pictor_core::clock::ManualClock;
use pictor_core::job::JobState;
use pictor_core::ledger::SigningKey;
use pictor_core::ledger::{Account, Ledger};
use pictor_core::pricing::Quote;
use pictor_core::{AccountId, AssetId, JobSpec, Money};
use pictor_network::service::Config;
use pictor_sdk::Client;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

async fn output(worker: &Client, frame: u32, tag: &str) -> pictor_core::api::TaskOutput {
    worker
        .workers()
        .upload_output_bytes(format!("{tag}:{frame}").into_bytes().repeat(50), frame)
        .await
        .expect("upload output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_tokens_foreign_leases_and_double_results_are_refused() {
    // Time is data: the test moves the coordinator's clock past the lease instead of waiting.
    let clock = Arc::new(ManualClock::starting_now());
    let config = Config {
        clock: clock.clone(),
        ..Config::default()
    };
    let lease_ttl_ms = config.task_policy.lease_ttl_ms;
    let network = Network::start(config).await;
    let (creator, _) = network.creator(1_000).await;
    let (w1, _, k1) = network.worker("w1", 2).await;
    let (w2, _, k2) = network.worker("w2", 2).await;
    let asset = scene(&creator).await;
    let job = creator
        .jobs()
        .submit(spec(asset, "1"))
        .send()
        .await
        .expect("submit");

    let first = w1.workers().lease().await.expect("lease").expect("a task");
    // The lease lapses without a heartbeat; the task goes to w2 with a new fencing token.
    clock.advance_ms(lease_ttl_ms + 1);
    let second = w2
        .workers()
        .lease()
        .await
        .expect("lease")
        .expect("the task again");
    assert_eq!(second.task, first.task);
    assert_eq!(second.attempt, first.attempt + 1);

    // w1's late result carries the stale token: refused, nothing changes.
    let late = output(&w1, 1, "w1").await;
    let stale =
        pictor_sdk::sign_result(&k1, first.task, first.attempt, vec![late], 5).expect("sign");
    let error = w1
        .workers()
        .submit_result(first.task, stale)
        .await
        .expect_err("stale");
    assert_eq!(error.code(), Some(ErrorCode::StaleLease), "{error}");

    // w1 presenting w2's token for w2's lease: not its lease.
    let forged_output = output(&w1, 1, "w1").await;
    let forged = pictor_sdk::sign_result(&k1, second.task, second.attempt, vec![forged_output], 5)
        .expect("sign");
    let error = w1
        .workers()
        .submit_result(second.task, forged)
        .await
        .expect_err("foreign");
    assert_eq!(error.status(), Some(404), "{error}");

    // A result signed with another key than the registered one is refused.
    let mine = output(&w2, 1, "w2").await;
    let wrong_key =
        pictor_sdk::sign_result(&k1, second.task, second.attempt, vec![mine.clone()], 5)
            .expect("sign");
    let error = w2
        .workers()
        .submit_result(second.task, wrong_key)
        .await
        .expect_err("bad signature");
    assert_eq!(error.status(), Some(403), "{error}");

    // Two concurrent results for the one task: exactly one is taken.
    let a = pictor_sdk::sign_result(&k2, second.task, second.attempt, vec![mine.clone()], 5)
        .expect("sign");
    let b = a.clone();
    let (ra, rb) = tokio::join!(
        w2.workers().submit_result(second.task, a),
        w2.workers().submit_result(second.task, b)
    );
    assert_eq!(
        [ra.is_ok(), rb.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "one of two concurrent results wins: {ra:?} {rb:?}"
    );
    let stats = network.admin.stats().await.expect("stats");
    assert_eq!(stats.checks_pending, 1, "one check, not two");

    // The creator's view: one task, verifying; settle it once.
    let (checker, _) = network.account(Role::Checker, "c").await;
    let check = checker
        .checks()
        .lease()
        .await
        .expect("lease")
        .expect("check");
    checker
        .checks()
        .verdict(check.check, Verdict::Accept, json!({}))
        .await
        .expect("verdict");
    let again = checker
        .checks()
        .verdict(check.check, Verdict::Accept, json!({}))
        .await
        .expect_err("twice");
    assert_eq!(again.code(), Some(ErrorCode::StaleLease));
    let done = creator.jobs().get(job.id).await.expect("job");
    assert_eq!(done.state, JobState::Completed);
    let journal = creator.ledger().fetch_journal().await.expect("journal");
    let settles = journal
        .entries()
        .iter()
        .filter(|e| e.posting.kind == pictor_core::ledger::PostingKind::Settle)
        .count();
    assert_eq!(settles, 3, "worker, checker and network paid once each");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_submission_creates_one_job() {
    let network = Network::start(Config::default()).await;
    let (creator, creator_id) = network.creator(1_000).await;
    let _worker = network.worker("w", 2).await;
    let asset = scene(&creator).await;
    let first = creator
        .jobs()
        .submit(spec(asset.clone(), "1-4"))
        .idempotency_key("order-17")
        .send()
        .await
        .expect("submit");
    let replay = creator
        .jobs()
        .submit(spec(asset.clone(), "1-4"))
        .idempotency_key("order-17")
        .send()
        .await
        .expect("replay");
    assert_eq!(first.id, replay.id);
    let conflict = creator
        .jobs()
        .submit(spec(asset.clone(), "1-5"))
        .idempotency_key("order-17")
        .send()
        .await
        .expect_err("same key, other job");
    assert_eq!(conflict.code(), Some(ErrorCode::Conflict));
    let jobs: Vec<_> =
        futures_util::StreamExt::collect::<Vec<_>>(creator.jobs().list().send()).await;
    assert_eq!(jobs.len(), 1);
    let journal = creator.ledger().fetch_journal().await.expect("journal");
    let ledger = Ledger::replay(journal.entries()).expect("replay");
    assert_eq!(
        ledger.balance(Account::Creator(creator_id)),
        1_000_000_000 - i128::from(first.escrow.micros()),
        "escrow held once"
    );
}

/// Deposits exactly the quoted hold, submits frames 1-2 and has frame 1 rendered and accepted:
/// the creator's balance is then only frame 1's refund. Answers the job.
async fn frame_one_accepted(
    network: &Network,
    creator: (&Client, AccountId),
    worker: (&Client, &SigningKey),
    checker: &Client,
    asset: AssetId,
    quote: &Quote,
) -> JobView {
    let (creator, creator_id) = creator;
    let (worker, key) = worker;
    network
        .admin
        .accounts()
        .deposit(creator_id, quote.escrow_hold)
        .send()
        .await
        .expect("deposit");
    let job = creator
        .jobs()
        .submit(spec(asset, "1-2"))
        .send()
        .await
        .expect("submit");
    let lease = worker
        .workers()
        .lease()
        .await
        .expect("lease")
        .expect("task");
    deliver(worker, key, &lease, "w").await.expect("result");
    check_once(checker, Verdict::Accept).await;
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_its_creator_paused_stays_paused_through_a_rerender_and_a_deposit() {
    let network = Network::start(Config::default()).await;
    let (creator, creator_id) = network.creator(0).await;
    let (worker, _, key) = network.worker("w", 2).await;
    let (checker, _) = network.account(Role::Checker, "c").await;
    let asset = scene(&creator).await;
    let quote = creator
        .quotes()
        .create(spec(asset.clone(), "1-2"))
        .await
        .expect("quote");
    let job = frame_one_accepted(
        &network,
        (&creator, creator_id),
        (&worker, &key),
        &checker,
        asset,
        &quote,
    )
    .await;
    let paused = creator.jobs().pause(job.id).await.expect("pause");
    assert_eq!(paused.state, JobState::Paused);
    // The re-render's hold is not covered, but the job stays paused by its creator.
    let rerendered = creator
        .jobs()
        .rerender(job.id, "1".parse().expect("frames"))
        .await
        .expect("rerender");
    assert_eq!(rerendered.state, JobState::Paused);
    assert_eq!(
        rerendered.paused_reason,
        Some(pictor_core::api::PauseReason::Creator)
    );
    // A deposit does not resume a job its creator paused.
    network
        .admin
        .accounts()
        .deposit(creator_id, Money::from_credits(100).expect("credits"))
        .send()
        .await
        .expect("deposit");
    let still = creator.jobs().get(job.id).await.expect("job");
    assert_eq!(still.state, JobState::Paused, "the creator's pause holds");
    assert_eq!(
        still.paused_reason,
        Some(pictor_core::api::PauseReason::Creator)
    );
    // The creator resumes it: the missing hold opens and the work goes on.
    let resumed = creator.jobs().resume(job.id).await.expect("resume");
    assert_eq!(resumed.state, JobState::Running);
    assert!(
        worker.workers().lease().await.expect("lease").is_some(),
        "the resumed job's tasks are leased again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_balance_refuses_and_exhausted_escrow_pauses_until_a_deposit() {
    let network = Network::start(Config::default()).await;
    let (creator, creator_id) = network.creator(0).await;
    let (worker, _, key) = network.worker("w", 2).await;
    let (checker, _) = network.account(Role::Checker, "c").await;
    let asset = scene(&creator).await;
    let quote = creator
        .quotes()
        .create(spec(asset.clone(), "1-2"))
        .await
        .expect("quote");

    let refused = creator
        .jobs()
        .submit(spec(asset.clone(), "1-2"))
        .send()
        .await
        .expect_err("no funds");
    assert_eq!(refused.status(), Some(402));
    assert!(refused.to_string().contains("short by"), "{refused}");
    assert_eq!(
        futures_util::StreamExt::collect::<Vec<_>>(creator.jobs().list().send())
            .await
            .len(),
        0,
        "nothing created"
    );

    // Exactly the hold: the job runs; frame 1 is accepted.
    let job = frame_one_accepted(
        &network,
        (&creator, creator_id),
        (&worker, &key),
        &checker,
        asset,
        &quote,
    )
    .await;

    // Re-rendering frame 1 needs a new hold the balance (only the refund of frame 1) cannot cover.
    let paused = creator
        .jobs()
        .rerender(job.id, "1".parse().expect("frames"))
        .await
        .expect("rerender");
    assert_eq!(paused.state, JobState::Paused, "escrow exhausted: paused");
    assert_eq!(
        paused.paused_reason,
        Some(pictor_core::api::PauseReason::Funds)
    );
    // Frame 2's task is still pending but nothing is leased while paused.
    assert!(worker.workers().lease().await.expect("lease").is_none());

    // A deposit that covers the new hold resumes it, and the job completes.
    network
        .admin
        .accounts()
        .deposit(creator_id, Money::from_credits(100).expect("credits"))
        .send()
        .await
        .expect("deposit");
    let resumed = creator.jobs().get(job.id).await.expect("job");
    assert_eq!(resumed.state, JobState::Running);
    for _ in 0..2 {
        let lease = worker
            .workers()
            .lease()
            .await
            .expect("lease")
            .expect("task");
        deliver(&worker, &key, &lease, "w-again")
            .await
            .expect("result");
        check_once(&checker, Verdict::Accept).await;
    }
    let done = creator.jobs().get(job.id).await.expect("job");
    assert_eq!(done.state, JobState::Completed);
    let frames = creator.jobs().frames(job.id).await.expect("frames");
    assert_eq!(frames.len(), 2, "one output per frame after the re-render");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inconclusive_result_is_rendered_again_without_barring_its_worker() {
    let network = Network::start(Config::default()).await;
    let max_escalations = Config::default().max_escalations;
    let (creator, _) = network.creator(1_000).await;
    let (worker, worker_id, worker_key) = network.worker("careful", 1).await;
    let (checker, _) = network.account(Role::Checker, "c").await;
    let asset = scene(&creator).await;
    let job = creator
        .jobs()
        .submit(spec(asset, "1"))
        .send()
        .await
        .expect("submit");
    let lease = worker
        .workers()
        .lease()
        .await
        .expect("lease")
        .expect("task");
    deliver(&worker, &worker_key, &lease, "first")
        .await
        .expect("result");
    // Escalated on every check, the last one included.
    for _ in 0..=max_escalations {
        check_once(&checker, Verdict::Escalate).await;
    }
    let again = worker
        .workers()
        .lease()
        .await
        .expect("lease")
        .expect("the same worker may render it again: not barred");
    assert_eq!((again.task, again.attempt), (lease.task, lease.attempt + 1));
    let mut events = Box::pin(creator.jobs().events_after(job.id, 0));
    let rejected = loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("events in time")
            .expect("the stream stays open")
            .expect("event");
        if event.kind() == "task_rejected" {
            break event;
        }
    };
    assert_eq!(
        rejected.event.data()["inconclusive"],
        true,
        "{:?}",
        rejected.event
    );
    assert_eq!(rejected.event.data()["worker_blocked"], false);
    assert_eq!(rejected.event.data()["worker"], json!(worker_id));
    deliver(&worker, &worker_key, &again, "second")
        .await
        .expect("result");
    check_once(&checker, Verdict::Accept).await;
    assert_eq!(
        creator.jobs().get(job.id).await.expect("job").state,
        JobState::Completed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_result_is_not_paid_and_bars_its_worker() {
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    let (cheat, cheat_id, cheat_key) = network.worker("cheat", 1).await;
    let (honest, honest_id, honest_key) = network.worker("honest", 2).await;
    let (checker, _) = network.account(Role::Checker, "c").await;
    let asset = scene(&creator).await;
    let job = creator
        .jobs()
        .submit(spec(asset, "1"))
        .send()
        .await
        .expect("submit");

    let lease = cheat.workers().lease().await.expect("lease").expect("task");
    deliver(&cheat, &cheat_key, &lease, "cheat")
        .await
        .expect("result");
    let check = checker
        .checks()
        .lease()
        .await
        .expect("lease")
        .expect("check");
    checker
        .checks()
        .verdict(
            check.check,
            Verdict::Reject,
            json!({"reasons": ["noise ratio"]}),
        )
        .await
        .expect("verdict");
    assert!(
        cheat.workers().lease().await.expect("lease").is_none(),
        "barred from the job"
    );
    let again = honest
        .workers()
        .lease()
        .await
        .expect("lease")
        .expect("re-queued");
    assert_eq!(again.task, lease.task);
    assert_eq!(again.attempt, lease.attempt + 1);
    deliver(&honest, &honest_key, &again, "honest")
        .await
        .expect("result");
    check_once(&checker, Verdict::Accept).await;
    assert_eq!(
        creator.jobs().get(job.id).await.expect("job").state,
        JobState::Completed
    );
    let ledger = Ledger::replay(
        creator
            .ledger()
            .fetch_journal()
            .await
            .expect("journal")
            .entries(),
    )
    .expect("replay");
    assert_eq!(
        ledger.balance(Account::Worker(cheat_id)),
        0,
        "the cheat earns nothing"
    );
    assert!(ledger.balance(Account::Worker(honest_id)) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_retries_the_charge_stays_within_the_quote() {
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    let (cheap, _, cheap_key) = network.worker("cheap", 2).await;
    let (dear, dear_id, dear_key) = network.worker("dear", 5).await;
    let (checker, _) = network.account(Role::Checker, "c").await;
    let asset = scene(&creator).await;
    let priority = JobSpec {
        tier: pictor_core::job::Tier::Priority,
        ..spec(asset, "1-8")
    };
    let quote = creator
        .quotes()
        .create(priority.clone())
        .await
        .expect("quote");
    let job = creator
        .jobs()
        .submit(priority)
        .send()
        .await
        .expect("submit");
    // The pricier worker asks first and often: it still takes only tasks whose hold covers its price.
    loop {
        let mut progressed = false;
        for (worker, key, tag) in [(&dear, &dear_key, "dear"), (&cheap, &cheap_key, "cheap")] {
            if let Some(lease) = worker.workers().lease().await.expect("lease") {
                deliver(worker, key, &lease, tag).await.expect("result");
                check_once(&checker, Verdict::Accept).await;
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    let done = creator.jobs().get(job.id).await.expect("job");
    assert_eq!(done.state, JobState::Completed);
    assert!(
        done.spent <= quote.escrow_hold,
        "spent {} within the hold {}",
        done.spent,
        quote.escrow_hold
    );
    let ledger = Ledger::replay(
        creator
            .ledger()
            .fetch_journal()
            .await
            .expect("journal")
            .entries(),
    )
    .expect("replay");
    assert!(
        ledger.balance(Account::Worker(dear_id)) > 0,
        "the plan used the pricier worker too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_verdict_counts_until_another_checker_takes_the_check() {
    let clock = Arc::new(ManualClock::starting_now());
    let config = Config {
        clock: clock.clone(),
        ..Config::default()
    };
    let check_lease_ttl_ms = config.check_lease_ttl_ms;
    let network = Network::start(config).await;
    let (creator, _) = network.creator(1_000).await;
    let (worker, _, key) = network.worker("w", 2).await;
    let (slow, _) = network.account(Role::Checker, "slow").await;
    let (other, _) = network.account(Role::Checker, "other").await;
    let asset = scene(&creator).await;
    let job = creator
        .jobs()
        .submit(spec(asset, "1-2"))
        .send()
        .await
        .expect("submit");
    for _ in 0..2 {
        let lease = worker
            .workers()
            .lease()
            .await
            .expect("lease")
            .expect("task");
        deliver(&worker, &key, &lease, "w").await.expect("result");
    }
    // The slow checker's verification outlasts its lease; nobody else took the check: it counts.
    let first = slow
        .checks()
        .lease()
        .await
        .expect("lease")
        .expect("a check");
    clock.advance_ms(check_lease_ttl_ms + 1);
    slow.checks()
        .verdict(first.check, Verdict::Accept, json!({}))
        .await
        .expect("a late verdict on an untaken check counts");
    // This time another checker takes the lapsed check first: the late verdict is refused.
    let second = slow
        .checks()
        .lease()
        .await
        .expect("lease")
        .expect("a check");
    clock.advance_ms(check_lease_ttl_ms + 1);
    let taken = other
        .checks()
        .lease()
        .await
        .expect("lease")
        .expect("the lapsed check");
    assert_eq!(taken.check, second.check);
    let error = slow
        .checks()
        .verdict(second.check, Verdict::Accept, json!({}))
        .await
        .expect_err("another checker holds it");
    assert_eq!(error.status(), Some(404), "{error}");
    other
        .checks()
        .verdict(taken.check, Verdict::Accept, json!({}))
        .await
        .expect("verdict");
    let done = creator.jobs().get(job.id).await.expect("job");
    assert_eq!(done.state, JobState::Completed);
}

/// Uploads a one-file scene holding `text` (distinct texts: distinct assets).
async fn scene_with(creator: &Client, text: &str) -> AssetId {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("scene.toml"), text).expect("scene");
    creator
        .assets()
        .upload_folder(dir.path(), "scene.toml")
        .send()
        .await
        .expect("upload")
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checker_is_leased_the_checks_of_a_scene_it_has_open_first() {
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    let (worker, _, key) = network.worker("w", 2).await;
    let scene_a = scene_with(&creator, "# scene a\n").await;
    let scene_b = scene_with(&creator, "# scene b\n").await;
    let scene_c = scene_with(&creator, "# scene c, no job\n").await;
    // Three results wait for a check, oldest first: a job on A, one on B, another on A.
    let mut jobs = Vec::new();
    for (scene, frames) in [(&scene_a, "1"), (&scene_b, "1"), (&scene_a, "2")] {
        let job = creator
            .jobs()
            .submit(spec(scene.clone(), frames))
            .send()
            .await
            .expect("submit");
        let lease = worker
            .workers()
            .lease()
            .await
            .expect("lease")
            .expect("the job's task");
        assert_eq!(lease.job, job.id);
        deliver(&worker, &key, &lease, "w").await.expect("result");
        jobs.push(job.id);
    }
    let lease_with_open = |name: &'static str, open: Vec<AssetId>| {
        let network = &network;
        async move {
            let (checker, _) = network.account(Role::Checker, name).await;
            checker
                .checks()
                .lease_for(CheckLeaseRequest {
                    open_scenes: open,
                    ..CheckLeaseRequest::default()
                })
                .await
                .expect("lease")
                .expect("a check waits")
        }
    };
    // B open: B's check, though A's waits longer.
    let b = lease_with_open("has-b", vec![scene_b.clone()]).await;
    assert_eq!(b.job, jobs[1]);
    assert_eq!(b.spec.scene, scene_b);
    // A scene without checks open: the oldest check, as for a checker with nothing open.
    let oldest = lease_with_open("has-c", vec![scene_c]).await;
    assert_eq!(oldest.job, jobs[0]);
    let a = lease_with_open("has-a", vec![scene_b, scene_a.clone()]).await;
    assert_eq!(a.job, jobs[2]);
    assert_eq!(a.spec.scene, scene_a);
    // Too many open scenes is a clear error.
    let (checker, _) = network.account(Role::Checker, "greedy").await;
    let error = checker
        .checks()
        .lease_for(CheckLeaseRequest {
            open_scenes: vec![AssetId::of_bytes(b"x"); 5],
            ..CheckLeaseRequest::default()
        })
        .await
        .expect_err("five open scenes");
    assert_eq!(error.status(), Some(400), "{error}");
    assert!(error.to_string().contains("open_scenes"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_poll_is_a_read_that_refreshes_last_seen_only_when_it_is_stale() {
    let clock = Arc::new(ManualClock::starting_now());
    let config = Config {
        clock: clock.clone(),
        ..Config::default()
    };
    let online_ms = config.worker_online_ms;
    let network = Network::start(config).await;
    let (worker, worker_id, _) = network.worker("w", 2).await;
    let online = || {
        let worker = worker.clone();
        async move {
            worker
                .workers()
                .list()
                .await
                .expect("list")
                .into_iter()
                .find(|w| w.id.0 == worker_id.0)
                .expect("listed")
                .online
        }
    };
    // Registered at t = 0, and polls then: nothing waits (the write path says so and the worker
    // counts as idle). At t = 9 s nothing waits still and the worker was seen recently: the poll
    // is answered from a snapshot and leaves last-seen at 0 ...
    assert!(worker.workers().lease().await.expect("poll").is_none());
    clock.advance_ms(9_000);
    assert!(worker.workers().lease().await.expect("poll").is_none());
    // ... so 60 s after registering the worker is no longer online,
    clock.advance_ms(online_ms - 9_000 + 1);
    assert!(
        !online().await,
        "an idle poll within the freshness window wrote nothing"
    );
    // and the next poll, its last-seen being stale, takes the write path and refreshes it.
    assert!(worker.workers().lease().await.expect("poll").is_none());
    assert!(online().await);
    clock.advance_ms(online_ms - 1);
    assert!(online().await, "refreshed by the stale poll");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_idle_workers_are_asked_to_poll_less_often() {
    let clock = Arc::new(ManualClock::starting_now());
    let config = Config {
        clock: clock.clone(),
        // Five idle workers polling once a second would be 5 polls/s; the network wants 2.
        idle_polls_per_second: 2,
        ..Config::default()
    };
    let online_ms = config.worker_online_ms;
    let network = Network::start(config).await;
    let mut workers = Vec::new();
    for name in ["w1", "w2", "w3", "w4", "w5"] {
        workers.push(network.worker(name, 1).await.0);
    }
    // Two idle workers are within the rate: no wait asked.
    for worker in &workers[..2] {
        let poll = worker.workers().poll_lease().await.expect("poll");
        assert_eq!(
            poll,
            pictor_sdk::LeasePoll {
                lease: None,
                retry_after: None
            }
        );
    }
    // Five are not: each empty answer asks for ceil(5 / 2) = 3 s.
    let mut asked = Vec::new();
    for worker in &workers[2..] {
        asked.push(
            worker
                .workers()
                .poll_lease()
                .await
                .expect("poll")
                .retry_after,
        );
    }
    assert_eq!(
        asked.last(),
        Some(&Some(Duration::from_secs(3))),
        "{asked:?}"
    );
    // A worker that gets a task is no longer idle, and its answer carries no wait.
    let (creator, _) = network.creator(100).await;
    let scene = common::upload_test_scene(&creator).await;
    creator
        .jobs()
        .submit(common::small_spec(scene, "1"))
        .send()
        .await
        .expect("submit");
    let leased = workers[0].workers().poll_lease().await.expect("poll");
    assert!(
        leased.lease.is_some() && leased.retry_after.is_none(),
        "{leased:?}"
    );
    // Idle workers that stopped asking are forgotten after the online window: one poll, one
    // idle worker, no wait.
    clock.advance_ms(online_ms + 1_000);
    let poll = workers[1].workers().poll_lease().await.expect("poll");
    assert_eq!(poll.retry_after, None, "{poll:?}");
}
