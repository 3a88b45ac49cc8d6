//! `JobSpec`: everything a creator says about a render job, and its validation.

use super::frame_set::FrameSet;
use super::upscale::UpscaleSpec;
use crate::error::{Error, Result};
use crate::ids::AssetId;
use crate::money::Money;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// Largest width or height in pixels.
pub const MAX_DIMENSION: u32 = 32_768;
/// Largest pixel count of one frame (16K × 16K).
pub const MAX_PIXELS: u64 = 16_384 * 16_384;
/// Most samples per pixel.
pub const MAX_SAMPLES: u32 = 1 << 20;
/// Most tags on a job.
pub const MAX_TAGS: usize = 32;
/// Longest tag.
pub const MAX_TAG_LEN: usize = 64;
/// Longest job name, in characters.
pub const MAX_NAME_CHARS: usize = 120;

/// Which program renders the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RendererKind {
    /// Blender, run headless.
    Blender,
    /// Pictor's built-in deterministic path tracer (the embedded default).
    Builtin,
    /// Not a renderer: an AI upscale of the asset's images (one per frame) by the models the
    /// job's [`JobSpec::upscale`] pins.
    Upscale,
}

impl RendererKind {
    /// The extension of the scene files this renderer reads: `blend` for Blender, `toml` for the
    /// built-in renderer's scene description, `png` for an upscale (which also reads JPEG and
    /// EXR images: see [`super::upscale::is_upscale_input`]).
    pub const fn scene_extension(self) -> &'static str {
        match self {
            RendererKind::Blender => "blend",
            RendererKind::Builtin => "toml",
            RendererKind::Upscale => "png",
        }
    }

    /// True when this renderer can read `main_file` (by its extension, case-insensitively).
    pub fn reads_main_file(self, main_file: &str) -> bool {
        if self == RendererKind::Upscale {
            return super::upscale::is_upscale_input(main_file);
        }
        main_file
            .rsplit_once('.')
            .is_some_and(|(_, extension)| extension.eq_ignore_ascii_case(self.scene_extension()))
    }

    /// The renderer whose scenes look like `main_file`: a `.blend` is Blender's, a `.toml` the
    /// built-in renderer's, an image an upscale's; `None` for anything else.
    pub fn for_main_file(main_file: &str) -> Option<RendererKind> {
        [
            RendererKind::Blender,
            RendererKind::Builtin,
            RendererKind::Upscale,
        ]
        .into_iter()
        .find(|kind| kind.reads_main_file(main_file))
    }
}

impl fmt::Display for RendererKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RendererKind::Blender => "blender",
            RendererKind::Builtin => "builtin",
            RendererKind::Upscale => "upscale",
        })
    }
}

impl FromStr for RendererKind {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        match text {
            "blender" => Ok(RendererKind::Blender),
            "builtin" => Ok(RendererKind::Builtin),
            "upscale" => Ok(RendererKind::Upscale),
            other => Err(Error::invalid(
                "renderer",
                format!("{other:?}: expected blender, builtin or upscale"),
            )),
        }
    }
}

/// Blender's render engines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Cycles, the path tracer (bit-reproducible on CPU with a fixed seed).
    Cycles,
    /// Eevee, the rasteriser.
    Eevee,
}

/// A renderer version `major.minor.patch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Version {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

impl Version {
    /// `major.minor.patch`.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Version {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for Version {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let bad = || Error::invalid("renderer.version", format!("{text:?} is not a version"));
        let mut numbers = text.trim().split('.').map(|n| n.parse::<u32>().ok());
        let major = numbers.next().flatten().ok_or_else(bad)?;
        let minor = numbers.next().unwrap_or(Some(0)).ok_or_else(bad)?;
        let patch = numbers.next().unwrap_or(Some(0)).ok_or_else(bad)?;
        if numbers.next().is_some() {
            return Err(bad());
        }
        Ok(Version::new(major, minor, patch))
    }
}

/// Which renderer versions a job accepts: `*`, `>=3.6`, `=3.4.1`, or `3.6` (any 3.6.x).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum VersionConstraint {
    /// Any version.
    Any,
    /// This version or newer.
    AtLeast(Version),
    /// Exactly this version.
    Exactly(Version),
    /// Any patch release of `major.minor`.
    SameMinor {
        /// Major version.
        major: u32,
        /// Minor version.
        minor: u32,
    },
}

impl VersionConstraint {
    /// True when `version` satisfies the constraint.
    pub fn matches(&self, version: Version) -> bool {
        match *self {
            VersionConstraint::Any => true,
            VersionConstraint::AtLeast(min) => version >= min,
            VersionConstraint::Exactly(exact) => version == exact,
            VersionConstraint::SameMinor { major, minor } => {
                version.major == major && version.minor == minor
            }
        }
    }
}

impl fmt::Display for VersionConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionConstraint::Any => f.write_str("*"),
            VersionConstraint::AtLeast(v) => write!(f, ">={v}"),
            VersionConstraint::Exactly(v) => write!(f, "={v}"),
            VersionConstraint::SameMinor { major, minor } => write!(f, "{major}.{minor}"),
        }
    }
}

impl FromStr for VersionConstraint {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let text = text.trim();
        if text == "*" || text.is_empty() {
            Ok(VersionConstraint::Any)
        } else if let Some(rest) = text.strip_prefix(">=") {
            Ok(VersionConstraint::AtLeast(rest.parse()?))
        } else if let Some(rest) = text.strip_prefix('=') {
            Ok(VersionConstraint::Exactly(rest.parse()?))
        } else {
            let version: Version = text.parse()?;
            if text.matches('.').count() != 1 {
                return Err(Error::invalid(
                    "renderer.version",
                    format!("{text:?}: write major.minor, >=X.Y, =X.Y.Z or *"),
                ));
            }
            Ok(VersionConstraint::SameMinor {
                major: version.major,
                minor: version.minor,
            })
        }
    }
}

impl TryFrom<String> for VersionConstraint {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

impl From<VersionConstraint> for String {
    fn from(constraint: VersionConstraint) -> String {
        constraint.to_string()
    }
}

/// Which renderer, engine and versions a job needs; only workers with a matching renderer
/// installed lease its tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RendererSpec {
    /// Blender or the built-in path tracer.
    pub kind: RendererKind,
    /// Blender's engine; `None` for the built-in renderer (or the scene's own setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    /// Accepted versions.
    #[serde(default = "any_version")]
    pub version: VersionConstraint,
}

fn any_version() -> VersionConstraint {
    VersionConstraint::Any
}

impl Default for RendererSpec {
    fn default() -> Self {
        RendererSpec {
            kind: RendererKind::Builtin,
            engine: None,
            version: VersionConstraint::Any,
        }
    }
}

/// Output image size in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Resolution {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Resolution {
    /// Pixels in one frame.
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// Checks both sides are in `1..=MAX_DIMENSION` and the frame is at most [`MAX_PIXELS`].
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [
            ("resolution.width", self.width),
            ("resolution.height", self.height),
        ] {
            if value == 0 || value > MAX_DIMENSION {
                return Err(Error::invalid(
                    field,
                    format!("{value} is outside 1..={MAX_DIMENSION}"),
                ));
            }
        }
        if self.pixels() > MAX_PIXELS {
            return Err(Error::invalid(
                "resolution",
                format!("{}×{} exceeds {MAX_PIXELS} pixels", self.width, self.height),
            ));
        }
        Ok(())
    }
}

/// How the Monte Carlo seed is chosen per frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", tag = "mode", content = "seed")]
pub enum SeedPolicy {
    /// The same seed on every frame (noise pattern stays put: good for stills).
    Fixed(u64),
    /// A seed derived from the base and the frame number (animated noise, less visible in motion).
    PerFrame(u64),
}

impl SeedPolicy {
    /// The seed to render `frame` with.
    pub fn seed_for(&self, frame: u32) -> u64 {
        match *self {
            SeedPolicy::Fixed(seed) => seed,
            SeedPolicy::PerFrame(base) => base.wrapping_add(u64::from(frame)),
        }
    }
}

impl Default for SeedPolicy {
    fn default() -> Self {
        SeedPolicy::Fixed(0)
    }
}

/// Output image format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// The scene's own output settings (a Blender job's default): Blender writes the file format,
    /// bit depth, codec and colour management the .blend names. The built-in renderer, which has
    /// no such settings, writes an 8-bit sRGB PNG.
    Scene,
    /// 8-bit sRGB PNG.
    Png8,
    /// 16-bit sRGB PNG.
    Png16,
    /// OpenEXR, linear half/float.
    Exr,
}

impl OutputFormat {
    /// The file extension, without the dot. For [`OutputFormat::Scene`] it is the built-in
    /// renderer's `png`; a Blender output names its own file ([`crate::api::TaskOutput::name`]).
    pub fn extension(&self) -> &'static str {
        match self {
            OutputFormat::Scene | OutputFormat::Png8 | OutputFormat::Png16 => "png",
            OutputFormat::Exr => "exr",
        }
    }
}

impl OutputFormat {
    /// The format of a frame Pictor encodes itself (the built-in renderer, raw renders):
    /// [`OutputFormat::Scene`] means an 8-bit sRGB PNG there, every other format itself.
    pub fn encoded(self) -> OutputFormat {
        match self {
            OutputFormat::Scene => OutputFormat::Png8,
            other => other,
        }
    }
}

impl FromStr for OutputFormat {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        match text {
            "scene" => Ok(OutputFormat::Scene),
            "png" | "png8" => Ok(OutputFormat::Png8),
            "png16" => Ok(OutputFormat::Png16),
            "exr" => Ok(OutputFormat::Exr),
            other => Err(Error::invalid(
                "output",
                format!("{other:?}: expected scene, png, png16 or exr"),
            )),
        }
    }
}

/// How a job is cut into tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum SplitMode {
    /// Consecutive frames (in frame order), `frames_per_task` at a time.
    FrameChunks {
        /// Frames in each task (the last task may hold fewer).
        frames_per_task: u32,
    },
    /// A single still cut into tiles of at most `tile_width × tile_height` pixels, merged after.
    Tiles {
        /// Tile width in pixels.
        tile_width: u32,
        /// Tile height in pixels.
        tile_height: u32,
    },
}

impl Default for SplitMode {
    fn default() -> Self {
        SplitMode::FrameChunks { frames_per_task: 1 }
    }
}

/// Service tier: a price multiplier and a scheduling priority.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Cheapest capacity, whenever it is free.
    Economy,
    /// The default tier: the base price (×1 unless configured), dispatched after priority jobs.
    #[default]
    Standard,
    /// Fastest reliable capacity first.
    Priority,
}

impl Tier {
    /// All tiers, cheapest first.
    pub const ALL: [Tier; 3] = [Tier::Economy, Tier::Standard, Tier::Priority];

    /// The tier's weight in fair-share entitlement.
    pub fn share_weight(&self) -> u32 {
        match self {
            Tier::Economy => 1,
            Tier::Standard => 2,
            Tier::Priority => 4,
        }
    }
}

impl FromStr for Tier {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        match text {
            "economy" => Ok(Tier::Economy),
            "standard" => Ok(Tier::Standard),
            "priority" => Ok(Tier::Priority),
            other => Err(Error::invalid(
                "tier",
                format!("{other:?}: expected economy, standard or priority"),
            )),
        }
    }
}

/// GPU makers a job may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum GpuVendor {
    /// NVIDIA.
    Nvidia,
    /// AMD.
    Amd,
    /// Intel.
    Intel,
    /// Apple silicon.
    Apple,
    /// A CPU-only worker (software rendering).
    Cpu,
}

/// What hardware a worker needs to take the job's tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HardwareRequirements {
    /// Minimum GPU memory in MiB (0: no minimum).
    #[serde(default)]
    pub min_vram_mib: u32,
    /// Required GPU maker, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_vendor: Option<GpuVendor>,
}

/// A render job as the creator describes it.
///
/// ```
/// use pictor_core::{AssetId, JobSpec};
/// let spec = JobSpec::builder(AssetId::of_bytes(b"scene"), "1-24".parse()?)
///     .resolution(1920, 1080)
///     .samples(128)
///     .build()?;
/// assert_eq!(spec.frames.len(), 24);
/// assert!(JobSpec::builder(AssetId::of_bytes(b"scene"), "1".parse()?).samples(0).build().is_err());
/// # Ok::<(), pictor_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct JobSpec {
    /// What the creator calls the job (`Shot 010, final`), shown in lists and searched by; any
    /// text of 1–120 characters without control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The uploaded scene (manifest hash).
    pub scene: AssetId,
    /// Renderer and version constraint.
    #[serde(default)]
    pub renderer: RendererSpec,
    /// Frames to render.
    pub frames: FrameSet,
    /// Output size.
    pub resolution: Resolution,
    /// Samples per pixel.
    pub samples: u32,
    /// Seed policy.
    #[serde(default)]
    pub seed: SeedPolicy,
    /// Output: the scene's own settings ([`OutputFormat::Scene`], Blender jobs only), or a linear
    /// render Pictor encodes.
    pub output: OutputFormat,
    /// How the job is cut into tasks.
    #[serde(default)]
    pub split: SplitMode,
    /// Service tier.
    #[serde(default)]
    pub tier: Tier,
    /// Most the creator will pay, if capped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_cap: Option<Money>,
    /// Seconds after submission by which the job should finish, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_secs: Option<u64>,
    /// Hardware a worker needs.
    #[serde(default)]
    pub requirements: HardwareRequirements,
    /// Free-form labels (`[A-Za-z0-9_.:-]`, at most 32 of 64 characters).
    #[serde(default)]
    pub tags: BTreeSet<String>,
    /// The upscale's computation, for a job whose renderer is [`RendererKind::Upscale`] (and
    /// only for one): its `samples` are 1 and its output PNG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upscale: Option<UpscaleSpec>,
}

impl JobSpec {
    /// A builder with defaults: builtin renderer, 640×360, 64 samples, one frame per task, and as
    /// output the scene's own settings for a Blender job (PNG 8-bit for a built-in one, or for a
    /// still cut into tiles) unless [`JobSpecBuilder::output`] names one.
    pub fn builder(scene: AssetId, frames: FrameSet) -> JobSpecBuilder {
        JobSpecBuilder {
            spec: JobSpec {
                name: None,
                scene,
                renderer: RendererSpec::default(),
                frames,
                resolution: Resolution {
                    width: 640,
                    height: 360,
                },
                samples: 64,
                seed: SeedPolicy::default(),
                output: OutputFormat::Png8,
                split: SplitMode::default(),
                tier: Tier::default(),
                budget_cap: None,
                deadline_secs: None,
                requirements: HardwareRequirements::default(),
                tags: BTreeSet::new(),
                upscale: None,
            },
            output_chosen: false,
        }
    }

    /// True when Blender finishes and writes the frames with the scene's own settings
    /// ([`OutputFormat::Scene`] on a Blender job): each frame then comes with its evidence and the
    /// file name the scene gives it.
    pub fn delivers_scene_output(&self) -> bool {
        self.renderer.kind == RendererKind::Blender && self.output == OutputFormat::Scene
    }

    /// The work of one frame in the reference machine's samples × pixels: pixels × samples for a
    /// render, every model pass's share for an upscale
    /// ([`UpscaleSpec::samples_px_per_frame`]).
    pub fn samples_px_per_frame(&self) -> u64 {
        match &self.upscale {
            Some(upscale) => upscale.samples_px_per_frame(),
            None => self
                .resolution
                .pixels()
                .saturating_mul(u64::from(self.samples)),
        }
    }

    /// Checks an upscale job's own rules: its [`UpscaleSpec`] present exactly when the renderer
    /// is [`RendererKind::Upscale`], one sample, PNG output, tiles of whole output tiles.
    fn validate_upscale(&self) -> Result<()> {
        let upscale = match (&self.upscale, self.renderer.kind) {
            (None, RendererKind::Upscale) => {
                return Err(Error::invalid(
                    "upscale",
                    "an upscale job needs its upscale settings (factor, models, input size)",
                ));
            }
            (None, _) => return Ok(()),
            (Some(_), kind) if kind != RendererKind::Upscale => {
                return Err(Error::invalid(
                    "upscale",
                    format!("upscale settings belong to an upscale job, not a {kind} render"),
                ));
            }
            (Some(upscale), _) => upscale,
        };
        upscale.validate(self.resolution)?;
        if self.samples != 1 {
            return Err(Error::invalid(
                "samples",
                "an upscale has no samples: leave them at 1",
            ));
        }
        if !matches!(self.output, OutputFormat::Png8 | OutputFormat::Png16) {
            return Err(Error::invalid(
                "output",
                "an upscale writes png (8-bit) or png16",
            ));
        }
        if self.renderer.engine.is_some() {
            return Err(Error::invalid(
                "renderer.engine",
                "an upscale has no engine choice",
            ));
        }
        if let SplitMode::Tiles {
            tile_width,
            tile_height,
        } = self.split
        {
            let unit = upscale.output_tile();
            if unit == 0 || tile_width % unit != 0 || tile_height % unit != 0 {
                return Err(Error::invalid(
                    "split.tile_width",
                    format!(
                        "an upscale's tasks are whole output tiles: tile sides must be multiples \
                         of {unit} (the last pass's {}-pixel tile times its scale)",
                        upscale.tile
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks every field; the error names the first bad one. Run at every boundary that accepts a spec.
    pub fn validate(&self) -> Result<()> {
        self.resolution.validate()?;
        self.validate_upscale()?;
        if self.samples == 0 || self.samples > MAX_SAMPLES {
            return Err(Error::invalid(
                "samples",
                format!("{} is outside 1..={MAX_SAMPLES}", self.samples),
            ));
        }
        if self.frames.is_empty() {
            return Err(Error::invalid("frames", "no frames given"));
        }
        match self.split {
            SplitMode::FrameChunks { frames_per_task } => {
                if frames_per_task == 0 {
                    return Err(Error::invalid(
                        "split.frames_per_task",
                        "must be at least 1",
                    ));
                }
            }
            SplitMode::Tiles {
                tile_width,
                tile_height,
            } => {
                if self.frames.len() != 1 {
                    return Err(Error::invalid(
                        "split",
                        "tiles split a single still; use frame chunks for an animation",
                    ));
                }
                if self.delivers_scene_output() {
                    return Err(Error::invalid(
                        "output",
                        "a still cut into tiles cannot be finished with the scene's settings \
                         (the compositor and the denoiser look across tile borders): \
                         choose png, png16 or exr for tiles, or render the still whole",
                    ));
                }
                if tile_width == 0 || tile_height == 0 {
                    return Err(Error::invalid(
                        "split.tile_width",
                        "tile sides must be at least 1 pixel",
                    ));
                }
                if tile_width > self.resolution.width || tile_height > self.resolution.height {
                    return Err(Error::invalid(
                        "split.tile_width",
                        "a tile cannot be larger than the frame",
                    ));
                }
                let tiles = u64::from(self.resolution.width.div_ceil(tile_width))
                    * u64::from(self.resolution.height.div_ceil(tile_height));
                if tiles > crate::task::MAX_TASKS_PER_JOB as u64 {
                    return Err(Error::invalid(
                        "split",
                        format!(
                            "{tiles} tiles; at most {} tasks per job",
                            crate::task::MAX_TASKS_PER_JOB
                        ),
                    ));
                }
            }
        }
        if self.renderer.kind == RendererKind::Builtin && self.renderer.engine.is_some() {
            return Err(Error::invalid(
                "renderer.engine",
                "the built-in renderer has no engine choice",
            ));
        }
        if self.budget_cap == Some(Money::ZERO) {
            return Err(Error::invalid(
                "budget_cap",
                "a budget of zero buys nothing",
            ));
        }
        if self.deadline_secs == Some(0) {
            return Err(Error::invalid("deadline_secs", "must be in the future"));
        }
        if let Some(name) = &self.name {
            let characters = name.chars().count();
            if name.trim().is_empty()
                || characters > MAX_NAME_CHARS
                || name.chars().any(char::is_control)
            {
                return Err(Error::invalid(
                    "name",
                    format!("1–{MAX_NAME_CHARS} characters, none of them control characters"),
                ));
            }
        }
        if self.tags.len() > MAX_TAGS {
            return Err(Error::invalid(
                "tags",
                format!("{} tags; at most {MAX_TAGS}", self.tags.len()),
            ));
        }
        for tag in &self.tags {
            let ok = !tag.is_empty()
                && tag.len() <= MAX_TAG_LEN
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
            if !ok {
                return Err(Error::invalid(
                    "tags",
                    format!("{tag:?}: 1–{MAX_TAG_LEN} characters of A-Z a-z 0-9 _ . : -"),
                ));
            }
        }
        Ok(())
    }
}

/// Builds a [`JobSpec`]; `build()` validates it.
#[derive(Clone, Debug)]
#[must_use]
pub struct JobSpecBuilder {
    spec: JobSpec,
    /// Whether [`JobSpecBuilder::output`] was called: if not, a Blender job gets
    /// [`OutputFormat::Scene`] and a built-in one PNG 8-bit.
    output_chosen: bool,
}

impl JobSpecBuilder {
    /// The job's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.spec.name = Some(name.into());
        self
    }
    /// Renderer kind (builtin by default).
    pub fn renderer(mut self, kind: RendererKind) -> Self {
        self.spec.renderer.kind = kind;
        self
    }
    /// Blender engine.
    pub fn engine(mut self, engine: Engine) -> Self {
        self.spec.renderer.engine = Some(engine);
        self
    }
    /// Renderer version constraint.
    pub fn renderer_version(mut self, version: VersionConstraint) -> Self {
        self.spec.renderer.version = version;
        self
    }
    /// Output size.
    pub fn resolution(mut self, width: u32, height: u32) -> Self {
        self.spec.resolution = Resolution { width, height };
        self
    }
    /// Samples per pixel.
    pub fn samples(mut self, samples: u32) -> Self {
        self.spec.samples = samples;
        self
    }
    /// Seed policy.
    pub fn seed(mut self, seed: SeedPolicy) -> Self {
        self.spec.seed = seed;
        self
    }
    /// Output format.
    pub fn output(mut self, output: OutputFormat) -> Self {
        self.spec.output = output;
        self.output_chosen = true;
        self
    }
    /// Split mode.
    pub fn split(mut self, split: SplitMode) -> Self {
        self.spec.split = split;
        self
    }
    /// Tier.
    pub fn tier(mut self, tier: Tier) -> Self {
        self.spec.tier = tier;
        self
    }
    /// Budget cap.
    pub fn budget_cap(mut self, cap: Money) -> Self {
        self.spec.budget_cap = Some(cap);
        self
    }
    /// Deadline in seconds after submission.
    pub fn deadline_secs(mut self, seconds: u64) -> Self {
        self.spec.deadline_secs = Some(seconds);
        self
    }
    /// Hardware requirements.
    pub fn requirements(mut self, requirements: HardwareRequirements) -> Self {
        self.spec.requirements = requirements;
        self
    }
    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.spec.tags.insert(tag.into());
        self
    }
    /// Makes the job an upscale of the asset's images: the renderer becomes
    /// [`RendererKind::Upscale`], the resolution the input times the factor, one sample, and the
    /// output PNG 8-bit unless [`JobSpecBuilder::output`] names png16.
    pub fn upscale(mut self, upscale: UpscaleSpec) -> Self {
        self.spec.renderer = RendererSpec {
            kind: RendererKind::Upscale,
            engine: None,
            version: VersionConstraint::Any,
        };
        self.spec.resolution = upscale.output();
        self.spec.samples = 1;
        self.spec.upscale = Some(upscale);
        self
    }
    /// Validates and returns the spec.
    pub fn build(mut self) -> Result<JobSpec> {
        let tiles = matches!(self.spec.split, SplitMode::Tiles { .. });
        if !self.output_chosen && self.spec.renderer.kind == RendererKind::Blender && !tiles {
            self.spec.output = OutputFormat::Scene;
        }
        self.spec.validate()?;
        Ok(self.spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> JobSpecBuilder {
        JobSpec::builder(AssetId::of_bytes(b"s"), "1-10".parse().expect("frames"))
    }

    #[test]
    fn names_are_plain_text_of_at_most_120_characters() {
        let scene = AssetId::of_bytes(b"scene");
        let named = |name: &str| {
            JobSpec::builder(scene.clone(), "1".parse().expect("frames"))
                .name(name)
                .build()
        };
        assert!(named("Shot 010 — final <b>").is_ok());
        assert!(named(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(named(&"é".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(named("   ").is_err());
        assert!(named("line\nbreak").is_err());
        // A spec without a name reads and writes as before.
        let plain = JobSpec::builder(scene, "1".parse().expect("frames"))
            .build()
            .expect("spec");
        let json = serde_json::to_value(&plain).expect("json");
        assert!(json.get("name").is_none());
    }

    #[test]
    fn validation_names_the_field() {
        let cases: Vec<(JobSpecBuilder, &str)> = vec![
            (spec().resolution(0, 10), "resolution.width"),
            (spec().resolution(10, 40_000), "resolution.height"),
            (spec().resolution(30_000, 30_000), "resolution"),
            (spec().samples(0), "samples"),
            (
                spec().split(SplitMode::FrameChunks { frames_per_task: 0 }),
                "split.frames_per_task",
            ),
            (
                spec().split(SplitMode::Tiles {
                    tile_width: 64,
                    tile_height: 64,
                }),
                "split",
            ),
            (spec().engine(Engine::Cycles), "renderer.engine"),
            (spec().budget_cap(Money::ZERO), "budget_cap"),
            (spec().deadline_secs(0), "deadline_secs"),
            (spec().tag("bad tag"), "tags"),
        ];
        for (builder, field) in cases {
            let err = builder.build().expect_err(field);
            assert_eq!(err.field(), Some(field), "{err}");
        }
    }

    #[test]
    fn json_round_trip_with_defaults() {
        let json = format!(
            r#"{{"scene":"{}","frames":"1-5","resolution":{{"width":64,"height":32}},"samples":16,"output":"exr"}}"#,
            AssetId::of_bytes(b"s")
        );
        let parsed: JobSpec = serde_json::from_str(&json).expect("valid json");
        parsed.validate().expect("valid spec");
        assert_eq!(parsed.renderer.kind, RendererKind::Builtin);
        assert_eq!(parsed.tier, Tier::Standard);
        let again: JobSpec =
            serde_json::from_str(&serde_json::to_string(&parsed).expect("json")).expect("parse");
        assert_eq!(again, parsed);
    }

    #[test]
    fn version_constraints() {
        let v = |s: &str| s.parse::<Version>().expect(s);
        let c = |s: &str| s.parse::<VersionConstraint>().expect(s);
        assert!(c(">=3.4").matches(v("3.6.2")));
        assert!(!c(">=3.4").matches(v("3.3")));
        assert!(c("3.6").matches(v("3.6.9")) && !c("3.6").matches(v("3.7.0")));
        assert!(c("=4.2.1").matches(v("4.2.1")) && !c("=4.2.1").matches(v("4.2.0")));
        assert!(c("*").matches(v("1")));
        assert!("3".parse::<VersionConstraint>().is_err());
        assert!(">=x".parse::<VersionConstraint>().is_err());
        assert_eq!(c(">=3.4").to_string(), ">=3.4.0");
    }

    #[test]
    fn per_frame_seeds_differ() {
        assert_ne!(
            SeedPolicy::PerFrame(1).seed_for(1),
            SeedPolicy::PerFrame(1).seed_for(2)
        );
        assert_eq!(
            SeedPolicy::Fixed(9).seed_for(1),
            SeedPolicy::Fixed(9).seed_for(2)
        );
    }
}
