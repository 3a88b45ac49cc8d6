//! Web sessions (Pictor Cloud): signing in with an API key, the session a browser then holds in a
//! cookie, and signing out. The database keeps each session token's hash only; each session has a
//! CSRF token its forms must send back and an absolute expiry (`Config::web_session_ttl_ms`).

use super::auth::{hash_api_key, random_bytes};
use super::{Caller, Coordinator, ServiceError, ServiceResult};
use crate::store::prelude::*;
use crate::store::{SessionRow, Store};
use pictor_core::api::ErrorCode;

/// A session just created: what the browser gets. The token goes in an HttpOnly cookie and is
/// never shown or logged.
#[derive(Clone)]
pub struct NewSession {
    /// The session token (the cookie's value).
    pub token: String,
    /// How long the cookie lives, seconds.
    pub max_age_secs: u64,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("token", &"<secret>")
            .field("max_age_secs", &self.max_age_secs)
            .finish()
    }
}

/// A signed-in browser: who it is and the CSRF token its forms must carry.
#[derive(Clone, Debug)]
pub struct WebSession {
    /// The account the session acts as, as an API request with its key would be.
    pub caller: Caller,
    /// The token every state-changing form of this session carries.
    pub csrf_token: String,
    /// The person signed in with a password (who may switch among their accounts); `None` when
    /// the session was opened with one account's API key.
    pub person: Option<super::PersonView>,
}

impl WebSession {
    /// Whether `sent` is this session's CSRF token, compared in constant time.
    pub fn csrf_matches(&self, sent: &str) -> bool {
        let expected = self.csrf_token.as_bytes();
        let sent = sent.as_bytes();
        expected.len() == sent.len()
            && expected
                .iter()
                .zip(sent)
                .fold(0u8, |difference, (a, b)| difference | (a ^ b))
                == 0
    }
}

/// The stored form of a session token: its BLAKE3 hash, hex.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(hash_api_key(token))
}

impl<S: Store> Coordinator<S> {
    /// Signs in with an API key: a new session for its account. An unknown key is refused (401)
    /// and creates nothing. Sessions that have expired are removed on the way.
    pub async fn sign_in_with_key(&self, api_key: &str) -> ServiceResult<NewSession> {
        let caller = self.authenticate(Some(api_key)).await?;
        self.start_session(caller.id(), None).await
    }

    /// A new session acting as `account`, for `person` when signed in with a password.
    pub(crate) async fn start_session(
        &self,
        account: u64,
        person: Option<u64>,
    ) -> ServiceResult<NewSession> {
        let token = hex::encode(random_bytes::<32>()?);
        let now = self.now_ms();
        let ttl = self.config().web_session_ttl_ms;
        let row = SessionRow {
            token_hash: token_hash(&token),
            account_id: account,
            person_id: person,
            csrf_token: hex::encode(random_bytes::<32>()?),
            created_at_ms: now,
            expires_at_ms: now.saturating_add(ttl),
        };
        let mut tx = self.write_without_ledger().await?;
        tx.delete_expired_sessions(now).await?;
        tx.insert_session(&row).await?;
        tx.commit().await?;
        Ok(NewSession {
            token,
            max_age_secs: ttl / 1000,
        })
    }

    /// The session a browser's cookie names; 401 when there is none or it expired.
    pub async fn web_session(&self, token: &str) -> ServiceResult<WebSession> {
        let signed_out = || ServiceError::new(ErrorCode::Unauthorized, "not signed in");
        let mut tx = self.read().await?;
        let row = tx
            .session(&token_hash(token))
            .await?
            .filter(|row| row.expires_at_ms > self.now_ms())
            .ok_or_else(signed_out)?;
        let account = tx.account(row.account_id).await?.ok_or_else(signed_out)?;
        let person = match row.person_id {
            Some(id) => Some(
                self.person_view(&mut tx, id)
                    .await?
                    .ok_or_else(signed_out)?,
            ),
            None => None,
        };
        Ok(WebSession {
            caller: Caller { account },
            csrf_token: row.csrf_token,
            person,
        })
    }

    /// The caller of an API request a page's script makes with the session cookie: the session's
    /// account when `csrf_token` (sent in a header, which no other site's page can set) is the
    /// session's, compared in constant time; 401 otherwise. This lets the app's script use the
    /// API itself — uploads, quotes, submissions — with every rule the API applies.
    pub async fn authenticate_session(
        &self,
        token: &str,
        csrf_token: &str,
    ) -> ServiceResult<Caller> {
        let session = self.web_session(token).await?;
        if session.csrf_matches(csrf_token) {
            Ok(session.caller)
        } else {
            Err(ServiceError::new(
                ErrorCode::Unauthorized,
                "the session's CSRF token is missing or wrong",
            ))
        }
    }

    /// Ends the session `token` names (nothing happens when there is none).
    pub async fn sign_out(&self, token: &str) -> ServiceResult<()> {
        let mut tx = self.write_without_ledger().await?;
        tx.delete_session(&token_hash(token)).await?;
        tx.commit().await?;
        Ok(())
    }
}
