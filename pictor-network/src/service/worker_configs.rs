//! Workers created in Pictor Cloud: a person creates one (its settings checked against the
//! market's bounds), downloads its config once — its API key is minted then and kept only as a
//! hash — revokes and re-issues it; and workers report what they are doing.
//!
//! A worker's signing key is never made here: the worker app generates it on the owner's machine
//! at its first start (`WorkerConfig::signing_key_or_generate`).

use super::auth::{hash_api_key, new_api_key, random_bytes};
use super::{Coordinator, PersonView, ServiceError, ServiceResult};
use crate::store::Store;
use crate::store::prelude::*;
use crate::store::providers::{ActivityRow, WorkerSettings, WorkerSettingsRow};
use pictor_core::api::{Role, WorkerActivityReport};

/// Workers a person may create here (a bound on what one person can make the store hold).
const MAX_WORKERS_PER_PERSON: usize = 100;
/// The longest idle-time command accepted, characters.
const MAX_IDLE_COMMAND_CHARS: usize = 1_000;

/// Checks what a person sets a new worker to.
fn validate_settings(
    settings: &WorkerSettings,
    rules: &super::MarketRules,
) -> ServiceResult<WorkerSettings> {
    let name = settings.name.trim().to_string();
    let length = name.chars().count();
    if !(1..=64).contains(&length) || name.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "name",
            "must be 1 to 64 characters without control characters",
        ));
    }
    if settings.price == pictor_core::Money::ZERO || settings.price > rules.max_price_per_bench_hour
    {
        return Err(ServiceError::invalid(
            "price",
            format!(
                "must be more than 0 and at most {} per bench-hour (this network's ceiling)",
                rules.max_price_per_bench_hour
            ),
        ));
    }
    if !(1..=rules.max_slots).contains(&settings.slots) {
        return Err(ServiceError::invalid(
            "slots",
            format!("must be 1 to {}", rules.max_slots),
        ));
    }
    let idle_command = settings
        .idle_command
        .as_deref()
        .map(str::trim)
        .filter(|command| !command.is_empty());
    if let Some(command) = idle_command
        && (command.chars().count() > MAX_IDLE_COMMAND_CHARS
            || command.chars().any(char::is_control))
    {
        return Err(ServiceError::invalid(
            "idle_command",
            format!("must be one line of at most {MAX_IDLE_COMMAND_CHARS} characters"),
        ));
    }
    let renderer = match settings.renderer.trim() {
        "blender" => "blender",
        "builtin" => "builtin",
        _ => {
            return Err(ServiceError::invalid(
                "renderer",
                "must be blender (Blender and the built-in renderer) or builtin",
            ));
        }
    };
    Ok(WorkerSettings {
        name,
        idle_command: idle_command.map(str::to_string),
        renderer: renderer.to_string(),
        ..settings.clone()
    })
}

impl<S: Store> Coordinator<S> {
    /// Creates a worker for `person`: a worker account linked to them, with no usable key until
    /// its config is downloaded ([`issue_worker_config`](Self::issue_worker_config)). Answers its
    /// id.
    pub async fn create_cloud_worker(
        &self,
        person: &PersonView,
        settings: &WorkerSettings,
    ) -> ServiceResult<u64> {
        let settings = validate_settings(settings, &self.config.market)?;
        // No key works until the config is issued: the account starts with the hash of 32 random
        // bytes nobody keeps.
        let unusable = *blake3::hash(&random_bytes::<32>()?).as_bytes();
        let now = self.now_ms();
        let mut tx = self.write_without_ledger().await?;
        if tx.worker_settings_of_person(person.id).await?.len() >= MAX_WORKERS_PER_PERSON {
            return Err(ServiceError::conflict(format!(
                "at most {MAX_WORKERS_PER_PERSON} workers per person"
            )));
        }
        let account = tx
            .insert_account("worker", &settings.name, &unusable, now)
            .await?;
        tx.link_account(person.id, account).await?;
        tx.insert_worker_settings(&WorkerSettingsRow {
            account_id: account,
            person_id: person.id,
            settings,
            created_at_ms: now,
            config_issued_at_ms: None,
            configs_issued: 0,
        })
        .await?;
        tx.commit().await?;
        tracing::info!(
            person = person.id,
            worker = account,
            "worker created in Pictor Cloud"
        );
        Ok(account)
    }

    /// Issues the config of `person`'s worker `account`: mints its API key (the only time it
    /// exists outside the worker's file) and answers it with the worker's settings. Refused (409)
    /// while a config issued before still works: revoke it first.
    pub async fn issue_worker_config(
        &self,
        person: &PersonView,
        account: u64,
    ) -> ServiceResult<(WorkerSettingsRow, String)> {
        let key = new_api_key()?;
        let mut tx = self.write_without_ledger().await?;
        let row = owned_settings(&mut tx, person, account).await?;
        if row.config_issued_at_ms.is_some() {
            return Err(ServiceError::conflict(
                "this worker's config was already downloaded; revoke it to issue a new one",
            ));
        }
        tx.set_worker_config(account, Some(&hash_api_key(&key)), self.now_ms())
            .await?;
        tx.commit().await?;
        self.known_keys.forget_account(account);
        tracing::info!(
            person = person.id,
            worker = account,
            issued = row.configs_issued + 1,
            "worker config issued"
        );
        Ok((row, key))
    }

    /// Revokes the config of `person`'s worker `account`: its key is refused from the next
    /// request on, so the running worker stops being given work.
    pub async fn revoke_worker_config(
        &self,
        person: &PersonView,
        account: u64,
    ) -> ServiceResult<()> {
        let mut tx = self.write_without_ledger().await?;
        owned_settings(&mut tx, person, account).await?;
        tx.set_worker_config(account, None, self.now_ms()).await?;
        tx.commit().await?;
        self.known_keys.forget_account(account);
        tracing::info!(
            person = person.id,
            worker = account,
            "worker config revoked"
        );
        Ok(())
    }

    /// Records what the calling worker reports doing (and that it was seen).
    pub async fn report_activity(
        &self,
        caller: &super::Caller,
        report: &WorkerActivityReport,
    ) -> ServiceResult<()> {
        caller.require_any(&[Role::Worker, Role::Farm])?;
        let now = self.now_ms();
        let mut tx = self.write_without_ledger().await?;
        tx.insert_worker_activity(
            caller.id(),
            &ActivityRow {
                at_ms: now,
                activity: report.activity,
                task_id: report.task.map(|task| task.0),
                gpu_utilisation_percent: report.gpu_utilisation_percent.map(|p| p.min(100)),
            },
        )
        .await?;
        tx.touch_worker(caller.id(), now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The settings of the worker `account` that `person` created here; 404 for any other.
async fn owned_settings<T: StoreTx>(
    tx: &mut T,
    person: &PersonView,
    account: u64,
) -> ServiceResult<WorkerSettingsRow> {
    tx.worker_settings(account)
        .await?
        .filter(|row| row.person_id == person.id)
        .ok_or_else(|| ServiceError::not_found(format!("worker {account}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_and_trimmed() {
        let rules = super::super::MarketRules::default();
        let good = WorkerSettings {
            name: "  gpu-1 ".into(),
            price: pictor_core::Money::from_credits(2).expect("price"),
            min_tier: pictor_core::job::Tier::Standard,
            idle_command: Some("   ".into()),
            slots: 1,
            renderer: "builtin".into(),
        };
        let checked = validate_settings(&good, &rules).expect("valid");
        assert_eq!(checked.name, "gpu-1");
        assert_eq!(checked.idle_command, None);
        for bad in [
            WorkerSettings {
                name: String::new(),
                ..good.clone()
            },
            WorkerSettings {
                slots: 0,
                ..good.clone()
            },
            WorkerSettings {
                price: pictor_core::Money::ZERO,
                ..good.clone()
            },
            WorkerSettings {
                idle_command: Some("a\nb".into()),
                ..good.clone()
            },
            WorkerSettings {
                renderer: "cycles".into(),
                ..good.clone()
            },
        ] {
            assert!(validate_settings(&bad, &rules).is_err(), "{bad:?}");
        }
    }

    /// The config's key leaves the coordinator only in the answer: its issue is logged by who
    /// and which worker, never with the key.
    #[tokio::test(flavor = "current_thread")]
    async fn issuing_a_config_logs_it_without_its_key() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("log").extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let dir = tempfile::tempdir().expect("tempdir");
        let coordinator = crate::server::open(dir.path(), crate::service::Config::default())
            .await
            .expect("open");
        let admin_key = std::fs::read_to_string(dir.path().join(crate::service::ADMIN_KEY_FILE))
            .expect("admin key");
        let admin = coordinator
            .authenticate(Some(admin_key.trim()))
            .await
            .expect("admin");
        let creator = coordinator
            .create_account(
                &admin,
                &pictor_core::api::CreateAccountRequest {
                    role: Role::Creator,
                    name: "ada".into(),
                },
            )
            .await
            .expect("account");
        let session = coordinator
            .sign_in_with_key(&creator.api_key)
            .await
            .expect("session");
        let web = coordinator.web_session(&session.token).await.expect("web");
        coordinator
            .create_person(&web, "ada", "correct horse battery")
            .await
            .expect("person");
        let person_session = coordinator
            .sign_in_with_password("ada", "correct horse battery")
            .await
            .expect("signed in");
        let person = coordinator
            .web_session(&person_session.token)
            .await
            .expect("web")
            .person
            .expect("a person");
        let settings = WorkerSettings {
            name: "gpu".into(),
            price: pictor_core::Money::from_credits(2).expect("price"),
            min_tier: pictor_core::job::Tier::Economy,
            idle_command: None,
            slots: 1,
            renderer: "builtin".into(),
        };
        let worker = coordinator
            .create_cloud_worker(&person, &settings)
            .await
            .expect("worker");
        let (_, key) = coordinator
            .issue_worker_config(&person, worker)
            .await
            .expect("config");
        let log = String::from_utf8(captured.0.lock().expect("log").clone()).expect("utf-8");
        assert!(log.contains("worker config issued"), "{log}");
        assert!(!log.contains(&key), "{log}");
        assert!(!log.contains(&key[3..]), "not even without its prefix");
    }
}
