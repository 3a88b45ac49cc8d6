//! `--idle-command`: a command (`sh -c CMD`, in its own process group) that runs while the worker
//! has no task, stopped the moment one arrives — SIGTERM to the group, SIGKILL after a grace period.

use std::time::Duration;
use tokio::process::{Child, Command};

/// How long the idle command has to exit after SIGTERM before SIGKILL.
pub const IDLE_GRACE: Duration = Duration::from_secs(5);

/// Supervises the idle command.
#[derive(Debug)]
pub struct IdleCommand {
    command: Option<String>,
    child: Option<Child>,
    grace: Duration,
}

impl IdleCommand {
    /// A supervisor of `command` (none: it does nothing).
    pub fn new(command: Option<String>) -> Self {
        IdleCommand {
            command: command.filter(|c| !c.trim().is_empty()),
            child: None,
            grace: IDLE_GRACE,
        }
    }

    /// The running command's process id (also its process group id).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Starts the command unless it runs already (a command that exited is started again).
    pub fn ensure_running(&mut self) -> std::io::Result<()> {
        let Some(command) = &self.command else {
            return Ok(());
        };
        if let Some(child) = &mut self.child {
            match child.try_wait() {
                Ok(None) => return Ok(()),
                _ => self.child = None,
            }
        }
        let child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        tracing::info!(pid = child.id(), "idle command started");
        self.child = Some(child);
        Ok(())
    }

    /// Stops the command: SIGTERM to its process group, SIGKILL after the grace period; waits for it.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let Some(pid) = child.id() else {
            let _ = child.wait().await;
            return;
        };
        signal_group(pid, "TERM");
        if tokio::time::timeout(self.grace, child.wait())
            .await
            .is_err()
        {
            signal_group(pid, "KILL");
            let _ = child.kill().await;
        }
        // Whatever else is left in the group.
        signal_group(pid, "KILL");
        tracing::info!(pid, "idle command stopped");
    }
}

/// Sends a signal to a process group through `kill` (no libc binding needed).
fn signal_group(pgid: u32, signal: &str) {
    let _ = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}
