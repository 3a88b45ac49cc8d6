//! Accepted outputs (frames and tiles) of jobs.

use super::*;
use std::future::Future;

/// Accepted outputs (frames and tiles) of jobs.
pub trait FramesTx: Send {
    /// Records an accepted output.
    fn insert_frame(&mut self, row: &FrameRow) -> impl Future<Output = StoreResult<()>> + Send;

    /// A job's accepted outputs by frame then task.
    fn frames_of(&mut self, job: u64) -> impl Future<Output = StoreResult<Vec<FrameRow>>> + Send;

    /// Forgets a job's accepted outputs of some frames (before re-rendering them).
    fn delete_frames(
        &mut self,
        job: u64,
        frames: &[u32],
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
