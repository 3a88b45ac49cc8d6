//! `pictor farm init|run|exec|probe`: the render farm operator's commands (`init`, `run` on the
//! farm's submit host) and what the farm's nodes run (`exec`, `probe`, submitted by the adapter).

use super::network_args::runtime;
use super::render::RendererChoice;
use super::worker::{init_tracing, renderer_name};
use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use pictor_agent::RenderersOffered;
use pictor_agent::WorkerEvent;
use pictor_agent::farm::{
    EngineConfig, FarmConfig, FarmEvent, FarmOffer, FarmOptions, FarmSettings, PictorSettings,
    SlurmSettings, exec_task, init_farm, probe_node, run_farm,
};
use pictor_core::Money;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// `pictor farm …`.
#[derive(Debug, Subcommand)]
pub enum FarmCommand {
    /// Benchmark the farm's nodes through its queue, register the farm's offer and write its
    /// config file and signing key.
    Init(Box<InitArgs>),
    /// Lease tasks into the farm's queue and deliver their frames until SIGINT or SIGTERM.
    Run(RunArgs),
    /// (On a farm node, submitted by the adapter.) Render the task in a task folder.
    #[command(hide = true)]
    Exec(ExecArgs),
    /// (On a farm node.) Print the node's speed and renderers as JSON.
    Probe(ProbeArgs),
}

/// The farm managers the adapter drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    /// Slurm, through sbatch, squeue, scontrol and scancel on this host.
    Slurm,
    /// Another Pictor network (the farm's own): each task becomes a job there.
    Pictor,
}

/// Arguments of `pictor farm init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The network the farm serves: its base URL [env: PICTOR_NETWORK].
    #[arg(long, visible_alias = "upstream", value_name = "URL")]
    network: Option<String>,
    #[command(flatten)]
    key: super::network_args::ApiKeyArgs,
    /// Display name.
    #[arg(long)]
    name: String,
    /// With `--engine pictor`: the farm's own Pictor network, where tasks become jobs.
    #[arg(long, value_name = "URL", required_if_eq("engine", "pictor"))]
    farm_network: Option<String>,
    /// With `--engine pictor`: a file holding the API key of the creator account on the farm's
    /// network that submits and pays for those jobs.
    #[arg(long, value_name = "PATH", required_if_eq("engine", "pictor"))]
    farm_api_key_file: Option<PathBuf>,
    /// Price per bench-hour, in credits (decimal).
    #[arg(long, value_name = "CREDITS_PER_HOUR")]
    price: String,
    /// Tasks the farm runs at once for the network.
    #[arg(long, default_value_t = 4)]
    slots: u32,
    /// The farm manager.
    #[arg(long, value_enum, default_value = "slurm")]
    engine: EngineChoice,
    /// The partition Pictor's tasks go to.
    #[arg(long, default_value = "pictor")]
    partition: String,
    /// `SLURM_CONF` for the Slurm commands (default: Slurm's own).
    #[arg(long, value_name = "PATH")]
    slurm_conf: Option<PathBuf>,
    /// More sbatch options for every task (repeatable), e.g. --sbatch-arg=--gres=gpu:1.
    #[arg(long = "sbatch-arg", value_name = "OPTION", allow_hyphen_values = true)]
    sbatch_args: Vec<String>,
    /// Storage every node sees at the same path (task folders go under it).
    #[arg(long, value_name = "DIR")]
    shared_dir: PathBuf,
    /// The pictor executable as the nodes see it (default: this one).
    #[arg(long, value_name = "PATH")]
    node_command: Option<PathBuf>,
    /// Seconds a task typically waits in the farm's queue.
    #[arg(long, default_value_t = 30)]
    queue_delay_secs: u32,
    /// Requeues of one task (preemption, lost nodes) before it is handed back.
    #[arg(long, default_value_t = 3)]
    max_requeues: u32,
    /// Renderers on the nodes: builtin, or blender (Blender and the built-in one).
    #[arg(long, value_enum, default_value = "builtin")]
    renderer: RendererChoice,
    /// A Blender executable on the nodes (repeatable).
    #[arg(long = "blender")]
    blender: Vec<PathBuf>,
    /// Where to write the config (the key goes beside it, same name, `.key`).
    #[arg(long, default_value = "farm.toml")]
    out: PathBuf,
    /// Replace an existing config and key.
    #[arg(long)]
    force: bool,
}

/// Arguments of `pictor farm run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The config file `pictor farm init` wrote.
    #[arg(long, default_value = "farm.toml")]
    config: PathBuf,
    /// Seconds between reads of the farm's queue.
    #[arg(long, default_value_t = 1.0)]
    poll_secs: f64,
}

/// Arguments of `pictor farm exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The task's folder on the farm's storage.
    folder: PathBuf,
}

/// Arguments of `pictor farm probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Renderers to look for: builtin, or blender.
    #[arg(long, value_enum, default_value = "builtin")]
    renderer: RendererChoice,
    /// A Blender executable to report (repeatable).
    #[arg(long = "blender")]
    blender: Vec<PathBuf>,
}

/// Runs `pictor farm …`.
pub fn run(command: FarmCommand) -> Result<()> {
    match command {
        FarmCommand::Init(args) => init(*args),
        FarmCommand::Run(args) => run_adapter(args),
        FarmCommand::Exec(args) => exec_task(&args.folder),
        FarmCommand::Probe(args) => {
            let probe = probe_node(renderer_name(args.renderer), &args.blender)?;
            println!("{}", serde_json::to_string(&probe)?);
            Ok(())
        }
    }
}

fn init(args: InitArgs) -> Result<()> {
    let network = super::network_args::network_url(args.network.as_deref())?;
    let api_key = args.key.key()?;
    let price: Money = args
        .price
        .parse()
        .map_err(|error| anyhow::anyhow!("--price: {error}"))?;
    let node_command = match args.node_command {
        Some(path) => path,
        None => std::env::current_exe()?,
    };
    let engine = match args.engine {
        EngineChoice::Slurm => EngineConfig::Slurm(SlurmSettings {
            partition: args.partition,
            slurm_conf: args.slurm_conf,
            node_command,
            sbatch_args: args.sbatch_args,
        }),
        EngineChoice::Pictor => {
            let (Some(network), Some(key_file)) = (args.farm_network, args.farm_api_key_file)
            else {
                anyhow::bail!("--engine pictor needs --farm-network and --farm-api-key-file");
            };
            let api_key = std::fs::read_to_string(&key_file)
                .with_context(|| format!("reading {}", key_file.display()))?
                .trim()
                .to_string();
            EngineConfig::Pictor(PictorSettings { network, api_key })
        }
    };
    let offer = FarmOffer {
        name: args.name,
        price,
        slots: args.slots,
        renderers: RenderersOffered {
            renderer: renderer_name(args.renderer).to_string(),
            blender: args.blender,
            models_dir: None,
        },
    };
    let settings = FarmSettings {
        shared_dir: std::path::absolute(&args.shared_dir)?,
        queue_delay_secs: args.queue_delay_secs,
        max_requeues: args.max_requeues,
        engine,
    };
    let config = runtime()?.block_on(init_farm(
        &network, &api_key, &offer, settings, &args.out, args.force,
    ))?;
    println!(
        "farm {:?} registered with {} at {} credits per bench-hour, {} slots (a node's speed {}‰ of the reference, measured through the farm's queue)",
        config.identity.name,
        config.identity.network,
        config.identity.price_credits_per_hour,
        config.identity.slots,
        config.identity.speed_millis
    );
    println!(
        "wrote {} and its key {} (mode 0600); start it with: pictor farm run --config {}",
        args.out.display(),
        config.identity.key_file.display(),
        args.out.display()
    );
    Ok(())
}

fn run_adapter(args: RunArgs) -> Result<()> {
    let config = FarmConfig::load(&args.config)?;
    let network = config.identity.network.clone();
    let on_event: Arc<dyn Fn(FarmEvent) + Send + Sync> = Arc::new(move |event| match event {
        FarmEvent::Task(WorkerEvent::Connected { worker }) => {
            eprintln!("pictor: farm {worker} connected to {network}");
        }
        FarmEvent::Task(WorkerEvent::Leased { task, job, frames }) => {
            eprintln!("pictor: task {task} of job {job}: frames {frames:?}");
        }
        FarmEvent::Task(WorkerEvent::Submitted { task }) => {
            eprintln!("pictor: task {task} delivered");
        }
        FarmEvent::Task(WorkerEvent::Failed { task, message }) => {
            eprintln!("pictor: task {task} failed: {message}");
        }
        FarmEvent::Task(WorkerEvent::Progress { .. } | WorkerEvent::Idle) => {}
        FarmEvent::Queued { task, job } => {
            eprintln!("pictor: task {task} queued as farm job {job}")
        }
        FarmEvent::Requeued { task, restarts } => {
            eprintln!("pictor: task {task} requeued by the farm ({restarts} so far)");
        }
        FarmEvent::OfferChanged { queue_delay_secs } => {
            eprintln!("pictor: the farm's queue delay is now registered as {queue_delay_secs} s");
        }
        FarmEvent::Cancelled { task, reason } => {
            eprintln!("pictor: task {task}'s farm job cancelled: {reason}");
        }
    });
    let options = FarmOptions {
        on_event: Some(on_event),
        poll_interval: Duration::from_secs_f64(args.poll_secs.clamp(0.05, 60.0)),
        ..FarmOptions::default()
    };
    init_tracing();
    let summary = runtime()?.block_on(run_farm(config, options, super::shutdown_signal()))?;
    eprintln!(
        "pictor: farm adapter stopped: {} task(s) submitted to the farm, {} delivered, {} failed, {} requeue(s)",
        summary.submitted, summary.delivered, summary.failed, summary.requeues
    );
    Ok(())
}
