//! Pictor Cloud benchmarks (criterion), each beside a baseline measured in the same process so
//! `docs/BENCHMARKS.md` can report ratios as well as the times the issue sets (≤ 100 ms a page):
//!
//! - `pages/jobs_list_10000_jobs`, `pages/jobs_search_10000_jobs` and `pages/job_page_2000_frames`
//!   vs `pages/health`: a signed-in creator's jobs list (the first 50 of 10,000 jobs, each with its
//!   per-state bar), a search by name over all 10,000, and the page of a job of 2,000 frames —
//!   each one whole HTTP request over loopback, against the same round trip to `/health`; and
//!   `pages/api_job_2000_frames`, the API's JSON of that job, for comparison.
//! - `open_pages/cycle_with_200_pages` vs `open_pages/cycle_quiet`: one task's whole cycle (lease,
//!   result, verdict) while 200 job pages follow the job live (200 Server-Sent Events streams of
//!   `/jobs/{id}/events`, read as they arrive), against the cycle alone. Both print the p50/p99 of
//!   each write request.
//!
//! - `live/pause_to_page`: from a control's answer (pause, resume) to its event arriving on an
//!   open job page's stream; prints p50/p99 (the issue asks within 1 s).
//!
//! Run: `cargo bench -p pictor-network --bench cloud` (add `-- pages`, `-- open_pages` or `-- live`).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::Network;
use common::cycle::{bench_async, percentile, timed_cycle};
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::StreamExt;
use pictor_core::JobSpec;
use pictor_core::api::Role;
use pictor_network::service::Config;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

const LISTED_JOBS: usize = 10_000;
const BIG_JOB_FRAMES: u32 = 2_000;
const OPEN_PAGES: usize = 200;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A tiny one-frame (or `frames`) built-in job named `name`.
fn spec(scene: &pictor_core::AssetId, frames: &str, name: String) -> JobSpec {
    JobSpec::builder(scene.clone(), frames.parse().expect("frames"))
        .name(name)
        .resolution(16, 16)
        .samples(1)
        .build()
        .expect("spec")
}

/// Signs `key` in through the sign-in form; answers the `Cookie` header value.
async fn session_cookie(http: &reqwest::Client, url: &str, key: &str) -> String {
    let answer = http
        .post(format!("{url}/signin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("api_key={key}"))
        .send()
        .await
        .expect("sign in");
    let set = answer.headers()["set-cookie"].to_str().expect("ascii");
    set.split(';').next().expect("a pair").to_string()
}

/// Who asks: a browser's session cookie (the pages), or an API key (the API).
#[derive(Clone, Copy)]
enum Asker<'a> {
    Cookie(&'a str),
    Key(&'a str),
}

/// One whole GET of `path`; the body is read to its end.
async fn fetch(http: &reqwest::Client, url: &str, path: &str, asker: Asker<'_>) -> usize {
    let request = http.get(format!("{url}{path}"));
    let request = match asker {
        Asker::Cookie(cookie) => request.header("cookie", cookie),
        Asker::Key(key) => request.bearer_auth(key),
    };
    let answer = request.send().await.expect("answer");
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.bytes().await.expect("body").len()
}

fn no_redirects() -> reqwest::Client {
    pictor_sdk::install_tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn pages(c: &mut Criterion) {
    let rt = runtime();
    let http = no_redirects();
    let (network, cookie, key, big) = rt.block_on(async {
        let network = Network::start(Config::default()).await;
        network.worker("w", 1).await;
        let (creator, _, key) = network.creator_named("studio", 1_000_000).await;
        let scene = common::upload_test_scene(&creator).await;
        let started = Instant::now();
        let mut submitters = Vec::new();
        for lane in 0..8 {
            let (creator, scene) = (creator.clone(), scene.clone());
            submitters.push(tokio::spawn(async move {
                for i in (lane..LISTED_JOBS).step_by(8) {
                    creator
                        .jobs()
                        .submit(spec(&scene, "1", format!("Shot {i:05}")))
                        .send()
                        .await
                        .expect("submit");
                }
            }));
        }
        for submitter in submitters {
            submitter.await.expect("submitter");
        }
        let big = creator
            .jobs()
            .submit(spec(
                &scene,
                &format!("1-{BIG_JOB_FRAMES}"),
                "The long shot".into(),
            ))
            .send()
            .await
            .expect("submit")
            .id;
        eprintln!(
            "pages: {LISTED_JOBS} jobs submitted in {:?}",
            started.elapsed()
        );
        let cookie = session_cookie(&no_redirects(), &network.url, &key).await;
        (network, cookie, key, big)
    });
    let url = network.url.clone();
    let mut group = c.benchmark_group("pages");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    let job_page = format!("/jobs/{}", big.0);
    let api_job = format!("/v1/jobs/{}", big.0);
    let page = Asker::Cookie(&cookie);
    let cases: [(&str, &str, Asker); 5] = [
        ("health", "/health", page),
        ("jobs_list_10000_jobs", "/", page),
        ("jobs_search_10000_jobs", "/?q=shot%2009999", page),
        ("job_page_2000_frames", &job_page, page),
        ("api_job_2000_frames", &api_job, Asker::Key(&key)),
    ];
    for (name, path, asker) in cases {
        let size = rt.block_on(fetch(&http, &url, path, asker));
        eprintln!("pages/{name}: {path} answers {size} bytes");
        bench_async(&mut group, name, &rt, async || {
            fetch(&http, &url, path, asker).await;
        });
    }
    group.finish();
    drop(network);
}

fn open_pages(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("open_pages");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for with_pages in [false, true] {
        let (network, worker, key, checker, cookie, job) = rt.block_on(async {
            let network = Network::start(Config::default()).await;
            let (worker, _, key) = network.worker("w", 1).await;
            let (checker, _) = network.account(Role::Checker, "checker").await;
            let (creator, _, creator_key) = network.creator_named("studio", 1_000_000).await;
            let scene = common::upload_test_scene(&creator).await;
            let job = creator
                .jobs()
                .submit(spec(&scene, "1-20000", "Busy".into()))
                .send()
                .await
                .expect("submit")
                .id;
            let cookie = session_cookie(&no_redirects(), &network.url, &creator_key).await;
            (network, worker, key, checker, cookie, job)
        });
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut pages = Vec::new();
        if with_pages {
            let http = no_redirects();
            for _ in 0..OPEN_PAGES {
                let (http, stop, received) = (http.clone(), stop.clone(), received.clone());
                let events = format!("{}/jobs/{}/events", network.url, job.0);
                let cookie = cookie.clone();
                pages.push(rt.spawn(async move {
                    let answer = http
                        .get(&events)
                        .header("cookie", &cookie)
                        .send()
                        .await
                        .expect("events");
                    assert!(answer.status().is_success());
                    let mut stream = answer.bytes_stream();
                    while !stop.load(Ordering::Relaxed) {
                        match tokio::time::timeout(Duration::from_millis(200), stream.next()).await
                        {
                            Ok(Some(chunk)) => {
                                received.fetch_add(
                                    chunk.expect("a chunk").len() as u64,
                                    Ordering::Relaxed,
                                );
                            }
                            Ok(None) => break,
                            Err(_) => {}
                        }
                    }
                }));
            }
        }
        let mut latencies = Vec::new();
        let name = if with_pages {
            "cycle_with_200_pages"
        } else {
            "cycle_quiet"
        };
        bench_async(&mut group, name, &rt, async || {
            timed_cycle(&worker, &key, &checker, &mut latencies).await;
        });
        stop.store(true, Ordering::Relaxed);
        for page in pages {
            rt.block_on(page).expect("page");
        }
        latencies.sort_unstable();
        eprintln!(
            "open_pages/{name}: {} write requests, p50 {:?}, p99 {:?}; pages received {} bytes of events",
            latencies.len(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            received.load(Ordering::Relaxed)
        );
        drop(network);
    }
    group.finish();
}

/// Reads the stream until an event of `kind` arrives; answers when.
async fn next_event_of(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    seen: &mut String,
    kind: &str,
) -> Instant {
    let marker = format!("event: {kind}\n");
    loop {
        if let Some(at) = seen.find(&marker) {
            seen.drain(..at + marker.len());
            return Instant::now();
        }
        let chunk = stream
            .next()
            .await
            .expect("the stream goes on")
            .expect("a chunk");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

fn live_latency(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("live");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let (network, creator, job, cookie) = rt.block_on(async {
        let network = Network::start(Config::default()).await;
        network.worker("w", 1).await;
        let (creator, _, key) = network.creator_named("studio", 1_000_000).await;
        let scene = common::upload_test_scene(&creator).await;
        let job = creator
            .jobs()
            .submit(spec(&scene, "1-100", "Watched".into()))
            .send()
            .await
            .expect("submit")
            .id;
        let cookie = session_cookie(&no_redirects(), &network.url, &key).await;
        (network, creator, job, cookie)
    });
    let answer = rt.block_on(
        no_redirects()
            .get(format!("{}/jobs/{}/events", network.url, job.0))
            .header("cookie", &cookie)
            .send(),
    );
    let mut stream = answer.expect("events").bytes_stream();
    let mut seen = String::new();
    let mut delays = Vec::new();
    // From a control's answer to its event on an open page's stream (the page's own delay).
    group.bench_function("pause_to_page", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    for (control, kind) in [("pause", "paused"), ("resume", "resumed")] {
                        let answered = if control == "pause" {
                            creator.jobs().pause(job).await.expect("pause");
                            Instant::now()
                        } else {
                            creator.jobs().resume(job).await.expect("resume");
                            Instant::now()
                        };
                        let arrived = next_event_of(&mut stream, &mut seen, kind).await;
                        let delay = arrived.saturating_duration_since(answered);
                        delays.push(delay);
                        total += delay;
                    }
                }
                total / 2
            })
        })
    });
    delays.sort_unstable();
    eprintln!(
        "live/pause_to_page: {} events, p50 {:?}, p99 {:?}, max {:?} (goal: within 1 s)",
        delays.len(),
        percentile(&delays, 0.50),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or_default()
    );
    group.finish();
    drop(network);
}

criterion_group!(benches, pages, open_pages, live_latency);
criterion_main!(benches);
