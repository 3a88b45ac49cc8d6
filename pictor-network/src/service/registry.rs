//! The worker registry: a worker (or farm) registers its key, hardware, price and slots, within
//! the market's bounds; anyone may list the registered workers.

use super::views::worker_view;
use super::{Caller, Coordinator, ServiceError, ServiceResult};
use crate::store::prelude::*;
use crate::store::{Store, WorkRecord, WorkerRow};
use pictor_core::api::{RegisterWorkerRequest, Role, WorkerView};
use pictor_core::ledger::VerifyingKey;

impl<S: Store> Coordinator<S> {
    /// Registers (or updates) the caller's worker.
    pub async fn register_worker(
        &self,
        caller: &Caller,
        request: &RegisterWorkerRequest,
    ) -> ServiceResult<WorkerView> {
        caller.require_any(&[Role::Worker, Role::Farm])?;
        let key = parse_public_key(&request.public_key_hex)?;
        self.check_declaration(request)?;
        let queue_delay_secs = farm_queue_delay(caller, request)?;
        let row = WorkerRow {
            account_id: caller.id(),
            name: request.name.clone(),
            public_key: key,
            hardware: request.hardware.clone(),
            price: request.price_per_bench_hour,
            speed_millis: request.speed_millis,
            slots: request.slots,
            last_seen_ms: self.now_ms(),
            record: WorkRecord::default(),
            min_tier: request.min_tier,
            queue_delay_secs,
        };
        self.config.market.offer_of(&row).validate()?;
        let mut tx = self.write_without_ledger().await?;
        tx.upsert_worker(&row).await?;
        tx.commit().await?;
        tracing::info!(worker = caller.id(), name = %row.name, "worker registered");
        Ok(worker_view(&row, 0))
    }

    /// Checks what a worker declares against the network's bounds (docs/ARCHITECTURE.md, "The
    /// market's bounds").
    fn check_declaration(&self, request: &RegisterWorkerRequest) -> ServiceResult<()> {
        let name_len = request.name.chars().count();
        if !(1..=64).contains(&name_len) || request.name.chars().any(char::is_control) {
            return Err(ServiceError::invalid(
                "name",
                "must be 1 to 64 characters without control characters",
            ));
        }
        if request.speed_millis == 0 || request.speed_millis > 1_000_000 {
            return Err(ServiceError::invalid("speed_millis", "must be 1..=1000000"));
        }
        let market = &self.config.market;
        if request.price_per_bench_hour > market.max_price_per_bench_hour {
            return Err(ServiceError::invalid(
                "price_per_bench_hour",
                format!(
                    "must be at most {} per bench-hour (this network's ceiling)",
                    market.max_price_per_bench_hour
                ),
            ));
        }
        if !(1..=market.max_slots).contains(&request.slots) {
            return Err(ServiceError::invalid(
                "slots",
                format!("must be 1..={}", market.max_slots),
            ));
        }
        if request.hardware.gpu_name.len() > 128 || request.hardware.renderers.len() > 16 {
            return Err(ServiceError::invalid(
                "hardware",
                "gpu_name ≤ 128 bytes, ≤ 16 renderers",
            ));
        }
        Ok(())
    }

    /// Every registered worker (public).
    pub async fn list_workers(&self) -> ServiceResult<Vec<WorkerView>> {
        let since = self.now_ms().saturating_sub(self.config.worker_online_ms);
        let mut tx = self.read().await?;
        Ok(tx
            .workers()
            .await?
            .iter()
            .map(|w| worker_view(w, since))
            .collect())
    }

    /// The caller's registered worker; 409 when it has not registered yet.
    pub(crate) async fn registered_worker<T: StoreTx>(
        &self,
        tx: &mut T,
        caller: &Caller,
    ) -> ServiceResult<WorkerRow> {
        caller.require_any(&[Role::Worker, Role::Farm])?;
        tx.worker(caller.id()).await?.ok_or_else(|| {
            ServiceError::conflict("this worker is not registered: POST /v1/workers first")
        })
    }
}

/// The longest queue delay a farm may declare: a day.
const MAX_QUEUE_DELAY_SECS: u32 = 86_400;

/// A farm's queue delay (0 when it declares none); `None` for a worker, which may not declare one.
fn farm_queue_delay(
    caller: &Caller,
    request: &RegisterWorkerRequest,
) -> ServiceResult<Option<u32>> {
    match (caller.account.role, request.queue_delay_secs) {
        (Role::Farm, delay) => {
            let delay = delay.unwrap_or(0);
            if delay > MAX_QUEUE_DELAY_SECS {
                return Err(ServiceError::invalid(
                    "queue_delay_secs",
                    format!("must be at most {MAX_QUEUE_DELAY_SECS} (a day)"),
                ));
            }
            Ok(Some(delay))
        }
        (_, Some(_)) => Err(ServiceError::invalid(
            "queue_delay_secs",
            "only a farm account declares a queue delay",
        )),
        (_, None) => Ok(None),
    }
}

/// An ed25519 public key from its 64 hex digits.
fn parse_public_key(hex_key: &str) -> ServiceResult<[u8; 32]> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(hex_key, &mut key)
        .map_err(|_| ServiceError::invalid("public_key_hex", "must be 64 hex digits"))?;
    VerifyingKey::from_bytes(&key)
        .map_err(|_| ServiceError::invalid("public_key_hex", "is not an ed25519 public key"))?;
    Ok(key)
}
