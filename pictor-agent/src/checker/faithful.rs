//! Verifying a result Blender finished with the scene's settings (`output: scene`): for every
//! frame, the two checks of docs/VERIFICATION.md ("Faithful frames") with the checker's Blender of
//! the version that finished it.

use super::verification::{combine, evidence, frame_verifier, fresh_secret};
use anyhow::{Context, Result};
use pictor_core::api::{CheckLease, Verdict};
use pictor_render::{RenderControl, Renderer};
use pictor_verify::faithful::{FaithfulJob, FaithfulReport, verify_faithful_frame};
use pictor_verify::protocol::{Checker, ProtocolConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A faithful result's files: each frame's deliverable and evidence, the frames the task asked
/// for, and a folder for the refinished files.
pub(super) struct FaithfulFiles<'a> {
    pub frames: &'a [(u32, PathBuf)],
    pub evidence: &'a [PathBuf],
    pub expected: &'a [u32],
    pub work: &'a Path,
}

/// The two checks of docs/VERIFICATION.md ("Faithful frames") on every frame of a result Blender
/// finished with the scene's settings, combined like the frames of raw renders, with `blender`: the
/// checker's Blender of the version that finished the frames (if it has it).
pub(super) fn verify_faithful_frames(
    check: &CheckLease,
    main_file: &Path,
    backend: &str,
    blender: &dyn Renderer,
    files: &FaithfulFiles<'_>,
) -> Result<(Verdict, serde_json::Value)> {
    let FaithfulFiles {
        frames,
        evidence: evidence_files,
        expected,
        work,
    } = *files;
    let listed: Vec<u32> = frames.iter().map(|(f, _)| *f).collect();
    if listed != expected || evidence_files.len() != frames.len() {
        let reasons = vec![format!(
            "the result lists frames {listed:?} with {} evidence files where the task is {expected:?}",
            evidence_files.len()
        )];
        return Ok((Verdict::Reject, evidence(&[], &reasons)));
    }
    let verifier = frame_verifier(backend)?;
    // The network leases a finished result only to a checker with the Blender that finished it
    // (`CheckLeaseRequest::can_verify`); without one, the check escalates below.
    let own_version = blender.version().context("asking Blender its version")?;
    let checker = Checker {
        renderer: blender,
        verifier: verifier.as_ref(),
        secret: fresh_secret()?,
        config: ProtocolConfig::default(),
        control: RenderControl::with_timeout(Duration::from_secs(6 * 3600)),
    };
    let spec = &check.spec;
    let mut reports: Vec<FaithfulReport> = Vec::with_capacity(frames.len());
    let mut reasons = Vec::new();
    for (((frame, deliverable), evidence_file), output) in
        frames.iter().zip(evidence_files).zip(&check.outputs)
    {
        // The finishing is exact only on the Blender version that finished the frame.
        if output.renderer_version.as_deref() != Some(own_version.as_str()) {
            reasons.push(format!(
                "frame {frame}: ESCALATE: finished by Blender {}, this checker has Blender \
                 {own_version}; another checker must refinish it",
                output.renderer_version.as_deref().unwrap_or("(unknown)")
            ));
            let verdicts = vec![Verdict::Escalate];
            let evidence = serde_json::json!({ "frames": reports, "reasons": reasons });
            return Ok((combine(&verdicts), evidence));
        }
        let job = FaithfulJob {
            scene: main_file.to_path_buf(),
            frame: *frame,
            resolution: spec.resolution,
            samples: spec.samples,
            worker_seed: spec.seed.seed_for(*frame),
            engine: spec.renderer.engine,
            deliverable: deliverable.clone(),
            evidence: evidence_file.clone(),
            work_dir: work.to_path_buf(),
        };
        let report = verify_faithful_frame(&checker, &job)
            .map_err(anyhow::Error::new)
            .with_context(|| format!("verifying frame {frame}"))?;
        reasons.extend(report.reasons.iter().map(|r| format!("frame {frame}: {r}")));
        let rejected = report.verdict == Verdict::Reject;
        reports.push(report);
        if rejected {
            break;
        }
    }
    let verdicts: Vec<Verdict> = reports.iter().map(|r| r.verdict).collect();
    let evidence = serde_json::json!({ "frames": reports, "reasons": reasons });
    Ok((combine(&verdicts), evidence))
}
