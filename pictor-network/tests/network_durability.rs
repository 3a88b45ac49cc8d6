//! Durability: the coordinator (the real `pictor serve` process) is SIGKILLed mid-job and restarted
//! on the same data dir — jobs, leases, escrow and ledger are intact, the job completes, nothing is
//! paid twice. A tampered ledger row is detected and the coordinator refuses to start on it.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Network, client, scene_folder, serve, wait_healthy};
use pictor_core::api::{Role, TaskLease, Verdict};
use pictor_core::job::JobState;
use pictor_core::ledger::{Account, Ledger, PostingKind, verify};
use pictor_core::{JobSpec, Money};
use pictor_network::service::{ADMIN_KEY_FILE, Config};
use pictor_sdk::Client;

async fn finish(
    worker: &Client,
    key: &ed25519_dalek::SigningKey,
    lease: &TaskLease,
    checker: &Client,
) {
    common::deliver(worker, key, lease, "w")
        .await
        .expect("result");
    common::check_once(checker, Verdict::Accept).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_job_loses_nothing_and_pays_once() {
    let data = tempfile::tempdir().expect("temp");
    let first = serve(data.path());
    wait_healthy(&first.url).await;
    let admin_key = std::fs::read_to_string(data.path().join(ADMIN_KEY_FILE)).expect("admin key");
    let admin = client(&first.url, admin_key.trim());
    let created = admin
        .accounts()
        .create(Role::Creator, "studio")
        .await
        .expect("creator");
    admin
        .accounts()
        .deposit(
            created.account.id,
            Money::from_credits(500).expect("credits"),
        )
        .send()
        .await
        .expect("deposit");
    let worker_account = admin
        .accounts()
        .create(Role::Worker, "w")
        .await
        .expect("worker");
    let checker_account = admin
        .accounts()
        .create(Role::Checker, "c")
        .await
        .expect("checker");
    let key = ed25519_dalek::SigningKey::from_bytes(&common::rand_seed(9));
    let creator = client(&first.url, &created.api_key);
    let worker = client(&first.url, &worker_account.api_key);
    let checker = client(&first.url, &checker_account.api_key);
    worker
        .workers()
        .register(common::register_request("w", &key, 3))
        .await
        .expect("register");
    let (_scene, folder) = scene_folder();
    let asset = creator
        .assets()
        .upload_folder(&folder, "scene.toml")
        .send()
        .await
        .expect("upload");
    let spec = JobSpec::builder(asset.id, "1-3".parse().expect("frames"))
        .resolution(64, 36)
        .samples(16)
        .build()
        .expect("spec");
    let job = creator.jobs().submit(spec).send().await.expect("submit");
    let first_lease = worker
        .workers()
        .lease()
        .await
        .expect("lease")
        .expect("task");
    finish(&worker, &key, &first_lease, &checker).await;
    let held = worker
        .workers()
        .lease()
        .await
        .expect("lease")
        .expect("second task");
    let before = creator.jobs().get(job.id).await.expect("job");
    assert_eq!(before.tasks_accepted, 1);

    // SIGKILL: no chance to flush or shut down.
    drop(first);

    let second = serve(data.path());
    wait_healthy(&second.url).await;
    let creator = client(&second.url, &created.api_key);
    let worker = client(&second.url, &worker_account.api_key);
    let checker = client(&second.url, &checker_account.api_key);
    let after = creator.jobs().get(job.id).await.expect("job survives");
    assert_eq!(after.state, JobState::Running);
    assert_eq!(after.tasks_accepted, 1);
    assert_eq!(after.escrow, before.escrow, "escrow intact");
    assert_eq!(after.spent, before.spent);

    // The lease survived: its holder finishes it with the same fencing token.
    finish(&worker, &key, &held, &checker).await;
    let last = worker
        .workers()
        .lease()
        .await
        .expect("lease")
        .expect("third task");
    finish(&worker, &key, &last, &checker).await;
    assert!(worker.workers().lease().await.expect("lease").is_none());
    let done = creator.jobs().get(job.id).await.expect("job");
    assert_eq!(done.state, JobState::Completed);
    assert_eq!(done.tasks_accepted, 3);

    let journal = creator.ledger().fetch_journal().await.expect("journal");
    let head = creator.ledger().head().await.expect("head");
    let key_bytes: [u8; 32] = hex::decode(head.public_key_hex)
        .expect("hex")
        .try_into()
        .expect("32");
    verify(
        &journal,
        &pictor_core::ledger::VerifyingKey::from_bytes(&key_bytes).expect("key"),
    )
    .expect("verifies");
    let settles = journal
        .entries()
        .iter()
        .filter(|e| e.posting.kind == PostingKind::Settle)
        .count();
    assert_eq!(
        settles, 9,
        "three tasks, each paid to worker, checker and network once"
    );
    let ledger = Ledger::replay(journal.entries()).expect("replay");
    assert_eq!(ledger.trial_balance(), 0);
    assert_eq!(ledger.escrow_total(), 0);
    assert_eq!(
        ledger.balance(Account::Worker(worker_account.account.id))
            + ledger.balance(Account::Checker(checker_account.account.id))
            + ledger.balance(Account::NetworkFees),
        i128::from(done.spent.micros())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_ledger_row_is_detected_and_refused_at_start() {
    let network = Network::start(Config::default()).await;
    let (_creator, _) = network.creator(10).await;
    let (_creator2, _) = network.creator(20).await;
    let data = network.stop().await;
    // Flip one bit of journal entry 1 in the database itself, as an intruder with access to it
    // would, then read the journal back through the store.
    let flip = |mut bytes: Vec<u8>| {
        let last = bytes.len() - 40;
        bytes[last] ^= 1;
        bytes
    };
    let journal = if common::postgres::enabled() {
        use sqlx::{Connection, Row};
        let url = common::postgres_url(data.path());
        let mut db = sqlx::PgConnection::connect(&url).await.expect("db");
        let row = sqlx::query("SELECT bytes FROM ledger_entries WHERE seq = 1")
            .fetch_one(&mut db)
            .await
            .expect("entry 1");
        sqlx::query("UPDATE ledger_entries SET bytes = $1 WHERE seq = 1")
            .bind(flip(row.get("bytes")))
            .execute(&mut db)
            .await
            .expect("tamper");
        let store = pictor_network::store::postgres::PgStore::open(url.parse().expect("url"))
            .await
            .expect("store");
        pictor_network::service::read_journal(&store).await
    } else {
        let database = data.path().join("pictor.db");
        let db = rusqlite::Connection::open(&database).expect("db");
        let bytes: Vec<u8> = db
            .query_row(
                "SELECT bytes FROM ledger_entries WHERE seq = 1",
                [],
                |row| row.get(0),
            )
            .expect("entry 1");
        db.execute(
            "UPDATE ledger_entries SET bytes = ?1 WHERE seq = 1",
            rusqlite::params![flip(bytes)],
        )
        .expect("tamper");
        drop(db);
        let store = pictor_network::store::sqlite::SqliteStore::open(&database)
            .await
            .expect("store");
        pictor_network::service::read_journal(&store).await
    }
    .expect("journal reads");
    let key_hex = std::fs::read_to_string(data.path().join("network.key")).expect("key");
    let mut seed = [0u8; 32];
    hex::decode_to_slice(key_hex.trim(), &mut seed).expect("hex");
    let public = pictor_core::ledger::SigningKey::from_bytes(&seed).verifying_key();
    let report = verify(&journal, &public).expect_err("tamper detected");
    assert_eq!(
        report.seq, 1,
        "the first bad entry is the tampered one: {report}"
    );
    let refused = Network::try_start_in(&data, Config::default()).await;
    assert!(
        refused.is_err(),
        "the coordinator refuses to start on a tampered journal"
    );
}
