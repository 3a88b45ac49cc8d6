//! The connection arguments shared by the network commands: `--network URL` and a key from a file
//! or the environment (never the command line), and the tokio runtime each of those commands
//! builds.

use anyhow::{Context, Result};
use clap::Args;
use pictor_sdk::Client;
use std::path::{Path, PathBuf};

/// The environment variable `--network` falls back to.
pub const NETWORK_ENV: &str = "PICTOR_NETWORK";
/// The environment variable holding an account's API key when no `--api-key-file` is given.
pub const API_KEY_ENV: &str = "PICTOR_API_KEY";
/// The environment variable holding the admin key when no `--admin-key-file` is given.
pub const ADMIN_KEY_ENV: &str = "PICTOR_ADMIN_KEY";

/// An account's API key: from `--api-key-file PATH` or `PICTOR_API_KEY`, never from the command
/// line, where every local user could read it in `ps` (a `--api-key KEY` is refused with that
/// reason).
#[derive(Debug, Args)]
pub struct ApiKeyArgs {
    /// A file holding the account's API key (keep it 0600) [or env: PICTOR_API_KEY].
    #[arg(long, value_name = "PATH")]
    api_key_file: Option<PathBuf>,
    /// Refused: a key in the arguments is visible to every local user.
    #[arg(long, value_name = "KEY", hide = true)]
    api_key: Option<String>,
}

impl ApiKeyArgs {
    /// The key, from the file or the environment.
    pub fn key(&self) -> Result<String> {
        read_key(
            self.api_key.is_some(),
            self.api_key_file.as_deref(),
            "--api-key",
            API_KEY_ENV,
        )
    }
}

/// `--network URL` and the account's key (a creator's, for the job commands).
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// The network's base URL, e.g. http://127.0.0.1:7878 [env: PICTOR_NETWORK].
    #[arg(long, value_name = "URL")]
    network: Option<String>,
    #[command(flatten)]
    key: ApiKeyArgs,
}

impl NetworkArgs {
    /// A client of `--network` (or `PICTOR_NETWORK`) sending the account's key.
    pub fn client(&self) -> Result<Client> {
        let endpoint = network_url(self.network.as_deref())?;
        build_client(&endpoint, Some(&self.key.key()?))
    }
}

/// `--network URL` and the admin key (the account commands).
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The network's base URL, e.g. http://127.0.0.1:7878 [env: PICTOR_NETWORK].
    #[arg(long, value_name = "URL")]
    network: Option<String>,
    /// A file holding the admin API key: `pictor serve` writes the bootstrap one to
    /// DATA/admin.key [or env: PICTOR_ADMIN_KEY].
    #[arg(long, value_name = "PATH")]
    admin_key_file: Option<PathBuf>,
    /// Refused: a key in the arguments is visible to every local user.
    #[arg(long, value_name = "KEY", hide = true)]
    admin_key: Option<String>,
}

impl AdminArgs {
    /// A client with the admin key.
    pub fn client(&self) -> Result<Client> {
        let endpoint = network_url(self.network.as_deref())?;
        let key = read_key(
            self.admin_key.is_some(),
            self.admin_key_file.as_deref(),
            "--admin-key",
            ADMIN_KEY_ENV,
        )?;
        build_client(&endpoint, Some(&key))
    }
}

/// A key from `file`, else from the environment variable `env`; refused when it was given on the
/// command line (`on_command_line`, the flag `flag`).
pub fn read_key(
    on_command_line: bool,
    file: Option<&Path>,
    flag: &str,
    env: &str,
) -> Result<String> {
    if on_command_line {
        anyhow::bail!(
            "{flag} KEY would show the key to every local user (in `ps`); put it in a file and pass {flag}-file PATH, or set {env}"
        );
    }
    let key = match file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the key from {}", path.display()))?,
        None => std::env::var(env)
            .ok()
            .with_context(|| format!("missing {flag}-file PATH (or set {env})"))?,
    };
    let key = key.trim().to_string();
    if key.is_empty() {
        anyhow::bail!(
            "the key from {} is empty",
            file.map_or(env.to_string(), |p| p.display().to_string())
        );
    }
    Ok(key)
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
