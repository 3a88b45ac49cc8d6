//! Tasks: how a job is cut up ([`split`]) and the life of one task ([`TaskState`], a pure transition
//! function with attempts and fencing tokens).

mod split;
mod state;

pub use split::{MAX_TASKS_PER_JOB, PixelRect, TaskWork, split, tile_grid};
pub use state::{Task, TaskEvent, TaskPolicy, TaskState};
