//! Slurm as a [`FarmEngine`], driven by its commands on the submit host: `sbatch --hold` with the
//! lease tag in `--comment`, `scontrol release`, `squeue --json`, `scancel`.
//!
//! Why the commands and not `slurmrestd`: every Slurm site has them on its submit hosts with the
//! site's own authentication already set up (munge), while `slurmrestd` is an extra daemon with JWT
//! keys to configure, and it answers some held submits and updates with an error although they
//! succeeded (read back to confirm, FARMS.md) — the commands' exit status can be trusted.

use super::config::SlurmSettings;
use super::engine::{FarmEngine, FarmJob, FarmJobState, LeaseTag, Submission};
use super::node::NodeProbe;
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::process::Command;

/// The file the node's script is written to, in the task's folder.
const SCRIPT: &str = "job.sh";

/// Slurm, reached through its commands.
#[derive(Clone, Debug)]
pub struct Slurm {
    settings: SlurmSettings,
}

impl Slurm {
    /// Slurm with these settings.
    pub fn new(settings: SlurmSettings) -> Self {
        Slurm { settings }
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        if let Some(conf) = &self.settings.slurm_conf {
            command.env("SLURM_CONF", conf);
        }
        command.stdin(Stdio::null()).kill_on_drop(true);
        command
    }

    /// Runs a Slurm command; its stdout, or an error with its stderr.
    async fn run(&self, program: &str, args: &[&str]) -> Result<String> {
        let output = self
            .command(program)
            .args(args)
            .output()
            .await
            .with_context(|| format!("running {program} (is Slurm's client installed?)"))?;
        if !output.status.success() {
            bail!(
                "{program} {}: {} ({})",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim(),
                output.status
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Writes the batch script that runs `pictor <args>` on the node, in `folder`.
    fn write_script(&self, folder: &Path, args: &[&str]) -> Result<std::path::PathBuf> {
        let mut line = shell_quote(&self.settings.node_command.to_string_lossy());
        for arg in args {
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        let script = folder.join(SCRIPT);
        std::fs::write(&script, format!("#!/bin/sh\nexec {line}\n"))
            .with_context(|| format!("writing {}", script.display()))?;
        Ok(script)
    }

    /// `sbatch` options every task shares.
    fn common_options(&self, folder: &Path) -> Vec<String> {
        let mut options = vec![
            "--parsable".to_string(),
            format!("--partition={}", self.settings.partition),
            format!("--chdir={}", folder.display()),
            format!("--output={}", folder.join("slurm-%j.log").display()),
        ];
        options.extend(self.settings.sbatch_args.iter().cloned());
        options
    }

    /// Runs `args` of the node's `pictor` once through the queue (in `folder`) and waits for it;
    /// answers what it printed.
    async fn run_once(&self, args: &[&str], folder: &Path) -> Result<String> {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating {}", folder.display()))?;
        let script = self.write_script(folder, args)?;
        let mut options = self.common_options(folder);
        options.retain(|option| !option.starts_with("--output="));
        let output = folder.join("run-once.out");
        options.extend([
            "--wait".to_string(),
            "--job-name=pictor-init".to_string(),
            format!("--output={}", output.display()),
            script.to_string_lossy().into_owned(),
        ]);
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        self.run("sbatch", &options).await?;
        std::fs::read_to_string(&output).with_context(|| format!("reading {}", output.display()))
    }

    /// Moves a requeued job's start to now: Slurm holds a requeued batch job back for ≈ 2
    /// minutes (its BeginTime) even when resources are free; the lease is waiting meanwhile.
    async fn hurry_requeued(&self, id: &str) {
        let job = format!("JobId={id}");
        if let Err(error) = self
            .run("scontrol", &["update", &job, "StartTime=now"])
            .await
        {
            tracing::debug!(%error, job = id, "could not move a requeued job's start to now");
        }
    }
}

impl FarmEngine for Slurm {
    fn name(&self) -> &'static str {
        "slurm"
    }

    async fn submit_held(&self, submission: Submission<'_>) -> Result<String> {
        if let Some(job) = self
            .jobs()
            .await?
            .into_iter()
            .find(|job| job.tag == submission.tag && job.state.is_live())
        {
            return Ok(job.id);
        }
        let folder = submission.folder;
        let folder_text = folder.to_string_lossy();
        let script = self.write_script(folder, &["farm", "exec", &folder_text])?;
        let mut args = self.common_options(folder);
        args.extend([
            "--hold".to_string(),
            "--requeue".to_string(),
            format!("--job-name=pictor-{}", submission.tag.folder_name()),
            format!("--comment={}", submission.tag.to_comment()),
            script.to_string_lossy().into_owned(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let answer = self.run("sbatch", &args).await?;
        parse_job_id(&answer)
    }

    async fn release(&self, id: &str) -> Result<()> {
        self.run("scontrol", &["release", id]).await.map(drop)
    }

    async fn jobs(&self) -> Result<Vec<FarmJob>> {
        let text = self.run("squeue", &["--json"]).await?;
        let jobs = parse_squeue(&text)?;
        for job in &jobs {
            if job.waits_for_requeue_delay {
                self.hurry_requeued(&job.job.id).await;
            }
        }
        Ok(jobs.into_iter().map(|job| job.job).collect())
    }

    async fn cancel(&self, id: &str) -> Result<()> {
        self.run("scancel", &[id]).await.map(drop)
    }

    async fn collect(&self, _job: &FarmJob, _folder: &Path) -> Result<()> {
        // The node wrote `out/result.json` on the farm's storage.
        Ok(())
    }

    async fn probe(&self, renderer: &str, blender: &[PathBuf], folder: &Path) -> Result<NodeProbe> {
        let mut args: Vec<String> = vec![
            "farm".into(),
            "probe".into(),
            "--renderer".into(),
            renderer.into(),
        ];
        for path in blender {
            args.push("--blender".into());
            args.push(path.to_string_lossy().into_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let printed = self.run_once(&args, folder).await?;
        let line = printed
            .lines()
            .rev()
            .find(|line| line.trim_start().starts_with('{'))
            .with_context(|| format!("the node's probe printed no JSON: {printed}"))?;
        serde_json::from_str(line).with_context(|| format!("parsing the node's probe: {line}"))
    }
}

/// A job of `squeue --json` with what [`Slurm::jobs`] does about it.
struct SqueueJob {
    job: FarmJob,
    /// Requeued and held back by Slurm's requeue delay.
    waits_for_requeue_delay: bool,
}

/// `sbatch --parsable` answers `<id>` or `<id>;<cluster>`.
fn parse_job_id(answer: &str) -> Result<String> {
    let id = answer.trim().split(';').next().unwrap_or_default();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        bail!("sbatch answered {answer:?}, not a job id");
    }
    Ok(id.to_string())
}

/// The tagged jobs of `squeue --json` (Slurm 22.05 writes `job_state` as a string, later versions
/// as a list of flags: both are read).
fn parse_squeue(text: &str) -> Result<Vec<SqueueJob>> {
    let value: Value = serde_json::from_str(text).context("squeue --json answered no JSON")?;
    let jobs = value
        .get("jobs")
        .and_then(Value::as_array)
        .context("squeue --json answered no jobs list")?;
    let mut tagged = Vec::new();
    for job in jobs {
        let Some(tag) = job
            .get("comment")
            .and_then(Value::as_str)
            .and_then(LeaseTag::parse)
        else {
            continue;
        };
        let Some(id) = job.get("job_id").and_then(Value::as_u64) else {
            continue;
        };
        let state = match job.get("job_state") {
            Some(Value::String(state)) => state.clone(),
            Some(Value::Array(flags)) => flags
                .first()
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        };
        let reason = job
            .get("state_reason")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let restarts = job
            .get("restart_cnt")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0);
        let state = farm_state(&state, reason, job.get("exit_code"));
        tagged.push(SqueueJob {
            waits_for_requeue_delay: state == FarmJobState::Queued
                && restarts > 0
                && reason == "BeginTime",
            job: FarmJob {
                id: id.to_string(),
                tag,
                state,
                restarts,
            },
        });
    }
    Ok(tagged)
}

/// A Slurm job state (and pending reason) as a [`FarmJobState`].
fn farm_state(state: &str, reason: &str, exit_code: Option<&Value>) -> FarmJobState {
    match state {
        "PENDING" if reason.starts_with("JobHeld") => FarmJobState::Held,
        "PENDING" | "CONFIGURING" | "REQUEUED" | "REQUEUE_FED" | "REQUEUE_HOLD" | "RESIZING"
        | "SUSPENDED" | "PREEMPTED" | "STOPPED" | "SIGNALING" | "STAGE_OUT" => FarmJobState::Queued,
        "RUNNING" | "COMPLETING" => FarmJobState::Running,
        "COMPLETED" => FarmJobState::Completed,
        "CANCELLED" => FarmJobState::Cancelled,
        other => {
            let code = exit_code
                .and_then(Value::as_u64)
                .map(|status| format!(", exit status {}", status >> 8))
                .unwrap_or_default();
            FarmJobState::Failed(format!("Slurm job {other} ({reason}{code})"))
        }
    }
}

/// `text` quoted for `sh`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_json_reads_tagged_jobs_in_both_state_formats() {
        let text = r#"{"jobs": [
          {"job_id": 7, "comment": "pictor:42:3", "job_state": "PENDING",
           "state_reason": "JobHeldUser", "restart_cnt": 0, "exit_code": 0},
          {"job_id": 8, "comment": "studio shot 12", "job_state": "RUNNING"},
          {"job_id": 9, "comment": "pictor:43:1", "job_state": ["PENDING"],
           "state_reason": "BeginTime", "restart_cnt": 1},
          {"job_id": 10, "comment": "pictor:44:1", "job_state": "FAILED",
           "state_reason": "NonZeroExitCode", "exit_code": 768},
          {"job_id": 11, "comment": "pictor:45:2", "job_state": "COMPLETING"}
        ]}"#;
        let jobs = parse_squeue(text).unwrap();
        let states: Vec<(&str, FarmJobState, bool)> = jobs
            .iter()
            .map(|j| {
                (
                    j.job.id.as_str(),
                    j.job.state.clone(),
                    j.waits_for_requeue_delay,
                )
            })
            .collect();
        assert_eq!(
            states,
            vec![
                ("7", FarmJobState::Held, false),
                ("9", FarmJobState::Queued, true),
                (
                    "10",
                    FarmJobState::Failed(
                        "Slurm job FAILED (NonZeroExitCode, exit status 3)".into()
                    ),
                    false
                ),
                ("11", FarmJobState::Running, false),
            ]
        );
        assert_eq!(jobs[1].job.restarts, 1);
        assert!(parse_squeue("not json").is_err());
    }

    #[test]
    fn sbatch_answers_are_read_strictly_and_paths_quoted() {
        assert_eq!(parse_job_id("123\n").unwrap(), "123");
        assert_eq!(parse_job_id("123;cluster\n").unwrap(), "123");
        assert!(parse_job_id("Submitted batch job 5").is_err());
        assert_eq!(shell_quote("/farm/it's here"), r"'/farm/it'\''s here'");
    }
}
