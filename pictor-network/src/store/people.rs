//! People of the web app: a login and a password hash, and the accounts (roles) linked to each.

use super::*;
use std::future::Future;

/// A person as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonRow {
    /// Their id.
    pub id: u64,
    /// Their login name (lower case).
    pub login: String,
    /// The password's argon2id hash in PHC form (`$argon2id$v=19$…`).
    pub password_hash: String,
    /// When they were added, ms since the Unix epoch.
    pub created_at_ms: u64,
}

/// People and their accounts.
pub trait PeopleTx: Send {
    /// Adds a person; answers their id. A login already taken is a constraint error.
    fn insert_person(
        &mut self,
        login: &str,
        password_hash: &str,
        created_at_ms: u64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// The person with this login, if any.
    fn person_by_login(
        &mut self,
        login: &str,
    ) -> impl Future<Output = StoreResult<Option<PersonRow>>> + Send;

    /// The person `id`, if any.
    fn person(&mut self, id: u64) -> impl Future<Output = StoreResult<Option<PersonRow>>> + Send;

    /// Links `account` to `person`. An account already linked is a constraint error.
    fn link_account(
        &mut self,
        person: u64,
        account: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The person `account` is linked to, if any.
    fn person_of_account(
        &mut self,
        account: u64,
    ) -> impl Future<Output = StoreResult<Option<u64>>> + Send;

    /// The accounts linked to `person`, by id.
    fn accounts_of_person(
        &mut self,
        person: u64,
    ) -> impl Future<Output = StoreResult<Vec<u64>>> + Send;
}
