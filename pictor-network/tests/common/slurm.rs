//! A throwaway Slurm cluster for a test (Debian's Slurm 22.05; FARMS.md): its own munged,
//! slurmctld and one slurmd per node, in the foreground as children of the test, configured in a
//! temp dir on free ports of this host. Two partitions share the nodes: `pictor` (where the farm
//! adapter submits) and `studio`, a higher priority tier that preempts `pictor` by requeueing its
//! jobs — the studio's own work coming first. Without Slurm a test skips with the reason, and
//! fails under `PICTOR_REQUIRE_SLURM=1` (CI).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The programs a cluster needs.
const PROGRAMS: [&str; 7] = [
    "munged",
    "mungekey",
    "slurmctld",
    "slurmd",
    "sbatch",
    "squeue",
    "scancel",
];

/// A running cluster; stopped (its jobs cancelled, its daemons killed) when dropped.
pub struct SlurmCluster {
    dir: TempDir,
    munged: Option<Child>,
    slurmctld: Option<Child>,
    slurmd: Vec<(String, Option<Child>)>,
    /// The cluster's `slurm.conf` (`SLURM_CONF` for its commands).
    pub conf: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn found(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path)
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .any(|dir| dir.join(program).is_file())
    })
}

fn daemon(program: &str, args: &[&str], log: &Path) -> Command {
    let log = std::fs::File::create(log).expect("daemon log");
    let mut command = Command::new(program);
    command
        .args(args)
        .env(
            "PATH",
            format!(
                "/usr/sbin:/sbin:{}",
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    command
}

fn spawn(mut command: Command, program: &str) -> Child {
    command
        .spawn()
        .unwrap_or_else(|error| panic!("starting {program}: {error}"))
}

impl SlurmCluster {
    /// Starts a cluster of `nodes` nodes (each advertising 4 CPUs) and waits until every node is
    /// idle; `None` (printing why) when Slurm is not installed.
    pub fn start_or_skip(nodes: usize) -> Option<SlurmCluster> {
        if let Some(missing) = PROGRAMS.iter().find(|program| !found(program)) {
            super::skip_unless_required(
                "PICTOR_REQUIRE_SLURM",
                &format!("Slurm is not installed ({missing} missing; apt install slurm-wlm munge)"),
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for sub in ["state", "spool", "log", "munge"] {
            std::fs::create_dir_all(root.join(sub)).expect("cluster dir");
        }
        let key = root.join("munge/munge.key");
        let made = Command::new("mungekey")
            .args([
                "--create",
                "--force",
                &format!("--keyfile={}", key.display()),
            ])
            .status()
            .expect("mungekey");
        assert!(made.success(), "mungekey failed");
        let socket = root.join("munge/munge.socket");
        let munged = spawn(
            daemon(
                "munged",
                &[
                    "--foreground",
                    "--force",
                    &format!("--socket={}", socket.display()),
                    &format!("--key-file={}", key.display()),
                    &format!("--pid-file={}", root.join("munge/munged.pid").display()),
                    &format!("--log-file={}", root.join("munge/munged.log").display()),
                    &format!("--seed-file={}", root.join("munge/seed").display()),
                ],
                &root.join("log/munged.out"),
            ),
            "munged",
        );
        let started = Instant::now();
        while !socket.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "munged never listened"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let host = hostname();
        let names: Vec<String> = (1..=nodes).map(|n| format!("pn{n}")).collect();
        let node_lines: String = names
            .iter()
            .map(|name| {
                format!(
                    "NodeName={name} NodeHostname={host} NodeAddr=127.0.0.1 Port={} CPUs=4 State=UNKNOWN\n",
                    free_port()
                )
            })
            .collect();
        let node_list = names.join(",");
        let r = root.display();
        let conf = root.join("slurm.conf");
        std::fs::write(
            &conf,
            format!(
                "ClusterName=pictortest\nSlurmctldHost={host}(127.0.0.1)\nSlurmctldPort={ctld}\n\
                 AuthType=auth/munge\nAuthInfo=socket={socket}\nCredType=cred/munge\n\
                 SlurmUser=root\nSlurmdUser=root\nStateSaveLocation={r}/state\n\
                 SlurmdSpoolDir={r}/spool/%n\nSlurmctldPidFile={r}/slurmctld.pid\n\
                 SlurmdPidFile={r}/slurmd-%n.pid\nSlurmctldLogFile={r}/log/slurmctld.log\n\
                 SlurmdLogFile={r}/log/slurmd-%n.log\nProctrackType=proctrack/linuxproc\n\
                 TaskPlugin=task/none\nSlurmdParameters=config_overrides\n\
                 SchedulerType=sched/backfill\n\
                 SchedulerParameters=batch_sched_delay=0,sched_min_interval=0\n\
                 SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\nSlurmdTimeout=10\n\
                 ReturnToService=2\nMinJobAge=600\nJobAcctGatherType=jobacct_gather/none\n\
                 AccountingStorageType=accounting_storage/none\nMpiDefault=none\n\
                 PreemptType=preempt/partition_prio\nPreemptMode=REQUEUE\n{node_lines}\
                 PartitionName=pictor Nodes={node_list} Default=YES MaxTime=INFINITE State=UP PriorityTier=1\n\
                 PartitionName=studio Nodes={node_list} MaxTime=INFINITE State=UP PriorityTier=10\n",
                ctld = free_port(),
                socket = socket.display(),
            ),
        )
        .expect("slurm.conf");
        let conf_arg = conf.to_string_lossy().into_owned();
        let slurmctld = spawn(
            daemon(
                "slurmctld",
                &["-D", "-i", "-f", &conf_arg],
                &root.join("log/slurmctld.out"),
            ),
            "slurmctld",
        );
        let mut cluster = SlurmCluster {
            munged: Some(munged),
            slurmctld: Some(slurmctld),
            slurmd: Vec::new(),
            conf,
            dir,
        };
        for name in names {
            let child = cluster.start_slurmd(&name);
            cluster.slurmd.push((name, Some(child)));
        }
        cluster.wait_idle(Duration::from_secs(30));
        Some(cluster)
    }

    fn start_slurmd(&self, name: &str) -> Child {
        let mut slurmd = daemon(
            "slurmd",
            &["-D", "-f", &self.conf.to_string_lossy(), "-N", name],
            &self.dir.path().join(format!("log/slurmd-{name}.out")),
        );
        // Tests run clusters side by side and every cluster numbers its jobs from 1: the
        // slurmstepd processes this slurmd starts carry the cluster's config path in their
        // environment, so `lose_node` kills only this cluster's.
        slurmd.env("SLURM_CONF", &self.conf);
        slurmd
            .spawn()
            .unwrap_or_else(|error| panic!("starting slurmd: {error}"))
    }

    /// A Slurm command of this cluster.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        // In the cluster's folder: a job submitted without `--output` writes its
        // `slurm-<id>.out` there, not into the checkout.
        command
            .env("SLURM_CONF", &self.conf)
            .current_dir(self.dir.path());
        command
    }

    /// Runs a Slurm command of this cluster; its stdout.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let output = self.command(program).args(args).output().expect(program);
        assert!(
            output.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until every node is idle (or mixed/allocated: up and answering).
    pub fn wait_idle(&self, limit: Duration) {
        let started = Instant::now();
        loop {
            let output = self
                .command("sinfo")
                .args(["-h", "-N", "-o", "%t"])
                .output();
            if let Ok(output) = output {
                let states = String::from_utf8_lossy(&output.stdout).to_string();
                if output.status.success()
                    && !states.trim().is_empty()
                    && states.lines().all(|state| state.trim() == "idle")
                {
                    return;
                }
            }
            assert!(
                started.elapsed() < limit,
                "the Slurm nodes never became idle: {}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every job the cluster knows (`squeue --json`), finished ones included.
    pub fn jobs(&self) -> Vec<serde_json::Value> {
        let text = self.run("squeue", &["--json"]);
        let value: serde_json::Value = serde_json::from_str(&text).expect("squeue json");
        value["jobs"].as_array().cloned().unwrap_or_default()
    }

    /// Loses node `name` as a machine is lost: its slurmd, the slurmstepd of every job it runs
    /// and those jobs' processes are SIGKILLed; answers the ids of the jobs that ran there.
    pub fn lose_node(&mut self, name: &str) -> Vec<u64> {
        let jobs: Vec<u64> = self
            .jobs()
            .iter()
            .filter(|job| job["job_state"] == "RUNNING" && job["nodes"] == name)
            .filter_map(|job| job["job_id"].as_u64())
            .collect();
        if let Some((_, child)) = self.slurmd.iter_mut().find(|(node, _)| node == name)
            && let Some(mut child) = child.take()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        for pid in std::fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .filter_map(|entry| {
                entry
                    .file_name()
                    .to_str()
                    .and_then(|name| name.parse::<u32>().ok())
            })
        {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            let environ = String::from_utf8_lossy(&environ);
            // Only this cluster's: its slurmstepd got the cluster's SLURM_CONF from slurmd, and
            // job processes from the submitter (`sbatch` exports the environment).
            let this_cluster = environ
                .split('\0')
                .any(|var| var == format!("SLURM_CONF={}", self.conf.display()));
            let ours = this_cluster
                && jobs.iter().any(|id| {
                    cmdline.starts_with(&format!("slurmstepd: [{id}."))
                        || environ
                            .split('\0')
                            .any(|var| var == format!("SLURM_JOB_ID={id}"))
                });
            if ours {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
        jobs
    }

    /// The daemons' logs, for a failure message.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path().join("log")) {
            for entry in entries.flatten() {
                let body = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let tail: Vec<&str> = body.lines().rev().take(15).collect();
                text.push_str(&format!("--- {}\n", entry.path().display()));
                for line in tail.into_iter().rev() {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        text
    }
}

impl Drop for SlurmCluster {
    fn drop(&mut self) {
        let _ = self
            .command("scancel")
            .args(["--user=root", "--full"])
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(300));
        for (_, child) in &mut self.slurmd {
            if let Some(mut child) = child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        for child in [&mut self.slurmctld, &mut self.munged] {
            if let Some(mut child) = child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

fn hostname() -> String {
    let output = Command::new("hostname")
        .arg("-s")
        .output()
        .expect("hostname");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}
