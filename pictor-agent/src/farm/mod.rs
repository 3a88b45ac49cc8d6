//! Render farms as compute sources: the farm operator's adapter (`pictor farm init | run`) and
//! what runs on the farm's nodes (`pictor farm exec | probe`), cut by concern:
//!
//! - [`config`] — `farm.toml`: the farm's identity on the network and its `[farm]` table.
//! - [`engine`] — the farm manager as the adapter sees it ([`FarmEngine`]) and the lease tag
//!   every farm job carries.
//! - [`slurm`] — Slurm through its commands.
//! - [`pictor`] — another Pictor network as a farm of this one.
//! - `record` — the adapter's durable record of its leases.
//! - [`adapter`] — the run loop: lease, submit, heartbeat, collect, deliver, cancel.
//! - [`node`] — the task folder on the farm's storage and what a node runs.
//! - [`init`] — measure the nodes through the queue, register, write the config.

pub mod adapter;
pub mod config;
pub mod engine;
pub mod init;
pub mod node;
pub mod pictor;
mod record;
pub mod slurm;

pub use adapter::{FarmEvent, FarmEventCallback, FarmOptions, FarmSummary};
pub use config::{EngineConfig, FarmConfig, FarmSettings, PictorSettings, SlurmSettings};
pub use engine::{FarmEngine, FarmJob, FarmJobState, LeaseTag};
pub use init::{FarmOffer, init_farm};
pub use node::{NodeProbe, exec_task, probe_node};
pub use pictor::PictorFarm;
pub use slurm::Slurm;

use std::future::Future;

/// Runs the adapter of `config` on the farm manager it names until `shutdown` resolves.
pub async fn run_farm(
    config: FarmConfig,
    options: FarmOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<FarmSummary> {
    match config.farm.engine.clone() {
        EngineConfig::Slurm(settings) => {
            adapter::run_farm(config, Slurm::new(settings), options, shutdown).await
        }
        EngineConfig::Pictor(settings) => {
            let engine = PictorFarm::new(&settings)?;
            adapter::run_farm(config, engine, options, shutdown).await
        }
    }
}
