//! A Blender process that keeps one scene loaded for several calls: [`BlenderSession`].
//!
//! A checker verifies a frame with several Blender calls on one scene: the refinishing of a
//! faithful frame's evidence, the two preview references, the tile references of round 1 (and of
//! round 2 when it escalates). As separate processes, each pays Blender's start and the scene's
//! load (0.7 s for a small scene on a 2-core machine, far more for a production scene with
//! textures). A session starts Blender once with the scene and `session.py`, then sends each call
//! as one line on Blender's standard input:
//!
//! ```text
//! blender -b --factory-startup -noaudio -Y --python-exit-code 1 [--threads N] /abs/scene.blend \
//!         --python <tmp>/pictor_session.py -- <tmp>/session.json
//! stdin:  {"kind": "refinish", "spec": "/tmp/pictor-blender-Xa81/spec.json"}
//!         {"kind": "render", "spec": "/tmp/pictor-blender-Qm42/spec.json"}
//! ```
//!
//! Each call runs the same constant script (`override.py`, `refinish.py`) with the same JSON spec
//! as a call of its own process would, and answers with the same markers; the session waits for
//! `PICTOR_DONE` and leaves Blender running. A refinishing that follows a render reloads the scene
//! from its file first (the override script turns compositing and denoising off); renders need no
//! reload after a refinishing (the override script sets everything a refinishing changed). A
//! failed, cancelled or timed-out call ends the session (Blender is killed and reaped); later
//! calls are refused with an error. Dropping the session kills Blender and removes its folder.

use super::discover::BlenderInstall;
use super::finish::{FinishRequest, FinishedFrame, RefinishRequest, Refinished};
use super::process::{Finished, Running};
use super::{BlenderRenderer, Script, resolve_scene};
use crate::Renderer;
use crate::error::{RenderError, Result};
use crate::request::{RenderControl, RenderOutput, RenderRequest};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// The session script Blender runs (`--python`). A constant: the scene and the scripts it runs are
/// in its spec, each call's values in that call's spec.
pub const SESSION_SCRIPT: &str = include_str!("session.py");

/// What `session.py` reads.
#[derive(Serialize)]
struct SessionSpec {
    scene: PathBuf,
    #[serde(rename = "override")]
    override_script: PathBuf,
    refinish: PathBuf,
}

/// One line on the session's standard input.
#[derive(Serialize)]
struct Command<'a> {
    kind: &'a str,
    spec: &'a Path,
}

/// One Blender process with one scene loaded, serving [`Renderer`] calls on that scene (see the
/// module docs). Calls on another scene, and faithful renders, go to (a clone of) the
/// [`BlenderRenderer`] it came from. Calls are served one at a time. The session owns what it
/// needs: a checker keeps one open across the checks of a scene.
pub struct BlenderSession {
    renderer: BlenderRenderer,
    scene: PathBuf,
    install: BlenderInstall,
    running: Mutex<Option<Running>>,
    /// The session's scripts and spec; removed when the session is dropped.
    _work: tempfile::TempDir,
}

impl BlenderRenderer {
    /// Starts Blender with `scene` loaded and keeps it running for calls on that scene until the
    /// session is dropped ([`BlenderSession`]). Counts as one process in
    /// [`BlenderRenderer::spawn_count`]. Blender loads the scene while the caller goes on.
    pub fn open_session(&self, scene: &Path) -> Result<BlenderSession> {
        let scene = resolve_scene(scene)?;
        let install = self.install()?;
        let work = self.work_folder()?;
        let write = |script: Script| -> Result<PathBuf> {
            let path = work.path().join(script.file_name());
            std::fs::write(&path, script.text())
                .map_err(|error| RenderError::io(format!("writing {}", path.display()), error))?;
            Ok(path)
        };
        let spec = SessionSpec {
            scene: scene.clone(),
            override_script: write(Script::Override)?,
            refinish: write(Script::Refinish)?,
        };
        let script_path = work.path().join("pictor_session.py");
        let spec_path = work.path().join("session.json");
        let spec_json = serde_json::to_vec(&spec).map_err(|error| {
            RenderError::invalid("scene", format!("not representable: {error}"))
        })?;
        std::fs::write(&script_path, SESSION_SCRIPT)
            .and_then(|()| std::fs::write(&spec_path, spec_json))
            .map_err(|error| RenderError::io(format!("writing {}", spec_path.display()), error))?;
        let mut command = self.blender_command(
            &install,
            Some(&scene),
            &script_path,
            &spec_path,
            work.path(),
        );
        command.stdin(Stdio::piped());
        let running = Running::spawn(&mut command)?;
        self.processes.started(running.pid());
        Ok(BlenderSession {
            renderer: self.clone(),
            scene,
            install,
            running: Mutex::new(Some(running)),
            _work: work,
        })
    }
}

impl BlenderSession {
    /// The scene the session has loaded (canonical path).
    pub fn scene(&self) -> &Path {
        &self.scene
    }

    /// Whether the session has ended: an earlier call failed or was stopped, or its Blender has
    /// exited on its own (killed for memory, say). Later calls are refused.
    pub fn has_ended(&self) -> bool {
        let mut guard = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.as_mut().is_some_and(Running::has_exited)
            && let Some(running) = guard.take()
        {
            running.reap();
        }
        guard.is_none()
    }

    /// The Blender executable the session runs.
    pub fn executable(&self) -> &Path {
        &self.install.path
    }

    /// Whether a run on `scene` with `install` belongs in this session.
    pub(crate) fn serves(&self, scene: Option<&Path>, install: &BlenderInstall) -> bool {
        scene == Some(self.scene.as_path()) && *install == self.install
    }

    /// Runs `script` with the spec at `spec` in the session's Blender and waits for it to finish
    /// (`Finished::status` is `None` while Blender lives on). A call that fails, or is stopped by
    /// `control`, ends the session.
    pub(crate) fn run_command(
        &self,
        script: Script,
        spec: &Path,
        control: &RenderControl,
        started: Instant,
        regions: usize,
    ) -> Result<Finished> {
        let kind = match script {
            Script::Override => "render",
            Script::Refinish => "refinish",
            Script::Finish => {
                return Err(RenderError::invalid(
                    "script",
                    "faithful renders run in a Blender process of their own",
                ));
            }
        };
        let mut line = serde_json::to_vec(&Command { kind, spec })
            .map_err(|error| RenderError::invalid("spec", format!("not representable: {error}")))?;
        line.push(b'\n');
        let mut guard = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(running) = guard.as_mut() else {
            return Err(RenderError::BlenderFailed {
                status: "the Blender session has ended (an earlier call failed or was stopped)"
                    .to_string(),
                last_lines: String::new(),
            });
        };
        let sent = running
            .stdin()
            .is_some_and(|stdin| stdin.write_all(&line).and_then(|()| stdin.flush()).is_ok());
        let result = if sent {
            running.follow(control, started, regions, true, |fraction| {
                control.report(fraction, started)
            })
        } else {
            // Blender has gone (its standard input is closed): collect how it ended.
            running.follow(control, started, regions, false, |_| {})
        };
        if !matches!(&result, Ok(finished) if finished.status.is_none())
            && let Some(running) = guard.take()
        {
            running.reap();
        }
        result
    }
}

impl Drop for BlenderSession {
    fn drop(&mut self) {
        let running = self
            .running
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(running) = running {
            running.reap();
        }
    }
}

impl Renderer for BlenderSession {
    fn name(&self) -> &str {
        self.renderer.name()
    }

    fn version(&self) -> Result<String> {
        Ok(self.install.version.to_string())
    }

    fn render(&self, request: &RenderRequest, control: &RenderControl) -> Result<RenderOutput> {
        self.renderer.render_in(request, control, Some(self))
    }

    fn render_seeds(
        &self,
        request: &RenderRequest,
        seeds: &[u64],
        control: &RenderControl,
    ) -> Result<Vec<RenderOutput>> {
        self.renderer
            .render_seeds_in(request, seeds, control, Some(self))
    }

    fn render_finished(
        &self,
        request: &FinishRequest,
        control: &RenderControl,
    ) -> Result<FinishedFrame> {
        self.renderer.render_finished(request, control)
    }

    fn refinish_frame(
        &self,
        request: &RefinishRequest,
        control: &RenderControl,
    ) -> Result<Refinished> {
        self.renderer.refinish(request, control, Some(self))
    }
}
