//! Jobs as creators describe them (the frame set and the validated [`JobSpec`]) and the job state machine.

mod frame_set;
mod spec;
mod state;

pub use frame_set::{FrameRange, FrameSet, MAX_FRAME_NUMBER, MAX_FRAMES, MAX_PARTS};
pub use spec::{
    Engine, GpuVendor, HardwareRequirements, JobSpec, JobSpecBuilder, MAX_DIMENSION,
    MAX_NAME_CHARS, MAX_PIXELS, MAX_SAMPLES, MAX_TAG_LEN, MAX_TAGS, OutputFormat, RendererKind,
    RendererSpec, Resolution, SeedPolicy, SplitMode, Tier, Version, VersionConstraint,
};
pub use state::{JobState, JobTransition};
