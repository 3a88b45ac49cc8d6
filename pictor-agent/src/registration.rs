//! Registration: what this machine offers (renderers, hardware, the benchmark that prices it),
//! `init_worker` (register, generate the key, write `worker.toml`) and registering again at each
//! start of the run loop.

use crate::config::{WorkerConfig, renderer_choice, write_key};
use crate::retry::{RetryPolicy, retry};
use anyhow::{Context, Result, bail};
use ed25519_dalek::SigningKey;
use pictor_core::Money;
use pictor_core::api::{RegisterWorkerRequest, WorkerHardware, WorkerView};
use pictor_core::job::{GpuVendor, RendererKind, Version};
pub use pictor_core::pricing::REFERENCE_SAMPLES_PX_PER_SEC;
use pictor_render::blender::discover::BlenderInstall;
use pictor_render::{BlenderRenderer, BuiltinRenderer, RenderControl, RenderRequest, Renderer};
use pictor_sdk::Client;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Renders the built-in demo scene at `width × height`, `samples` spp, and answers the speed in
/// thousandths of the reference machine (1.1 M samples·px/s) and the render time.
pub fn benchmark_builtin(width: u32, height: u32, samples: u32) -> Result<(u32, u64)> {
    let renderer = BuiltinRenderer::default();
    let request = RenderRequest::new(width, height, samples, 1);
    let started = Instant::now();
    renderer.render(&request, &RenderControl::default())?;
    let secs = started.elapsed().as_secs_f64().max(1e-6);
    let work = f64::from(width) * f64::from(height) * f64::from(samples);
    let millis = (work / secs / REFERENCE_SAMPLES_PX_PER_SEC * 1000.0).round();
    Ok((
        millis.clamp(1.0, f64::from(u32::MAX)) as u32,
        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    ))
}

/// What a machine can render: the (renderer, version) pairs it registers, and the Blender
/// installs behind them.
pub(crate) struct FoundRenderers {
    /// Registered with the network.
    pub(crate) offered: Vec<(RendererKind, Version)>,
    /// The Blender executables, with their versions.
    pub(crate) blender: Vec<BlenderInstall>,
}

/// The renderers this machine offers for `choice` (`builtin`, or `blender` = Blender + builtin),
/// with the Blender installs: each of `blenders`, or the one `PICTOR_BLENDER` / `PATH` finds.
pub(crate) fn renderers_found(choice: &str, blenders: &[PathBuf]) -> Result<FoundRenderers> {
    let builtin_version = BuiltinRenderer::default()
        .version()
        .ok()
        .and_then(|v| v.parse::<Version>().ok())
        .unwrap_or(Version::new(0, 1, 0));
    let mut found = Vec::new();
    let mut installs: Vec<BlenderInstall> = Vec::new();
    if renderer_choice(choice)? == "blender" {
        if blenders.is_empty() {
            installs.push(BlenderRenderer::default().install().context(
                "renderer blender: Blender not found (install it or set PICTOR_BLENDER)",
            )?);
        }
        for path in blenders {
            installs.push(
                BlenderRenderer::with_executable(path)
                    .install()
                    .with_context(|| format!("blender {}", path.display()))?,
            );
        }
        for install in &installs {
            if !found.contains(&(RendererKind::Blender, install.version)) {
                found.push((RendererKind::Blender, install.version));
            }
        }
    }
    found.push((RendererKind::Builtin, builtin_version));
    Ok(FoundRenderers {
        offered: found,
        blender: installs,
    })
}

/// The GPU, when `nvidia-smi` answers; else the CPU (software rendering).
fn detect_hardware(renderers: Vec<(RendererKind, Version)>) -> WorkerHardware {
    let nvidia = std::process::Command::new("nvidia-smi")
        .args([
            "--query-gpu=name,memory.total",
            "--format=csv,noheader,nounits",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let line = text.lines().next()?.to_string();
            let (name, mib) = line.rsplit_once(',')?;
            Some((name.trim().to_string(), mib.trim().parse::<u32>().ok()?))
        });
    match nvidia {
        Some((gpu_name, vram_mib)) => WorkerHardware {
            vendor: GpuVendor::Nvidia,
            gpu_name,
            vram_mib,
            renderers,
        },
        None => {
            let cpu = std::fs::read_to_string("/proc/cpuinfo")
                .ok()
                .and_then(|text| {
                    text.lines()
                        .find(|l| l.starts_with("model name"))
                        .and_then(|l| l.split_once(':'))
                        .map(|(_, name)| name.trim().to_string())
                })
                .unwrap_or_else(|| "cpu".to_string());
            WorkerHardware {
                vendor: GpuVendor::Cpu,
                gpu_name: cpu,
                vram_mib: 0,
                renderers,
            }
        }
    }
}

/// A client of `network` with `api_key`, retrying each request a few times (the agents retry
/// whole operations on top, see [`crate::retry`]).
pub(crate) fn client_for(network: &str, api_key: &str) -> Result<Client> {
    Client::builder()
        .endpoint(network.trim_end_matches('/'))
        .api_key(api_key)
        .retry(RetryPolicy::DEFAULT.for_requests())
        .build()
        .context("configuring the network client")
}

pub(crate) fn register_request(
    config: &WorkerConfig,
    key: &SigningKey,
    renderers: Vec<(RendererKind, Version)>,
) -> Result<RegisterWorkerRequest> {
    Ok(RegisterWorkerRequest {
        name: config.name.clone(),
        public_key_hex: pictor_sdk::public_key_hex(key),
        hardware: detect_hardware(renderers),
        price_per_bench_hour: config.price()?,
        speed_millis: config.speed_millis.max(1),
        slots: config.slots.max(1),
        min_tier: config.min_tier,
        queue_delay_secs: None,
    })
}

/// What a new worker offers to render: `builtin`, or `blender` (Blender and the built-in
/// renderer) with the Blender executables it offers (none: `PICTOR_BLENDER` or `PATH`'s).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenderersOffered {
    /// `builtin` or `blender`.
    pub renderer: String,
    /// The Blender executables, each offered with its version.
    pub blender: Vec<PathBuf>,
    /// The upscale models' folder (`pictor model install --dir`), if the worker upscales too.
    pub models_dir: Option<PathBuf>,
}

impl RenderersOffered {
    /// The built-in renderer only.
    pub fn builtin() -> Self {
        RenderersOffered {
            renderer: "builtin".into(),
            blender: Vec::new(),
            models_dir: None,
        }
    }
}

/// Registers a worker with the network, generates its ed25519 key (mode 0600, beside `out`) and
/// writes `out` (`worker.toml`). Refuses to replace either file without `force`.
pub async fn init_worker(
    network: &str,
    api_key: &str,
    name: &str,
    price: Money,
    out: &Path,
    force: bool,
    offered: &RenderersOffered,
) -> Result<WorkerConfig> {
    let renderer = renderer_choice(&offered.renderer)?.to_string();
    let blender = offered.blender.as_slice();
    let stem = out.file_stem().map_or_else(
        || "worker".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let key_name = format!("{stem}.key");
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let key_path = dir.join(&key_name);
    if !force {
        for path in [out, key_path.as_path()] {
            if path.exists() {
                bail!("{} exists; pass --force to overwrite it", path.display());
            }
        }
    }
    let mut renderers = {
        let (renderer, blender) = (renderer.clone(), blender.to_vec());
        tokio::task::spawn_blocking(move || renderers_found(&renderer, &blender)).await??
    }
    .offered;
    if let Some(dir) = &offered.models_dir {
        open_models(dir).await?;
        renderers.push((RendererKind::Upscale, UPSCALE_ENGINE_VERSION));
    }
    let (speed_millis, _) = tokio::task::spawn_blocking(|| benchmark_builtin(64, 36, 16)).await??;
    let key = generate_key()?;
    let config = WorkerConfig {
        network: network.trim_end_matches('/').to_string(),
        api_key: api_key.to_string(),
        name: name.to_string(),
        price_credits_per_hour: price.to_string(),
        key_file: PathBuf::from(&key_name),
        cache_dir: PathBuf::from(format!("{stem}-cache")),
        cache_max_bytes: crate::config::DEFAULT_CACHE_MAX_BYTES,
        slots: 1,
        renderer,
        blender: blender.to_vec(),
        idle_command: None,
        speed_millis,
        min_tier: pictor_core::job::Tier::Economy,
        models_dir: offered.models_dir.clone(),
    };
    config.validate()?;
    let client = client_for(&config.network, api_key)?;
    client
        .workers()
        .register(register_request(&config, &key, renderers)?)
        .await
        .context("registering the worker")?;
    write_key(&key_path, &key)?;
    config.save(out, force)?;
    WorkerConfig::load(out)
}

/// The version a machine offers upscaling as: the upscale engine's (models are matched by the
/// hashes a job pins, not by this).
pub const UPSCALE_ENGINE_VERSION: Version = Version::new(1, 0, 0);

/// The upscale models of `dir`, every catalog model loaded and checked (on a blocking thread).
pub(crate) async fn open_models(dir: &Path) -> Result<pictor_upscale::ModelShelf> {
    let path = dir.to_path_buf();
    tokio::task::spawn_blocking(move || pictor_upscale::ModelShelf::open(&path))
        .await?
        .with_context(|| {
            format!(
                "the upscale models in {} (install them with `pictor model install --dir {}`)",
                dir.display(),
                dir.display()
            )
        })
}

/// A fresh ed25519 key from the operating system's random source.
pub(crate) fn generate_key() -> Result<SigningKey> {
    use rand::TryRngCore;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut secret)
        .context("reading the operating system's random source")?;
    Ok(SigningKey::from_bytes(&secret))
}

/// Registers the worker (safe to repeat), retrying while the network is down and `keep_trying`
/// holds; `None` when it stopped before the network answered.
pub(crate) async fn register(
    client: &Client,
    request: &RegisterWorkerRequest,
    keep_trying: impl FnMut() -> bool,
) -> Result<Option<WorkerView>> {
    let registered = retry(&RetryPolicy::DEFAULT, keep_trying, || {
        client.workers().register(request.clone())
    })
    .await;
    match registered {
        Ok(view) => Ok(Some(view)),
        Err(error) if crate::retry::is_transient(&error) => {
            tracing::warn!(%error, "stopped before the network answered the registration");
            Ok(None)
        }
        Err(error) => Err(error).context("registering the worker"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::installed_renderers;
    use pictor_core::job::RendererSpec;

    /// A worker offering Debian's Blender and the 4.2 one of `PICTOR_BLENDER_4` reports both
    /// versions, and a job that needs 4.x renders on the second.
    #[test]
    fn a_worker_with_two_blenders_offers_both_and_picks_by_the_job_s_constraint() {
        let second = match std::env::var_os("PICTOR_BLENDER_4") {
            Some(path) => PathBuf::from(path),
            None => {
                assert!(
                    std::env::var("PICTOR_REQUIRE_BLENDER_4").as_deref() != Ok("1"),
                    "PICTOR_REQUIRE_BLENDER_4=1 but PICTOR_BLENDER_4 is not set"
                );
                println!("SKIP: PICTOR_BLENDER_4 is not set (scripts/install-bpy-blender)");
                return;
            }
        };
        let Ok(first) = BlenderRenderer::default().install() else {
            println!("SKIP: no Blender on PATH");
            return;
        };
        let FoundRenderers {
            offered: found,
            blender: installs,
        } = renderers_found("blender", &[first.path.clone(), second]).expect("both run");
        let blenders: Vec<Version> = found
            .iter()
            .filter(|(kind, _)| *kind == RendererKind::Blender)
            .map(|(_, version)| *version)
            .collect();
        assert_eq!(installs.len(), 2);
        assert_eq!(blenders.len(), 2, "{found:?}");
        assert!(blenders.iter().any(|v| v.major >= 4), "{blenders:?}");
        let renderers = installed_renderers(installs);
        let spec = |constraint: &str| RendererSpec {
            kind: RendererKind::Blender,
            engine: None,
            version: constraint.parse().expect("constraint"),
        };
        let newest = renderers(&spec(">=4.0")).version().expect("version");
        assert!(newest.starts_with('4'), "{newest}");
        let older = renderers(&spec(&format!("={}", first.version)))
            .version()
            .expect("version");
        assert_eq!(older, first.version.to_string());
    }
}
