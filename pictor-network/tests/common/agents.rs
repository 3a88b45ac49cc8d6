//! The real worker and checker agents (`pictor-agent`) run as tasks of the test against its
//! coordinator, and stopped when the test is done.

use super::Network;
use pictor_agent::{
    CheckerEvent, CheckerOptions, CheckerSummary, WorkerConfig, WorkerEvent, WorkerOptions,
    WorkerSummary, init_worker, run_checker, run_worker,
};
use pictor_core::Money;
use pictor_core::api::Role;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// An agent running as a task: stop it to get its summary.
pub struct Running<T> {
    stop: oneshot::Sender<()>,
    handle: JoinHandle<anyhow::Result<T>>,
}

impl<T> Running<T> {
    pub async fn stop(self) -> T {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("stops in time")
            .expect("join")
            .expect("ran")
    }
}

pub fn start_worker(
    config: WorkerConfig,
    cheat: Option<u32>,
    events: Arc<Mutex<Vec<WorkerEvent>>>,
) -> Running<WorkerSummary> {
    let (stop, stopped) = oneshot::channel::<()>();
    let mut options = WorkerOptions {
        on_event: Some(Arc::new(move |event| {
            if !matches!(event, WorkerEvent::Idle) {
                eprintln!("worker: {event:?}");
            }
            events.lock().unwrap().push(event);
        })),
        poll_interval: Duration::from_millis(100),
        ..WorkerOptions::default()
    };
    if let Some(divisor) = cheat {
        // The demo's cheating worker: the production worker wrapped around a cheating renderer.
        options.renderers = Some(pictor_network::demo::CheatingRenderer::factory(divisor));
    }
    let handle = tokio::spawn(run_worker(config, options, async move {
        let _ = stopped.await;
    }));
    Running { stop, handle }
}

pub async fn start_checker(network: &Network, dir: &Path) -> Running<CheckerSummary> {
    let created = network
        .admin
        .accounts()
        .create(Role::Checker, "checker")
        .await
        .expect("checker account");
    let events = Arc::new(Mutex::new(Vec::new()));
    let (stop, stopped) = oneshot::channel::<()>();
    let options = CheckerOptions {
        poll_interval: Duration::from_millis(100),
        on_event: Some(Arc::new(move |event: CheckerEvent| {
            eprintln!("checker: {event:?}");
            events.lock().unwrap().push(event);
        })),
        ..CheckerOptions::new(&network.url, &created.api_key, dir.to_path_buf())
    };
    let handle = tokio::spawn(run_checker(options, async move {
        let _ = stopped.await;
    }));
    Running { stop, handle }
}

/// A worker account `name` offering the built-in renderer at 2 credits a bench-hour, its config
/// written in `dir` by `pictor worker init`'s code.
pub async fn built_in_worker_config(network: &Network, name: &str, dir: &Path) -> WorkerConfig {
    let created = network
        .admin
        .accounts()
        .create(Role::Worker, name)
        .await
        .expect("worker account");
    init_worker(
        &network.url,
        &created.api_key,
        name,
        Money::from_credits(2).expect("price"),
        &dir.join("worker.toml"),
        false,
        &pictor_agent::RenderersOffered::builtin(),
    )
    .await
    .expect("init")
}
