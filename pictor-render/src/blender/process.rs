//! Running Blender: spawn with stdout and stderr captured, read both on threads (keeping the last
//! lines and turning progress lines into events), poll the caller's control every
//! [`POLL_INTERVAL`], kill the child on cancellation or timeout, and turn a failed exit into a
//! typed error.

use crate::error::{RenderError, Result};
use crate::request::RenderControl;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the control (cancellation, timeout) is polled while Blender runs.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How many of Blender's last output lines errors quote.
pub const TAIL_LINES: usize = 40;
/// Longest line kept in the tail (longer lines are cut).
const MAX_LINE_CHARS: usize = 1_000;

/// Something the override script or Blender said.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Event {
    /// `PICTOR_READY {...}`: settings applied.
    Ready {
        /// Blender's PID as the script saw it.
        pid: Option<u32>,
    },
    /// `PICTOR_REGION i/n`: region `i` (0-based) starts.
    Region(usize),
    /// `PICTOR_PROGRESS k/n`: `k` regions written.
    Progress(usize),
    /// `... | Sample a/b` (Cycles) or `Rendering a / b samples` (Eevee).
    Sample(u32, u32),
    /// `PICTOR_DONE`.
    Done,
    /// `PICTOR_ERROR {...}`.
    Error {
        /// `scene_invalid` or `python`.
        kind: String,
        /// `ExceptionType: message`.
        message: String,
    },
}

/// Parses one output line into an event.
pub(crate) fn parse_line(line: &str) -> Option<Event> {
    if let Some(rest) = line.strip_prefix("PICTOR_") {
        let (name, payload) = rest.split_once(' ').unwrap_or((rest, ""));
        let fraction = || {
            let (done, _) = payload.trim().split_once('/')?;
            done.parse::<usize>().ok()
        };
        return match name {
            "READY" => {
                let value: serde_json::Value = serde_json::from_str(payload).ok()?;
                Some(Event::Ready {
                    pid: value["pid"]
                        .as_u64()
                        .and_then(|pid| u32::try_from(pid).ok()),
                })
            }
            "REGION" => fraction().map(Event::Region),
            "PROGRESS" => fraction().map(Event::Progress),
            "DONE" => Some(Event::Done),
            "ERROR" => {
                let value: serde_json::Value = serde_json::from_str(payload).ok()?;
                Some(Event::Error {
                    kind: value["kind"].as_str().unwrap_or("python").to_string(),
                    message: value["message"].as_str().unwrap_or_default().to_string(),
                })
            }
            _ => None,
        };
    }
    parse_sample(line).map(|(done, total)| Event::Sample(done, total))
}

/// `Fra:1 ... | Sample 12/64` (Cycles) or `Fra:1 ... | Rendering 26 / 64 samples` (Eevee).
pub(crate) fn parse_sample(line: &str) -> Option<(u32, u32)> {
    if !line.starts_with("Fra:") {
        return None;
    }
    let last = line.rsplit('|').next()?.trim();
    let numbers = if let Some(rest) = last.strip_prefix("Sample ") {
        rest
    } else {
        last.strip_prefix("Rendering ")?.strip_suffix(" samples")?
    };
    let (done, total) = numbers.split_once('/')?;
    let done: u32 = done.trim().parse().ok()?;
    let total: u32 = total.trim().parse().ok()?;
    (total > 0 && done <= total).then_some((done, total))
}

/// Blender's last output lines, shared by the reader threads.
#[derive(Clone, Default)]
struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    fn push(&self, line: &str) {
        let mut line = line.to_string();
        if line.len() > MAX_LINE_CHARS {
            let mut cut = MAX_LINE_CHARS;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push('…');
        }
        if let Ok(mut lines) = self.0.lock() {
            if lines.len() == TAIL_LINES {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    }

    fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|lines| lines.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Reads `pipe` line by line into the tail and the event channel.
fn reader(pipe: impl Read + Send + 'static, tail: Tail, events: Sender<Event>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut pipe = BufReader::new(pipe);
        let mut bytes = Vec::new();
        loop {
            bytes.clear();
            match pipe.read_until(b'\n', &mut bytes) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let line = text.trim_end_matches(['\n', '\r']);
                    tail.push(line);
                    if let Some(event) = parse_line(line) {
                        // The receiver is gone only once the render is over: nothing to tell.
                        let _ = events.send(event);
                    }
                }
            }
        }
    })
}

/// How a Blender run, or one command of a [`super::session`], ended.
#[derive(Debug)]
pub(crate) struct Finished {
    /// How Blender's process exited, code or signal (`describe_status` puts it in words); `None`
    /// when it still runs (a session that finished a command and waits for the next).
    pub status: Option<ExitStatus>,
    /// The script reported its settings applied.
    pub ready: bool,
    /// The script reported all regions written.
    pub done: bool,
    /// The script's own error report, if any.
    pub error: Option<(String, String)>,
    /// Blender's last output lines.
    pub lines: Vec<String>,
}

impl Finished {
    /// The script finished, reported no error, and Blender (if it exited) exited cleanly.
    pub fn succeeded(&self) -> bool {
        self.done && self.error.is_none() && self.status.is_none_or(|status| status.success())
    }
}

/// Spawns, retrying briefly on `ETXTBSY` (an executable just written by another thread).
pub(crate) fn spawn_retrying(command: &mut Command) -> std::io::Result<Child> {
    const ETXTBSY: i32 = 26;
    let mut attempts = 0;
    loop {
        match command.spawn() {
            Err(error) if error.raw_os_error() == Some(ETXTBSY) && attempts < 10 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Runs `command` (stdout and stderr piped) to completion, or kills it when `control` says stop.
/// `on_spawn` gets the child's PID; `on_progress` the fraction of the `regions` done.
pub(crate) fn run(
    command: &mut Command,
    control: &RenderControl,
    started: Instant,
    regions: usize,
    on_spawn: impl FnOnce(u32),
    on_progress: impl FnMut(f32),
) -> Result<Finished> {
    let mut running = Running::spawn(command)?;
    on_spawn(running.pid());
    let finished = running.follow(control, started, regions, false, on_progress);
    running.reap();
    finished
}

/// A Blender process with its output read on threads: Blender's last lines kept, progress and
/// markers turned into events.
pub(crate) struct Running {
    child: Child,
    events: Receiver<Event>,
    tail: Tail,
    readers: Vec<JoinHandle<()>>,
    exited: Option<ExitStatus>,
}

impl Running {
    /// Spawns `command` (stdout and stderr must be piped) and starts reading both.
    pub fn spawn(command: &mut Command) -> Result<Running> {
        let mut child = spawn_retrying(command)
            .map_err(|error| RenderError::io("starting Blender".to_string(), error))?;
        let tail = Tail::default();
        let (sender, events) = mpsc::channel();
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(reader(stdout, tail.clone(), sender.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(reader(stderr, tail.clone(), sender.clone()));
        }
        Ok(Running {
            child,
            events,
            tail,
            readers,
            exited: None,
        })
    }

    /// Whether the process has exited (without waiting for it).
    pub fn has_exited(&mut self) -> bool {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited.is_some()
    }

    /// The process's ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's standard input, if it was piped.
    pub fn stdin(&mut self) -> Option<&mut std::process::ChildStdin> {
        self.child.stdin.as_mut()
    }

    /// Follows the output until the process exits — or, with `until_done`, until the script says
    /// `PICTOR_DONE` (the process then keeps running). Kills the process when `control` says stop.
    pub fn follow(
        &mut self,
        control: &RenderControl,
        started: Instant,
        regions: usize,
        until_done: bool,
        mut on_progress: impl FnMut(f32),
    ) -> Result<Finished> {
        let mut state = State::new(regions);
        let status = loop {
            state.receive(&self.events);
            if let Some(fraction) = state.take_progress() {
                on_progress(fraction);
            }
            if until_done && state.done && state.error.is_none() {
                return Ok(Finished {
                    status: None,
                    ready: state.ready,
                    done: true,
                    error: None,
                    lines: self.tail.lines(),
                });
            }
            if let Err(stop) = control.check(started) {
                // Kill, then reap: no process is left behind, whatever it was doing.
                self.kill();
                return Err(stop);
            }
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(error) => {
                    self.kill();
                    return Err(RenderError::io("waiting for Blender".to_string(), error));
                }
            }
        };
        self.exited = Some(status);
        // Both pipes are closed once the readers end: every line is in by then.
        for handle in self.readers.drain(..) {
            let _ = handle.join();
        }
        while let Ok(event) = self.events.try_recv() {
            state.apply(event);
        }
        Ok(Finished {
            status: Some(status),
            ready: state.ready,
            done: state.done,
            error: state.error,
            lines: self.tail.lines(),
        })
    }

    /// Kills the process (if it still runs) and reaps it.
    pub fn kill(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            self.exited = self.child.wait().ok();
        }
    }

    /// Kills the process if it still runs and waits for the reader threads.
    pub fn reap(mut self) {
        self.kill();
        for handle in self.readers.drain(..) {
            let _ = handle.join();
        }
    }
}

/// What the events said so far.
struct State {
    regions: usize,
    ready: bool,
    done: bool,
    regions_done: usize,
    sample_fraction: f32,
    reported: f32,
    pending: Option<f32>,
    error: Option<(String, String)>,
}

impl State {
    fn new(regions: usize) -> Self {
        State {
            regions: regions.max(1),
            ready: false,
            done: false,
            regions_done: 0,
            sample_fraction: 0.0,
            reported: 0.0,
            pending: None,
            error: None,
        }
    }

    /// Waits up to one poll interval for events, then takes all that are queued.
    fn receive(&mut self, events: &Receiver<Event>) {
        match events.recv_timeout(POLL_INTERVAL) {
            Ok(event) => self.apply(event),
            Err(RecvTimeoutError::Timeout) => return,
            // Both pipes closed: the child is exiting; keep polling at the same pace.
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(POLL_INTERVAL);
                return;
            }
        }
        while let Ok(event) = events.try_recv() {
            self.apply(event);
        }
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::Ready { .. } => self.ready = true,
            Event::Region(index) => {
                self.regions_done = self.regions_done.max(index);
                self.sample_fraction = 0.0;
            }
            Event::Progress(done) => {
                self.regions_done = self.regions_done.max(done);
                self.sample_fraction = 0.0;
            }
            Event::Sample(done, total) => {
                self.sample_fraction = done as f32 / total as f32;
            }
            Event::Done => self.done = true,
            Event::Error { kind, message } => self.error = Some((kind, message)),
        }
        if self.ready {
            let fraction = (self.regions_done as f32 + self.sample_fraction) / self.regions as f32;
            if fraction > self.reported {
                self.reported = fraction;
                self.pending = Some(fraction.min(1.0));
            }
        }
    }

    fn take_progress(&mut self) -> Option<f32> {
        self.pending.take()
    }
}

/// An exit status in words: `exit code 1`, `killed by signal 9 (SIGKILL)`.
pub fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit code {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                4 => " (SIGILL)",
                6 => " (SIGABRT)",
                7 => " (SIGBUS)",
                8 => " (SIGFPE)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV)",
                15 => " (SIGTERM)",
                _ => "",
            };
            return format!("killed by signal {signal}{name}");
        }
    }
    status.to_string()
}

/// The error for a run that did not finish cleanly (non-zero exit, script error, or no `DONE`).
/// `scene` is the scene file Blender was asked to load; `eevee` adds a hint about OpenGL.
pub(crate) fn failure(finished: &Finished, scene: Option<&Path>, eevee: bool) -> RenderError {
    let last_lines = finished.lines.join("\n");
    if let Some((kind, message)) = &finished.error {
        if kind == "scene_invalid"
            && let Some(path) = scene
        {
            return RenderError::SceneInvalid {
                path: path.to_path_buf(),
                reason: message
                    .strip_prefix("PictorSceneError: ")
                    .unwrap_or(message)
                    .to_string(),
            };
        }
        return RenderError::BlenderPython {
            message: message.clone(),
            last_lines,
        };
    }
    // Blender could not load the .blend (it then exits before running our script).
    if !finished.ready
        && let Some(path) = scene
        && let Some(line) = finished.lines.iter().find(|line| is_load_error(line))
    {
        return RenderError::SceneInvalid {
            path: path.to_path_buf(),
            reason: line
                .trim()
                .strip_prefix("Error: ")
                .unwrap_or(line.trim())
                .to_string(),
        };
    }
    if let Some(message) = python_exception(&finished.lines) {
        return RenderError::BlenderPython {
            message,
            last_lines,
        };
    }
    let mut status = finished
        .status
        .map_or_else(|| "still running".to_string(), describe_status);
    if finished.status.is_some_and(|status| status.success()) && !finished.done {
        status = format!("{status}, but the render script did not finish");
    }
    if eevee && !finished.done {
        status.push_str(
            "; Eevee needs an OpenGL context (a GPU, or EGL/Mesa on a headless machine): \
             use Cycles where there is none",
        );
    }
    RenderError::BlenderFailed { status, last_lines }
}

/// Blender's messages for a .blend it cannot load.
fn is_load_error(line: &str) -> bool {
    let line = line.trim();
    line.starts_with("Error: ")
        && (line.contains("Cannot read file")
            || line.contains("Failed to read blend file")
            || line.contains("File format is not supported")
            || line.contains("not a blend file"))
}

/// The exception line of the last Python traceback in `lines` (`RuntimeError: ...`).
fn python_exception(lines: &[String]) -> Option<String> {
    let start = lines
        .iter()
        .rposition(|line| line.contains("Traceback (most recent call last)"))?;
    lines[start + 1..]
        .iter()
        .find(|line| {
            // Frames and source lines are indented; the exception line is not.
            !line.starts_with([' ', '\t'])
                && line
                    .split_once(": ")
                    .is_some_and(|(name, _)| is_exception_name(name))
        })
        .map(|line| line.trim().to_string())
}

/// `RuntimeError`, `bpy.types.Foo.Error`, `KeyboardInterrupt`, `SystemExit`...
fn is_exception_name(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && (last.ends_with("Error")
            || last.ends_with("Exception")
            || last.ends_with("Exit")
            || last.ends_with("Interrupt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_progress_lines() {
        assert_eq!(
            parse_line(
                "Fra:1 Mem:10.27M (Peak 10.47M) | Time:00:00.06 | Remaining:00:00.01 | \
                 Mem:0.80M, Peak:0.80M | Scene, ViewLayer | Sample 1/8"
            ),
            Some(Event::Sample(1, 8))
        );
        assert_eq!(
            parse_line(
                "Fra:1 Mem:11.10M (Peak 12.21M) | Time:00:03.40 | Rendering 26 / 64 samples"
            ),
            Some(Event::Sample(26, 64))
        );
        assert_eq!(
            parse_line("Fra:1 Mem:9.71M | Scene, ViewLayer | Updating Lights"),
            None
        );
        assert_eq!(parse_line("PICTOR_PROGRESS 3/16"), Some(Event::Progress(3)));
        assert_eq!(parse_line("PICTOR_REGION 0/16"), Some(Event::Region(0)));
        assert_eq!(parse_line("PICTOR_DONE"), Some(Event::Done));
        assert_eq!(
            parse_line(r#"PICTOR_READY {"pid": 12, "version": "3.4.1", "regions": 1}"#),
            Some(Event::Ready { pid: Some(12) })
        );
        assert_eq!(
            parse_line(r#"PICTOR_ERROR {"kind": "python", "message": "ValueError: boom"}"#),
            Some(Event::Error {
                kind: "python".into(),
                message: "ValueError: boom".into()
            })
        );
        assert_eq!(parse_line("Sample 1/8"), None);
    }

    #[test]
    fn progress_is_monotonic_over_regions() {
        let mut state = State::new(4);
        state.apply(Event::Sample(1, 2));
        assert_eq!(state.take_progress(), None, "nothing before READY");
        state.apply(Event::Ready { pid: None });
        state.apply(Event::Region(0));
        state.apply(Event::Sample(1, 2));
        assert_eq!(state.take_progress(), Some(0.125));
        state.apply(Event::Progress(1));
        state.apply(Event::Region(1));
        assert_eq!(state.take_progress(), Some(0.25));
        state.apply(Event::Sample(0, 2));
        assert_eq!(state.take_progress(), None);
        state.apply(Event::Progress(4));
        assert_eq!(state.take_progress(), Some(1.0));
    }

    #[test]
    fn finds_the_exception_line_of_a_traceback() {
        let lines: Vec<String> = [
            "Error: Python: Traceback (most recent call last):",
            "  File \"/tmp/t6.py\", line 3, in <module>",
            "    bpy.ops.render.render()",
            "          ^^^^^^^^^^^^^^^^^^",
            "RuntimeError: Error: Cannot render, no camera",
            "",
            "Error: script failed, file: 't6.py', exiting.",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            python_exception(&lines).as_deref(),
            Some("RuntimeError: Error: Cannot render, no camera")
        );
        assert!(is_load_error(
            "Error: Failed to read blend file '/tmp/bad.blend': Missing DNA block"
        ));
        assert!(!is_load_error("Error: Cannot render, no camera"));
    }
}
