//! Webhooks: a person registers HTTPS endpoints for events of any of their accounts —
//! `job.finished`, `frame.rejected`, `worker.offline`, `budget.threshold` — and the coordinator
//! posts each event to them, signed (`webhook_signature`), retried with exponential backoff.
//!
//! A delivery is written in the same transaction as the change it reports (a job's final event, a
//! rejection, a budget crossing), so none is lost or invented by a crash; `webhook_delivery`
//! sends the due ones. Delivery is at least once: a crash between a 2xx and recording it sends it
//! again, with the same `Pictor-Delivery` id.

use super::webhook_delivery::check_url;
use super::{Coordinator, PersonView, ServiceError, ServiceResult, Write};
use crate::store::prelude::*;
use crate::store::webhooks::{DeliveryRow, WebhookRow};
use crate::store::{JobRow, Store};
use pictor_core::api::JobEvent;
use serde_json::json;

/// The events an endpoint may ask for.
pub const EVENTS: [&str; 4] = [
    "job.finished",
    "frame.rejected",
    "worker.offline",
    "budget.threshold",
];
/// Endpoints a person may have.
const MAX_WEBHOOKS: usize = 10;
/// Deliveries a person's page lists.
const LISTED: u32 = 50;

/// A person's endpoints and their newest deliveries.
#[derive(Clone, Debug, Default)]
pub struct WebhooksView {
    /// Endpoints, oldest first (deleted ones left out).
    pub webhooks: Vec<WebhookRow>,
    /// Newest deliveries first, with their endpoint's URL.
    pub deliveries: Vec<(DeliveryRow, String)>,
}

impl<S: Store> Coordinator<S> {
    /// Adds an endpoint of `person` for `events`; answers it (its secret is shown once).
    pub async fn create_webhook(
        &self,
        person: &PersonView,
        url: &str,
        events: &[String],
    ) -> ServiceResult<WebhookRow> {
        let parsed = check_url(url, self.config.webhooks_allow_loopback)?;
        let mut chosen: Vec<String> = EVENTS
            .iter()
            .filter(|event| events.iter().any(|e| e == *event))
            .map(|event| event.to_string())
            .collect();
        chosen.dedup();
        if chosen.is_empty() || chosen.len() != events.len() {
            return Err(ServiceError::invalid(
                "events",
                format!("choose one or more of {}", EVENTS.join(", ")),
            ));
        }
        let mut tx = self.write_without_ledger().await?;
        let live = tx
            .webhooks_of_person(person.id)
            .await?
            .into_iter()
            .filter(|hook| !hook.deleted)
            .count();
        if live >= MAX_WEBHOOKS {
            return Err(ServiceError::conflict(format!(
                "at most {MAX_WEBHOOKS} endpoints; delete one first"
            )));
        }
        let mut row = WebhookRow {
            id: 0,
            person_id: person.id,
            url: parsed.to_string(),
            events: chosen,
            secret: format!("whsec_{}", hex::encode(super::random_bytes::<32>()?)),
            created_at_ms: self.now_ms(),
            deleted: false,
        };
        row.id = tx.insert_webhook(&row).await?;
        tx.commit().await?;
        tracing::info!(
            person = person.id,
            webhook = row.id,
            "webhook endpoint added"
        );
        Ok(row)
    }

    /// Deletes `person`'s endpoint `id` (404 for another's): it receives nothing more.
    pub async fn delete_webhook(&self, person: &PersonView, id: u64) -> ServiceResult<()> {
        let mut tx = self.write_without_ledger().await?;
        if !tx.delete_webhook(person.id, id).await? {
            return Err(ServiceError::not_found(format!("webhook {id}")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// `person`'s endpoints and newest deliveries.
    pub async fn webhooks_of(&self, person: &PersonView) -> ServiceResult<WebhooksView> {
        let mut tx = self.read().await?;
        Ok(WebhooksView {
            webhooks: tx
                .webhooks_of_person(person.id)
                .await?
                .into_iter()
                .filter(|hook| !hook.deleted)
                .collect(),
            deliveries: tx.deliveries_of_person(person.id, LISTED).await?,
        })
    }

    /// Queues `event` of `account`'s person's endpoints that want it, in the write `tx` (`data`
    /// is the event's own fields).
    pub(crate) async fn enqueue_webhook<T: StoreTx>(
        &self,
        tx: &mut T,
        now_ms: u64,
        account: u64,
        event: &str,
        data: serde_json::Value,
    ) -> ServiceResult<()> {
        let hooks = tx.webhooks_of_account(account).await?;
        if !hooks.iter().any(|hook| hook.wants(event)) {
            return Ok(());
        }
        let body = json!({
            "event": event,
            "at_ms": now_ms,
            "account": account,
            "data": data,
        })
        .to_string();
        for hook in hooks.iter().filter(|hook| hook.wants(event)) {
            tx.insert_delivery(hook.id, event, &body, now_ms).await?;
        }
        Ok(())
    }

    /// Queues the webhooks a job event calls for: `job.finished` for its creator when it ends,
    /// `frame.rejected` for its creator and for the rejected worker's owner.
    pub(crate) async fn enqueue_job_webhooks<T: StoreTx>(
        &self,
        write: &mut Write<'_, T>,
        job: &JobRow,
        event: &JobEvent,
    ) -> ServiceResult<()> {
        let now = write.now_ms;
        match event {
            JobEvent::Completed { .. } | JobEvent::Failed { .. } | JobEvent::Cancelled {} => {
                let data = json!({
                    "job": job.id,
                    "name": job.spec.name,
                    "state": event.kind(),
                    "event": event,
                });
                self.enqueue_webhook(&mut write.tx, now, job.owner, "job.finished", data)
                    .await
            }
            JobEvent::TaskRejected { worker, .. } => {
                let data = json!({ "job": job.id, "event": event });
                self.enqueue_webhook(
                    &mut write.tx,
                    now,
                    job.owner,
                    "frame.rejected",
                    data.clone(),
                )
                .await?;
                let same_person = match (
                    write.tx.person_of_account(job.owner).await?,
                    write.tx.person_of_account(worker.0).await?,
                ) {
                    (Some(a), Some(b)) => a == b,
                    _ => false,
                };
                if same_person {
                    return Ok(());
                }
                self.enqueue_webhook(&mut write.tx, now, worker.0, "frame.rejected", data)
                    .await
            }
            _ => Ok(()),
        }
    }

    /// Queues `worker.offline` for the workers that fell silent since they were last announced
    /// (seen within the last day, not within the online window); answers how many.
    pub async fn announce_offline_workers(&self) -> ServiceResult<usize> {
        let now = self.now_ms();
        let (since, before) = (
            now.saturating_sub(86_400_000),
            now.saturating_sub(self.config.worker_online_ms),
        );
        // Looked for in a read first: most rounds find none and write nothing.
        if self
            .read()
            .await?
            .unannounced_offline_workers(since, before)
            .await?
            .is_empty()
        {
            return Ok(0);
        }
        let mut tx = self.write_without_ledger().await?;
        let silent = tx.unannounced_offline_workers(since, before).await?;
        for (worker, last_seen_ms) in &silent {
            let name = tx
                .worker(*worker)
                .await?
                .map(|w| w.name)
                .unwrap_or_default();
            let data = json!({ "worker": worker, "name": name, "last_seen_ms": last_seen_ms });
            self.enqueue_webhook(&mut tx, now, *worker, "worker.offline", data)
                .await?;
            tx.record_offline_notice(*worker, *last_seen_ms).await?;
        }
        tx.commit().await?;
        Ok(silent.len())
    }
}
