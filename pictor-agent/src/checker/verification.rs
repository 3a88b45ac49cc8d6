//! Verifying one check: fetch the scene and the worker's outputs, run the protocol of
//! docs/VERIFICATION.md on each frame with this checker's renderer and secret seeds, and combine
//! the frames' verdicts into the task's, with the evidence.

use super::faithful::{FaithfulFiles, verify_faithful_frames};
use super::open_scene::{OpenScene, OpenSceneSlot};
use crate::cache::BlobCache;
use crate::scene::fetch_scene;
use anyhow::{Context, Result, bail};
use pictor_core::api::{CheckLease, CheckLeaseRequest, MAX_CHECKER_RENDERERS, Verdict};
use pictor_core::job::{RendererKind, Resolution, Version};
use pictor_core::task::TaskWork;
use pictor_render::blender::discover::BlenderInstall;
use pictor_render::{BlenderRenderer, BuiltinRenderer, RenderControl, Renderer};
use pictor_sdk::Client;
use pictor_verify::intake::{DuplicateIndex, IntakeSpec, intake};
use pictor_verify::protocol::{
    Checker, ProtocolConfig, ProtocolError, VerifyJob, VerifyReport, verify_frame_bytes,
};
use pictor_verify::region::{RegionRenderer, region_protocol};
use pictor_verify::{CpuVerifier, FrameVerifier};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The statistics backend `backend` names.
pub fn frame_verifier(backend: &str) -> Result<Box<dyn FrameVerifier>> {
    match backend.trim().to_ascii_lowercase().as_str() {
        "cpu" => Ok(Box::new(CpuVerifier)),
        #[cfg(feature = "vulkan")]
        "vulkan" => Ok(Box::new(
            pictor_verify::vulkan::VulkanVerifier::new()
                .context("--backend vulkan: opening a Vulkan device")?,
        )),
        #[cfg(not(feature = "vulkan"))]
        "vulkan" => bail!(
            "--backend vulkan: this pictor was built without the vulkan feature \
             (cargo build --features vulkan); use --backend cpu"
        ),
        other => bail!("unknown backend {other:?}: use cpu or vulkan"),
    }
}

/// The Blenders at `paths`, each asked its version (an error names the one that does not
/// answer); with no path, the Blender `PICTOR_BLENDER` or `PATH` names, or none.
pub(super) fn blender_installs(paths: &[PathBuf]) -> Result<Vec<BlenderInstall>> {
    if paths.is_empty() {
        return Ok(match BlenderRenderer::default().install() {
            Ok(install) => vec![install],
            Err(error) => {
                tracing::warn!(%error, "no Blender: this checker verifies built-in renders only");
                Vec::new()
            }
        });
    }
    paths
        .iter()
        .map(|path| {
            BlenderRenderer::with_executable(path)
                .install()
                .with_context(|| format!("blender {}", path.display()))
        })
        .collect()
}

/// What the checker declares when leasing: the built-in renderer and every Blender version it has
/// (the scene it has open, if any, is added per request).
pub(super) fn lease_request(installs: &[BlenderInstall]) -> CheckLeaseRequest {
    let builtin = BuiltinRenderer::default()
        .version()
        .ok()
        .and_then(|version| version.parse::<Version>().ok())
        .unwrap_or(Version::new(0, 1, 0));
    let mut renderers = vec![(RendererKind::Builtin, builtin)];
    for install in installs {
        let blender = (RendererKind::Blender, install.version);
        if !renderers.contains(&blender) {
            renderers.push(blender);
        }
    }
    renderers.truncate(MAX_CHECKER_RENDERERS);
    CheckLeaseRequest {
        renderers,
        open_scenes: Vec::new(),
    }
}

/// The Blender a check is verified with: for frames Blender finished with the scene's settings,
/// the version that finished them (else any, and the check escalates); for raw Blender renders,
/// the first. `None` for built-in renders.
fn blender_for_check(
    installs: &[BlenderInstall],
    check: &CheckLease,
) -> Result<Option<BlenderInstall>> {
    if check.spec.renderer.kind != RendererKind::Blender {
        return Ok(None);
    }
    let finished_by = check
        .outputs
        .iter()
        .find_map(|output| output.renderer_version.as_deref());
    let install = finished_by
        .and_then(|version| {
            installs
                .iter()
                .find(|install| install.version.to_string() == version)
        })
        .or_else(|| installs.first())
        .context("this checker has no Blender to verify with")?;
    Ok(Some(install.clone()))
}

/// Where a check's files go: the per-check folder (outputs and refinished files, removed after
/// the check) and the folder the scene is materialized in (kept while the scene stays open).
pub(super) struct CheckFolders<'a> {
    pub check: &'a Path,
    pub scene: &'a Path,
}

/// Fetches a check's scene and outputs (through the blob cache) and runs the protocol on them
/// with the checker's renderers; answers the verdict and its evidence. A Blender check uses the
/// scene `open` holds when it is this check's scene with this check's Blender, and leaves its own
/// scene open there afterwards; any other open scene is closed first.
pub(super) async fn verify_check(
    client: &Client,
    cache: &Arc<BlobCache>,
    folders: &CheckFolders<'_>,
    backend: &str,
    installs: &[BlenderInstall],
    open: &OpenSceneSlot,
    check: &CheckLease,
) -> Result<(Verdict, serde_json::Value)> {
    let blender = blender_for_check(installs, check)?;
    let (scene, session) = match &blender {
        // Built-in renders leave the open scene alone: their scene goes in the check's folder.
        None => (
            fetch_scene(
                client,
                cache,
                &check.spec.scene,
                &folders.check.join("scene"),
            )
            .await
            .context("fetching the scene")?,
            None,
        ),
        Some(install) => {
            // An open scene this check cannot use is closed here, before its folder is reused.
            match open
                .take()
                .filter(|kept| kept.serves(&check.spec.scene, install))
            {
                Some(kept) => (kept.files, Some(kept.session)),
                None => (
                    fetch_scene(client, cache, &check.spec.scene, folders.scene)
                        .await
                        .context("fetching the scene")?,
                    None,
                ),
            }
        }
    };
    let _pin = cache.pin(check.outputs.iter().flat_map(|o| {
        std::iter::once(o.hash.clone()).chain(o.evidence.iter().map(|e| e.hash.clone()))
    }));
    let mut frames = Vec::with_capacity(check.outputs.len());
    let mut evidence = Vec::with_capacity(check.outputs.len());
    for output in &check.outputs {
        let path = cache
            .fetch(client, &output.hash, output.size)
            .await
            .with_context(|| format!("downloading the output of frame {}", output.frame))?;
        frames.push((output.frame, path));
        if let Some(file) = &output.evidence {
            let path = cache
                .fetch(client, &file.hash, file.size)
                .await
                .with_context(|| format!("downloading the evidence of frame {}", output.frame))?;
            evidence.push(path);
        }
    }
    let expected = check.work.frames();
    let check = check.clone();
    let backend = backend.to_string();
    let work = folders.check.to_path_buf();
    let (verdict, kept) = tokio::task::spawn_blocking(move || {
        // Blender: the open scene's session, or one started now with the scene loaded (every
        // frame of the task, and later checks of the scene, in one process).
        let session = match (session, &blender) {
            (Some(session), _) => Some(session),
            (None, Some(install)) => Some(
                BlenderRenderer::with_install(install.clone())
                    .open_session(&scene.main_file)
                    .context("starting Blender")?,
            ),
            (None, None) => None,
        };
        let builtin = BuiltinRenderer::default();
        let renderer: &dyn Renderer = match &session {
            Some(session) => session,
            None => &builtin,
        };
        let main_file = scene.main_file.clone();
        let verdict = if check.spec.delivers_scene_output() {
            let files = FaithfulFiles {
                frames: &frames,
                evidence: &evidence,
                expected: &expected,
                work: &work,
            };
            verify_faithful_frames(&check, &main_file, &backend, renderer, &files)
        } else {
            verify_frames(&check, &main_file, &backend, renderer, &frames, &expected)
        }?;
        let kept = session.map(|session| OpenScene {
            asset: check.spec.scene.clone(),
            files: scene,
            session,
        });
        Ok::<_, anyhow::Error>((verdict, kept))
    })
    .await
    .context("the verifier panicked")??;
    if let Some(kept) = kept
        && !kept.session.has_ended()
    {
        open.keep(kept);
    }
    Ok(verdict)
}

/// Runs the protocol on every frame of the result and combines the verdicts: any reject rejects,
/// else any escalation escalates, else accept.
fn verify_frames(
    check: &CheckLease,
    main_file: &Path,
    backend: &str,
    renderer: &dyn Renderer,
    frames: &[(u32, PathBuf)],
    expected: &[u32],
) -> Result<(Verdict, serde_json::Value)> {
    let mut reasons: Vec<String> = Vec::new();
    let listed: Vec<u32> = frames.iter().map(|(f, _)| *f).collect();
    if listed != expected {
        reasons.push(format!(
            "the result lists frames {listed:?} where the task is {expected:?}"
        ));
        return Ok((Verdict::Reject, evidence(&[], &reasons)));
    }
    let spec = &check.spec;
    // A tile of a still is verified as a frame of its own: the region's size, its references
    // rendered at its exact bounds in the full frame (pictor_verify::region).
    let region = match &check.work {
        TaskWork::Tile { region, .. } => Some(*region),
        TaskWork::Frames { .. } => None,
    };
    let region_renderer = region.map(|region| {
        RegionRenderer::new(
            renderer,
            region,
            Resolution {
                width: spec.resolution.width,
                height: spec.resolution.height,
            },
        )
    });
    let renderer: &dyn Renderer = match &region_renderer {
        Some(tile) => tile,
        None => renderer,
    };
    let (width, height) = match region {
        Some(region) => (region.width, region.height),
        None => (spec.resolution.width, spec.resolution.height),
    };
    // Read every frame first: a frame that does not decode or has the wrong size is a bad output
    // (reject) whatever the other frames hold.
    let mut bytes_of = Vec::with_capacity(frames.len());
    let intake_spec = IntakeSpec {
        format: Some(spec.output),
        ..IntakeSpec::new(width, height)
    };
    for (frame, path) in frames {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        match intake(&bytes, &intake_spec) {
            Ok(_) => {}
            Err(error) => {
                reasons.push(format!("frame {frame}: {error}"));
                return Ok((Verdict::Reject, evidence(&[], &reasons)));
            }
        }
        bytes_of.push((*frame, bytes));
    }
    let verifier = frame_verifier(backend)?;
    let checker = Checker {
        renderer,
        verifier: verifier.as_ref(),
        secret: fresh_secret()?,
        config: if region.is_some() {
            region_protocol()
        } else {
            ProtocolConfig::default()
        },
        control: RenderControl::with_timeout(Duration::from_secs(6 * 3600)),
    };
    let mut reports: Vec<VerifyReport> = Vec::with_capacity(bytes_of.len());
    for (frame, bytes) in &bytes_of {
        // Duplicates are looked for among the task's other frames only.
        let mut others = DuplicateIndex::new();
        for (other, other_bytes) in &bytes_of {
            if other != frame
                && let Ok(taken) = intake(other_bytes, &intake_spec)
            {
                others.insert(*other, &taken.facts);
            }
        }
        let job = VerifyJob {
            scene: Some(main_file.to_path_buf()),
            frame: *frame,
            width,
            height,
            samples: spec.samples,
            worker_seed: spec.seed.seed_for(*frame),
            engine: spec.renderer.engine,
            format: Some(spec.output),
            scene_sampling: false,
        };
        match verify_frame_bytes(&checker, &job, bytes, &others) {
            Ok(report) => {
                for reason in &report.reasons {
                    reasons.push(format!("frame {frame}: {reason}"));
                }
                reports.push(report);
            }
            Err(ProtocolError::Intake(error)) => {
                reasons.push(format!("frame {frame}: {error}"));
                return Ok((Verdict::Reject, evidence(&reports, &reasons)));
            }
            Err(error) => {
                return Err(anyhow::Error::new(error).context(format!("verifying frame {frame}")));
            }
        }
    }
    let verdicts: Vec<Verdict> = reports.iter().map(|r| r.verdict).collect();
    Ok((combine(&verdicts), evidence(&reports, &reasons)))
}

/// Any reject rejects, else any escalation escalates, else accept.
pub(super) fn combine(verdicts: &[Verdict]) -> Verdict {
    if verdicts.contains(&Verdict::Reject) {
        Verdict::Reject
    } else if verdicts.contains(&Verdict::Escalate) {
        Verdict::Escalate
    } else {
        Verdict::Accept
    }
}

/// 32 bytes from the operating system: the checker's secret for one check's challenge.
pub(super) fn fresh_secret() -> Result<[u8; 32]> {
    use rand::TryRngCore;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut secret)
        .context("reading the operating system's random source")?;
    Ok(secret)
}

pub(super) fn evidence(reports: &[VerifyReport], reasons: &[String]) -> serde_json::Value {
    serde_json::json!({
        "frames": reports,
        "reasons": reasons,
    })
}
