//! What runs on a farm's node: `pictor farm exec <folder>` renders one leased task from its
//! folder on the farm's storage, and `pictor farm probe` reports a node's speed and renderers.
//!
//! A task folder holds `task.json` (the lease and the scene's main file, written by the adapter),
//! the scene, and what the node writes: `progress` (per mille), then `out/` with `result.json`
//! (files relative to the folder, render time) — or `error.txt` when the render failed. A requeued
//! job starts over: the node clears what an earlier run left.

use crate::executor::installed_renderers;
use crate::registration::{benchmark_builtin, renderers_found};
use crate::render_job::{RenderJob, RenderedFile};
use anyhow::{Context, Result, bail};
use pictor_core::api::TaskLease;
use pictor_core::job::{RendererKind, Version};
use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::Duration;

/// What the adapter leaves in a task's folder for the node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskFile {
    /// The lease, as the network gave it.
    pub lease: TaskLease,
    /// The scene's main file, relative to the folder.
    pub main_file: PathBuf,
    /// `builtin` or `blender`: the renderers the farm offers.
    pub renderer: String,
    /// The Blender executables on the nodes.
    pub blender: Vec<PathBuf>,
}

/// What a node wrote after rendering a task (`out/result.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeResult {
    /// Wall time of the render, in ms.
    pub render_ms: u64,
    /// The frames, in order.
    pub files: Vec<NodeFile>,
}

/// One rendered frame, its paths relative to the task's folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFile {
    /// The frame number.
    pub frame: u32,
    /// The deliverable.
    pub path: PathBuf,
    /// The scene's name for it (scene-output jobs).
    pub name: Option<String>,
    /// Its evidence (scene-output jobs).
    pub evidence: Option<PathBuf>,
    /// The Blender version that finished it (scene-output jobs).
    pub renderer_version: Option<String>,
}

/// A node's speed and renderers (`pictor farm probe --json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeProbe {
    /// Speed in thousandths of the reference machine.
    pub speed_millis: u32,
    /// The renderers and versions installed.
    pub renderers: Vec<(RendererKind, Version)>,
}

/// The files of a task's folder.
pub(crate) struct TaskFolder<'a>(pub(crate) &'a Path);

impl TaskFolder<'_> {
    pub(crate) fn task_file(&self) -> PathBuf {
        self.0.join("task.json")
    }
    pub(crate) fn progress(&self) -> PathBuf {
        self.0.join("progress")
    }
    fn out_dir(&self) -> PathBuf {
        self.0.join("out")
    }
    pub(crate) fn result(&self) -> PathBuf {
        self.out_dir().join("result.json")
    }
    pub(crate) fn error(&self) -> PathBuf {
        self.0.join("error.txt")
    }

    /// The render's progress the node last wrote (0 when none).
    pub(crate) fn read_progress(&self) -> u16 {
        std::fs::read_to_string(self.progress())
            .ok()
            .and_then(|text| text.trim().parse::<u16>().ok())
            .map_or(0, |permille| permille.min(1000))
    }

    /// Why the node's render failed, when it said.
    pub(crate) fn read_error(&self) -> Option<String> {
        std::fs::read_to_string(self.error())
            .ok()
            .map(|text| text.trim().chars().take(2_000).collect())
    }

    /// The node's result as files to upload; an error when there is none or it names a file
    /// outside the folder.
    pub(crate) fn read_result(&self) -> Result<(Vec<RenderedFile>, u64)> {
        let path = self.result();
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let result: NodeResult = serde_json::from_slice(&bytes)
            .with_context(|| format!("parsing {}", path.display()))?;
        let inside = |relative: &Path| -> Result<PathBuf> {
            if relative
                .components()
                .all(|component| matches!(component, Component::Normal(_)))
            {
                Ok(self.0.join(relative))
            } else {
                bail!(
                    "{} names {} outside the task's folder",
                    path.display(),
                    relative.display()
                )
            }
        };
        let mut files = Vec::with_capacity(result.files.len());
        for file in result.files {
            files.push(RenderedFile {
                frame: file.frame,
                path: inside(&file.path)?,
                name: file.name,
                evidence: file.evidence.as_deref().map(inside).transpose()?,
                renderer_version: file.renderer_version,
            });
        }
        Ok((files, result.render_ms))
    }
}

/// Renders the task in `folder` (`pictor farm exec`): writes its progress while it renders, then
/// `out/result.json`; on failure writes `error.txt` and answers the error.
pub fn exec_task(folder: &Path) -> Result<()> {
    let task_folder = TaskFolder(folder);
    for stale in [task_folder.error(), task_folder.progress()] {
        let _ = std::fs::remove_file(stale);
    }
    let _ = std::fs::remove_dir_all(task_folder.out_dir());
    let rendered = render_task(&task_folder);
    if let Err(error) = &rendered {
        let _ = std::fs::write(task_folder.error(), format!("{error:#}\n"));
    }
    rendered
}

fn render_task(folder: &TaskFolder<'_>) -> Result<()> {
    let bytes = std::fs::read(folder.task_file())
        .with_context(|| format!("reading {}", folder.task_file().display()))?;
    let task: TaskFile = serde_json::from_slice(&bytes).context("parsing task.json")?;
    let found = renderers_found(&task.renderer, &task.blender)?;
    let renderers = installed_renderers(found.blender);
    let progress = Arc::new(AtomicU16::new(0));
    let job = RenderJob {
        renderer: renderers(&task.lease.spec.renderer),
        spec: task.lease.spec.clone(),
        work: task.lease.work.clone(),
        main_file: folder.0.join(&task.main_file),
        out_dir: folder.out_dir(),
        progress: progress.clone(),
        cancel: pictor_render::CancelToken::new(),
    };
    let finished = Arc::new(AtomicBool::new(false));
    let reporter = {
        let (progress, finished, path) = (progress.clone(), finished.clone(), folder.progress());
        std::thread::spawn(move || {
            while !finished.load(Ordering::Relaxed) {
                let _ = std::fs::write(&path, progress.load(Ordering::Relaxed).to_string());
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    let rendered = job.render();
    finished.store(true, Ordering::Relaxed);
    let _ = reporter.join();
    let (files, render_ms) = rendered.map_err(anyhow::Error::msg)?;
    let relative = |path: &Path| -> Result<PathBuf> {
        path.strip_prefix(folder.0)
            .map(Path::to_path_buf)
            .with_context(|| format!("{} is outside the task's folder", path.display()))
    };
    let mut node_files = Vec::with_capacity(files.len());
    for file in files {
        node_files.push(NodeFile {
            frame: file.frame,
            path: relative(&file.path)?,
            name: file.name,
            evidence: file.evidence.as_deref().map(relative).transpose()?,
            renderer_version: file.renderer_version,
        });
    }
    let result = NodeResult {
        render_ms,
        files: node_files,
    };
    let json = serde_json::to_vec(&result).context("encoding the result")?;
    pictor_render::image::write_atomically(&folder.result(), &json)
        .with_context(|| format!("writing {}", folder.result().display()))?;
    let _ = std::fs::write(folder.progress(), "1000");
    Ok(())
}

/// This node's speed and renderers (`pictor farm probe`).
pub fn probe_node(renderer: &str, blender: &[PathBuf]) -> Result<NodeProbe> {
    let found = renderers_found(renderer, blender)?;
    let (speed_millis, _) = benchmark_builtin(64, 36, 16)?;
    Ok(NodeProbe {
        speed_millis,
        renderers: found.offered,
    })
}
