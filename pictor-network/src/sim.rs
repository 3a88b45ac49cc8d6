//! `pictor sim`: the real coordinator driven over HTTP by thousands of simulated workers and a few
//! simulated checkers, to see how dispatch and settlement hold up and where they saturate.
//!
//! Simulated workers render nothing: each registers with a key of its own, uploads one pre-made
//! output once, then leases; with a task it waits the simulated render time (heartbeating if that
//! is long), submits a signed result listing its pre-made output for every frame, and leases again
//! at once; without one it waits its poll interval (spread evenly across workers so they do not
//! poll in step). Simulated checkers accept every check. Every request is a real one through the
//! SDK; the coordinator is the real service on a temporary data directory.
//!
//! The report: cycles per second (tasks accepted over the run), the latency of every lease request
//! and of those that got a task (dispatch), errors, and fairness (tasks per worker: Jain's index,
//! 1 when every worker got the same number, and how many workers got any). A client-side bound on
//! requests in flight keeps the process within its file descriptors; it is reported with the rest.

use crate::service::Config;
use anyhow::{Context, Result, bail};
use pictor_core::api::{RegisterWorkerRequest, Role, TaskOutput, Verdict, WorkerHardware};
use pictor_core::job::{GpuVendor, JobState, RendererKind, Version};
use pictor_core::{JobSpec, Money};
use pictor_sdk::{Client, RetryPolicy};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How often a simulated worker renews its lease while "rendering" (the default lease lasts 120 s).
const HEARTBEAT: Duration = Duration::from_secs(20);

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Simulated workers.
    pub workers: usize,
    /// Simulated checkers.
    pub checkers: usize,
    /// Tasks of the job (one frame each).
    pub tasks: u32,
    /// How long a worker without a task waits before asking again.
    pub poll_interval: Duration,
    /// How long a simulated render takes.
    pub render_time: Duration,
    /// Requests in flight at most, over all simulated agents.
    pub max_in_flight: usize,
    /// The run stops here if the job is not done.
    pub time_limit: Duration,
    /// Where the run publishes the job's accepted tasks as it goes (for a caller that acts
    /// mid-run, e.g. a test stopping a replica).
    pub progress: Option<Arc<AtomicU64>>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            workers: 100,
            checkers: 4,
            tasks: 1_000,
            poll_interval: Duration::from_secs(1),
            render_time: Duration::ZERO,
            max_in_flight: 4_000,
            time_limit: Duration::from_secs(600),
            progress: None,
        }
    }
}

/// Latency percentiles of a kind of request, milliseconds.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Latency {
    /// Requests measured.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// What a simulation measured.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SimReport {
    /// Simulated workers.
    pub workers: usize,
    /// Simulated checkers.
    pub checkers: usize,
    /// Tasks of the job.
    pub tasks: u32,
    /// Tasks accepted when the run ended.
    pub accepted: u64,
    /// Whether the job completed within the time limit.
    pub completed: bool,
    /// Seconds from the first lease to the end of the run.
    pub seconds: f64,
    /// Tasks accepted per second.
    pub cycles_per_second: f64,
    /// Every lease request, with a task or not.
    pub lease: Latency,
    /// Lease requests that got a task: the dispatch latency.
    pub dispatch: Latency,
    /// Result submissions.
    pub result: Latency,
    /// Requests that failed (any kind).
    pub errors: u64,
    /// Jain's fairness index of tasks per worker (1: all equal; 1/n: one worker got all).
    pub fairness: f64,
    /// Workers that got at least one task.
    pub workers_served: usize,
    /// Most tasks one worker got.
    pub most_tasks_per_worker: u64,
    /// The client-side bound on requests in flight.
    pub max_in_flight: usize,
}

/// Samples of one run, shared by the simulated agents.
#[derive(Default)]
struct Samples {
    lease_us: std::sync::Mutex<Vec<u64>>,
    dispatch_us: std::sync::Mutex<Vec<u64>>,
    result_us: std::sync::Mutex<Vec<u64>>,
    errors: AtomicU64,
}

impl Samples {
    fn record(list: &std::sync::Mutex<Vec<u64>>, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        list.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(micros);
    }

    fn latency(list: &std::sync::Mutex<Vec<u64>>) -> Latency {
        let mut values = list
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        values.sort_unstable();
        let at = |p: f64| {
            let index = ((values.len().saturating_sub(1)) as f64 * p).round() as usize;
            values.get(index).copied().unwrap_or(0) as f64 / 1000.0
        };
        Latency {
            count: values.len() as u64,
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            max_ms: values.last().copied().unwrap_or(0) as f64 / 1000.0,
        }
    }
}

/// An account's clients, one per coordinator it may talk to (replicas of one network): each
/// request goes to the next in turn, so every agent spreads its requests over all of them, and a
/// request after a failed one goes elsewhere.
struct Spread {
    clients: Vec<Client>,
    next: AtomicUsize,
}

impl Spread {
    /// Clients of the account `api_key` on each of `admins`' coordinators.
    fn with_api_key(admins: &[Client], api_key: &str) -> Result<Spread> {
        let clients = admins
            .iter()
            .map(|admin| admin.with_api_key(api_key.to_string()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Spread::new(clients)
    }

    fn new(clients: Vec<Client>) -> Result<Spread> {
        if clients.is_empty() {
            bail!("a simulation needs at least one coordinator");
        }
        Ok(Spread {
            clients,
            next: AtomicUsize::new(0),
        })
    }

    /// The client for the next request.
    fn pick(&self) -> &Client {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len();
        &self.clients[index]
    }
}

/// How many coordinators a write that failed (a replica gone mid-request) is sent to before it
/// counts as an error: a real agent retries the same way.
const TRIES: usize = 3;

/// One simulated worker: its clients, signing key and pre-made output.
struct SimWorker {
    clients: Spread,
    key: ed25519_dalek::SigningKey,
    output: TaskOutput,
}

/// Runs a simulation against a fresh coordinator on a temporary data directory (SQLite).
pub async fn simulate_fresh(options: &SimOptions) -> Result<SimReport> {
    let data = tempfile::tempdir().context("creating a temporary data directory")?;
    // The simulated checkers accept everything unseen: the network's known-outcome checks would
    // bar them (docs/TRUST.md), so this throughput run turns probes and audits off.
    let mut config = Config::default();
    config.trust.probe_every = 0;
    config.trust.audit_per_mille = 0;
    let coordinator = crate::server::open(data.path(), config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(crate::server::serve(listener, coordinator, async move {
        let _ = stopped.await;
    }));
    let admin_key = std::fs::read_to_string(data.path().join(crate::service::ADMIN_KEY_FILE))?;
    let admin = Client::builder()
        .endpoint(&url)
        .api_key(admin_key.trim())
        .retry(RetryPolicy::none())
        .build()?;
    let report = simulate(std::slice::from_ref(&admin), options).await;
    let _ = stop.send(());
    let _ = served.await;
    report
}

/// Runs a simulation on the network `admins` (an admin's client of each of its coordinators, e.g.
/// replicas on one database) reach, every agent spreading its requests over all of them.
pub async fn simulate(admins: &[Client], options: &SimOptions) -> Result<SimReport> {
    if options.workers == 0 || options.checkers == 0 || options.tasks == 0 {
        bail!("a simulation needs at least one worker, one checker and one task");
    }
    let admin = Spread::new(admins.to_vec())?;
    let gate = Arc::new(Semaphore::new(options.max_in_flight.max(1)));
    let creator = account(admins, &admin, Role::Creator, "sim-creator").await?;
    let credits = Money::from_credits(u64::from(options.tasks).saturating_mul(10).max(1_000))
        .context("the creator's credits")?;
    admin
        .pick()
        .accounts()
        .deposit(creator.1, credits)
        .send()
        .await?;
    let creator = creator.0;
    let workers = register_workers(admins, options.workers, &gate).await?;
    let mut checkers = Vec::with_capacity(options.checkers);
    for index in 0..options.checkers {
        checkers.push(
            account(
                admins,
                &admin,
                Role::Checker,
                &format!("sim-checker-{index}"),
            )
            .await?
            .0,
        );
    }
    let folder = tempfile::tempdir().context("a folder for the scene")?;
    std::fs::write(folder.path().join("scene.toml"), b"# pictor sim scene\n")?;
    let scene = creator
        .pick()
        .assets()
        .upload_folder(folder.path(), "scene.toml")
        .send()
        .await
        .context("uploading the scene")?
        .id;
    let spec = JobSpec::builder(
        scene,
        format!("1-{}", options.tasks)
            .parse()
            .context("the job's frames")?,
    )
    .resolution(16, 16)
    .samples(1)
    .build()?;
    let job = creator.pick().jobs().submit(spec).send().await?;

    let context = Arc::new(AgentContext {
        samples: Samples::default(),
        done: AtomicBool::new(false),
        gate: gate.clone(),
        options: options.clone(),
    });
    let samples = &context.samples;
    let served: Arc<Vec<AtomicU64>> =
        Arc::new((0..workers.len()).map(|_| AtomicU64::new(0)).collect());
    let started = Instant::now();
    let mut agents = Vec::new();
    let spread = options.poll_interval.as_secs_f64() / workers.len() as f64;
    for (index, worker) in workers.into_iter().enumerate() {
        let context = context.clone();
        let served = served.clone();
        let first_poll = Duration::from_secs_f64(spread * index as f64);
        agents.push(tokio::spawn(async move {
            tokio::time::sleep(first_poll).await;
            run_worker(&worker, &context, &served[index]).await;
        }));
    }
    for checker in checkers {
        let context = context.clone();
        agents.push(tokio::spawn(async move {
            run_checker(&checker, &context).await;
        }));
    }
    let mut completed = false;
    while started.elapsed() < options.time_limit {
        tokio::time::sleep(Duration::from_millis(200)).await;
        match creator.pick().jobs().get(job.id).await {
            Ok(view) if view.state == JobState::Completed => {
                completed = true;
                break;
            }
            Ok(view) if view.state.is_final() => bail!("the job ended {:?}", view.state),
            Ok(view) => {
                if let Some(progress) = &options.progress {
                    progress.store(u64::from(view.tasks_accepted), Ordering::Relaxed);
                }
            }
            Err(_) => {
                samples.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    context.done.store(true, Ordering::Relaxed);
    for agent in agents {
        let _ = agent.await;
    }
    let counts: Vec<u64> = served.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let mut last = creator.pick().jobs().get(job.id).await;
    for _ in 1..TRIES {
        if last.is_ok() {
            break;
        }
        last = creator.pick().jobs().get(job.id).await;
    }
    let accepted = u64::from(last?.tasks_accepted);
    if let Some(progress) = &options.progress {
        progress.store(accepted, Ordering::Relaxed);
    }
    Ok(SimReport {
        workers: counts.len(),
        checkers: options.checkers,
        tasks: options.tasks,
        accepted,
        completed,
        seconds,
        cycles_per_second: accepted as f64 / seconds.max(1e-9),
        lease: Samples::latency(&samples.lease_us),
        dispatch: Samples::latency(&samples.dispatch_us),
        result: Samples::latency(&samples.result_us),
        errors: samples.errors.load(Ordering::Relaxed),
        fairness: jain(&counts),
        workers_served: counts.iter().filter(|&&c| c > 0).count(),
        most_tasks_per_worker: counts.iter().copied().max().unwrap_or(0),
        max_in_flight: options.max_in_flight,
    })
}

/// What every simulated agent shares.
struct AgentContext {
    samples: Samples,
    done: AtomicBool,
    gate: Arc<Semaphore>,
    options: SimOptions,
}

async fn run_worker(worker: &SimWorker, context: &AgentContext, served: &AtomicU64) {
    while !context.done.load(Ordering::Relaxed) {
        let asked = Instant::now();
        let lease = {
            let _permit = context.gate.acquire().await;
            worker.clients.pick().workers().poll_lease().await
        };
        let took = asked.elapsed();
        Samples::record(&context.samples.lease_us, took);
        let lease = match lease {
            Ok(pictor_sdk::LeasePoll {
                lease: Some(lease), ..
            }) => lease,
            Ok(pictor_sdk::LeasePoll {
                lease: None,
                retry_after,
            }) => {
                // As a real agent: at least the poll interval, longer when the coordinator asks.
                let wait = context
                    .options
                    .poll_interval
                    .max(retry_after.unwrap_or_default());
                tokio::time::sleep(wait).await;
                continue;
            }
            Err(_) => {
                context.samples.errors.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(context.options.poll_interval).await;
                continue;
            }
        };
        Samples::record(&context.samples.dispatch_us, took);
        render(worker, &lease, context).await;
        let outputs: Vec<TaskOutput> = lease
            .work
            .frames()
            .into_iter()
            .map(|frame| TaskOutput {
                frame,
                ..worker.output.clone()
            })
            .collect();
        let render_ms = u64::try_from(context.options.render_time.as_millis()).unwrap_or(0);
        let submitted = Instant::now();
        let mut result = submit(worker, &lease, &outputs, render_ms, context).await;
        for _ in 1..TRIES {
            if result.is_ok() {
                break;
            }
            result = submit(worker, &lease, &outputs, render_ms, context).await;
        }
        Samples::record(&context.samples.result_us, submitted.elapsed());
        match result {
            Ok(_) => {
                served.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                context.samples.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Signs and submits the result of `lease` listing `outputs`, to the worker's next coordinator.
async fn submit(
    worker: &SimWorker,
    lease: &pictor_core::api::TaskLease,
    outputs: &[TaskOutput],
    render_ms: u64,
    context: &AgentContext,
) -> pictor_sdk::Result<pictor_core::api::TaskStateView> {
    let signed = pictor_sdk::sign_result(
        &worker.key,
        lease.task,
        lease.attempt,
        outputs.to_vec(),
        render_ms.max(1),
    )?;
    let _permit = context.gate.acquire().await;
    worker
        .clients
        .pick()
        .workers()
        .submit_result(lease.task, signed)
        .await
}

/// Waits the simulated render time, heartbeating every [`HEARTBEAT`].
async fn render(worker: &SimWorker, lease: &pictor_core::api::TaskLease, context: &AgentContext) {
    let mut left = context.options.render_time;
    let beat = HEARTBEAT;
    while !left.is_zero() {
        let step = left.min(beat);
        tokio::time::sleep(step).await;
        left -= step;
        if !left.is_zero() {
            let _permit = context.gate.acquire().await;
            if worker
                .clients
                .pick()
                .workers()
                .heartbeat(lease.task, lease.attempt, 500)
                .await
                .is_err()
            {
                context.samples.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

async fn run_checker(checker: &Spread, context: &AgentContext) {
    let idle = (context.options.poll_interval / 10).max(Duration::from_millis(20));
    while !context.done.load(Ordering::Relaxed) {
        let leased = {
            let _permit = context.gate.acquire().await;
            checker.pick().checks().lease().await
        };
        match leased {
            Ok(Some(check)) => {
                let mut delivered = false;
                for _ in 0..TRIES {
                    let _permit = context.gate.acquire().await;
                    let verdict = checker
                        .pick()
                        .checks()
                        .verdict(
                            check.check,
                            Verdict::Accept,
                            serde_json::json!({"sim": true}),
                        )
                        .await;
                    if verdict.is_ok() {
                        delivered = true;
                        break;
                    }
                }
                if !delivered {
                    context.samples.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(None) => tokio::time::sleep(idle).await,
            Err(_) => {
                context.samples.errors.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(idle).await;
            }
        }
    }
}

/// Opens an account of `role` through `admin`: its clients on every coordinator of `admins`
/// (sharing their connections) and its id.
async fn account(
    admins: &[Client],
    admin: &Spread,
    role: Role,
    name: &str,
) -> Result<(Spread, pictor_core::AccountId)> {
    let created = admin.pick().accounts().create(role, name).await?;
    Ok((
        Spread::with_api_key(admins, &created.api_key)?,
        created.account.id,
    ))
}

/// Opens, registers and equips `count` simulated workers, several at a time.
async fn register_workers(
    admins: &[Client],
    count: usize,
    gate: &Arc<Semaphore>,
) -> Result<Vec<SimWorker>> {
    let mut pending = Vec::with_capacity(count);
    let setup = Arc::new(Semaphore::new(16));
    let admins: Arc<[Client]> = admins.into();
    for index in 0..count {
        let (admins, setup, gate) = (admins.clone(), setup.clone(), gate.clone());
        pending.push(tokio::spawn(async move {
            let _slot = setup.acquire().await;
            let _permit = gate.acquire().await;
            let name = format!("sim-worker-{index}");
            let admin = Spread::new(admins.to_vec())?;
            // Setup round the coordinators too, starting at a different one per worker.
            admin.next.store(index, Ordering::Relaxed);
            let (clients, id) = account(&admins, &admin, Role::Worker, &name).await?;
            let seed = blake3::hash(format!("pictor-sim-worker-{}", id.0).as_bytes());
            let key = ed25519_dalek::SigningKey::from_bytes(seed.as_bytes());
            clients
                .pick()
                .workers()
                .register(register_request(&name, &key)?)
                .await?;
            let output = clients
                .pick()
                .workers()
                .upload_output_bytes(format!("sim output of {name}\n").into_bytes(), 1)
                .await?;
            anyhow::Ok(SimWorker {
                clients,
                key,
                output,
            })
        }));
    }
    let mut workers = Vec::with_capacity(count);
    for task in pending {
        workers.push(task.await.context("registering a worker")??);
    }
    Ok(workers)
}

fn register_request(name: &str, key: &ed25519_dalek::SigningKey) -> Result<RegisterWorkerRequest> {
    Ok(RegisterWorkerRequest {
        name: name.to_string(),
        public_key_hex: pictor_sdk::public_key_hex(key),
        hardware: WorkerHardware {
            vendor: GpuVendor::Cpu,
            gpu_name: "simulated".into(),
            vram_mib: 4096,
            renderers: vec![(RendererKind::Builtin, Version::new(0, 1, 0))],
        },
        price_per_bench_hour: Money::from_credits(1).context("price")?,
        speed_millis: 1000,
        slots: 1,
        min_tier: pictor_core::job::Tier::Economy,
        queue_delay_secs: None,
    })
}

/// Jain's fairness index of `counts`: (Σx)² / (n·Σx²); 1 for an empty or all-zero list.
pub fn jain(counts: &[u64]) -> f64 {
    let sum: f64 = counts.iter().map(|&c| c as f64).sum();
    let squares: f64 = counts.iter().map(|&c| (c as f64) * (c as f64)).sum();
    if squares == 0.0 {
        return 1.0;
    }
    sum * sum / (counts.len() as f64 * squares)
}

#[cfg(test)]
mod tests {
    use super::jain;

    #[test]
    fn jain_is_one_when_equal_and_one_over_n_when_one_takes_all() {
        assert!((jain(&[3, 3, 3, 3]) - 1.0).abs() < 1e-12);
        assert!((jain(&[8, 0, 0, 0]) - 0.25).abs() < 1e-12);
        assert!((jain(&[]) - 1.0).abs() < 1e-12);
        let mixed = jain(&[1, 2, 3]);
        assert!(mixed > 0.25 && mixed < 1.0, "{mixed}");
    }
}
