//! Blender, run headless: [`BlenderRenderer`].
//!
//! One render is one Blender process:
//!
//! ```text
//! blender -b --factory-startup -noaudio -Y --python-exit-code 1 [--threads N] [/abs/scene.blend] \
//!         --python <tmp>/pictor_override.py -- <tmp>/spec.json
//! ```
//!
//! - `--factory-startup` always, with or without a scene: it skips the user's startup file,
//!   preferences and add-ons (a .blend given after it is still loaded), so renders depend on the
//!   scene and the request only. `-Y` (`--disable-autoexec`) keeps the scene's own Python (startup
//!   text blocks, driver expressions) from running: scenes are untrusted input.
//! - The scene goes *before* `--python` (Blender handles its arguments in order: the file is loaded,
//!   then the script runs against it). It is passed as a canonical absolute path, so it can never
//!   be mistaken for an option.
//! - The override script ([`script::OVERRIDE_SCRIPT`]) is a constant; the request's values reach it
//!   in a JSON spec ([`script::ScriptSpec`]). It forces Cycles on the CPU with the request's seed, no
//!   animated seed, no denoising, no adaptive sampling and no time limit (deterministic), no
//!   compositing or sequencer (pixels stay local, so regions equal the frame's crop), and OpenEXR
//!   32-bit float RGBA with lossless ZIP compression (linear pixels, decoded with
//!   [`LinearImage::decode`]).
//! - **Batching**: all regions of a request render in the one process (the scene is loaded once,
//!   `use_persistent_data` keeps it synced between renders): one border render per region, one EXR
//!   each, a `PICTOR_PROGRESS k/n` line after each. Border fractions are chosen so that Blender's
//!   pixel rounding gives exactly each region (see [`script`]); every output's size is checked
//!   against its region. Measured with Blender 3.4.1 (Cycles, CPU): regions are bit-identical to the
//!   same pixels of the full frame. [`Renderer::render_seeds`] extends the batch to several seeds
//!   (the checker's split references): every region once per seed, the Cycles seed set before each
//!   render, still one process.
//! - Cancellation and timeouts kill the process (it is reaped before `render` returns); the
//!   temporary folder (script, spec, EXRs) is removed on every path, success or failure.
//! - **Sessions** ([`BlenderRenderer::open_session`], [`session`]): one process keeps a scene
//!   loaded for several calls on it (a checker's refinishing and references), each call the same
//!   script and spec as a process of its own.

pub mod discover;
pub mod finish;
pub mod process;
pub mod script;
pub mod session;

use crate::Renderer;
use crate::error::{RenderError, Result};
use crate::image::LinearImage;
use crate::request::{RegionImage, RenderControl, RenderOutput, RenderRequest};
use discover::BlenderInstall;
pub use discover::{BLENDER_ENV, MIN_BLENDER_VERSION};
use pictor_core::job::Engine;
pub use session::BlenderSession;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Blender as a [`Renderer`]. Finds the executable lazily (on the first `version` or `render`) and
/// caches it; cheap to share between threads (each render is its own process). A clone has the
/// same settings and shares the process counters ([`BlenderRenderer::spawn_count`]).
#[derive(Debug, Default)]
pub struct BlenderRenderer {
    executable: Option<PathBuf>,
    threads: Option<u32>,
    setup_script: Option<PathBuf>,
    work_dir: Option<PathBuf>,
    install: Mutex<Option<BlenderInstall>>,
    processes: Arc<ProcessCounters>,
}

/// The Blender processes a renderer and its clones and sessions have started.
#[derive(Debug, Default)]
struct ProcessCounters {
    spawns: AtomicU64,
    last_pid: AtomicU32,
}

impl ProcessCounters {
    fn started(&self, pid: u32) {
        self.spawns.fetch_add(1, Ordering::Relaxed);
        self.last_pid.store(pid, Ordering::Relaxed);
    }
}

impl Clone for BlenderRenderer {
    fn clone(&self) -> Self {
        BlenderRenderer {
            executable: self.executable.clone(),
            threads: self.threads,
            setup_script: self.setup_script.clone(),
            work_dir: self.work_dir.clone(),
            install: Mutex::new(
                self.install
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone(),
            ),
            processes: Arc::clone(&self.processes),
        }
    }
}

impl BlenderRenderer {
    /// Blender from [`BLENDER_ENV`] (`PICTOR_BLENDER`: a path, or a name looked up on `PATH`), else
    /// `blender` on `PATH`.
    pub fn new() -> Self {
        BlenderRenderer::default()
    }

    /// Blender at exactly this path (a bare name is looked up on `PATH`); the environment is not
    /// consulted.
    pub fn with_executable(path: impl Into<PathBuf>) -> Self {
        BlenderRenderer {
            executable: Some(path.into()),
            ..BlenderRenderer::default()
        }
    }

    /// Blender at `install`'s path, already asked its version (by [`BlenderRenderer::install`] of
    /// another renderer): no `--version` probe on first use.
    pub fn with_install(install: BlenderInstall) -> Self {
        BlenderRenderer {
            executable: Some(install.path.clone()),
            install: Mutex::new(Some(install)),
            ..BlenderRenderer::default()
        }
    }

    /// Renders with `threads` threads (`--threads`); by default Blender uses every core.
    pub fn threads(mut self, threads: u32) -> Self {
        self.threads = Some(threads);
        self
    }

    /// A trusted Python file of the operator's, run inside Blender after the scene is loaded and
    /// before Pictor's overrides (which win): e.g. to enable an add-on. Its exceptions surface as
    /// [`RenderError::BlenderPython`]. Never put request data in it.
    pub fn setup_script(mut self, path: impl Into<PathBuf>) -> Self {
        self.setup_script = Some(path.into());
        self
    }

    /// Where each render's temporary folder goes (default: the system's temporary folder).
    pub fn work_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.work_dir = Some(path.into());
        self
    }

    /// The Blender executable and its version, discovered on first use and cached.
    pub fn install(&self) -> Result<BlenderInstall> {
        // The cache holds plain data: a thread that panicked while holding it cannot corrupt it.
        let mut cached = self.install.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(install) = cached.as_ref() {
            return Ok(install.clone());
        }
        let env_value = if self.executable.is_none() {
            std::env::var_os(BLENDER_ENV)
        } else {
            None
        };
        let install = discover::discover(
            self.executable.as_deref(),
            env_value,
            std::env::var_os("PATH"),
        )?;
        *cached = Some(install.clone());
        Ok(install)
    }

    /// How many render processes this renderer has started (version probes not counted). A batch of
    /// regions is one.
    pub fn spawn_count(&self) -> u64 {
        self.processes.spawns.load(Ordering::Relaxed)
    }

    /// The process id of the latest render process started, if any (it may have exited since).
    pub fn last_pid(&self) -> Option<u32> {
        match self.processes.last_pid.load(Ordering::Relaxed) {
            0 => None,
            pid => Some(pid),
        }
    }

    /// Renders `request` once per seed of `seeds` (empty: once with the request's seed) in one
    /// Blender process — its own, or `session`'s when the session has the request's scene open:
    /// one output per seed (one when `seeds` is empty).
    fn render_checked(
        &self,
        request: &RenderRequest,
        seeds: &[u64],
        control: &RenderControl,
        started: Instant,
        session: Option<&BlenderSession>,
    ) -> Result<Vec<RenderOutput>> {
        request.validate()?;
        script::validate_for_blender(request)?;
        let scene = request.scene.as_deref().map(resolve_scene).transpose()?;
        let setup = self.setup_script_path()?;
        let install = self.install()?;
        control.check(started)?;

        let work = self.work_folder()?;
        let spec = script::build_seeded_spec(
            request,
            seeds,
            scene.as_deref(),
            work.path(),
            setup.as_deref(),
        );
        let count = spec.regions.len();
        let run = ScriptRun {
            script: Script::Override,
            install: &install,
            scene: scene.as_deref(),
            work: work.path(),
            regions: count,
        };
        let finished = self.run_script(&run, &spec, control, started, session)?;
        if !finished.succeeded() {
            let eevee = request.engine == Some(Engine::Eevee);
            return Err(process::failure(&finished, scene.as_deref(), eevee));
        }

        let mut regions = Vec::with_capacity(count);
        let asked = request.effective_regions();
        for (index, region) in asked.iter().cycle().take(count).copied().enumerate() {
            let path = script::region_output(work.path(), index);
            let bytes = std::fs::read(&path).map_err(|error| RenderError::BlenderFailed {
                status: format!("region {index}: Blender wrote no image ({error})"),
                last_lines: finished.lines.join("\n"),
            })?;
            let image = LinearImage::decode(&bytes)?;
            if (image.width(), image.height()) != (region.width, region.height) {
                return Err(RenderError::BlenderFailed {
                    status: format!(
                        "region {index} ({},{} {}×{}): Blender wrote a {}×{} image",
                        region.x,
                        region.y,
                        region.width,
                        region.height,
                        image.width(),
                        image.height()
                    ),
                    last_lines: finished.lines.join("\n"),
                });
            }
            regions.push(RegionImage { region, image });
        }
        control.report(1.0, started);
        let render_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let version = install.version.to_string();
        let mut outputs = Vec::with_capacity(seeds.len().max(1));
        let mut rest = regions.into_iter();
        for _ in 0..seeds.len().max(1) {
            outputs.push(RenderOutput {
                regions: rest.by_ref().take(asked.len()).collect(),
                render_ms,
                renderer: "blender".to_string(),
                renderer_version: version.clone(),
            });
        }
        Ok(outputs)
    }

    /// Runs one of the constant scripts with `spec` (written to `spec.json` in `run.work`): in
    /// `session` when given and it has `run.scene` open, else in a Blender process of its own.
    fn run_script(
        &self,
        run: &ScriptRun<'_>,
        spec: &impl serde::Serialize,
        control: &RenderControl,
        started: Instant,
        session: Option<&BlenderSession>,
    ) -> Result<process::Finished> {
        let spec_path = run.work.join("spec.json");
        let spec_json = serde_json::to_vec_pretty(spec).map_err(|error| {
            RenderError::invalid("scene", format!("not representable: {error}"))
        })?;
        std::fs::write(&spec_path, spec_json)
            .map_err(|error| RenderError::io(format!("writing {}", spec_path.display()), error))?;
        if let Some(session) = session.filter(|session| session.serves(run.scene, run.install)) {
            return session.run_command(run.script, &spec_path, control, started, run.regions);
        }
        let script_path = run.work.join(run.script.file_name());
        std::fs::write(&script_path, run.script.text()).map_err(|error| {
            RenderError::io(format!("writing {}", script_path.display()), error)
        })?;
        let mut command =
            self.blender_command(run.install, run.scene, &script_path, &spec_path, run.work);
        self.run_blender(&mut command, control, started, run.regions)
    }

    /// Runs one Blender process to its end (counted in [`Self::spawn_count`]), reporting progress
    /// over `regions` renders.
    fn run_blender(
        &self,
        command: &mut Command,
        control: &RenderControl,
        started: Instant,
        regions: usize,
    ) -> Result<process::Finished> {
        self.processes.spawns.fetch_add(1, Ordering::Relaxed);
        process::run(
            command,
            control,
            started,
            regions,
            |pid| self.processes.last_pid.store(pid, Ordering::Relaxed),
            |fraction| control.report(fraction, started),
        )
    }

    /// The canonical path of the operator's setup script, if one is configured.
    fn setup_script_path(&self) -> Result<Option<PathBuf>> {
        self.setup_script
            .as_deref()
            .map(|path| {
                std::fs::canonicalize(path).map_err(|error| {
                    RenderError::io(format!("setup script {}", path.display()), error)
                })
            })
            .transpose()
    }

    /// A fresh temporary folder for one Blender run (script, spec, outputs), removed when dropped.
    fn work_folder(&self) -> Result<tempfile::TempDir> {
        let base = self.work_dir.clone().unwrap_or_else(std::env::temp_dir);
        tempfile::Builder::new()
            .prefix("pictor-blender-")
            .tempdir_in(&base)
            .map_err(|error| {
                RenderError::io(format!("creating a folder in {}", base.display()), error)
            })
    }

    /// `blender -b --factory-startup -noaudio -Y --python-exit-code 1 [--threads N] [scene]
    /// --python <script> -- <spec>`, run in `work`, stdout and stderr piped (see the module docs).
    fn blender_command(
        &self,
        install: &BlenderInstall,
        scene: Option<&Path>,
        script_path: &Path,
        spec_path: &Path,
        work: &Path,
    ) -> Command {
        let mut command = Command::new(&install.path);
        command.args([
            "-b",
            "--factory-startup",
            "-noaudio",
            "-Y",
            "--python-exit-code",
            "1",
        ]);
        if let Some(threads) = self.threads {
            command.arg("--threads").arg(threads.to_string());
        }
        if let Some(scene) = scene {
            command.arg(scene);
        }
        command
            .arg("--python")
            .arg(script_path)
            .arg("--")
            .arg(spec_path)
            .current_dir(work)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }
}

impl BlenderRenderer {
    /// [`Renderer::render`], in `session` when it has the request's scene open.
    fn render_in(
        &self,
        request: &RenderRequest,
        control: &RenderControl,
        session: Option<&BlenderSession>,
    ) -> Result<RenderOutput> {
        let started = Instant::now();
        control.report(0.0, started);
        self.render_checked(request, &[], control, started, session)?
            .pop()
            .ok_or_else(|| RenderError::BlenderFailed {
                status: "no output".to_string(),
                last_lines: String::new(),
            })
    }

    /// [`Renderer::render_seeds`], in `session` when it has the request's scene open.
    fn render_seeds_in(
        &self,
        request: &RenderRequest,
        seeds: &[u64],
        control: &RenderControl,
        session: Option<&BlenderSession>,
    ) -> Result<Vec<RenderOutput>> {
        if seeds.is_empty() {
            return Ok(Vec::new());
        }
        let started = Instant::now();
        control.report(0.0, started);
        self.render_checked(request, seeds, control, started, session)
    }
}

/// One run of a constant script: which, with which Blender, on which scene, in which folder, and
/// how many renders it reports progress over.
pub(crate) struct ScriptRun<'a> {
    pub script: Script,
    pub install: &'a BlenderInstall,
    pub scene: Option<&'a Path>,
    pub work: &'a Path,
    pub regions: usize,
}

/// Pictor's constant Blender scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Script {
    /// `override.py`: linear renders of regions ([`script`]).
    Override,
    /// `finish.py`: a frame with the scene's own settings ([`finish`]).
    Finish,
    /// `refinish.py`: the scene's finishing of a frame's evidence ([`finish`]).
    Refinish,
}

impl Script {
    /// The script's text.
    pub fn text(self) -> &'static str {
        match self {
            Script::Override => script::OVERRIDE_SCRIPT,
            Script::Finish => finish::FINISH_SCRIPT,
            Script::Refinish => finish::REFINISH_SCRIPT,
        }
    }

    /// The name it is written under.
    pub fn file_name(self) -> &'static str {
        match self {
            Script::Override => "pictor_override.py",
            Script::Finish => "pictor_finish.py",
            Script::Refinish => "pictor_refinish.py",
        }
    }
}

impl Renderer for BlenderRenderer {
    fn name(&self) -> &str {
        "blender"
    }

    fn version(&self) -> Result<String> {
        Ok(self.install()?.version.to_string())
    }

    fn render(&self, request: &RenderRequest, control: &RenderControl) -> Result<RenderOutput> {
        self.render_in(request, control, None)
    }

    /// One Blender process keeps `scene` loaded for every call on it ([`BlenderSession`]).
    fn open_scene_session<'a>(&'a self, scene: &Path) -> Result<Option<Box<dyn Renderer + 'a>>> {
        Ok(Some(Box::new(self.open_session(scene)?)))
    }

    /// Renders one frame with the scene's own settings and lets Blender write it
    /// ([`finish`]): the deliverable, the evidence and the settings used.
    fn render_finished(
        &self,
        request: &finish::FinishRequest,
        control: &RenderControl,
    ) -> Result<finish::FinishedFrame> {
        self.finish_frame(request, control)
    }

    /// Runs the scene's finishing on a frame's evidence instead of a render
    /// ([`finish::RefinishRequest`]).
    fn refinish_frame(
        &self,
        request: &finish::RefinishRequest,
        control: &RenderControl,
    ) -> Result<finish::Refinished> {
        self.refinish(request, control, None)
    }

    /// All seeds in one Blender process (the scene is loaded once): the per-render seed is set
    /// before each border render.
    fn render_seeds(
        &self,
        request: &RenderRequest,
        seeds: &[u64],
        control: &RenderControl,
    ) -> Result<Vec<RenderOutput>> {
        self.render_seeds_in(request, seeds, control, None)
    }
}

/// Checks a scene file before Blender sees it: it exists (else [`RenderError::SceneNotFound`]) and
/// starts like a .blend — `BLENDER`, or gzip/zstd compressed (else [`RenderError::SceneInvalid`]).
/// Returns its canonical absolute path.
fn resolve_scene(path: &Path) -> Result<PathBuf> {
    let not_found = |reason: String| RenderError::SceneNotFound {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|error| not_found(error.to_string()))?;
    if !meta.is_file() {
        return Err(not_found("not a regular file".to_string()));
    }
    let mut magic = Vec::with_capacity(7);
    std::fs::File::open(path)
        .and_then(|file| file.take(7).read_to_end(&mut magic))
        .map_err(|error| not_found(error.to_string()))?;
    let is_blend = magic.starts_with(b"BLENDER")
        || magic.starts_with(&[0x1f, 0x8b])
        || magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    if !is_blend {
        return Err(RenderError::SceneInvalid {
            path: path.to_path_buf(),
            reason: "not a .blend file (no BLENDER, gzip or zstd header)".to_string(),
        });
    }
    std::fs::canonicalize(path).map_err(|error| not_found(error.to_string()))
}
