//! `pictor checker run`: verify workers' frames for the network.

use super::network_args::{network_url, runtime};
use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use pictor_agent::{CheckerEvent, CheckerOptions, DEFAULT_KEEP_SCENE_OPEN, run_checker};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// `pictor checker …`.
#[derive(Debug, Subcommand)]
pub enum CheckerCommand {
    /// Lease checks, verify them and post verdicts until SIGINT or SIGTERM.
    Run(RunArgs),
}

/// Statistics backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Backend {
    /// Statistics on the CPU (rayon); available in every build.
    Cpu,
    /// The Vulkan compute backend (builds with the vulkan feature).
    Vulkan,
}

/// Arguments of `pictor checker run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The network's base URL [env: PICTOR_NETWORK].
    #[arg(long, value_name = "URL")]
    network: Option<String>,
    #[command(flatten)]
    key: super::network_args::ApiKeyArgs,
    /// Statistics backend.
    #[arg(long, value_enum, default_value = "cpu")]
    backend: Backend,
    /// Blob cache folder.
    #[arg(long, default_value = "checker-cache")]
    cache_dir: PathBuf,
    /// Seconds between lease requests while idle.
    #[arg(long, default_value_t = 1.0)]
    poll_secs: f64,
    /// A Blender executable to verify with (repeat for several versions; default: PICTOR_BLENDER
    /// or `blender` on PATH). The network leases this checker only checks it can verify: a frame
    /// Blender finished with the scene's settings needs that same Blender version.
    #[arg(long, value_name = "PATH")]
    blender: Vec<PathBuf>,
    /// Seconds a scene stays open after its last check (its files kept, Blender running with it
    /// loaded) for the next check of the same scene, which the network leases this checker
    /// first; 0 closes it after every check.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_KEEP_SCENE_OPEN.as_secs(),
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    keep_scene_open: u64,
    /// Also verify upscale tasks with the models `pictor model install --dir DIR` put in DIR
    /// (checked at start: every catalog model must be there with the catalog's hash).
    #[arg(long = "models", value_name = "DIR")]
    models: Option<PathBuf>,
}

/// Runs `pictor checker …`.
pub fn run(command: CheckerCommand) -> Result<()> {
    let CheckerCommand::Run(args) = command;
    let network = network_url(args.network.as_deref())?;
    let api_key = args.key.key()?;
    let shown = network.clone();
    let on_event: Arc<dyn Fn(CheckerEvent) + Send + Sync> = Arc::new(move |event| match event {
        CheckerEvent::Connected => eprintln!("pictor: checker connected to {shown}"),
        CheckerEvent::Checked {
            check,
            task,
            verdict,
        } => eprintln!("pictor: check {check} (task {task}): {verdict:?}"),
        CheckerEvent::Error { check, message } => {
            eprintln!("pictor: check {check}: no verdict: {message}");
        }
    });
    let options = CheckerOptions {
        backend: match args.backend {
            Backend::Cpu => "cpu".into(),
            Backend::Vulkan => "vulkan".into(),
        },
        poll_interval: Duration::from_secs_f64(args.poll_secs.clamp(0.05, 60.0)),
        on_event: Some(on_event),
        blender: args.blender,
        keep_scene_open: Duration::from_secs(args.keep_scene_open),
        models_dir: args.models,
        ..CheckerOptions::new(&network, &api_key, args.cache_dir)
    };
    super::worker::init_tracing();
    let summary = runtime()?.block_on(run_checker(options, super::shutdown_signal()))?;
    eprintln!(
        "pictor: checker stopped: {} accepted, {} rejected, {} escalated",
        summary.accepted, summary.rejected, summary.escalated
    );
    Ok(())
}
