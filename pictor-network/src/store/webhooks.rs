//! A person's webhook endpoints and their deliveries (written with the change they report, sent
//! and retried by a background task), and which workers' going offline was announced.

use super::StoreResult;
use std::future::Future;

/// A webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRow {
    /// Its id (0 before insertion).
    pub id: u64,
    /// The person whose accounts' events it receives.
    pub person_id: u64,
    /// Where deliveries are posted.
    pub url: String,
    /// The events it receives (`job.finished`, …).
    pub events: Vec<String>,
    /// The HMAC-SHA256 key deliveries are signed with.
    pub secret: String,
    /// When it was added, Unix ms.
    pub created_at_ms: u64,
    /// Deleted by its person: receives nothing more.
    pub deleted: bool,
}

impl WebhookRow {
    /// Whether it receives `event`.
    pub fn wants(&self, event: &str) -> bool {
        !self.deleted && self.events.iter().any(|e| e == event)
    }
}

/// Where a delivery is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next try.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Its tries ran out (or the endpoint may not be called).
    Failed,
}

impl DeliveryState {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    /// The state named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == name)
    }
}

/// One event to post to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRow {
    /// Its id (receivers tell repeats apart by it).
    pub id: u64,
    /// The endpoint.
    pub webhook_id: u64,
    /// The event's name.
    pub event: String,
    /// The JSON body posted.
    pub body: String,
    /// When the event happened, Unix ms.
    pub created_at_ms: u64,
    /// Where it is.
    pub state: DeliveryState,
    /// Tries so far.
    pub attempts: u32,
    /// When it may be tried next, Unix ms (a try in progress holds it for a while).
    pub next_attempt_ms: u64,
    /// The HTTP status of the last try, when one answered.
    pub last_status: Option<u16>,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// When it was delivered or given up, Unix ms.
    pub done_at_ms: Option<u64>,
}

/// Webhook endpoints, deliveries and offline notices.
pub trait WebhooksTx: Send {
    /// Adds an endpoint; answers its id.
    fn insert_webhook(&mut self, row: &WebhookRow)
    -> impl Future<Output = StoreResult<u64>> + Send;

    /// A person's endpoints (deleted ones too), oldest first.
    fn webhooks_of_person(
        &mut self,
        person: u64,
    ) -> impl Future<Output = StoreResult<Vec<WebhookRow>>> + Send;

    /// The live endpoints of the person owning `account`.
    fn webhooks_of_account(
        &mut self,
        account: u64,
    ) -> impl Future<Output = StoreResult<Vec<WebhookRow>>> + Send;

    /// Marks `person`'s endpoint `id` deleted; answers whether there was one.
    fn delete_webhook(
        &mut self,
        person: u64,
        id: u64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Queues a delivery of `event` with `body` to endpoint `webhook`, due at `now_ms`.
    fn insert_delivery(
        &mut self,
        webhook: u64,
        event: &str,
        body: &str,
        now_ms: u64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Pending deliveries due at `now_ms`, oldest first, at most `limit`, with their endpoints.
    fn due_deliveries(
        &mut self,
        now_ms: u64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<(DeliveryRow, WebhookRow)>>> + Send;

    /// Takes a due delivery for a try: moves its next attempt to `hold_until_ms` if it is still
    /// pending and due at `now_ms`; answers whether this caller took it (another replica may have).
    fn claim_delivery(
        &mut self,
        id: u64,
        now_ms: u64,
        hold_until_ms: u64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Records a try's outcome (state, attempts, next attempt, status, error, done time).
    fn update_delivery(
        &mut self,
        row: &DeliveryRow,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// A person's newest `limit` deliveries, newest first, with their endpoints' URLs.
    fn deliveries_of_person(
        &mut self,
        person: u64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<(DeliveryRow, String)>>> + Send;

    /// Workers seen between `since_ms` and `before_ms` (so now offline), with a person having a
    /// `worker.offline` endpoint, whose silence since that last contact was not announced yet:
    /// `(worker, last_seen_ms)`.
    fn unannounced_offline_workers(
        &mut self,
        since_ms: u64,
        before_ms: u64,
    ) -> impl Future<Output = StoreResult<Vec<(u64, u64)>>> + Send;

    /// Records that `worker`'s silence after `last_seen_ms` was announced.
    fn record_offline_notice(
        &mut self,
        worker: u64,
        last_seen_ms: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
