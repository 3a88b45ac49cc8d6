//! Scheduler and ledger benchmarks (criterion). Each measured operation sits next to a baseline run
//! in the same process, so `docs/BENCHMARKS.md` can report ratios that travel between machines:
//!
//! - `plan/fastest_finish_100k_x_10k` vs `plan/sort_floor_100k`: planning 100k tasks on 10k workers
//!   against merely sorting the 100k task sizes (the floor of any LPT-style planner).
//! - `plan/cost_under_deadline_100k_x_10k`: the default strategy on the same market.
//! - `dispatch/fair_share_10k_workers_1k_jobs` vs `dispatch/hash_lookup_floor`: one worker request
//!   against one hash-map lookup of the worker. The p50/p99 of single requests is printed too.
//! - `ledger/verify_1m` vs `ledger/blake3_floor_1m`: verifying a 1M-entry journal (1,000 seals)
//!   against hashing the same entries with no checks at all.
//!
//! Run: `cargo bench --bench schedule` (add a group name, e.g. `-- ledger`, to run one group).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use pictor::core::WorkerId;
use pictor::core::ledger::{self, SigningKey, codec};
use pictor::schedule::{CostUnderDeadline, FairShare, FastestFinish, MarketView, Scheduler};
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

const LEDGER_ENTRIES: usize = 1_000_000;
const SEAL_EVERY: usize = 1_000;

fn planning(c: &mut Criterion) {
    let view = MarketView::synthetic(100_000, 10_000, 100, 1);
    let works: Vec<f64> = view
        .jobs
        .iter()
        .flat_map(|job| job.tasks.iter().map(|task| task.work_bench_secs))
        .collect();
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    group.bench_function("sort_floor_100k", |b| {
        b.iter(|| {
            let mut sorted = works.clone();
            sorted.sort_unstable_by(|a, b| b.total_cmp(a));
            sorted
        })
    });
    let fastest = FastestFinish::default();
    group.bench_function("fastest_finish_100k_x_10k", |b| {
        b.iter(|| {
            fastest
                .plan(black_box(&view))
                .map(|plan| plan.makespan_secs)
        })
    });
    let cheapest = CostUnderDeadline::default();
    group.bench_function("cost_under_deadline_100k_x_10k", |b| {
        b.iter(|| cheapest.plan(black_box(&view)).map(|plan| plan.cost))
    });
    group.finish();
}

fn dispatch(c: &mut Criterion) {
    let view = MarketView::synthetic(100_000, 10_000, 1_000, 2);
    let fair = FairShare::default();
    let Ok(plan) = fair.plan(&view) else {
        panic!("fair-share plans the synthetic market");
    };
    let workers: Vec<WorkerId> = view.workers.iter().map(|offer| offer.worker).collect();

    // Single-request latency distribution (criterion reports means).
    let mut latencies: Vec<f64> = workers
        .iter()
        .map(|&worker| {
            let started = Instant::now();
            black_box(fair.dispatch(&view, &plan, worker));
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    eprintln!(
        "fair-share dispatch over {} workers, 1k jobs: p50 {:.2} µs, p99 {:.2} µs",
        latencies.len(),
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 99 / 100]
    );

    let index: HashMap<WorkerId, usize> =
        workers.iter().enumerate().map(|(i, &w)| (w, i)).collect();
    let mut group = c.benchmark_group("dispatch");
    let mut next = 0usize;
    group.bench_function("hash_lookup_floor", |b| {
        b.iter(|| {
            next = (next + 1) % workers.len();
            index.get(black_box(&workers[next])).copied()
        })
    });
    group.bench_function("fair_share_10k_workers_1k_jobs", |b| {
        b.iter(|| {
            next = (next + 1) % workers.len();
            fair.dispatch(&view, &plan, black_box(workers[next]))
        })
    });
    group.finish();
}

fn ledger_verify(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[42; 32]);
    let journal = ledger::synthetic_journal(LEDGER_ENTRIES, SEAL_EVERY, &key);
    let verifying_key = key.verifying_key();
    let encoded: Vec<[u8; codec::ENTRY_LEN]> =
        journal.entries().iter().map(codec::encode_entry).collect();

    let mut group = c.benchmark_group("ledger");
    group.sample_size(10);
    group.bench_function("blake3_floor_1m", |b| {
        b.iter(|| {
            let mut last = [0u8; 32];
            for bytes in &encoded {
                last = *blake3::hash(black_box(bytes)).as_bytes();
            }
            last
        })
    });
    group.bench_function("verify_1m", |b| {
        b.iter(|| ledger::verify(black_box(&journal), &verifying_key).is_ok())
    });
    group.finish();
}

criterion_group!(benches, planning, dispatch, ledger_verify);
criterion_main!(benches);
