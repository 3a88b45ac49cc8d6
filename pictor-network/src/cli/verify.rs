//! `pictor verify`: run the whole checker protocol locally on one candidate frame, rendering the
//! checker's own references, and print the verdict with its evidence.

use super::render::{FrameArgs, RendererChoice};
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use pictor_core::job::Resolution;
use pictor_render::{BlenderRenderer, RenderControl};
use pictor_verify::display::{DisplayFrameJob, verify_display_frame};
use pictor_verify::faithful::{FaithfulJob, verify_faithful_frame};
use pictor_verify::intake::{DuplicateIndex, IntakeSpec, intake};
use pictor_verify::protocol::{
    Checker, ProtocolConfig, VerifyJob, VerifyReport, verify_frame_bytes,
};
use pictor_verify::{CpuVerifier, FrameVerifier};
use std::path::PathBuf;
use std::time::Duration;

/// Statistics backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendChoice {
    /// The CPU backend (rayon).
    Cpu,
    /// The Vulkan compute backend.
    Vulkan,
}

/// Arguments of `pictor verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    settings: FrameArgs,
    /// The candidate frame (.png 8/16-bit or .exr).
    #[arg(long)]
    image: PathBuf,
    /// Another frame of the same job, as NUMBER=FILE, for duplicate detection (repeatable).
    #[arg(long = "other", value_parser = parse_other)]
    others: Vec<(u32, PathBuf)>,
    /// Statistics backend.
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendChoice,
    /// A file holding the checker's secret, 64 hex digits (32 bytes), to repeat a verification;
    /// default: fresh random bytes. A file, not the command line, where `ps` would show it.
    #[arg(long)]
    secret_file: Option<PathBuf>,
    /// The frame was written by Blender with the scene's own settings (colour management,
    /// compositor, file format): it is checked against two references Blender renders and
    /// finishes the same way (two full renders). Needs `--renderer blender` and `--scene`.
    #[arg(long)]
    scene_settings: bool,
    /// The frame's evidence, as a Pictor worker delivers it beside a frame of an `output: scene`
    /// job (a multilayer OpenEXR): the frame must be the scene's finishing of it, and the
    /// evidence an honest render. Needs `--renderer blender` and `--scene`.
    #[arg(long)]
    evidence: Option<PathBuf>,
    /// Do not rerun escalations with more tiles.
    #[arg(long)]
    no_escalation: bool,
    /// Stop each reference render after this many seconds.
    #[arg(long, default_value_t = 3600)]
    timeout_secs: u64,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

fn parse_other(text: &str) -> Result<(u32, PathBuf), String> {
    let (number, path) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NUMBER=FILE"))?;
    let number = number
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("{number:?} is not a frame number"))?;
    if path.is_empty() {
        return Err("empty file name".into());
    }
    Ok((number, PathBuf::from(path)))
}

/// Parses a 64-hex-digit secret.
fn parse_secret(text: &str) -> Result<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("the secret must be 64 hex digits (32 bytes)");
    }
    let mut secret = [0u8; 32];
    for (i, byte) in secret.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
            .context("the secret must be 64 hex digits (32 bytes)")?;
    }
    Ok(secret)
}

/// 32 random bytes from the operating system (`/dev/urandom`).
fn random_secret() -> Result<[u8; 32]> {
    use std::io::Read;
    let mut secret = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut secret))
        .context("reading /dev/urandom for a checker secret (pass --secret-file instead)")?;
    Ok(secret)
}

/// The statistics backend `--backend` names.
fn frame_verifier(backend: BackendChoice) -> Result<Box<dyn FrameVerifier>> {
    match backend {
        BackendChoice::Cpu => Ok(Box::new(CpuVerifier)),
        #[cfg(feature = "vulkan")]
        BackendChoice::Vulkan => Ok(Box::new(
            pictor_verify::vulkan::VulkanVerifier::new()
                .context("--backend vulkan: opening a Vulkan device")?,
        )),
        #[cfg(not(feature = "vulkan"))]
        BackendChoice::Vulkan => bail!(
            "--backend vulkan: this pictor was built without the vulkan feature \
             (cargo build --features vulkan); use --backend cpu"
        ),
    }
}

/// Runs `pictor verify`.
pub fn run(args: VerifyArgs) -> Result<()> {
    let verifier = frame_verifier(args.backend)?;
    let secret = match &args.secret_file {
        Some(path) => parse_secret(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading --secret-file {}", path.display()))?,
        )?,
        None => random_secret()?,
    };
    if args.scene_settings || args.evidence.is_some() {
        return run_scene_settings(&args, verifier.as_ref(), secret);
    }
    let bytes =
        std::fs::read(&args.image).with_context(|| format!("reading {}", args.image.display()))?;
    let mut others = DuplicateIndex::new();
    for (number, path) in &args.others {
        let other_bytes =
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let other = intake(
            &other_bytes,
            &IntakeSpec::new(args.settings.width, args.settings.height),
        )
        .with_context(|| format!("{} (frame {number})", path.display()))?;
        others.insert(*number, &other.facts);
    }
    let job = VerifyJob {
        scene: args.settings.scene.clone(),
        frame: args.settings.frame,
        width: args.settings.width,
        height: args.settings.height,
        samples: args.settings.samples,
        worker_seed: args.settings.seed,
        engine: None,
        format: None,
        scene_sampling: false,
    };
    let renderer = args.settings.renderer.renderer();
    let checker = Checker {
        renderer: renderer.as_ref(),
        verifier: verifier.as_ref(),
        secret,
        config: ProtocolConfig {
            escalate: !args.no_escalation,
            ..ProtocolConfig::default()
        },
        control: RenderControl::with_timeout(Duration::from_secs(args.timeout_secs)),
    };
    let report = verify_frame_bytes(&checker, &job, &bytes, &others)
        .with_context(|| format!("verifying {}", args.image.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_summary(&report);
    }
    Ok(())
}

/// `--scene-settings` / `--evidence`: a frame Blender finished with the scene's settings.
fn run_scene_settings(
    args: &VerifyArgs,
    verifier: &dyn FrameVerifier,
    secret: [u8; 32],
) -> Result<()> {
    let settings = &args.settings;
    if settings.renderer != RendererChoice::Blender {
        bail!("--scene-settings and --evidence verify Blender frames: add --renderer blender");
    }
    let Some(scene) = settings.scene.clone() else {
        bail!("--scene-settings and --evidence need the frame's --scene (.blend)");
    };
    let renderer = BlenderRenderer::default();
    let checker = Checker {
        renderer: &renderer,
        verifier,
        secret,
        config: ProtocolConfig {
            escalate: !args.no_escalation,
            ..ProtocolConfig::default()
        },
        control: RenderControl::with_timeout(Duration::from_secs(args.timeout_secs)),
    };
    let work = tempfile::tempdir().context("creating a temporary folder")?;
    let resolution = Resolution {
        width: settings.width,
        height: settings.height,
    };
    let (verdict, reasons, report) = match &args.evidence {
        Some(evidence) => {
            let job = FaithfulJob {
                scene,
                frame: settings.frame,
                resolution,
                samples: settings.samples,
                worker_seed: settings.seed,
                engine: None,
                deliverable: args.image.clone(),
                evidence: evidence.clone(),
                work_dir: work.path().to_path_buf(),
            };
            let report = verify_faithful_frame(&checker, &job)
                .with_context(|| format!("verifying {}", args.image.display()))?;
            (
                report.verdict,
                report.reasons.clone(),
                serde_json::to_value(&report)?,
            )
        }
        None => {
            let job = DisplayFrameJob {
                scene,
                frame: settings.frame,
                resolution,
                samples: settings.samples,
                seed: Some(settings.seed),
                engine: None,
                image: args.image.clone(),
                work_dir: work.path().to_path_buf(),
            };
            let report = verify_display_frame(&checker, &job)
                .with_context(|| format!("verifying {}", args.image.display()))?;
            (
                report.verdict,
                report.reasons.clone(),
                serde_json::to_value(&report)?,
            )
        }
    };
    if args.json {
        println!("{report}");
    } else {
        let verdict = serde_json::to_value(verdict)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{verdict:?}"));
        println!("{verdict}");
        for reason in &reasons {
            println!("  {reason}");
        }
    }
    Ok(())
}

fn print_summary(report: &VerifyReport) {
    let verdict = serde_json::to_value(report.verdict)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{:?}", report.verdict));
    println!(
        "{verdict}: {} tiles, {} round(s), checker render {} ms, verify {} ms, backend {}, renderer {}",
        report.tiles,
        report.rounds.len(),
        report.checker_render_ms,
        report.verify_ms,
        report.backend,
        report.renderer
    );
    if let Some(stats) = &report.stats {
        println!(
            "  Q = {:.3}, z exceedances = {}, max |T_B| = {:.2}, noise ratio = {:.3}, ρ(e)−ρ(d) = {:.3}",
            stats.q, stats.z_exceed, stats.t_max, stats.noise_ratio, stats.rho_diff
        );
    }
    for reason in &report.reasons {
        println!("  {reason}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_others_parse() {
        assert_eq!(parse_secret(&"ab".repeat(32)).ok(), Some([0xab; 32]));
        assert!(parse_secret("abc").is_err());
        assert!(parse_secret(&"zz".repeat(32)).is_err());
        assert_eq!(parse_other("3=a.png"), Ok((3, PathBuf::from("a.png"))));
        assert!(parse_other("a.png").is_err());
        assert!(parse_other("x=a.png").is_err());
    }
}
