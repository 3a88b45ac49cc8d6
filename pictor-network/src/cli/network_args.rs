//! The connection arguments shared by the network commands: `--network URL` and a key, with
//! environment fallbacks, and the tokio runtime each of those commands builds.

use anyhow::{Context, Result};
use clap::Args;
use pictor_sdk::Client;

/// The environment variable `--network` falls back to.
pub const NETWORK_ENV: &str = "PICTOR_NETWORK";
/// The environment variable `--api-key` falls back to.
pub const API_KEY_ENV: &str = "PICTOR_API_KEY";
/// The environment variable `--admin-key` falls back to.
pub const ADMIN_KEY_ENV: &str = "PICTOR_ADMIN_KEY";

/// `--network URL --api-key KEY` (a creator's, for the job commands).
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// The network's base URL, e.g. http://127.0.0.1:7878 [env: PICTOR_NETWORK].
    #[arg(long, value_name = "URL")]
    network: Option<String>,
    /// The account's API key [env: PICTOR_API_KEY].
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,
}

impl NetworkArgs {
    /// A client with the key.
    pub fn client(&self) -> Result<Client> {
        let endpoint = network_url(self.network.as_deref())?;
        let key = from_arg_or_env(self.api_key.as_deref(), "--api-key KEY", API_KEY_ENV)?;
        build_client(&endpoint, Some(&key))
    }
}

/// `--network URL --admin-key KEY` (the account commands).
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The network's base URL, e.g. http://127.0.0.1:7878 [env: PICTOR_NETWORK].
    #[arg(long, value_name = "URL")]
    network: Option<String>,
    /// The admin API key (`pictor serve` writes the bootstrap one to DATA/admin.key)
    /// [env: PICTOR_ADMIN_KEY].
    #[arg(long, value_name = "KEY")]
    admin_key: Option<String>,
}

impl AdminArgs {
    /// A client with the admin key.
    pub fn client(&self) -> Result<Client> {
        let endpoint = network_url(self.network.as_deref())?;
        let key = from_arg_or_env(self.admin_key.as_deref(), "--admin-key KEY", ADMIN_KEY_ENV)?;
        build_client(&endpoint, Some(&key))
    }
}

/// The network URL from `--network` or `PICTOR_NETWORK`.
pub fn network_url(arg: Option<&str>) -> Result<String> {
    from_arg_or_env(arg, "--network URL", NETWORK_ENV)
}

/// A client of `endpoint` with an optional key (public routes need none).
pub fn build_client(endpoint: &str, key: Option<&str>) -> Result<Client> {
    let mut builder = Client::builder().endpoint(endpoint);
    if let Some(key) = key {
        builder = builder.api_key(key);
    }
    builder.build().context("configuring the network client")
}

/// The argument's value, else the environment variable's, else an error naming both.
fn from_arg_or_env(arg: Option<&str>, flag: &str, env: &str) -> Result<String> {
    let value = match arg {
        Some(value) => Some(value.to_string()),
        None => std::env::var(env).ok(),
    };
    match value.map(|v| v.trim().to_string()) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => anyhow::bail!("missing {flag} (or set {env})"),
    }
}

/// The runtime an async command runs on.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
