//! `pictor farm init`: measures the farm's nodes through the farm's own queue (a node's speed and
//! its renderers), registers the farm's offer with the network and writes `farm.toml`, its signing
//! key and the adapter's state folder.

use super::adapter::NODE_PROBE_FILE;
use super::config::{EngineConfig, FarmConfig, FarmSettings};
use super::engine::FarmEngine;
use super::node::NodeProbe;
use super::pictor::PictorFarm;
use super::slurm::Slurm;
use crate::RenderersOffered;
use crate::config::{WorkerConfig, renderer_choice, write_key, write_private};
use crate::registration::{client_for, generate_key, register_request};
use anyhow::{Context, Result, bail};
use pictor_core::Money;
use std::path::{Path, PathBuf};

/// What the farm offers the network.
#[derive(Clone, Debug)]
pub struct FarmOffer {
    /// Display name.
    pub name: String,
    /// Price per bench-hour of work.
    pub price: Money,
    /// Tasks the farm runs at once for the network.
    pub slots: u32,
    /// The renderers on the farm's nodes.
    pub renderers: RenderersOffered,
}

/// Registers a farm with `network` and writes `out` (`farm.toml`), its key (`<stem>.key`) and the
/// adapter's state folder (`<stem>-state`, with the node probe). The benchmark runs on the farm,
/// through its queue. Refuses to replace files without `force`.
pub async fn init_farm(
    network: &str,
    api_key: &str,
    offer: &FarmOffer,
    farm: FarmSettings,
    out: &Path,
    force: bool,
) -> Result<FarmConfig> {
    let renderer = renderer_choice(&offer.renderers.renderer)?.to_string();
    let stem = out
        .file_stem()
        .map_or_else(|| "farm".to_string(), |s| s.to_string_lossy().into_owned());
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let key_name = format!("{stem}.key");
    let key_path = dir.join(&key_name);
    if !force {
        for path in [out, key_path.as_path()] {
            if path.exists() {
                bail!("{} exists; pass --force to overwrite it", path.display());
            }
        }
    }
    let mut config = FarmConfig {
        identity: WorkerConfig {
            network: network.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
            name: offer.name.clone(),
            price_credits_per_hour: offer.price.to_string(),
            key_file: PathBuf::from(&key_name),
            cache_dir: PathBuf::from(format!("{stem}-state")),
            cache_max_bytes: crate::config::DEFAULT_CACHE_MAX_BYTES,
            slots: offer.slots,
            renderer: renderer.clone(),
            blender: offer.renderers.blender.clone(),
            idle_command: None,
            speed_millis: 0,
            min_tier: pictor_core::job::Tier::Economy,
            models_dir: None,
        },
        farm,
    };
    config.validate()?;
    let probe = match &config.farm.engine {
        EngineConfig::Slurm(settings) => {
            probe_through(&Slurm::new(settings.clone()), &config, &renderer).await?
        }
        EngineConfig::Pictor(settings) => {
            probe_through(&PictorFarm::new(settings)?, &config, &renderer).await?
        }
    };
    config.identity.speed_millis = probe.speed_millis.max(1);
    let key = generate_key()?;
    let mut request = register_request(&config.identity, &key, probe.renderers.clone())?;
    request.hardware.gpu_name = format!("farm ({} slots)", offer.slots);
    request.queue_delay_secs = Some(config.farm.queue_delay_secs);
    client_for(&config.identity.network, api_key)?
        .workers()
        .register(request)
        .await
        .context("registering the farm")?;
    let state = dir.join(&config.identity.cache_dir);
    pictor_core::private_fs::create_private_dir(&state)
        .with_context(|| format!("creating {}", state.display()))?;
    write_private(
        &state.join(NODE_PROBE_FILE),
        &serde_json::to_vec_pretty(&probe).context("encoding the node probe")?,
    )?;
    write_key(&key_path, &key)?;
    config.save(out, force)?;
    FarmConfig::load(out)
}

/// What a node of the farm offers, measured through the farm.
async fn probe_through<E: FarmEngine>(
    engine: &E,
    config: &FarmConfig,
    renderer: &str,
) -> Result<NodeProbe> {
    engine
        .probe(
            renderer,
            &config.identity.blender,
            &config.farm.shared_dir.join("init"),
        )
        .await
        .with_context(|| format!("measuring a node through {}", engine.name()))
}
