//! `worker.toml`: the configuration a GPU owner imports — where the network is, the worker's API
//! key, name and price, its signing key file, its blob cache and how many tasks it runs at once.

use anyhow::{Context, Result, bail};
use ed25519_dalek::SigningKey;
use pictor_core::Money;
use pictor_core::job::Tier;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Default cache size cap: 20 GiB.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 20 << 30;

/// The worker's configuration file (TOML). Relative paths in the file are relative to the file's
/// own folder; [`WorkerConfig::load`] resolves them.
///
/// ```
/// use pictor_agent::WorkerConfig;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("worker.toml");
/// let config = WorkerConfig {
///     network: "http://127.0.0.1:7878".into(),
///     api_key: "pk_test".into(),
///     name: "gpu-1".into(),
///     price_credits_per_hour: "2.5".into(),
///     key_file: "worker.key".into(),
///     cache_dir: "cache".into(),
///     cache_max_bytes: 1 << 30,
///     slots: 1,
///     renderer: "blender".into(),
///     blender: vec!["/usr/bin/blender".into(), "/opt/blender-4.2/blender".into()],
///     idle_command: None,
///     speed_millis: 1000,
///     min_tier: pictor_core::job::Tier::Economy,
///     models_dir: None,
/// };
/// config.save(&path, false)?;
/// assert!(config.save(&path, false).is_err(), "no overwrite without force");
/// let loaded = WorkerConfig::load(&path)?;
/// assert_eq!(loaded.key_file, dir.path().join("worker.key"));
/// assert_eq!(loaded.price()?.to_string(), "2.500000");
/// assert_eq!(loaded.blender, config.blender, "the Blenders it offers");
/// # Ok::<(), anyhow::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerConfig {
    /// The network's base URL.
    pub network: String,
    /// The worker account's API key.
    pub api_key: String,
    /// Display name.
    pub name: String,
    /// Price per bench-hour, decimal credits (parsed with [`Money`]).
    pub price_credits_per_hour: String,
    /// The ed25519 signing key (64 hex digits), mode 0600.
    pub key_file: PathBuf,
    /// The content-addressed blob cache and per-task folders.
    pub cache_dir: PathBuf,
    /// Cache size cap in bytes (LRU eviction above it).
    #[serde(default = "default_cache_max_bytes")]
    pub cache_max_bytes: u64,
    /// Tasks rendered at once.
    #[serde(default = "default_slots")]
    pub slots: u32,
    /// `builtin` or `blender`: the renderers offered (`blender` offers Blender and the built-in one).
    #[serde(default = "default_renderer")]
    pub renderer: String,
    /// The Blender executables this worker offers, each reported with its version; a job is
    /// rendered by the newest one its version constraint accepts. Empty: `PICTOR_BLENDER`, or
    /// `blender` on `PATH`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blender: Vec<PathBuf>,
    /// A command run (`sh -c`) while the worker has no task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_command: Option<String>,
    /// Measured speed in thousandths of the reference machine; `0` (a config made in Pictor
    /// Cloud) measures it at each start.
    #[serde(default = "default_speed")]
    pub speed_millis: u32,
    /// The cheapest service tier whose jobs this worker takes: `economy` (every job), `standard`
    /// (standard and priority jobs) or `priority` (priority jobs only).
    #[serde(default)]
    pub min_tier: Tier,
    /// The folder `pictor model install` filled with the upscale models: set, the worker offers
    /// upscale jobs (every catalog model must be there, with the catalog's hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models_dir: Option<PathBuf>,
}

fn default_cache_max_bytes() -> u64 {
    DEFAULT_CACHE_MAX_BYTES
}
fn default_slots() -> u32 {
    1
}
fn default_renderer() -> String {
    "builtin".into()
}
fn default_speed() -> u32 {
    1000
}

impl WorkerConfig {
    /// Reads and checks a config file; relative paths become relative to its folder.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut config: WorkerConfig =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        config.validate()?;
        Ok(config)
    }

    /// Makes the relative paths of the file relative to `base`, the file's folder.
    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        if self.key_file.is_relative() {
            self.key_file = base.join(&self.key_file);
        }
        if self.cache_dir.is_relative() {
            self.cache_dir = base.join(&self.cache_dir);
        }
        if let Some(models) = &self.models_dir
            && models.is_relative()
        {
            self.models_dir = Some(base.join(models));
        }
    }

    /// Writes the file; refuses to replace an existing one unless `force`.
    pub fn save(&self, path: &Path, force: bool) -> Result<()> {
        if path.exists() && !force {
            bail!("{} exists; pass --force to overwrite it", path.display());
        }
        write_private(path, self.to_toml().as_bytes())
    }

    /// The file's text (flat TOML; strings as basic strings, which share JSON's escapes).
    pub fn to_toml(&self) -> String {
        let quote = |text: &str| serde_json::Value::String(text.to_string()).to_string();
        let mut out = String::from(
            "# Pictor worker configuration (pictor worker init). Keep it private: it holds the API key.\n",
        );
        for (key, value) in [
            ("network", quote(&self.network)),
            ("api_key", quote(&self.api_key)),
            ("name", quote(&self.name)),
            (
                "price_credits_per_hour",
                quote(&self.price_credits_per_hour),
            ),
            ("key_file", quote(&self.key_file.to_string_lossy())),
            ("cache_dir", quote(&self.cache_dir.to_string_lossy())),
            ("cache_max_bytes", self.cache_max_bytes.to_string()),
            ("slots", self.slots.to_string()),
            ("renderer", quote(&self.renderer)),
            ("speed_millis", self.speed_millis.to_string()),
            ("min_tier", quote(tier_name(self.min_tier))),
        ] {
            out.push_str(&format!("{key} = {value}\n"));
        }
        if let Some(command) = &self.idle_command {
            out.push_str(&format!("idle_command = {}\n", quote(command)));
        }
        if let Some(models) = &self.models_dir {
            out.push_str(&format!(
                "models_dir = {}\n",
                quote(&models.to_string_lossy())
            ));
        }
        if !self.blender.is_empty() {
            let paths: Vec<String> = self
                .blender
                .iter()
                .map(|path| quote(&path.to_string_lossy()))
                .collect();
            out.push_str(&format!("blender = [{}]\n", paths.join(", ")));
        }
        out
    }

    /// Checks the fields that can be checked offline.
    pub fn validate(&self) -> Result<()> {
        self.price()?;
        if self.slots == 0 {
            bail!("slots must be at least 1");
        }
        renderer_choice(&self.renderer)?;
        if self.network.trim().is_empty() {
            bail!("network must be a URL");
        }
        Ok(())
    }

    /// The price, parsed.
    pub fn price(&self) -> Result<Money> {
        self.price_credits_per_hour
            .parse::<Money>()
            .map_err(|error| anyhow::anyhow!("price_credits_per_hour: {error}"))
    }

    /// Reads the signing key from [`key_file`](Self::key_file).
    pub fn signing_key(&self) -> Result<SigningKey> {
        read_key(&self.key_file)
    }

    /// Reads the signing key, or — for a config imported from Pictor Cloud, which never holds
    /// one — generates it on this machine from the operating system's random source and writes
    /// it to [`key_file`](Self::key_file) (mode 0600). Answers the key and whether it is new.
    pub fn signing_key_or_generate(&self) -> Result<(SigningKey, bool)> {
        if self.key_file.exists() {
            return Ok((self.signing_key()?, false));
        }
        let key = crate::registration::generate_key()?;
        write_key(&self.key_file, &key)?;
        Ok((key, true))
    }
}

/// A tier's name in the config file (its serde name).
pub fn tier_name(tier: Tier) -> &'static str {
    match tier {
        Tier::Economy => "economy",
        Tier::Standard => "standard",
        Tier::Priority => "priority",
    }
}

/// Checks a renderer name: `builtin` or `blender`.
pub(crate) fn renderer_choice(name: &str) -> Result<&'static str> {
    match name.trim().to_ascii_lowercase().as_str() {
        "builtin" => Ok("builtin"),
        "blender" => Ok("blender"),
        other => bail!("unknown renderer {other:?}: use builtin or blender"),
    }
}

/// Writes a file readable by its owner only (mode 0600 on Unix), atomically
/// ([`pictor_core::private_fs::write_private_file`]).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    pictor_core::private_fs::write_private_file(path, bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// Writes a signing key (64 hex digits of its secret) with mode 0600.
pub(crate) fn write_key(path: &Path, key: &SigningKey) -> Result<()> {
    write_private(
        path,
        format!("{}\n", hex::encode(key.to_bytes())).as_bytes(),
    )
}

/// Reads a signing key written by [`write_key`].
pub(crate) fn read_key(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the worker key {}", path.display()))?;
    let mut secret = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut secret)
        .with_context(|| format!("{}: not 64 hex digits", path.display()))?;
    Ok(SigningKey::from_bytes(&secret))
}
