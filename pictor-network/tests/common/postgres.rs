//! A throwaway PostgreSQL cluster for a test binary, and a database of its own for each network.
//!
//! With `PICTOR_TEST_DATABASE=postgres` the network tests run their coordinators on PostgreSQL
//! instead of SQLite (scripts/test runs the network suites both ways). The first network started
//! creates the cluster: Debian's `initdb` (or `PICTOR_POSTGRES_BIN`'s) in a temporary folder, then
//! `postgres` in the foreground as a child of the test, listening on a Unix socket in that folder
//! only (no TCP port), trust authentication. As root, both run as the `postgres` user through
//! `runuser` (`initdb` refuses root). A watchdog shell stops the server and removes the folder
//! when the test process exits. Without the binaries the tests fail with the reason: asking for
//! PostgreSQL and not getting it must never pass silently.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The environment variable that switches the network tests to PostgreSQL (`postgres`).
pub const DATABASE_ENV: &str = "PICTOR_TEST_DATABASE";

/// Whether PostgreSQL's server binaries are here, for tests that need PostgreSQL whatever the
/// run's store; prints why not and answers false when they are missing (a failure under
/// `PICTOR_REQUIRE_POSTGRES=1`).
pub fn available_or_skip() -> bool {
    match postgres_bin() {
        Ok(_) => true,
        Err(reason) => {
            if std::env::var("PICTOR_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("PICTOR_REQUIRE_POSTGRES=1 but {reason}");
            }
            println!("SKIP: {reason}");
            false
        }
    }
}

/// Whether this test run puts its coordinators on PostgreSQL.
pub fn enabled() -> bool {
    std::env::var(DATABASE_ENV).as_deref() == Ok("postgres")
}

/// The running cluster: its folder (holding the data and the socket) and the user tests connect
/// as.
pub struct Cluster {
    folder: PathBuf,
    user: String,
    bin: PathBuf,
    databases: AtomicU32,
}

impl Cluster {
    /// The cluster of this test binary, started on first use.
    pub fn get() -> &'static Cluster {
        static CLUSTER: OnceLock<Cluster> = OnceLock::new();
        CLUSTER.get_or_init(|| Cluster::start().unwrap_or_else(|error| panic!("{error}")))
    }

    fn start() -> Result<Cluster, String> {
        let bin = postgres_bin()?;
        let as_root = running_as_root();
        let folder = std::env::temp_dir().join(format!(
            "pictor-pg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        let data = folder.join("data");
        std::fs::create_dir_all(&folder).map_err(|e| format!("creating {folder:?}: {e}"))?;
        if as_root {
            let chown = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&folder)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !chown.success() {
                return Err("chown of the cluster folder to postgres failed".into());
            }
        }
        let mut initdb = as_user(as_root, &bin.join("initdb"));
        initdb
            .args([
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                "postgres",
                "-D",
            ])
            .arg(&data)
            .stdout(Stdio::null());
        let output = initdb.output().map_err(|e| format!("initdb: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        // The server, in the foreground under a watchdog: when the test process (the shell's
        // parent) is gone, stop the server at once and remove the folder. The postmaster itself
        // gets the signal: `runuser` does not pass SIGQUIT on, and waiting for it would leave
        // the server running and the folder behind.
        let server = format!(
            "{} -D {} -k {} -c listen_addresses= -c fsync=on -c max_connections=200",
            shell_quote(&bin.join("postgres")),
            shell_quote(&data),
            shell_quote(&folder),
        );
        let server = if as_root {
            format!("runuser -u postgres -- {server}")
        } else {
            server
        };
        // The server is started again whenever it is down, unless `hold` exists (a test
        // crashing PostgreSQL, see `Cluster::crash`).
        let watchdog = format!(
            "server=; \
             while kill -0 {parent} 2>/dev/null; do \
               if [ ! -e {hold} ] && ! {{ [ -n \"$server\" ] && kill -0 $server 2>/dev/null; }}; then \
                 {server} >> {log} 2>&1 & server=$!; \
               fi; \
               sleep 0.2; \
             done; \
             pid=$(head -n 1 {pid_file} 2>/dev/null); \
             [ -n \"$pid\" ] && kill -QUIT $pid 2>/dev/null; \
             kill -QUIT $server 2>/dev/null; wait $server; rm -rf {folder}",
            log = shell_quote(&folder.join("server.log")),
            pid_file = shell_quote(&data.join("postmaster.pid")),
            hold = shell_quote(&folder.join("hold")),
            parent = std::process::id(),
            folder = shell_quote(&folder),
        );
        Command::new("sh")
            .args(["-c", &watchdog])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting postgres: {e}"))?;
        let cluster = Cluster {
            folder,
            user: "postgres".into(),
            bin,
            databases: AtomicU32::new(0),
        };
        cluster.wait_ready()?;
        Ok(cluster)
    }

    fn wait_ready(&self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .arg("-h")
                .arg(&self.folder)
                .args(["-U", &self.user, "-q"])
                .status()
                .is_ok_and(|status| status.success());
            if ready {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                let log =
                    std::fs::read_to_string(self.folder.join("server.log")).unwrap_or_default();
                return Err(format!("postgres did not start within 30 s: {log}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Creates an empty database and answers its URL (Unix socket, no password).
    pub fn create_database(&self) -> String {
        let name = format!(
            "pictor_{}",
            self.databases.fetch_add(1, Ordering::Relaxed) + 1
        );
        let output = Command::new(self.bin.join("createdb"))
            .arg("-h")
            .arg(&self.folder)
            .args(["-U", &self.user, &name])
            .output()
            .expect("createdb runs");
        assert!(
            output.status.success(),
            "createdb {name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.url(&name)
    }

    /// The URL of database `name` on this cluster.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://{}@localhost/{name}?host={}",
            self.user,
            self.folder.display()
        )
    }

    /// Stops PostgreSQL at once, as a crash would (`SIGQUIT`: connections cut, transactions in
    /// flight lost, crash recovery at the next start), and keeps it down until [`Cluster::recover`].
    pub fn crash(&self) {
        std::fs::write(self.folder.join("hold"), b"").expect("hold file");
        let pid_file = self.folder.join("data").join("postmaster.pid");
        let pid = std::fs::read_to_string(&pid_file).expect("postmaster.pid");
        let pid = pid.lines().next().expect("a pid line").trim().to_string();
        let killed = Command::new("kill")
            .args(["-QUIT", &pid])
            .status()
            .expect("kill runs");
        assert!(killed.success(), "kill -QUIT {pid}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Path::new(&format!("/proc/{pid}")).exists() {
            assert!(Instant::now() < deadline, "postgres {pid} did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts PostgreSQL again after [`Cluster::crash`] and waits until it accepts connections.
    pub fn recover(&self) {
        std::fs::remove_file(self.folder.join("hold")).expect("remove the hold file");
        self.wait_ready().unwrap_or_else(|error| panic!("{error}"));
    }

    /// The cluster's folder: its data, its socket and the server's log.
    pub fn folder(&self) -> &Path {
        &self.folder
    }
}

/// The folder holding `initdb`, `postgres`, `createdb` and `pg_isready`: `PICTOR_POSTGRES_BIN`,
/// else Debian's newest `/usr/lib/postgresql/N/bin`, else the folder of `initdb` on `PATH`.
fn postgres_bin() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("PICTOR_POSTGRES_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| dir.join("initdb").is_file())
        .ok_or_else(|| {
            "PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin or on PATH; \
             Debian: apt install postgresql)"
                .to_string()
        })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

/// `program`, run as the `postgres` user when `as_root`.
fn as_user(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}
