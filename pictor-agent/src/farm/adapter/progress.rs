//! Moving each lease on by what the farm's queue says of its job (the table in
//! docs/ARCHITECTURE.md §8d), and requeues.

use super::Adapter;
use crate::executor::TaskError;
use crate::farm::FarmEvent;
use crate::farm::engine::{FarmEngine, FarmJob, FarmJobState, LeaseTag};
use crate::farm::node::TaskFolder;
use std::collections::HashMap;

impl<E: FarmEngine> Adapter<'_, E> {
    /// Reads the farm's queue and moves every tracked lease on by what its job is doing.
    pub(super) async fn tick(&mut self) {
        let jobs = match self.engine.jobs().await {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "cannot read the farm's queue");
                self.heartbeat_all().await;
                return;
            }
        };
        let (jobs, duplicates) = jobs_by_lease(jobs, |tag| {
            self.tracked
                .get(&tag)
                .and_then(|tracked| tracked.record.job_id.clone())
        });
        for duplicate in duplicates {
            tracing::warn!(task = duplicate.tag.task.0, job = %duplicate.id, "cancelling a second farm job of one lease");
            let _ = self.engine.cancel(&duplicate.id).await;
        }
        let tags: Vec<LeaseTag> = self.tracked.keys().copied().collect();
        for tag in tags {
            self.step(tag, jobs.get(&tag)).await;
        }
        // Live jobs of leases this adapter does not hold any more (a record lost, a lease
        // handed back while the farm was unreachable): nobody will collect them.
        for (tag, job) in &jobs {
            if job.state.is_live()
                && !self.tracked.contains_key(tag)
                && !self.collected_early.contains(tag)
            {
                tracing::warn!(task = tag.task.0, job = %job.id, "cancelling an orphaned farm job");
                let _ = self.engine.cancel(&job.id).await;
            }
        }
        self.collected_early
            .retain(|tag| jobs.get(tag).is_some_and(|job| job.state.is_live()));
    }

    /// Between reads of the farm's queue: delivers every submitted lease whose node has written
    /// its result (written last, so its frames are final), without waiting for the farm to say
    /// the job ended.
    pub(super) async fn collect_finished(&mut self) {
        let finished: Vec<LeaseTag> = self
            .tracked
            .iter()
            .filter(|(tag, tracked)| {
                !tracked.collecting
                    && tracked.record.job_id.is_some()
                    && TaskFolder(&self.folder(**tag)).result().exists()
            })
            .map(|(tag, _)| *tag)
            .collect();
        for tag in finished {
            self.started_unseen(tag).await;
            self.collected_early.insert(tag);
            self.collect(tag);
        }
    }

    /// A job that started and finished between two reads of the queue: the wait it is counted
    /// as is the time since it was queued less the node's render time.
    async fn started_unseen(&mut self, tag: LeaseTag) {
        let now = self.clock.now_ms();
        let Some(since) = self
            .tracked
            .get_mut(&tag)
            .and_then(|tracked| tracked.queued_since_ms.take())
        else {
            return;
        };
        let render_ms = TaskFolder(&self.folder(tag))
            .read_result()
            .map_or(0, |(_, render_ms)| render_ms);
        self.started_after(now.saturating_sub(since).saturating_sub(render_ms))
            .await;
    }

    pub(super) async fn step(&mut self, tag: LeaseTag, job: Option<&FarmJob>) {
        let Some(tracked) = self.tracked.get(&tag) else {
            return;
        };
        if tracked.collecting {
            return;
        }
        let folder = self.folder(tag);
        let state = job.map(|job| job.state.clone());
        let finished_on_node = TaskFolder(&folder).result().exists();
        match state {
            None if finished_on_node => {
                self.started_unseen(tag).await;
                self.collect(tag);
            }
            Some(FarmJobState::Running) if finished_on_node => {
                // The node writes its result last: the frames are final while the farm winds
                // the job down (Slurm's COMPLETING), so they are delivered now.
                self.started_unseen(tag).await;
                self.collected_early.insert(tag);
                self.collect(tag);
            }
            None if self.clock.now_ms() < tracked.submit_after_ms => {
                // A lease recorded by an earlier run that never learnt its job's id: an `sbatch`
                // it started may still land; wait for it before submitting again.
                self.heartbeat(tag).await;
            }
            None => {
                if tracked.record.job_id.is_some() {
                    // The farm forgot a job that left no result: it never rendered; again.
                    self.requeued(tag, tracked.record.restarts + 1).await;
                }
                if self.tracked.contains_key(&tag) {
                    self.submit(tag).await;
                }
            }
            Some(FarmJobState::Held) => {
                if let Some(job) = job {
                    self.adopt_and_release(tag, &job.id).await;
                }
            }
            Some(FarmJobState::Queued | FarmJobState::Running) => {
                let (restarts, running) = job.map_or((0, false), |job| {
                    (job.restarts, job.state == FarmJobState::Running)
                });
                if restarts > tracked.record.restarts {
                    self.requeued(tag, restarts).await;
                }
                let now = self.clock.now_ms();
                let mut started_after = None;
                if let Some(tracked) = self.tracked.get_mut(&tag) {
                    if running {
                        started_after = tracked
                            .queued_since_ms
                            .take()
                            .map(|since| now.saturating_sub(since));
                    } else {
                        tracked.queued_since_ms.get_or_insert(now);
                    }
                }
                if let Some(wait_ms) = started_after {
                    self.started_after(wait_ms).await;
                }
                self.heartbeat(tag).await;
            }
            Some(FarmJobState::Completed) => {
                if let Some(job) = job
                    && let Err(error) = self.engine.collect(job, &folder).await
                {
                    // Tried again next tick; the lease is kept meanwhile.
                    tracing::warn!(task = tag.task.0, error = %format!("{error:#}"), "cannot collect the farm's frames yet");
                    return self.heartbeat(tag).await;
                }
                self.started_unseen(tag).await;
                self.collect(tag);
            }
            Some(FarmJobState::Failed(reason)) => {
                let reason = TaskFolder(&folder).read_error().unwrap_or(reason);
                self.give_up(tag, TaskError::Failed(format!("on the farm: {reason}")))
                    .await;
            }
            Some(FarmJobState::Cancelled) => {
                let error = TaskError::Failed("the farm's operator cancelled the job".into());
                self.give_up(tag, error).await;
            }
        }
    }

    /// Counts a requeue; past `max_requeues` the task is handed back to the network.
    pub(super) async fn requeued(&mut self, tag: LeaseTag, restarts: u32) {
        let Some(tracked) = self.tracked.get_mut(&tag) else {
            return;
        };
        self.summary.requeues += u64::from(restarts.saturating_sub(tracked.record.restarts));
        tracked.record.restarts = restarts;
        let _ = self.records.put(&tracked.record);
        self.events.emit(FarmEvent::Requeued {
            task: tag.task.0,
            restarts,
        });
        if restarts > self.config.farm.max_requeues {
            let message = format!(
                "the farm requeued the task {restarts} times (preempted by its own work or nodes lost)"
            );
            self.cancel_job(tag, &message).await;
            self.give_up(tag, TaskError::Failed(message)).await;
        }
    }
}

/// The farm's jobs by lease, and the duplicates to cancel. Where a lease has several live jobs (an
/// `sbatch` a killed adapter left running landed after its successor submitted again), the
/// recorded one — else the oldest — is kept and the others are duplicates; where none is live, the
/// newest stands for the lease.
pub(super) fn jobs_by_lease(
    jobs: Vec<FarmJob>,
    recorded: impl Fn(LeaseTag) -> Option<String>,
) -> (HashMap<LeaseTag, FarmJob>, Vec<FarmJob>) {
    let mut grouped: HashMap<LeaseTag, Vec<FarmJob>> = HashMap::new();
    for job in jobs {
        grouped.entry(job.tag).or_default().push(job);
    }
    let number = |job: &FarmJob| job.id.parse::<u64>().unwrap_or(u64::MAX);
    let mut kept = HashMap::new();
    let mut duplicates = Vec::new();
    for (tag, mut jobs) in grouped {
        jobs.sort_by_key(number);
        let live: Vec<usize> = (0..jobs.len())
            .filter(|&i| jobs[i].state.is_live())
            .collect();
        let keep = match live.as_slice() {
            [] => jobs.len() - 1,
            [only] => *only,
            several => {
                let recorded = recorded(tag);
                several
                    .iter()
                    .copied()
                    .find(|&i| Some(&jobs[i].id) == recorded.as_ref())
                    .unwrap_or(several[0])
            }
        };
        for (i, job) in jobs.into_iter().enumerate() {
            if i == keep {
                kept.insert(tag, job);
            } else if live.contains(&i) {
                duplicates.push(job);
            }
        }
    }
    (kept, duplicates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_core::TaskId;

    fn job(id: &str, task: u64, state: FarmJobState) -> FarmJob {
        FarmJob {
            id: id.into(),
            tag: LeaseTag {
                task: TaskId(task),
                attempt: 1,
            },
            state,
            restarts: 0,
        }
    }

    #[test]
    fn a_lease_with_two_live_jobs_keeps_the_recorded_one_and_cancels_the_other() {
        let jobs = vec![
            job("7", 1, FarmJobState::Running),
            job("9", 1, FarmJobState::Held),
            job("3", 2, FarmJobState::Cancelled),
            job("5", 2, FarmJobState::Completed),
            job("4", 3, FarmJobState::Queued),
            job("6", 3, FarmJobState::Held),
        ];
        let recorded = |tag: LeaseTag| (tag.task == TaskId(3)).then(|| "6".to_string());
        let (kept, duplicates) = jobs_by_lease(jobs, recorded);
        assert_eq!(
            kept[&job("", 1, FarmJobState::Held).tag].id,
            "7",
            "the oldest live"
        );
        assert_eq!(
            kept[&job("", 2, FarmJobState::Held).tag].id,
            "5",
            "none live: the newest"
        );
        assert_eq!(
            kept[&job("", 3, FarmJobState::Held).tag].id,
            "6",
            "the recorded one"
        );
        let mut cancelled: Vec<&str> = duplicates.iter().map(|j| j.id.as_str()).collect();
        cancelled.sort_unstable();
        assert_eq!(cancelled, ["4", "9"]);
    }
}
