//! People (Pictor Cloud): one person signs in once — with a login name and a password — and acts
//! as any account linked to them: a creator account, a worker owner's, a checker's. The account
//! model stays as it is (a key per account, a role per account); a person is a sign-in over
//! several of them.
//!
//! - A person is made by an account already signed in (with its API key): it chooses a login and a
//!   password and becomes the person's first account.
//! - More accounts are linked by proving their keys; an account belongs to at most one person.
//! - Passwords are hashed with argon2id (OWASP's parameters: 19 MiB, 2 passes) on the blocking
//!   pool; only the PHC string is stored. An unknown login costs the same hash as a wrong password.

use super::auth::random_bytes;
use super::sessions::{NewSession, token_hash};
use super::{Coordinator, ServiceError, ServiceResult, WebSession};
use crate::store::prelude::*;
use crate::store::{AccountRow, Store};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use pictor_core::api::{ErrorCode, Role};
use std::sync::OnceLock;

/// Shortest password taken.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password taken (argon2 hashes any length; this bounds the work one attempt costs).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Login names: 3–64 of `a-z 0-9 . _ @ -`, compared in lower case.
pub const MAX_LOGIN_CHARS: usize = 64;

/// A signed-in person: their login and the accounts they may act as.
#[derive(Clone, Debug)]
pub struct PersonView {
    /// Their id.
    pub id: u64,
    /// Their login name.
    pub login: String,
    /// The accounts linked to them, by id.
    pub accounts: Vec<AccountRow>,
}

/// The login as stored (lower case), or why it is not one.
pub fn normalise_login(login: &str) -> ServiceResult<String> {
    let login = login.trim().to_ascii_lowercase();
    let fits = (3..=MAX_LOGIN_CHARS).contains(&login.len())
        && login.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"._@-".contains(&byte)
        });
    if fits {
        Ok(login)
    } else {
        Err(ServiceError::invalid(
            "login",
            format!("3–{MAX_LOGIN_CHARS} characters of a-z 0-9 . _ @ -"),
        ))
    }
}

fn check_password(password: &str) -> ServiceResult<()> {
    let characters = password.chars().count();
    if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&characters) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "password",
            format!("{MIN_PASSWORD_CHARS}–{MAX_PASSWORD_CHARS} characters"),
        ))
    }
}

/// The argon2id PHC string of `password` with a fresh random salt.
async fn hash_password(password: &str) -> ServiceResult<String> {
    let salt = random_bytes::<16>()?;
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).map_err(|error| ServiceError::internal(&error))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| ServiceError::internal(&error))
    })
    .await
    .map_err(|error| ServiceError::internal(&error))?
}

/// A hash no password matches, verified against when the login is unknown so that an unknown
/// login takes as long to refuse as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        // "pictor-no-person", base64 without padding: a fixed, valid 16-byte salt.
        SaltString::from_b64("cGljdG9yLW5vLXBlcnNvbg")
            .ok()
            .and_then(|salt| {
                Argon2::default()
                    .hash_password(b"no password is this one", &salt)
                    .ok()
                    .map(|hash| hash.to_string())
            })
            .unwrap_or_default()
    })
}

/// Whether `password` matches the PHC string `hash`, on the blocking pool.
async fn verify_password(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_string(), hash.to_string());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .and_then(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed))
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

impl<S: Store> Coordinator<S> {
    /// The person `id` with their accounts, read in `tx`.
    pub(crate) async fn person_view(
        &self,
        tx: &mut S::Tx,
        id: u64,
    ) -> ServiceResult<Option<PersonView>> {
        let Some(person) = tx.person(id).await? else {
            return Ok(None);
        };
        let mut accounts = Vec::new();
        for account in tx.accounts_of_person(id).await? {
            if let Some(row) = tx.account(account).await? {
                accounts.push(row);
            }
        }
        Ok(Some(PersonView {
            id,
            login: person.login,
            accounts,
        }))
    }

    /// Makes the session's account the first account of a new person with this login and
    /// password. Refused when the login is taken or the account already belongs to a person.
    pub async fn create_person(
        &self,
        session: &WebSession,
        login: &str,
        password: &str,
    ) -> ServiceResult<()> {
        let login = normalise_login(login)?;
        check_password(password)?;
        let hash = hash_password(password).await?;
        let mut tx = self.write_without_ledger().await?;
        if tx.person_of_account(session.caller.id()).await?.is_some() {
            return Err(ServiceError::conflict(
                "this account already signs in with a password",
            ));
        }
        if tx.person_by_login(&login).await?.is_some() {
            return Err(ServiceError::conflict(
                "that login is taken; choose another",
            ));
        }
        let person = tx.insert_person(&login, &hash, self.now_ms()).await?;
        tx.link_account(person, session.caller.id()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Links the account of `api_key` to the session's person (proving the key proves the
    /// account is theirs); answers that account.
    pub async fn link_account(
        &self,
        session: &WebSession,
        api_key: &str,
    ) -> ServiceResult<AccountRow> {
        let person = session.person.as_ref().ok_or_else(|| {
            ServiceError::new(
                ErrorCode::Forbidden,
                "sign in with a password to link accounts",
            )
        })?;
        let linked = self.authenticate(Some(api_key)).await?.account;
        let mut tx = self.write_without_ledger().await?;
        match tx.person_of_account(linked.id).await? {
            Some(owner) if owner == person.id => {
                return Err(ServiceError::conflict(
                    "that account is linked to you already",
                ));
            }
            Some(_) => {
                return Err(ServiceError::conflict(
                    "that account belongs to another person",
                ));
            }
            None => {}
        }
        tx.link_account(person.id, linked.id).await?;
        tx.commit().await?;
        Ok(linked)
    }

    /// Signs a person in: a session acting as their creator account (or their first account).
    /// A wrong password and an unknown login are the same 401.
    pub async fn sign_in_with_password(
        &self,
        login: &str,
        password: &str,
    ) -> ServiceResult<NewSession> {
        let refused = || ServiceError::new(ErrorCode::Unauthorized, "wrong login or password");
        let login = normalise_login(login).unwrap_or_default();
        let password = password
            .chars()
            .take(MAX_PASSWORD_CHARS + 1)
            .collect::<String>();
        let mut tx = self.read().await?;
        let person = tx.person_by_login(&login).await?;
        let hash = person
            .as_ref()
            .map_or_else(|| decoy_hash().to_string(), |row| row.password_hash.clone());
        let matches = verify_password(&password, &hash).await;
        let person = person.filter(|_| matches).ok_or_else(refused)?;
        let view = self
            .person_view(&mut tx, person.id)
            .await?
            .ok_or_else(refused)?;
        drop(tx);
        let account = view
            .accounts
            .iter()
            .find(|account| account.role == Role::Creator)
            .or_else(|| view.accounts.first())
            .ok_or_else(refused)?;
        self.start_session(account.id, Some(person.id)).await
    }

    /// Makes the session `token` act as `account`, one of its person's accounts (404 otherwise,
    /// like an account that does not exist).
    pub async fn switch_account(&self, token: &str, account: u64) -> ServiceResult<()> {
        let session = self.web_session(token).await?;
        let theirs = session
            .person
            .as_ref()
            .is_some_and(|person| person.accounts.iter().any(|row| row.id == account));
        if !theirs {
            return Err(ServiceError::not_found(format!(
                "account {account} of yours"
            )));
        }
        let mut tx = self.write_without_ledger().await?;
        tx.set_session_account(&token_hash(token), account).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_lower_case_and_plain() {
        assert_eq!(
            normalise_login(" Ada@Studio.io ").ok().as_deref(),
            Some("ada@studio.io")
        );
        assert!(normalise_login("ab").is_err());
        assert!(normalise_login("has space").is_err());
        assert!(normalise_login("<script>").is_err());
        assert!(normalise_login(&"a".repeat(MAX_LOGIN_CHARS + 1)).is_err());
    }

    #[tokio::test]
    async fn passwords_are_hashed_with_argon2id_and_verified() {
        assert!(check_password("short").is_err());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
        let hash = hash_password("correct horse battery").await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains("correct horse"));
        assert!(verify_password("correct horse battery", &hash).await);
        assert!(!verify_password("correct horse battery!", &hash).await);
        // The same password hashes differently each time (a fresh salt).
        assert_ne!(
            hash,
            hash_password("correct horse battery").await.expect("hash")
        );
        assert!(!verify_password("anything", decoy_hash()).await);
        assert!(decoy_hash().starts_with("$argon2id$"));
    }
}
