//! Jobs as creators describe them (the frame set and the validated [`JobSpec`]) and the job state machine.

pub mod catalog;
mod frame_set;
mod spec;
mod state;
mod upscale;

pub use frame_set::{FrameRange, FrameSet, MAX_FRAME_NUMBER, MAX_FRAMES, MAX_PARTS};
pub use spec::{
    Engine, GpuVendor, HardwareRequirements, JobSpec, JobSpecBuilder, MAX_DIMENSION,
    MAX_NAME_CHARS, MAX_PIXELS, MAX_SAMPLES, MAX_TAG_LEN, MAX_TAGS, OutputFormat, RendererKind,
    RendererSpec, Resolution, SeedPolicy, SplitMode, Tier, Version, VersionConstraint,
};
pub use state::{JobState, JobTransition};
pub use upscale::{
    MAX_UPSCALE_CONTEXT, MAX_UPSCALE_TILE, MIN_UPSCALE_TILE, ModelPin,
    PASS_SAMPLES_PER_INPUT_PIXEL, UPSCALE_FACTORS, UPSCALE_INPUT_EXTENSIONS, UpscaleSpec,
    input_file_stem, is_upscale_input,
};
