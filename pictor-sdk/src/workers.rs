//! The worker side: registration, leases, heartbeats, outputs, signed results, failures.

use crate::client::{Call, Client};
use crate::error::{Error, Result};
use ed25519_dalek::{Signer, SigningKey};
use pictor_core::TaskId;
use pictor_core::api::{
    FailureReport, HeartbeatRequest, LeaseRenewal, RegisterWorkerRequest, ResultSubmission,
    TaskLease, TaskOutput, TaskStateView, WorkerActivityReport, WorkerView, result_signing_message,
    routes,
};
use std::future::Future;
use std::path::PathBuf;

/// The answer to a lease request: a task, or none and maybe the coordinator's wish for the next
/// poll.
#[derive(Clone, Debug, PartialEq)]
pub struct LeasePoll {
    /// The task leased, if one fit.
    pub lease: Option<TaskLease>,
    /// How long to wait before the next lease request, when the coordinator asked for a wait.
    pub retry_after: Option<std::time::Duration>,
}

/// The worker side; from [`Client::workers`]. `list` is public; the rest need a worker key.
#[derive(Clone, Debug)]
pub struct Workers {
    client: Client,
}

impl Workers {
    pub(crate) fn new(client: Client) -> Self {
        Workers { client }
    }

    /// Registers the caller's worker, or updates it (safe to repeat).
    pub fn register(
        &self,
        request: RegisterWorkerRequest,
    ) -> impl Future<Output = Result<WorkerView>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move {
            let call = Call::post_json(routes::WORKERS, &request)?.repeatable();
            client.json(call).await
        }
    }

    /// Tells the network what the caller's worker is doing now (idle, rendering task N, …): its
    /// owner sees it in Pictor Cloud; nothing is paid or scheduled on it. Safe to repeat.
    pub fn report_activity(
        &self,
        report: WorkerActivityReport,
    ) -> impl Future<Output = Result<()>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move {
            let call = Call::post_json(routes::WORKER_ACTIVITY, &report)?.repeatable();
            client.buffered(call).await.map(|_| ())
        }
    }

    /// Every registered worker (public; the network answers one unpaged list).
    pub fn list(&self) -> impl Future<Output = Result<Vec<WorkerView>>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move { client.json(Call::get(routes::WORKERS).public()).await }
    }

    /// Leases the best eligible task, or `None` when no task fits now (`204`). Sent once: a repeat
    /// could lease a second task.
    ///
    /// ```no_run
    /// # async fn demo(worker: pictor_sdk::Client) -> pictor_sdk::Result<()> {
    /// if let Some(lease) = worker.workers().lease().await? {
    ///     println!("task {} attempt {}", lease.task, lease.attempt);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn lease(
        &self,
    ) -> impl Future<Output = Result<Option<TaskLease>>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move {
            let call = Call::post_json(routes::LEASES, &serde_json::json!({}))?;
            client.json_or_none(call).await
        }
    }

    /// Asks for a task like [`Workers::lease`], and also reads how long the coordinator asks an
    /// idle worker to wait before asking again (`Retry-After` on a `204`, sent when many workers
    /// are idle). A polling loop should wait at least that long after an empty answer.
    pub fn poll_lease(&self) -> impl Future<Output = Result<LeasePoll>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move {
            let call = Call::post_json(routes::LEASES, &serde_json::json!({}))?;
            let (lease, retry_after) = client.json_or_none_with_retry_after(call).await?;
            Ok(LeasePoll { lease, retry_after })
        }
    }

    /// Renews a lease and reports progress (per-mille, clamped to 1000). Safe to repeat.
    pub fn heartbeat(
        &self,
        task: TaskId,
        attempt: u32,
        progress_permille: u16,
    ) -> impl Future<Output = Result<LeaseRenewal>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move {
            let request = HeartbeatRequest {
                attempt,
                progress_permille: progress_permille.min(1000),
            };
            let call = Call::post_json(routes::fill(routes::TASK_HEARTBEAT, &[&task]), &request)?
                .repeatable();
            client.json(call).await
        }
    }

    /// Hashes a rendered file and uploads it as a blob: the [`TaskOutput`] to put in a result.
    pub fn upload_output<P: Into<PathBuf>>(
        &self,
        path: P,
        frame: u32,
    ) -> impl Future<Output = Result<TaskOutput>> + Send + 'static + use<P> {
        let upload = self.client.assets().upload_file(path);
        async move {
            let blob = upload.await?;
            Ok(TaskOutput::new(frame, blob.hash, blob.size))
        }
    }

    /// Uploads an output held in memory as a blob (deduplicated like any upload) and answers the
    /// [`TaskOutput`] to list in the result.
    pub fn upload_output_bytes<B: Into<bytes::Bytes>>(
        &self,
        bytes: B,
        frame: u32,
    ) -> impl Future<Output = Result<TaskOutput>> + Send + 'static + use<B> {
        let upload = self.client.assets().upload_bytes(bytes);
        async move {
            let blob = upload.await?;
            Ok(TaskOutput::new(frame, blob.hash, blob.size))
        }
    }

    /// Submits a signed result (see [`sign_result`]). Sent once; a stale attempt answers `409`
    /// with code `stale_lease`.
    ///
    /// ```no_run
    /// # async fn demo(worker: pictor_sdk::Client, key: ed25519_dalek::SigningKey, lease: pictor_core::api::TaskLease) -> pictor_sdk::Result<()> {
    /// let output = worker.workers().upload_output("out/frame_0001.png", 1).await?;
    /// let result = pictor_sdk::sign_result(&key, lease.task, lease.attempt, vec![output], 42_000)?;
    /// let state = worker.workers().submit_result(lease.task, result).await?;
    /// println!("task is {}", state.state);
    /// # Ok(()) }
    /// ```
    pub fn submit_result(
        &self,
        task: TaskId,
        result: ResultSubmission,
    ) -> impl Future<Output = Result<TaskStateView>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move {
            let call = Call::post_json(routes::fill(routes::TASK_RESULT, &[&task]), &result)?;
            client.json(call).await
        }
    }

    /// Reports that the task could not be rendered. Sent once.
    pub fn fail<M: Into<String>>(
        &self,
        task: TaskId,
        attempt: u32,
        message: M,
    ) -> impl Future<Output = Result<TaskStateView>> + Send + 'static + use<M> {
        let client = self.client.clone();
        let report = FailureReport {
            attempt,
            message: message.into(),
        };
        async move {
            let call = Call::post_json(routes::fill(routes::TASK_FAIL, &[&task]), &report)?;
            client.json(call).await
        }
    }
}

/// Signs a task's outputs with the worker's key: ed25519 over
/// [`result_signing_message`].
///
/// ```
/// use ed25519_dalek::{SigningKey, Verifier};
/// use pictor_core::TaskId;
/// use pictor_core::api::{TaskOutput, result_signing_message};
///
/// let key = SigningKey::from_bytes(&[7; 32]);
/// let outputs = vec![TaskOutput::new(1, "ab".repeat(32), 10)];
/// let result = pictor_sdk::sign_result(&key, TaskId(3), 2, outputs.clone(), 1500)?;
/// let message = result_signing_message(TaskId(3), 2, &outputs)?;
/// let signature = ed25519_dalek::Signature::from_slice(&hex::decode(&result.signature_hex)?)?;
/// assert!(key.verifying_key().verify(&message, &signature).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sign_result(
    key: &SigningKey,
    task: TaskId,
    attempt: u32,
    outputs: Vec<TaskOutput>,
    render_ms: u64,
) -> Result<ResultSubmission> {
    let message = result_signing_message(task, attempt, &outputs).map_err(|error| match error {
        pictor_core::Error::Invalid { field, reason } => Error::InvalidInput { field, reason },
        other => Error::invalid("outputs", other.to_string()),
    })?;
    let signature = key.sign(&message);
    Ok(ResultSubmission {
        attempt,
        outputs,
        signature_hex: hex::encode(signature.to_bytes()),
        render_ms,
    })
}

/// The hex public key to register a worker with.
///
/// ```
/// let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
/// assert_eq!(pictor_sdk::public_key_hex(&key).len(), 64);
/// ```
pub fn public_key_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};

    #[test]
    fn signed_results_verify_with_the_public_key_only_for_their_content() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let outputs = vec![
            TaskOutput::new(4, blake3::hash(b"four").to_hex().to_string(), 4),
            TaskOutput::new(5, blake3::hash(b"five").to_hex().to_string(), 4),
        ];
        let result = sign_result(&key, TaskId(11), 3, outputs.clone(), 900).unwrap();
        assert_eq!(result.attempt, 3);
        assert_eq!(result.render_ms, 900);
        assert_eq!(result.outputs, outputs);

        let public = VerifyingKey::from_bytes(
            &hex::decode(public_key_hex(&key))
                .unwrap()
                .try_into()
                .unwrap(),
        )
        .unwrap();
        let signature =
            Signature::from_slice(&hex::decode(&result.signature_hex).unwrap()).unwrap();
        let message = result_signing_message(TaskId(11), 3, &outputs).unwrap();
        assert!(public.verify(&message, &signature).is_ok());
        // Another attempt or another order is another message.
        let stale = result_signing_message(TaskId(11), 2, &outputs).unwrap();
        assert!(public.verify(&stale, &signature).is_err());
        let mut swapped = outputs.clone();
        swapped.reverse();
        let swapped = result_signing_message(TaskId(11), 3, &swapped).unwrap();
        assert!(public.verify(&swapped, &signature).is_err());
    }

    #[test]
    fn bad_output_hashes_are_refused_before_signing() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let outputs = vec![TaskOutput::new(1, "not hex", 1)];
        let error = sign_result(&key, TaskId(1), 1, outputs, 0).unwrap_err();
        match error {
            Error::InvalidInput { field, .. } => assert_eq!(field, "outputs[0].hash"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
