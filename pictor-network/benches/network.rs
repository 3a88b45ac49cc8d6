//! Network benchmarks (criterion), each next to a baseline measured in the same process so
//! `docs/BENCHMARKS.md` can report ratios:
//!
//! - `settle/cycle_{1,4,64}_workers` vs `settle/sqlite_single_row_tx`: one task's whole life over HTTP
//!   through the SDK (lease → upload output → signed result → check lease → verdict → settlement)
//!   with N workers at once, against one raw single-row SQLite transaction with the same durability
//!   settings (WAL, `synchronous = FULL`). With `PICTOR_TEST_DATABASE=postgres` the coordinators run
//!   on a throwaway PostgreSQL cluster (`tests/common/postgres.rs`) and
//!   `settle/postgres_single_row_tx` times the same raw transaction there.
//! - `upload/folder_1gib` vs `upload/file_copy_1gib`: uploading a 1 GiB scene folder (16 files of
//!   64 MiB) over loopback with the SDK, against copying the same files on the same disk.
//!
//! - `burst/cycle_under_reads` vs `burst/cycle_quiet`: the same task cycle while 200 concurrent
//!   `GET /v1/jobs?limit=50` run against the coordinator without pause, against the cycle alone;
//!   both also print the p50/p99 latency of each write request (lease, result, verdict).
//!
//! Run: `cargo bench -p pictor-network --bench network` (add `-- settle`, `-- upload` or `-- burst`
//! for one group).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::cycle::{bench_async, percentile, timed_cycle};
use common::{Network, scene_folder};
use criterion::{Criterion, criterion_group, criterion_main};
use pictor_core::JobSpec;
use pictor_core::api::Role;
use pictor_network::service::Config;
use sqlx::Connection;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

const JOB_FRAMES: u32 = 20_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A network with one big job, `workers` registered workers and a checker.
struct Bench {
    _network: Network,
    workers: Vec<(pictor_sdk::Client, ed25519_dalek::SigningKey)>,
    checker: pictor_sdk::Client,
}

async fn bench_network(workers: usize) -> Bench {
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000_000).await;
    let mut registered = Vec::new();
    for i in 0..workers {
        let (client, _, key) = network.worker(&format!("w{i}"), 1).await;
        registered.push((client, key));
    }
    let (checker, _) = network.account(Role::Checker, "checker").await;
    let asset = common::upload_test_scene(&creator).await;
    let spec = JobSpec::builder(asset, format!("1-{JOB_FRAMES}").parse().expect("frames"))
        .resolution(16, 16)
        .samples(1)
        .build()
        .expect("spec");
    creator.jobs().submit(spec).send().await.expect("submit");
    Bench {
        _network: network,
        workers: registered,
        checker,
    }
}

/// One task's life, driven by one worker.
async fn cycle(
    worker: &pictor_sdk::Client,
    key: &ed25519_dalek::SigningKey,
    checker: &pictor_sdk::Client,
) {
    timed_cycle(worker, key, checker, &mut Vec::new()).await;
}

fn settle(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("settle");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));

    let dir = tempfile::tempdir().expect("temp");
    // The raw cost of one durable single-row transaction on SQLite, through the library the
    // store runs its statements with (rusqlite, on the calling thread), fsynced at commit.
    let connection = rusqlite::Connection::open(dir.path().join("baseline.db")).expect("sqlite");
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    connection
        .pragma_update(None, "synchronous", "FULL")
        .expect("full");
    connection
        .execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)",
            [],
        )
        .expect("create");
    group.bench_function("sqlite_single_row_tx", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for i in 0..iters {
                connection.execute_batch("BEGIN").expect("begin");
                connection
                    .prepare_cached("INSERT INTO t (v) VALUES (?1)")
                    .and_then(|mut insert| insert.execute([i as i64]))
                    .expect("insert");
                connection.execute_batch("COMMIT").expect("commit");
            }
            start.elapsed()
        })
    });

    if common::postgres::enabled() {
        // The same baseline on the cluster the coordinators of this run use.
        let url = common::postgres::Cluster::get().create_database();
        let mut connection = rt.block_on(async {
            let mut connection = sqlx::PgConnection::connect(&url).await.expect("postgres");
            sqlx::query("CREATE TABLE t (id BIGSERIAL PRIMARY KEY, v BIGINT NOT NULL)")
                .execute(&mut connection)
                .await
                .expect("create");
            connection
        });
        group.bench_function("postgres_single_row_tx", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for i in 0..iters {
                        let mut tx = connection.begin().await.expect("begin");
                        sqlx::query("INSERT INTO t (v) VALUES ($1)")
                            .bind(i as i64)
                            .execute(&mut *tx)
                            .await
                            .expect("insert");
                        tx.commit().await.expect("commit");
                    }
                    start.elapsed()
                })
            })
        });
    }

    for workers in [1usize, 4, 64] {
        let bench = rt.block_on(bench_network(workers));
        group.bench_function(format!("cycle_{workers}_workers"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    let rounds = iters.div_ceil(workers as u64);
                    for _ in 0..rounds {
                        let mut running = Vec::new();
                        for (worker, key) in &bench.workers {
                            let (worker, key, checker) =
                                (worker.clone(), key.clone(), bench.checker.clone());
                            running.push(tokio::spawn(async move {
                                cycle(&worker, &key, &checker).await
                            }));
                        }
                        for task in running {
                            task.await.expect("cycle");
                        }
                    }
                    // Cycles per iteration: `workers` per round.
                    start
                        .elapsed()
                        .div_f64((rounds * workers as u64) as f64 / iters as f64)
                })
            })
        });
        drop(bench);
    }
    group.finish();
}

fn upload(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("upload");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    let source = tempfile::tempdir().expect("temp");
    let chunk: Vec<u8> = (0..64u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for i in 0..16u8 {
        let mut bytes = chunk.clone();
        bytes[0] = i;
        std::fs::write(source.path().join(format!("part{i:02}.bin")), bytes).expect("write");
    }
    drop(chunk);
    group.bench_function("file_copy_1gib", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let target = tempfile::tempdir().expect("temp");
                let start = Instant::now();
                for entry in std::fs::read_dir(source.path()).expect("dir") {
                    let entry = entry.expect("entry");
                    std::fs::copy(entry.path(), target.path().join(entry.file_name()))
                        .expect("copy");
                }
                total += start.elapsed();
            }
            total
        })
    });
    group.bench_function("folder_1gib", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // A fresh network each time: every byte must travel.
                let (network, creator) = rt.block_on(async {
                    let network = Network::start(Config::default()).await;
                    let (creator, _) = network.creator(0).await;
                    (network, creator)
                });
                let start = Instant::now();
                rt.block_on(async {
                    creator
                        .assets()
                        .upload_folder(source.path(), "part00.bin")
                        .send()
                        .await
                        .expect("upload");
                });
                total += start.elapsed();
                drop(network);
            }
            total
        })
    });
    group.finish();
    let _ = scene_folder;
}

fn burst(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("burst");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for under_reads in [false, true] {
        let (network, creator_key, worker, key) = rt.block_on(async {
            let network = Network::start(Config::default()).await;
            let (worker, _, key) = network.worker("w", 1).await;
            let (creator, id, creator_key) =
                network.account_with_key(Role::Creator, "studio").await;
            network
                .admin
                .accounts()
                .deposit(
                    id,
                    pictor_core::Money::from_credits(100_000).expect("credits"),
                )
                .send()
                .await
                .expect("deposit");
            let asset = common::upload_test_scene(&creator).await;
            // ~150 jobs to list, then the big job the cycle draws its tasks from.
            for _ in 0..150 {
                let spec = JobSpec::builder(asset.clone(), "1".parse().expect("frames"))
                    .resolution(16, 16)
                    .samples(1)
                    .build()
                    .expect("spec");
                creator.jobs().submit(spec).send().await.expect("submit");
            }
            let spec = JobSpec::builder(asset, format!("1-{JOB_FRAMES}").parse().expect("frames"))
                .resolution(16, 16)
                .samples(1)
                .build()
                .expect("spec");
            creator.jobs().submit(spec).send().await.expect("submit");
            (network, creator_key, worker, key)
        });
        let (checker, _) = rt.block_on(network.account(Role::Checker, "checker"));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut readers = Vec::new();
        if under_reads {
            pictor_sdk::install_tls_provider();
            let http = reqwest::Client::new();
            for _ in 0..200 {
                let (http, stop) = (http.clone(), stop.clone());
                let url = format!("{}/v1/jobs?limit=50", network.url);
                let key = creator_key.clone();
                readers.push(rt.spawn(async move {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let response = http.get(&url).bearer_auth(&key).send().await;
                        let status = response.expect("answer").status();
                        assert!(status.is_success(), "a read answered {status}");
                    }
                }));
            }
        }
        let mut latencies = Vec::new();
        let name = if under_reads {
            "cycle_under_reads"
        } else {
            "cycle_quiet"
        };
        bench_async(&mut group, name, &rt, async || {
            timed_cycle(&worker, &key, &checker, &mut latencies).await;
        });
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for reader in readers {
            rt.block_on(reader).expect("reader");
        }
        latencies.sort_unstable();
        eprintln!(
            "burst/{name}: {} write requests, p50 {:?}, p99 {:?}, max {:?}",
            latencies.len(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or_default()
        );
        drop(network);
    }
    group.finish();
}

criterion_group!(benches, settle, upload, burst);
criterion_main!(benches);
