//! The job state machine (ARCHITECTURE.md §5):
//! `Quoted → Queued → Running ⇄ Paused → (Completed | Failed | Cancelled)`.
//! A running job pauses when its escrow runs out and resumes on top-up.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Priced, not yet paid for.
    Quoted,
    /// Escrow held; waiting for its first lease.
    Queued,
    /// At least one task leased.
    Running,
    /// Held: by the creator, or because the escrow ran out.
    Paused,
    /// Every task accepted. Final.
    Completed,
    /// A task failed for good. Final.
    Failed,
    /// Cancelled by the creator. Final.
    Cancelled,
}

/// Something that happens to a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobTransition {
    /// The creator submits and the escrow is held.
    Submit,
    /// The job's first task is leased: `Queued` becomes `Running`.
    Start,
    /// The creator pauses, or the escrow is spent.
    Pause,
    /// The creator resumes, or tops up.
    Resume,
    /// The last task is accepted.
    Complete,
    /// A task ran out of attempts; a queued, running or paused job fails.
    Fail,
    /// The creator cancels; allowed from every state that is not final.
    Cancel,
}

impl JobState {
    /// True for `Completed`, `Failed` and `Cancelled`.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Failed | JobState::Cancelled
        )
    }

    /// The next state, or [`Error::IllegalTransition`].
    pub fn apply(self, event: JobTransition) -> Result<JobState> {
        use JobState as S;
        use JobTransition as E;
        match (self, event) {
            (S::Quoted, E::Submit) => Ok(S::Queued),
            (S::Queued, E::Start) => Ok(S::Running),
            (S::Queued | S::Running, E::Pause) => Ok(S::Paused),
            (S::Paused, E::Resume) => Ok(S::Running),
            (S::Running, E::Complete) => Ok(S::Completed),
            (S::Queued | S::Running | S::Paused, E::Fail) => Ok(S::Failed),
            (state, E::Cancel) if !state.is_final() => Ok(S::Cancelled),
            (state, event) => Err(Error::IllegalTransition {
                entity: "job",
                state: format!("{state:?}").to_lowercase(),
                event: format!("{event:?}").to_lowercase(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_and_refusals() {
        let running = JobState::Quoted
            .apply(JobTransition::Submit)
            .and_then(|s| s.apply(JobTransition::Start))
            .expect("legal");
        let paused = running.apply(JobTransition::Pause).expect("pause");
        let resumed = paused.apply(JobTransition::Resume).expect("resume");
        assert_eq!(
            resumed.apply(JobTransition::Complete),
            Ok(JobState::Completed)
        );
        assert!(JobState::Completed.apply(JobTransition::Cancel).is_err());
        assert!(JobState::Quoted.apply(JobTransition::Complete).is_err());
        assert!(
            paused.apply(JobTransition::Complete).is_err(),
            "resume first"
        );
        assert_eq!(paused.apply(JobTransition::Cancel), Ok(JobState::Cancelled));
    }
}
