//! API keys, the caller of a request, and the network's signing key.
//!
//! Keys are `pk_` + 48 random hex digits (192 bits from the OS). Only their BLAKE3 hash is stored: a
//! fast hash is enough because the keys are random, not passwords.

use super::{ADMIN_KEY_FILE, Coordinator, NETWORK_KEY_FILE, ServiceError, ServiceResult};
use crate::store::prelude::*;
use crate::store::{AccountRow, Countable, Store};
use pictor_core::api::{ErrorCode, Role};
use pictor_core::ledger::SigningKey;
use rand::TryRngCore;
use rand::rngs::OsRng;
use std::path::Path;

/// The account behind a request's API key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The key's account, read on every request; its role decides what the key may do.
    pub account: AccountRow,
}

impl Caller {
    /// The account id; for a worker or checker key also its worker or checker id.
    pub fn id(&self) -> u64 {
        self.account.id
    }

    /// Refuses (403) unless the key acts in `role`.
    pub fn require(&self, role: Role) -> ServiceResult<()> {
        if self.account.role == role {
            Ok(())
        } else {
            Err(ServiceError::forbidden(format!(
                "this needs a {} key; yours is a {} key",
                role_name(role),
                role_name(self.account.role)
            )))
        }
    }

    /// Refuses (403) unless the key acts in one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> ServiceResult<()> {
        if roles.contains(&self.account.role) {
            Ok(())
        } else {
            Err(ServiceError::forbidden(format!(
                "a {} key may not do this",
                role_name(self.account.role)
            )))
        }
    }
}

/// The role's name as on the wire.
pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Creator => "creator",
        Role::Worker => "worker",
        Role::Checker => "checker",
        Role::Farm => "farm",
    }
}

/// The stored form of an API key.
pub fn hash_api_key(key: &str) -> [u8; 32] {
    *blake3::hash(key.as_bytes()).as_bytes()
}

pub(crate) fn random_bytes<const N: usize>() -> ServiceResult<[u8; N]> {
    let mut bytes = [0u8; N];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| ServiceError::internal(&e))?;
    Ok(bytes)
}

/// A fresh API key: `pk_` and 48 hex digits (24 random bytes); only its hash is stored.
pub(crate) fn new_api_key() -> ServiceResult<String> {
    Ok(format!("pk_{}", hex::encode(random_bytes::<24>()?)))
}

/// Writes `contents` to a file readable by its owner only (mode 0600), atomically
/// ([`pictor_core::private_fs::write_private_file`]).
pub(crate) fn write_private_file(path: &Path, contents: &[u8]) -> ServiceResult<()> {
    pictor_core::private_fs::write_private_file(path, contents)
        .map_err(|e| ServiceError::internal(&format!("{}: {e}", path.display())))
}

/// The meta key under which the store records the public key its ledger is sealed with.
const NETWORK_PUBLIC_KEY_META: &str = "network_public_key";

/// Loads the network key (32 bytes, hex) or generates and stores one.
pub(crate) fn load_or_create_network_key(path: &Path) -> ServiceResult<SigningKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| {
                ServiceError::internal(&format!(
                    "{} is not 64 hex digits; refusing to start with a damaged network key",
                    path.display()
                ))
            })?;
            Ok(SigningKey::from_bytes(&bytes))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let bytes = random_bytes::<32>()?;
            // Replicas starting at once on one data directory must agree on one key: the first
            // file written wins and the others read it.
            let created = pictor_core::private_fs::create_private_file_once(
                path,
                hex::encode(bytes).as_bytes(),
            )
            .map_err(|e| ServiceError::internal(&format!("{}: {e}", path.display())))?;
            if !created {
                return load_or_create_network_key(path);
            }
            tracing::info!(path = %path.display(), "generated the network signing key");
            Ok(SigningKey::from_bytes(&bytes))
        }
        Err(error) => Err(ServiceError::internal(&format!(
            "{}: {error}",
            path.display()
        ))),
    }
}

/// Most keys [`KnownKeys`] holds; when full it starts over (the next request of each key reads the
/// store once more).
const KNOWN_KEYS_MAX: usize = 100_000;

/// How long [`KnownKeys`] trusts what it found: a worker config revoked through another replica
/// stops working here within this long (on the replica that revoked it, at once).
const KNOWN_KEY_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// The accounts authentication has found, by API-key hash, each for [`KNOWN_KEY_TTL`]: every
/// authenticated request otherwise reads the store once before its own work (a read transaction
/// and a join), which is most of an idle worker's poll. Accounts never change role or name; a
/// key is revoked only with its worker's config (`set_worker_config`), which forgets the
/// account's keys here at once ([`KnownKeys::forget_account`]) and on other replicas when their
/// entries age out. Unknown keys are not remembered, so a key created later is found.
#[derive(Default)]
pub(crate) struct KnownKeys {
    accounts: std::sync::RwLock<KeyTable>,
}

/// Accounts by API-key hash, each with when it was found.
type KeyTable = std::collections::HashMap<[u8; 32], (AccountRow, std::time::Instant)>;

impl KnownKeys {
    fn get(&self, hash: &[u8; 32]) -> Option<AccountRow> {
        // Plain data: a panic while holding the lock cannot leave it half-written.
        self.accounts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(hash)
            .filter(|(_, found)| found.elapsed() < KNOWN_KEY_TTL)
            .map(|(account, _)| account.clone())
    }

    fn insert(&self, hash: [u8; 32], account: &AccountRow) {
        let mut accounts = self.write();
        if accounts.len() >= KNOWN_KEYS_MAX {
            accounts.clear();
        }
        accounts.insert(hash, (account.clone(), std::time::Instant::now()));
    }

    /// Forgets every key of `account` (its keys were replaced or revoked).
    pub(crate) fn forget_account(&self, account: u64) {
        self.write().retain(|_, (row, _)| row.id != account);
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, KeyTable> {
        self.accounts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<S: Store> Coordinator<S> {
    /// The caller of a request bearing `api_key`; 401 for a missing or unknown key. Known keys are
    /// answered from memory (`KnownKeys`).
    pub async fn authenticate(&self, api_key: Option<&str>) -> ServiceResult<Caller> {
        let key = api_key.ok_or_else(|| {
            ServiceError::new(
                ErrorCode::Unauthorized,
                "missing API key: send `Authorization: Bearer <key>`",
            )
        })?;
        let hash = hash_api_key(key);
        if let Some(account) = self.known_keys.get(&hash) {
            return Ok(Caller { account });
        }
        let mut tx = self.read().await?;
        let account = tx
            .account_by_key(&hash)
            .await?
            .ok_or_else(|| ServiceError::new(ErrorCode::Unauthorized, "unknown API key"))?;
        self.known_keys.insert(hash, &account);
        Ok(Caller { account })
    }

    /// Creates the admin account at first start and writes its key to `admin.key` (mode 0600).
    /// Records the network's public key in the store on first start, and refuses to run with
    /// another key: coordinators sharing a database must seal its one ledger with one key (a
    /// replica started on a data directory of its own would otherwise sign with a key of its own).
    pub(crate) async fn bind_network_key(&self) -> ServiceResult<()> {
        let ours = hex::encode(self.key.verifying_key().as_bytes());
        let mut tx = self.write_without_ledger().await?;
        match tx.meta(NETWORK_PUBLIC_KEY_META).await? {
            Some(bound) if bound == ours => Ok(()),
            Some(bound) => Err(ServiceError::conflict(format!(
                "the database's ledger is sealed with network key {bound}, but {} holds key \
                 {ours}: give every coordinator of one database the same network key file",
                self.data_dir.join(NETWORK_KEY_FILE).display()
            ))),
            None => {
                tx.set_meta(NETWORK_PUBLIC_KEY_META, &ours).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    }

    pub(crate) async fn bootstrap_admin(&self) -> ServiceResult<()> {
        let mut write = self.write().await?;
        let result = async {
            if write.tx.count(Countable::Accounts).await? > 0 {
                return Ok(None);
            }
            let key = new_api_key()?;
            // The file first: a crash before the commit leaves an unused key that the next start
            // replaces; the other order could lose the only admin key.
            write_private_file(
                &self.data_dir.join(ADMIN_KEY_FILE),
                format!("{key}\n").as_bytes(),
            )?;
            let id = write
                .tx
                .insert_account("admin", "admin", &hash_api_key(&key), self.now_ms())
                .await?;
            Ok(Some(id))
        }
        .await;
        if let Some(id) = self.finish(write, result).await? {
            let path = self.data_dir.join(ADMIN_KEY_FILE);
            tracing::info!(account = id, path = %path.display(), "created the bootstrap admin account");
        }
        Ok(())
    }
}
