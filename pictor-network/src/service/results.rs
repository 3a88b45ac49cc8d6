//! Results: the intake of a worker's signed result (outputs uploaded, in the task's frame order,
//! signed with its registered key), after which the task waits for a checker; and a worker's report
//! that it could not render, which requeues the task.

use super::events::emit;
use super::views::state_view;
use super::{Caller, Coordinator, ServiceError, ServiceResult, Write};
use crate::blobs::BlobStore;
use crate::store::prelude::*;
use crate::store::{CheckRow, Store, TaskRow, WorkerRow};
use pictor_core::api::{
    ErrorCode, FailureReport, JobEvent, MAX_OUTPUT_NAME_LEN, ResultSubmission, TaskStateView,
    result_signing_message, valid_output_name,
};
use pictor_core::ledger::VerifyingKey;
use pictor_core::task::TaskEvent;
use pictor_core::{BlobHash, TaskId, WorkerId};

/// Longest failure message a worker may report, bytes.
const MAX_FAILURE_MESSAGE: usize = 4096;

impl<S: Store> Coordinator<S> {
    /// Takes a worker's signed result: the outputs must be the task's frames in order, uploaded by
    /// the worker, and signed with its registered key. The task then waits for a checker.
    pub async fn submit_result(
        &self,
        caller: &Caller,
        task_id: TaskId,
        submission: &ResultSubmission,
    ) -> ServiceResult<TaskStateView> {
        let mut write = self.write_settling().await?;
        let result = self
            .submit_result_in(&mut write, caller, task_id, submission)
            .await;
        self.finish(write, result).await
    }

    async fn submit_result_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        task_id: TaskId,
        submission: &ResultSubmission,
    ) -> ServiceResult<TaskStateView> {
        let mut task = self
            .held_task(&mut write.tx, caller, task_id, submission.attempt)
            .await?;
        let worker = self.registered_worker(&mut write.tx, caller).await?;
        self.check_outputs(write, caller, &task, submission).await?;
        let commitment = verify_signature(&worker, &task, submission)?;
        let policy = self.config.task_policy;
        let upload = TaskEvent::Upload {
            attempt: submission.attempt,
            output_hash: commitment,
        };
        task.state = task.state.apply(&upload, &policy)?;
        task.state = task.state.apply(&TaskEvent::StartVerify, &policy)?;
        task.outputs = Some(submission.outputs.clone());
        write.tx.update_task(&task).await?;
        let now = write.now_ms;
        write
            .tx
            .mark_delivered(task.id, submission.attempt, now)
            .await?;
        write
            .tx
            .insert_check(&CheckRow::waiting(task.id, submission.attempt, 0))
            .await?;
        let mut job = self.job_of_task(write, &task).await?;
        let uploaded = JobEvent::TaskUploaded {
            task: task_id,
            worker: WorkerId(caller.id()),
            render_ms: submission.render_ms,
            outputs: submission.outputs.clone(),
        };
        emit(self, write, &mut job, uploaded).await?;
        Ok(state_view(&task))
    }

    /// Checks a result's outputs: one per frame of the task, in order, each a blob the worker
    /// uploaded, of the size it says.
    async fn check_outputs(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        task: &TaskRow,
        submission: &ResultSubmission,
    ) -> ServiceResult<()> {
        let frames = task.work.frames();
        let listed: Vec<u32> = submission.outputs.iter().map(|o| o.frame).collect();
        if listed != frames {
            return Err(ServiceError::invalid(
                "outputs",
                format!("expected one output per frame {frames:?} in order, got {listed:?}"),
            ));
        }
        let spec = self.job_of_task(write, task).await?.spec;
        let faithful = spec.delivers_scene_output();
        for (i, output) in submission.outputs.iter().enumerate() {
            self.check_blob(
                write,
                caller,
                &output.hash,
                output.size,
                &format!("outputs[{i}]"),
            )
            .await?;
            match (&output.evidence, faithful) {
                (Some(evidence), true) => {
                    self.check_blob(
                        write,
                        caller,
                        &evidence.hash,
                        evidence.size,
                        &format!("outputs[{i}].evidence"),
                    )
                    .await?
                }
                (None, false) => {}
                (None, true) => {
                    return Err(ServiceError::invalid(
                        format!("outputs[{i}].evidence"),
                        "a frame Blender finished with the scene's settings comes with its evidence",
                    ));
                }
                (Some(_), false) => {
                    return Err(ServiceError::invalid(
                        format!("outputs[{i}].evidence"),
                        "only frames delivered with the scene's settings carry evidence",
                    ));
                }
            }
            if output.renderer_version.is_some() != faithful {
                return Err(ServiceError::invalid(
                    format!("outputs[{i}].renderer_version"),
                    "frames delivered with the scene's settings, and only those, name the Blender that finished them",
                ));
            }
            match (&output.name, faithful) {
                (Some(name), true) if valid_output_name(name) => {}
                (None, false) => {}
                (Some(name), true) => {
                    return Err(ServiceError::invalid(
                        format!("outputs[{i}].name"),
                        format!(
                            "{name:?}: a plain file name of 1..={MAX_OUTPUT_NAME_LEN} letters, digits and ._- +#()"
                        ),
                    ));
                }
                (None, true) | (Some(_), false) => {
                    return Err(ServiceError::invalid(
                        format!("outputs[{i}].name"),
                        "frames delivered with the scene's settings, and only those, carry the name the scene gives them",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks that the caller uploaded the blob `hash` and that it has `size` bytes.
    async fn check_blob(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        hash: &str,
        size: u64,
        field: &str,
    ) -> ServiceResult<()> {
        let hash: BlobHash = hash
            .parse()
            .map_err(|_| ServiceError::invalid(format!("{field}.hash"), "must be 64 hex digits"))?;
        if !write.tx.holds_blob(caller.id(), &hash.to_hex()).await? {
            return Err(ServiceError::invalid(
                format!("{field}.hash"),
                "upload the file as a blob before submitting the result",
            ));
        }
        let stored = self.blobs.size(&hash).await?;
        if stored != Some(size) {
            return Err(ServiceError::invalid(
                format!("{field}.size"),
                format!("the uploaded blob has {stored:?} bytes, not {size}"),
            ));
        }
        Ok(())
    }

    /// The lease holder could not render: the task returns to the queue, or fails after the retry cap
    /// (and with it the job).
    pub async fn fail_task(
        &self,
        caller: &Caller,
        task_id: TaskId,
        report: &FailureReport,
    ) -> ServiceResult<TaskStateView> {
        if report.message.len() > MAX_FAILURE_MESSAGE {
            return Err(ServiceError::invalid(
                "message",
                format!("at most {MAX_FAILURE_MESSAGE} bytes"),
            ));
        }
        let mut write = self.write_settling().await?;
        let result = async {
            let mut task = self
                .held_task(&mut write.tx, caller, task_id, report.attempt)
                .await?;
            let fail = TaskEvent::Fail {
                attempt: report.attempt,
                reason: report.message.clone(),
            };
            task.state = task.state.apply(&fail, &self.config.task_policy)?;
            task.agreed_cost = None;
            write.tx.update_task(&task).await?;
            self.count_failure(&mut write, task.job_id, caller.id())
                .await?;
            let failed = JobEvent::TaskFailed {
                task: task_id,
                worker: WorkerId(caller.id()),
                message: report.message.clone(),
            };
            self.after_requeue(&mut write, &task, failed).await?;
            Ok(state_view(&task))
        }
        .await;
        self.finish(write, result).await
    }
}

/// Verifies the result's ed25519 signature with the worker's registered key and answers the
/// commitment the task records (BLAKE3 of the signed message).
fn verify_signature(
    worker: &WorkerRow,
    task: &TaskRow,
    submission: &ResultSubmission,
) -> ServiceResult<String> {
    let message = result_signing_message(TaskId(task.id), submission.attempt, &submission.outputs)?;
    let mut signature = [0u8; 64];
    hex::decode_to_slice(&submission.signature_hex, &mut signature)
        .map_err(|_| ServiceError::invalid("signature_hex", "must be 128 hex digits"))?;
    let key =
        VerifyingKey::from_bytes(&worker.public_key).map_err(|e| ServiceError::internal(&e))?;
    key.verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&signature))
        .map_err(|_| {
            ServiceError::new(
                ErrorCode::Forbidden,
                "the result's signature does not verify with the worker's registered key",
            )
        })?;
    Ok(blake3::hash(&message).to_hex().to_string())
}
