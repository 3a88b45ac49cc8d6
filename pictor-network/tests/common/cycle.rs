//! What the network benches share: one task's whole cycle driven through the SDK (lease, a
//! delivered result, a verdict), each write request timed, and a criterion bench of any async step.

use pictor_core::api::Verdict;
use std::time::{Duration, Instant};

/// Lease, result and verdict, each timed as one write request.
pub async fn timed_cycle(
    worker: &pictor_sdk::Client,
    key: &ed25519_dalek::SigningKey,
    checker: &pictor_sdk::Client,
    latencies: &mut Vec<Duration>,
) {
    let started = Instant::now();
    let lease = worker
        .workers()
        .lease()
        .await
        .expect("lease")
        .expect("a task");
    latencies.push(started.elapsed());
    let started = Instant::now();
    super::deliver(worker, key, &lease, "bench")
        .await
        .expect("result");
    latencies.push(started.elapsed());
    let started = Instant::now();
    if let Some(check) = checker.checks().lease().await.expect("check lease") {
        checker
            .checks()
            .verdict(check.check, Verdict::Accept, serde_json::json!({}))
            .await
            .expect("verdict");
    }
    latencies.push(started.elapsed());
}

/// The `p` quantile (0‥1) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

/// Benchmarks `name` in `group`: each sample awaits `step` as many times as criterion asks, on
/// `rt`, timed as a whole.
pub fn bench_async(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    rt: &tokio::runtime::Runtime,
    mut step: impl AsyncFnMut(),
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    step().await;
                }
                start.elapsed()
            })
        })
    });
}
