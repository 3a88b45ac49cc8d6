//! `farm.toml`: the farm operator's configuration — the farm's identity on the network (the same
//! keys as a worker's `worker.toml`: network, API key, name, price, signing key, the adapter's
//! state folder, slots, renderers on the farm's nodes), then a `[farm]` table: the storage the
//! farm's nodes share with the adapter, and the farm manager that runs the tasks.

use crate::config::WorkerConfig;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The farm adapter's configuration file (TOML). Relative paths are relative to the file's folder.
///
/// ```
/// use pictor_agent::farm::{EngineConfig, FarmConfig, FarmSettings, SlurmSettings};
/// use pictor_agent::WorkerConfig;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("farm.toml");
/// let config = FarmConfig {
///     identity: WorkerConfig {
///         network: "http://127.0.0.1:7878".into(),
///         api_key: "pk_test".into(),
///         name: "studio-farm".into(),
///         price_credits_per_hour: "1.5".into(),
///         key_file: "farm.key".into(),
///         cache_dir: "farm-state".into(),
///         cache_max_bytes: 1 << 30,
///         slots: 8,
///         renderer: "builtin".into(),
///         blender: Vec::new(),
///         idle_command: None,
///         speed_millis: 1000,
///         min_tier: pictor_core::job::Tier::Economy,
///         models_dir: None,
///     },
///     farm: FarmSettings {
///         shared_dir: "/farm/pictor".into(),
///         queue_delay_secs: 30,
///         max_requeues: 3,
///         engine: EngineConfig::Slurm(SlurmSettings {
///             partition: "pictor".into(),
///             slurm_conf: None,
///             node_command: "/usr/local/bin/pictor".into(),
///             sbatch_args: vec!["--gres=gpu:1".into()],
///         }),
///     },
/// };
/// config.save(&path, false)?;
/// let loaded = FarmConfig::load(&path)?;
/// assert_eq!(loaded.identity.key_file, dir.path().join("farm.key"));
/// assert_eq!(loaded.farm, config.farm);
/// # Ok::<(), anyhow::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FarmConfig {
    /// The farm's account, price and signing key, as a worker's; `cache_dir` is the adapter's
    /// own state (blob cache, outbox, the record of its leases) on the submit host's disk, and
    /// `slots` the tasks the farm offers to run at once.
    #[serde(flatten)]
    pub identity: WorkerConfig,
    /// Where the farm keeps Pictor's tasks and which manager runs them.
    pub farm: FarmSettings,
}

/// The `[farm]` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FarmSettings {
    /// Storage every node of the farm sees at this same path: one folder per task (its scene,
    /// its outputs, its progress).
    pub shared_dir: PathBuf,
    /// Seconds a task typically waits in the farm's queue before it starts (declared to the
    /// network; the adapter stops leasing more while its tasks wait longer than this).
    #[serde(default = "default_queue_delay")]
    pub queue_delay_secs: u32,
    /// Times the farm may requeue one task (preempted by the studio's own work, a node lost)
    /// before the adapter hands the task back to the network.
    #[serde(default = "default_max_requeues")]
    pub max_requeues: u32,
    /// The farm manager.
    pub engine: EngineConfig,
}

fn default_queue_delay() -> u32 {
    30
}
fn default_max_requeues() -> u32 {
    3
}

/// The farm manager that runs Pictor's tasks, and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EngineConfig {
    /// Slurm, through its commands (`sbatch`, `squeue`, `scontrol`, `scancel`) on this host.
    Slurm(SlurmSettings),
    /// Another Pictor network (the farm's own), through its API as a creator: each task becomes
    /// a job there, verified by that network's checkers.
    Pictor(PictorSettings),
}

/// How the adapter reaches the farm's own Pictor network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PictorSettings {
    /// The farm network's base URL.
    pub network: String,
    /// The API key of the creator account there that submits and pays for the forwarded jobs.
    pub api_key: String,
}

/// How the adapter submits to Slurm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlurmSettings {
    /// The partition Pictor's tasks go to (a studio usually gives it a lower priority tier than
    /// its own work, so its own jobs preempt Pictor's).
    pub partition: String,
    /// `SLURM_CONF` for the commands (default: Slurm's own default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_conf: Option<PathBuf>,
    /// The `pictor` executable as the farm's nodes see it.
    pub node_command: PathBuf,
    /// More `sbatch` options for every task (`--gres=gpu:1`, `--account=…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sbatch_args: Vec<String>,
}

impl FarmConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut config: FarmConfig =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.identity.resolve_paths(base);
        if config.farm.shared_dir.is_relative() {
            config.farm.shared_dir = base.join(&config.farm.shared_dir);
        }
        config.validate()?;
        Ok(config)
    }

    /// Writes the file (mode 0600: it holds the API key); refuses to replace an existing one
    /// unless `force`.
    pub fn save(&self, path: &Path, force: bool) -> Result<()> {
        if path.exists() && !force {
            bail!("{} exists; pass --force to overwrite it", path.display());
        }
        crate::config::write_private(path, self.to_toml().as_bytes())
    }

    /// The file's text: the identity's keys, then `[farm]` and `[farm.engine]`.
    pub fn to_toml(&self) -> String {
        let quote = |text: &str| serde_json::Value::String(text.to_string()).to_string();
        let path = |path: &Path| quote(&path.to_string_lossy());
        let mut out = self.identity.to_toml().replacen(
            "Pictor worker configuration (pictor worker init)",
            "Pictor farm configuration (pictor farm init)",
            1,
        );
        let farm = &self.farm;
        out.push_str(&format!(
            "\n[farm]\nshared_dir = {}\nqueue_delay_secs = {}\nmax_requeues = {}\n",
            path(&farm.shared_dir),
            farm.queue_delay_secs,
            farm.max_requeues
        ));
        match &farm.engine {
            EngineConfig::Slurm(slurm) => {
                out.push_str(&format!(
                    "\n[farm.engine]\nkind = \"slurm\"\npartition = {}\nnode_command = {}\n",
                    quote(&slurm.partition),
                    path(&slurm.node_command)
                ));
                if let Some(conf) = &slurm.slurm_conf {
                    out.push_str(&format!("slurm_conf = {}\n", path(conf)));
                }
                if !slurm.sbatch_args.is_empty() {
                    let args: Vec<String> = slurm.sbatch_args.iter().map(|a| quote(a)).collect();
                    out.push_str(&format!("sbatch_args = [{}]\n", args.join(", ")));
                }
            }
            EngineConfig::Pictor(pictor) => {
                out.push_str(&format!(
                    "\n[farm.engine]\nkind = \"pictor\"\nnetwork = {}\napi_key = {}\n",
                    quote(&pictor.network),
                    quote(&pictor.api_key)
                ));
            }
        }
        out
    }

    /// Checks what can be checked offline.
    pub fn validate(&self) -> Result<()> {
        self.identity.validate()?;
        if self.identity.idle_command.is_some() {
            bail!("idle_command: a farm runs no idle command (its own queue has the idle time)");
        }
        match &self.farm.engine {
            EngineConfig::Slurm(slurm) => {
                let partition_ok = !slurm.partition.is_empty()
                    && slurm
                        .partition
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
                if !partition_ok {
                    bail!(
                        "farm.engine.partition: {:?} is not a partition name (letters, digits, -_.)",
                        slurm.partition
                    );
                }
                if slurm.node_command.as_os_str().is_empty() {
                    bail!("farm.engine.node_command: the pictor executable on the nodes");
                }
            }
            EngineConfig::Pictor(pictor) => {
                let network = pictor.network.trim_end_matches('/');
                if network.trim().is_empty() {
                    bail!("farm.engine.network: the farm network's URL");
                }
                if network == self.identity.network.trim_end_matches('/') {
                    bail!("farm.engine.network: a network cannot be a farm of itself");
                }
                if pictor.api_key.trim().is_empty() {
                    bail!("farm.engine.api_key: a creator's key on the farm's network");
                }
            }
        }
        Ok(())
    }
}
