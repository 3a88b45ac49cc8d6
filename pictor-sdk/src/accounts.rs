//! Accounts: create and read (admin), deposits (admin), the caller's own account and bond.

use crate::client::{Call, Client, new_idempotency_key};
use crate::error::Result;
use pictor_core::api::{
    AccountView, BondAction, BondRequest, BondSource, BondView, CreateAccountRequest,
    CreatedAccount, DepositRequest, Role, routes,
};
use pictor_core::{AccountId, Money};
use std::future::Future;

/// Accounts; from [`Client::accounts`].
#[derive(Clone, Debug)]
pub struct Accounts {
    client: Client,
}

impl Accounts {
    pub(crate) fn new(client: Client) -> Self {
        Accounts { client }
    }

    /// Opens an account (admin key): answers the account and its API key, shown this once.
    ///
    /// ```no_run
    /// # async fn demo(admin: pictor_sdk::Client) -> pictor_sdk::Result<()> {
    /// use pictor_core::api::Role;
    /// let created = admin.accounts().create(Role::Creator, "studio").await?;
    /// let studio = pictor_sdk::Client::builder()
    ///     .endpoint(admin.endpoint())
    ///     .api_key(created.api_key)
    ///     .build()?;
    /// # let _ = studio; Ok(()) }
    /// ```
    pub fn create<N: Into<String>>(
        &self,
        role: Role,
        name: N,
    ) -> impl Future<Output = Result<CreatedAccount>> + Send + 'static + use<N> {
        let client = self.client.clone();
        let request = CreateAccountRequest {
            role,
            name: name.into(),
        };
        // Not retried: a repeat would open a second account.
        async move {
            client
                .json(Call::post_json(routes::ACCOUNTS, &request)?)
                .await
        }
    }

    /// One account (admin key).
    pub fn get(
        &self,
        id: AccountId,
    ) -> impl Future<Output = Result<AccountView>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move { client.json(Call::get(routes::account(id.0))).await }
    }

    /// The caller's own account (any key).
    pub fn me(&self) -> impl Future<Output = Result<AccountView>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move { client.json(Call::get(routes::ACCOUNT)).await }
    }

    /// Credits an account from outside the network (admin key). Carries an `Idempotency-Key`
    /// (random unless set), so it is retried safely.
    ///
    /// ```no_run
    /// # async fn demo(admin: pictor_sdk::Client, id: pictor_core::AccountId) -> pictor_sdk::Result<()> {
    /// use pictor_core::Money;
    /// let account = admin
    ///     .accounts()
    ///     .deposit(id, Money::from_credits(100).expect("in range"))
    ///     .idempotency_key("invoice-2041")
    ///     .send()
    ///     .await?;
    /// println!("balance {}", account.balance);
    /// # Ok(()) }
    /// ```
    pub fn deposit(&self, id: AccountId, amount: Money) -> Deposit {
        Deposit {
            client: self.client.clone(),
            id,
            amount,
            idempotency_key: None,
        }
    }
}

/// A deposit being configured; from [`Accounts::deposit`].
#[must_use = "nothing is deposited until `send` is awaited"]
#[derive(Clone, Debug)]
pub struct Deposit {
    client: Client,
    id: AccountId,
    amount: Money,
    idempotency_key: Option<String>,
}

impl Deposit {
    /// The `Idempotency-Key`: the same key deposits at most once (default: a fresh random key, reused
    /// across this call's retries).
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Sends the deposit; answers the account after it.
    #[allow(
        clippy::manual_async_fn,
        reason = "the signature states the Send + 'static guarantee"
    )]
    pub fn send(self) -> impl Future<Output = Result<AccountView>> + Send + 'static {
        async move {
            let key = self.idempotency_key.unwrap_or_else(new_idempotency_key);
            let request = DepositRequest {
                amount: self.amount,
            };
            let call = Call::post_json(routes::deposits(self.id.0), &request)?.keyed(key);
            self.client.json(call).await
        }
    }
}

impl Accounts {
    /// The caller's bond and what it allows (a worker's or checker's key; docs/TRUST.md).
    pub fn bond(&self) -> impl Future<Output = Result<BondView>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move { client.json(Call::get(routes::BOND)).await }
    }

    /// Moves `amount` from the caller's balance (or, with [`BondSource::Earnings`], its
    /// earnings) into its bond. Carries a random `Idempotency-Key`, so it is retried safely.
    pub fn post_bond(
        &self,
        amount: Money,
        source: BondSource,
    ) -> impl Future<Output = Result<BondView>> + Send + 'static + use<> {
        self.change_bond(BondRequest {
            action: BondAction::Post,
            amount,
            source,
        })
    }

    /// Returns `amount` of the caller's bond to its balance; refused (409) while any of its
    /// results or verdicts awaits a decision.
    pub fn withdraw_bond(
        &self,
        amount: Money,
    ) -> impl Future<Output = Result<BondView>> + Send + 'static + use<> {
        self.change_bond(BondRequest {
            action: BondAction::Withdraw,
            amount,
            source: BondSource::Balance,
        })
    }

    fn change_bond(
        &self,
        request: BondRequest,
    ) -> impl Future<Output = Result<BondView>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move {
            let call = Call::post_json(routes::BOND, &request)?.keyed(new_idempotency_key());
            client.json(call).await
        }
    }
}
