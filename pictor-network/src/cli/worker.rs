//! `pictor worker init|benchmark|run`: the GPU owner's commands.

use super::network_args::runtime;
use super::render::RendererChoice;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use pictor_agent::{
    WorkerConfig, WorkerEvent, WorkerOptions, benchmark_builtin, init_worker, run_worker,
};
use pictor_core::Money;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// `pictor worker …`.
#[derive(Debug, Subcommand)]
pub enum WorkerCommand {
    /// Register this machine as a worker and write its config file and signing key.
    Init(InitArgs),
    /// Measure this machine's speed relative to the reference (what prices are per).
    Benchmark(BenchmarkArgs),
    /// Lease, render and deliver tasks until SIGINT or SIGTERM.
    Run(RunArgs),
}

/// Arguments of `pictor worker init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The network's base URL [env: PICTOR_NETWORK].
    #[arg(long, value_name = "URL")]
    network: Option<String>,
    #[command(flatten)]
    key: super::network_args::ApiKeyArgs,
    /// Display name.
    #[arg(long)]
    name: String,
    /// Price per bench-hour, in credits (decimal).
    #[arg(long, value_name = "CREDITS_PER_HOUR")]
    price: String,
    /// Where to write the config (the key goes beside it, same name, `.key`).
    #[arg(long, default_value = "worker.toml")]
    out: PathBuf,
    /// Replace an existing config and key.
    #[arg(long)]
    force: bool,
    /// Renderers to offer: builtin, or blender (Blender and the built-in one).
    #[arg(long, value_enum, default_value = "builtin")]
    renderer: RendererChoice,
    /// A Blender executable to offer, with its version (repeatable: a worker may offer several
    /// Blenders; each job renders on the newest its version constraint accepts). Default:
    /// `PICTOR_BLENDER`, or `blender` on `PATH`.
    #[arg(long = "blender")]
    blender: Vec<PathBuf>,
    /// Also offer upscale jobs with the models `pictor model install --dir DIR` put in DIR
    /// (checked now: every catalog model must be there with the catalog's hash).
    #[arg(long = "models", value_name = "DIR")]
    models: Option<PathBuf>,
}

/// Arguments of `pictor worker benchmark`.
#[derive(Debug, Args)]
pub struct BenchmarkArgs {
    /// Also time Blender when this is `blender` (and Blender is installed).
    #[arg(long, value_enum, default_value = "builtin")]
    renderer: RendererChoice,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `pictor worker run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The config file `pictor worker init` wrote.
    #[arg(long, default_value = "worker.toml")]
    config: PathBuf,
    /// Override the config's renderer.
    #[arg(long, value_enum)]
    renderer: Option<RendererChoice>,
    /// Run this command (sh -c) while there is no task; it is stopped when one arrives.
    #[arg(long, value_name = "CMD")]
    idle_command: Option<String>,
    /// Tasks rendered at once.
    #[arg(long)]
    slots: Option<u32>,
    /// Seconds between lease requests while idle.
    #[arg(long, default_value_t = 1.0)]
    poll_secs: f64,
}

pub(super) fn renderer_name(choice: RendererChoice) -> &'static str {
    match choice {
        RendererChoice::Builtin => "builtin",
        RendererChoice::Blender => "blender",
    }
}

/// Runs `pictor worker …`.
pub fn run(command: WorkerCommand) -> Result<()> {
    match command {
        WorkerCommand::Init(args) => init(args),
        WorkerCommand::Benchmark(args) => benchmark(args),
        WorkerCommand::Run(args) => run_agent(args),
    }
}

fn init(args: InitArgs) -> Result<()> {
    let network = super::network_args::network_url(args.network.as_deref())?;
    let api_key = args.key.key()?;
    let price: Money = args
        .price
        .parse()
        .map_err(|error| anyhow::anyhow!("--price: {error}"))?;
    let config = runtime()?.block_on(init_worker(
        &network,
        &api_key,
        &args.name,
        price,
        &args.out,
        args.force,
        &pictor_agent::RenderersOffered {
            renderer: renderer_name(args.renderer).to_string(),
            blender: args.blender.clone(),
            models_dir: args
                .models
                .as_deref()
                .map(std::path::absolute)
                .transpose()?,
        },
    ))?;
    println!(
        "worker {:?} registered with {} at {} credits per bench-hour (speed {}‰ of the reference)",
        config.name, config.network, config.price_credits_per_hour, config.speed_millis
    );
    println!(
        "wrote {} and its key {} (mode 0600); start it with: pictor worker run --config {}",
        args.out.display(),
        config.key_file.display(),
        args.out.display()
    );
    Ok(())
}

#[derive(Debug, Serialize)]
struct BenchReport {
    renderer: String,
    width: u32,
    height: u32,
    samples: u32,
    render_ms: u64,
    speed_millis: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    blender_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blender_render_ms: Option<u64>,
}

fn benchmark(args: BenchmarkArgs) -> Result<()> {
    let (width, height, samples) = (320, 180, 32);
    let (speed_millis, render_ms) = benchmark_builtin(width, height, samples)?;
    let mut report = BenchReport {
        renderer: "builtin".into(),
        width,
        height,
        samples,
        render_ms,
        speed_millis,
        blender_version: None,
        blender_render_ms: None,
    };
    if args.renderer == RendererChoice::Blender {
        use pictor_render::{BlenderRenderer, RenderControl, RenderRequest, Renderer};
        let blender = BlenderRenderer::default();
        let install = blender
            .install()
            .context("--renderer blender: Blender not found (install it or set PICTOR_BLENDER)")?;
        let request = RenderRequest::new(width, height, samples, 1);
        let output = blender.render(&request, &RenderControl::default())?;
        let v = install.version;
        report.blender_version = Some(format!("{}.{}.{}", v.major, v.minor, v.patch));
        report.blender_render_ms = Some(output.render_ms);
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "builtin: {}×{} at {} spp in {} ms → speed {}‰ of the reference (1.1 M samples·px/s)",
            width, height, samples, render_ms, speed_millis
        );
        if let (Some(version), Some(ms)) = (&report.blender_version, report.blender_render_ms) {
            println!("blender {version}: the same frame of its factory scene in {ms} ms");
        }
    }
    Ok(())
}

fn run_agent(args: RunArgs) -> Result<()> {
    let mut config = WorkerConfig::load(&args.config)?;
    if let Some(renderer) = args.renderer {
        config.renderer = renderer_name(renderer).to_string();
    }
    if let Some(command) = args.idle_command {
        config.idle_command = Some(command);
    }
    if let Some(slots) = args.slots {
        config.slots = slots;
    }
    let network = config.network.clone();
    let on_event: Arc<dyn Fn(WorkerEvent) + Send + Sync> = Arc::new(move |event| match event {
        WorkerEvent::Connected { worker } => {
            eprintln!("pictor: worker {worker} connected to {network}");
        }
        WorkerEvent::Leased { task, job, frames } => {
            eprintln!("pictor: task {task} of job {job}: frames {frames:?}");
        }
        WorkerEvent::Progress { task, permille } => {
            eprintln!("pictor: task {task}: {:.1}%", f64::from(permille) / 10.0);
        }
        WorkerEvent::Submitted { task } => eprintln!("pictor: task {task} delivered"),
        WorkerEvent::Failed { task, message } => {
            eprintln!("pictor: task {task} failed: {message}");
        }
        WorkerEvent::Idle => {}
    });
    let options = WorkerOptions {
        on_event: Some(on_event),
        poll_interval: Duration::from_secs_f64(args.poll_secs.clamp(0.05, 60.0)),
        ..WorkerOptions::default()
    };
    init_tracing();
    if !config.key_file.exists() {
        // A config imported from Pictor Cloud: the worker's key is made here, now.
        eprintln!(
            "pictor: no signing key yet: generating this worker's key in {} (keep it with the config)",
            config.key_file.display()
        );
    }
    let summary = runtime()?.block_on(run_worker(config, options, super::shutdown_signal()))?;
    eprintln!(
        "pictor: worker stopped: {} task(s) delivered, {} failed",
        summary.tasks_done, summary.tasks_failed
    );
    Ok(())
}

/// Warnings (network down, retries) to stderr; `RUST_LOG` overrides.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
