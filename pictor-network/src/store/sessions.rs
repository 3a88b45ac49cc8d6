//! Sessions of the web app: a signed-in browser's token (stored as its hash), its account, the
//! CSRF token its forms carry, and when it expires.

use super::*;
use std::future::Future;

/// One web session, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// BLAKE3 of the session token, hex: the token itself is never stored.
    pub token_hash: String,
    /// The account the session acts as.
    pub account_id: u64,
    /// The person signed in with a password, who may switch among their linked accounts; `None`
    /// for a session signed in with one account's API key.
    pub person_id: Option<u64>,
    /// The token every state-changing form of this session must send back.
    pub csrf_token: String,
    /// When the session was created, ms since the Unix epoch.
    pub created_at_ms: u64,
    /// When it stops working, ms since the Unix epoch.
    pub expires_at_ms: u64,
}

/// Sessions of the web app.
pub trait SessionsTx: Send {
    /// Stores a new session.
    fn insert_session(&mut self, row: &SessionRow) -> impl Future<Output = StoreResult<()>> + Send;

    /// The session whose token hashes to `token_hash`, expired or not.
    fn session(
        &mut self,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<SessionRow>>> + Send;

    /// Makes a session act as another account (one of its person's).
    fn set_session_account(
        &mut self,
        token_hash: &str,
        account_id: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Removes a session (signing out); answers whether there was one.
    fn delete_session(
        &mut self,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Removes the sessions expired at `now_ms`; answers how many.
    fn delete_expired_sessions(
        &mut self,
        now_ms: u64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}
