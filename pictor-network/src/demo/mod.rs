//! `pictor demo`: the whole network on one machine — a coordinator on 127.0.0.1 with its SQLite store,
//! N worker agents and one checker agent, a creator with credits — rendering a job end to end: upload,
//! quote, submit, live progress, verification, settlement, download, and a verified ledger.

mod cheat;

pub use cheat::CheatingRenderer;

use crate::server;
use crate::service::{ADMIN_KEY_FILE, Config};
use anyhow::{Context, Result, anyhow, bail};
use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use pictor_agent::checker::{CheckerOptions, run_checker};
use pictor_agent::config::WorkerConfig;
use pictor_agent::{WorkerEvent, WorkerOptions, init_worker, run_worker};
use pictor_core::api::{JobEvent, JobView, Role};
use pictor_core::job::{JobState, RendererKind};
use pictor_core::ledger::{Account, Ledger, VerifyingKey, verify};
use pictor_core::pricing::Quote;
use pictor_core::{JobSpec, Money};
use pictor_sdk::{Client, RetryPolicy};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long the demo waits for any job event before giving up.
const STALL_TIMEOUT: Duration = Duration::from_secs(120);

/// What the demo renders and with how many agents.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Where frames (and the network's data, under `data/`) go; a temp dir when `None`.
    pub out: Option<PathBuf>,
    /// Frames to render.
    pub frames: String,
    /// Honest workers.
    pub workers: u32,
    /// Renderer: `builtin` or `blender`.
    pub renderer: String,
    /// Scene file; default: the built-in demo scene (or Blender's factory scene).
    pub scene: Option<PathBuf>,
    /// Frame size and samples.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Samples per pixel.
    pub samples: u32,
    /// Add a worker that returns low-sample frames, to show it caught.
    pub cheat_worker: bool,
    /// Draw progress bars on stderr.
    pub progress: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            out: None,
            frames: "1-12".into(),
            workers: 2,
            renderer: "builtin".into(),
            scene: None,
            width: 320,
            height: 180,
            samples: 32,
            cheat_worker: false,
            progress: true,
        }
    }
}

/// One worker's part in the summary.
#[derive(Clone, Debug, Serialize)]
pub struct WorkerSummaryLine {
    /// Worker (account) id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Tasks it rendered and were accepted.
    pub accepted: u64,
    /// Its results the checker rejected.
    pub rejected: u64,
    /// What it earned.
    pub earned: Money,
    /// True for the demo's cheating worker.
    pub cheat: bool,
}

/// The demo's summary (`--json` prints it).
#[derive(Clone, Debug, Serialize)]
pub struct DemoSummary {
    /// Id of the demo job on the network the demo ran; its frames were downloaded to `out`.
    pub job_id: u64,
    /// Frames asked for.
    pub frames: u32,
    /// Task results accepted.
    pub accepted: u64,
    /// Task results rejected.
    pub rejected: u64,
    /// The quote asked for just before submitting (the submit prices the job again).
    pub quote: Quote,
    /// What the job cost.
    pub charged: Money,
    /// What came back to the creator from the escrow hold.
    pub refunded: Money,
    /// One line per demo worker, by account id (a cheating worker has `cheat` set).
    pub workers: Vec<WorkerSummaryLine>,
    /// The checker's fees.
    pub checker_earned: Money,
    /// The network's fees.
    pub network_fees: Money,
    /// True when the ledger verified against the network key and balanced.
    pub ledger_ok: bool,
    /// Wall time of the run, ms (network start to last frame downloaded).
    pub wall_ms: u64,
    /// Where the frames are.
    pub out: String,
}

fn quiet_client(url: &str, key: &str) -> Result<Client> {
    Ok(Client::builder()
        .endpoint(url)
        .api_key(key)
        .retry(RetryPolicy::default())
        .build()?)
}

fn bar_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Writes the scene folder to upload: the given file (with its folder's files), or the default scene
/// of the renderer. Answers the folder and the main file's name.
async fn scene_folder(options: &DemoOptions, work: &Path) -> Result<(PathBuf, String)> {
    if let Some(scene) = &options.scene {
        let name = scene
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| anyhow!("{} has no usable file name", scene.display()))?
            .to_string();
        let folder = scene
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        return Ok((folder, name));
    }
    let folder = work.join("scene");
    std::fs::create_dir_all(&folder).context("creating the scene folder")?;
    match options.renderer.as_str() {
        "builtin" => {
            std::fs::write(
                folder.join("scene.toml"),
                pictor_render::builtin::scene::demo_scene_toml(),
            )
            .context("writing the demo scene")?;
            Ok((folder, "scene.toml".into()))
        }
        "blender" => {
            let path = folder.join("factory.blend");
            let status = tokio::process::Command::new(
                std::env::var_os("PICTOR_BLENDER").unwrap_or_else(|| "blender".into()),
            )
            .args(["-b", "--factory-startup", "--python-expr"])
            .arg(format!(
                "import bpy; bpy.ops.wm.save_as_mainfile(filepath={:?})",
                path.display().to_string()
            ))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await
            .context("running Blender to save its factory scene")?;
            if !status.success() || !path.exists() {
                bail!("Blender could not save its factory scene ({status})");
            }
            Ok((folder, "factory.blend".into()))
        }
        other => bail!("unknown renderer {other:?}: use builtin or blender"),
    }
}

/// Runs the demo.
pub async fn run_demo(options: DemoOptions) -> Result<DemoSummary> {
    let (summary, open) = demo(options, false).await?;
    if let Some(open) = open {
        open.close().await;
    }
    Ok(summary)
}

/// The network of a finished demo, still serving (`pictor demo --keep-open`): the web app at
/// [`url`](OpenDemo::url), the creator's key in [`creator_key_file`](OpenDemo::creator_key_file).
#[derive(Debug)]
pub struct OpenDemo {
    /// The coordinator's address: the API at `/v1`, Pictor Cloud at `/`.
    pub url: String,
    /// The demo creator's API key, in a file only its owner can read.
    pub creator_key_file: PathBuf,
    stop: watch::Sender<bool>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl OpenDemo {
    /// Stops serving.
    pub async fn close(self) {
        let _ = self.stop.send(true);
        let _ = self.served.await;
    }
}

/// Runs the demo like [`run_demo`], but leaves its network serving (the agents stopped) so that
/// its job, frames and ledger can be looked at in the web app; [`OpenDemo::close`] stops it.
pub async fn run_demo_kept_open(options: DemoOptions) -> Result<(DemoSummary, OpenDemo)> {
    let (summary, open) = demo(options, true).await?;
    let open = open.ok_or_else(|| anyhow!("the demo's network was not kept open"))?;
    Ok((summary, open))
}

async fn demo(options: DemoOptions, keep_open: bool) -> Result<(DemoSummary, Option<OpenDemo>)> {
    let started = Instant::now();
    let temp = tempfile::tempdir().context("creating a temp dir")?;
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| temp.path().join("frames"));
    let data = out.join("data");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;

    // The network.
    let mut config = Config::default();
    config.task_policy.lease_ttl_ms = 30_000;
    let coordinator = server::open(&data, config)
        .await
        .context("opening the network")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding")?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let (server_stop, server_stop_rx) = watch::channel(false);
    let server_task = tokio::spawn(server::serve(
        listener,
        coordinator.clone(),
        stopped(server_stop_rx),
    ));
    let admin_key =
        std::fs::read_to_string(data.join(ADMIN_KEY_FILE)).context("reading the admin key")?;
    let admin = quiet_client(&url, admin_key.trim())?;

    let multi = MultiProgress::with_draw_target(if options.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let say = |line: String| {
        if options.progress {
            let _ = multi.println(line);
        }
    };
    say(format!(
        "network listening on {url} (data in {})",
        data.display()
    ));

    // Accounts and agents.
    let creator_account = admin
        .accounts()
        .create(Role::Creator, "demo-studio")
        .await?;
    let deposit = Money::from_credits(1_000)?;
    admin
        .accounts()
        .deposit(creator_account.account.id, deposit)
        .send()
        .await?;
    let creator = quiet_client(&url, &creator_account.api_key)?;

    let worker_bars: Arc<Mutex<BTreeMap<u64, ProgressBar>>> = Arc::default();
    let mut agents = Vec::new();
    let mut names: BTreeMap<u64, (String, bool)> = BTreeMap::new();
    let total_workers = options.workers + u32::from(options.cheat_worker);
    for i in 0..total_workers {
        let cheat = i == options.workers;
        let name = if cheat {
            "cheat".to_string()
        } else {
            format!("gpu-{}", i + 1)
        };
        let account = admin.accounts().create(Role::Worker, &name).await?;
        let price = Money::from_credits(if cheat { 1 } else { 2 + u64::from(i) })?;
        let config_path = data.join(format!("{name}.toml"));
        let mut config: WorkerConfig = init_worker(
            &url,
            &account.api_key,
            &name,
            price,
            &config_path,
            true,
            &pictor_agent::RenderersOffered {
                renderer: options.renderer.clone(),
                blender: Vec::new(),
                models_dir: None,
            },
        )
        .await
        .with_context(|| format!("initialising worker {name}"))?;
        config.cache_dir = data.join("cache").join(&name);
        names.insert(account.account.id.0, (name.clone(), cheat));
        let bar = multi.add(ProgressBar::new(1000));
        bar.set_style(bar_style("{prefix:>8} [{bar:30}] {msg}"));
        bar.set_prefix(name.clone());
        bar.set_message("idle");
        worker_bars
            .lock()
            .map_err(|_| anyhow!("progress lock poisoned"))?
            .insert(account.account.id.0, bar.clone());
        let on_event: Arc<dyn Fn(WorkerEvent) + Send + Sync> = Arc::new(move |event| match event {
            WorkerEvent::Leased { frames, .. } => {
                bar.set_position(0);
                bar.set_message(format!("frames {frames:?}"));
            }
            WorkerEvent::Progress { permille, .. } => bar.set_position(u64::from(permille)),
            WorkerEvent::Submitted { task } => {
                bar.set_position(1000);
                bar.set_message(format!("task {task} submitted"));
            }
            WorkerEvent::Failed { message, .. } => bar.set_message(format!("failed: {message}")),
            WorkerEvent::Idle | WorkerEvent::Connected { .. } => {}
        });
        let mut worker_options = WorkerOptions {
            on_event: Some(on_event),
            poll_interval: Duration::from_millis(200),
            ..WorkerOptions::default()
        };
        if cheat {
            worker_options.renderers = Some(CheatingRenderer::factory(4));
        }
        let stop = stop_rx.clone();
        agents.push(tokio::spawn(async move {
            run_worker(config, worker_options, stopped(stop))
                .await
                .map(|_| ())
        }));
    }
    let checker_account = admin.accounts().create(Role::Checker, "checker-1").await?;
    let checker_options = CheckerOptions {
        poll_interval: Duration::from_millis(200),
        ..CheckerOptions::new(
            &url,
            &checker_account.api_key,
            data.join("cache").join("checker"),
        )
    };
    agents.push(tokio::spawn({
        let stop = stop_rx.clone();
        async move {
            run_checker(checker_options, stopped(stop))
                .await
                .map(|_| ())
        }
    }));

    // Upload, quote, submit.
    let (folder, main_file) = scene_folder(&options, temp.path()).await?;
    let upload_bar = multi.add(ProgressBar::new(1));
    upload_bar.set_style(bar_style("  upload [{bar:30}] {bytes}/{total_bytes}"));
    let uploaded = {
        let bar = upload_bar.clone();
        creator
            .assets()
            .upload_folder(&folder, &main_file)
            .progress(move |p| {
                bar.set_length(p.bytes_total.max(1));
                bar.set_position(p.bytes_done);
            })
            .send()
            .await
            .context("uploading the scene")?
    };
    upload_bar.finish_and_clear();
    let kind = match options.renderer.as_str() {
        "blender" => RendererKind::Blender,
        _ => RendererKind::Builtin,
    };
    // EXR: the checker's noise model does not yet account for 8-bit quantization, which makes it
    // reject honest low-sample PNG frames (see docs/BENCHMARKS.md).
    let spec = JobSpec::builder(uploaded.id.clone(), options.frames.parse()?)
        .renderer(kind)
        .resolution(options.width, options.height)
        .samples(options.samples)
        .output(pictor_core::job::OutputFormat::Exr)
        // The fastest finish: the plan (and with it the escrow hold) uses every worker.
        .tier(pictor_core::job::Tier::Priority)
        .build()?;
    // Workers register as their agents start: wait until the quote sees them.
    let mut quote = None;
    for _ in 0..100 {
        match creator.quotes().create(spec.clone()).await {
            Ok(q) => {
                quote = Some(q);
                break;
            }
            Err(error) if error.status() == Some(422) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(error) => return Err(error.into()),
        }
    }
    let quote = quote.ok_or_else(|| anyhow!("no worker came online to quote the job"))?;
    say(format!(
        "quote: {} at P50, {} at P90 (escrow hold {}), ETA {:.0}–{:.0} s",
        quote.cost_p50, quote.cost_p90, quote.escrow_hold, quote.eta_p50_secs, quote.eta_p90_secs
    ));
    let job = creator
        .jobs()
        .submit(spec.clone())
        .send()
        .await
        .context("submitting")?;
    let job_bar = multi.add(ProgressBar::new(u64::from(job.tasks_total)));
    job_bar.set_style(bar_style(
        "     job [{bar:30}] {pos}/{len} tasks accepted {msg}",
    ));

    // Follow the job.
    let mut rejected = 0u64;
    let mut per_worker: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    let mut events = Box::pin(creator.jobs().events(job.id));
    let mut final_kind = String::new();
    loop {
        let next = tokio::time::timeout(STALL_TIMEOUT, events.next()).await;
        let Ok(next) = next else {
            let _ = stop_tx.send(true);
            bail!(
                "the job made no progress for {} s (every worker barred or failing?); data in {}",
                STALL_TIMEOUT.as_secs(),
                data.display()
            );
        };
        let Some(event) = next else { break };
        let event = event.context("following the job's events")?;
        let worker = event.event.worker().map(|w| w.0);
        match &event.event {
            JobEvent::TaskAccepted { .. } => {
                job_bar.inc(1);
                if let Some(w) = worker {
                    per_worker.entry(w).or_default().0 += 1;
                }
            }
            JobEvent::TaskRejected { .. } => {
                rejected += 1;
                job_bar.set_message(format!("({rejected} rejected)"));
                if let Some(w) = worker {
                    per_worker.entry(w).or_default().1 += 1;
                    if let Ok(bars) = worker_bars.lock()
                        && let Some(bar) = bars.get(&w)
                    {
                        bar.set_message("result REJECTED by the checker".to_string());
                    }
                }
            }
            _ => {}
        }
        if event.event.is_final() {
            final_kind = event.kind().to_string();
            break;
        }
    }
    job_bar.finish();
    let done: JobView = creator.jobs().get(job.id).await?;
    if done.state != JobState::Completed {
        let _ = stop_tx.send(true);
        bail!("the job ended {final_kind} ({:?})", done.state);
    }
    let frames = creator
        .jobs()
        .download_frames(job.id, &out)
        .await
        .context("downloading the frames")?;

    // Stop the agents and the network, then audit the ledger.
    let _ = stop_tx.send(true);
    for agent in agents {
        match tokio::time::timeout(Duration::from_secs(30), agent).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => say(format!("an agent stopped with an error: {error:#}")),
            Ok(Err(error)) => say(format!("an agent panicked: {error}")),
            Err(_) => say("an agent did not stop within 30 s".into()),
        }
    }
    let journal = creator.ledger().fetch_journal().await?;
    let head = creator.ledger().head().await?;
    let key_bytes: [u8; 32] = hex::decode(&head.public_key_hex)?
        .try_into()
        .map_err(|_| anyhow!("the network key is not 32 bytes"))?;
    let ledger = Ledger::replay(journal.entries())?;
    let ledger_ok = verify(&journal, &VerifyingKey::from_bytes(&key_bytes)?).is_ok()
        && ledger.trial_balance() == 0
        && ledger.escrow_total() == 0;
    let money = |account: Account| {
        Money::from_micros(u64::try_from(ledger.balance(account).max(0)).unwrap_or(0))
    };
    let workers = names
        .iter()
        .map(|(id, (name, cheat))| {
            let (accepted, rejected) = per_worker.get(id).copied().unwrap_or_default();
            WorkerSummaryLine {
                id: *id,
                name: name.clone(),
                accepted,
                rejected,
                earned: money(Account::Worker(pictor_core::AccountId(*id))),
                cheat: *cheat,
            }
        })
        .collect();
    let checker_earned = money(Account::Checker(checker_account.account.id));
    let creator_left = money(Account::Creator(creator_account.account.id));
    let charged = deposit.checked_sub(creator_left)?;
    let refunded = quote
        .escrow_hold
        .checked_sub(charged)
        .unwrap_or(Money::ZERO);
    let summary = DemoSummary {
        job_id: job.id.0,
        frames: u32::try_from(spec.frames.len()).unwrap_or(u32::MAX),
        accepted: done.tasks_accepted.into(),
        rejected,
        quote,
        charged,
        refunded,
        workers,
        checker_earned,
        network_fees: money(Account::NetworkFees),
        ledger_ok,
        wall_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        out: out.display().to_string(),
    };
    if frames.len() != spec.frames.len() {
        bail!(
            "downloaded {} frames of {}",
            frames.len(),
            spec.frames.len()
        );
    }
    if options.out.is_none() {
        // Keep the frames of a temp run where the summary says they are.
        std::mem::forget(temp);
    }
    let open = OpenDemo {
        url,
        creator_key_file: data.join("creator.key"),
        stop: server_stop,
        served: server_task,
    };
    if !keep_open {
        open.close().await;
        return Ok((summary, None));
    }
    pictor_core::private_fs::write_private_file(
        &open.creator_key_file,
        format!("{}\n", creator_account.api_key).as_bytes(),
    )
    .with_context(|| format!("writing {}", open.creator_key_file.display()))?;
    Ok((summary, Some(open)))
}
