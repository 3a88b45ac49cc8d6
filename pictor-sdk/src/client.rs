//! The [`Client`], its builder, and the one request path every call goes through (auth, retries,
//! timeouts, error mapping, tracing).

use crate::config::{ClientConfig, MAX_CHUNK_SIZE};
use crate::error::{Error, Result};
use crate::retry::{Idempotence, RetryPolicy, should_retry};
use crate::{Timeouts, accounts, assets, checks, jobs, ledger, quotes, workers};
use bytes::Bytes;
use pictor_core::api::{IDEMPOTENCY_KEY_HEADER, NetworkStats, routes};
use rand::Rng;
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// The header every response of the network carries.
const REQUEST_ID_HEADER: &str = "x-request-id";

/// An async client of one Pictor network. Cheap to clone (an [`Arc`] inside); every future it returns
/// is `Send + 'static`.
///
/// ```no_run
/// # async fn demo() -> pictor_sdk::Result<()> {
/// use pictor_sdk::Client;
///
/// let client = Client::builder()
///     .endpoint("http://127.0.0.1:7878")
///     .api_key(std::env::var("PICTOR_API_KEY").unwrap_or_default())
///     .build()?;
/// client.health().await?;
/// let me = client.accounts().me().await?;
/// println!("{} has {}", me.name, me.balance);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    api_key: Option<String>,
    config: ClientConfig,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.base.as_str())
            .field(
                "api_key",
                &self.inner.api_key.as_ref().map(|_| "<redacted>"),
            )
            .field("config", &self.inner.config)
            .finish()
    }
}

/// Builds a [`Client`]; see [`Client::builder`].
#[must_use]
#[derive(Clone, Default)]
pub struct ClientBuilder {
    endpoint: Option<String>,
    api_key: Option<String>,
    config: ClientConfig,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("config", &self.config)
            .finish()
    }
}

impl ClientBuilder {
    /// The network's base URL, e.g. `http://127.0.0.1:7878` (required).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The API key sent as `Authorization: Bearer …` (omit it for the public routes only).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Connection and read timeouts (default [`Timeouts::default`]).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.config.timeouts = timeouts;
        self
    }

    /// Retry policy (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.config.retry = retry;
        self
    }

    /// Upload chunk size in bytes (default 8 MiB, 1 ..= 16 MiB).
    pub fn chunk_size(mut self, bytes: u64) -> Self {
        self.config.chunk_size = bytes;
        self
    }

    /// The whole configuration at once.
    pub fn config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// Validates the settings and builds the client.
    pub fn build(self) -> Result<Client> {
        let endpoint = self
            .endpoint
            .ok_or_else(|| Error::invalid("endpoint", "is required"))?;
        let mut base = Url::parse(endpoint.trim())
            .map_err(|error| Error::invalid("endpoint", format!("{endpoint:?}: {error}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::invalid("endpoint", "must be an http(s) URL"));
        }
        // Routes are absolute paths; keep any path prefix of the endpoint (a reverse proxy's).
        let trimmed = base.path().trim_end_matches('/').to_string();
        base.set_path(&trimmed);
        base.set_query(None);
        if let Some(key) = &self.api_key {
            validate_api_key(key)?;
        }
        let chunk = self.config.chunk_size;
        if chunk == 0 || chunk > MAX_CHUNK_SIZE {
            return Err(Error::invalid(
                "chunk_size",
                format!("must be within 1..={MAX_CHUNK_SIZE} bytes, got {chunk}"),
            ));
        }
        crate::tls::install_tls_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(self.config.timeouts.connect)
            .read_timeout(self.config.timeouts.read_idle)
            .user_agent(self.config.user_agent.clone())
            .build()
            .map_err(Error::transport)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                api_key: self.api_key,
                config: self.config,
            }),
        })
    }
}

/// Refuses an API key that could not travel in a header as is.
fn validate_api_key(key: &str) -> Result<()> {
    if key.is_empty() || key.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Error::invalid(
            "api_key",
            "must be non-empty printable text",
        ));
    }
    Ok(())
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The same client acting as another account: same endpoint and settings, and the same
    /// connection pool, so many accounts driven from one process (a simulation, a test harness, a
    /// farm agent with several identities) share connections instead of opening a pool each.
    /// The key is validated as [`ClientBuilder::build`] does.
    pub fn with_api_key(&self, key: impl Into<String>) -> Result<Client> {
        let key = key.into();
        validate_api_key(&key)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http: self.inner.http.clone(),
                base: self.inner.base.clone(),
                api_key: Some(key),
                config: self.inner.config.clone(),
            }),
        })
    }

    /// The client's configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The base URL requests go to.
    pub fn endpoint(&self) -> &str {
        self.inner.base.as_str()
    }

    /// Accounts: create (admin), read, deposit (admin), the caller's own.
    pub fn accounts(&self) -> accounts::Accounts {
        accounts::Accounts::new(self.clone())
    }

    /// Scene assets and blobs: folder upload, single blobs, manifests, downloads.
    pub fn assets(&self) -> assets::Assets {
        assets::Assets::new(self.clone())
    }

    /// Price quotes.
    pub fn quotes(&self) -> quotes::Quotes {
        quotes::Quotes::new(self.clone())
    }

    /// Render jobs: submit, list, control, events, frames.
    pub fn jobs(&self) -> jobs::Jobs {
        jobs::Jobs::new(self.clone())
    }

    /// The worker side: register, lease, heartbeat, result, failure.
    pub fn workers(&self) -> workers::Workers {
        workers::Workers::new(self.clone())
    }

    /// The checker side: lease a check, post a verdict.
    pub fn checks(&self) -> checks::Checks {
        checks::Checks::new(self.clone())
    }

    /// The public, hash-chained ledger.
    pub fn ledger(&self) -> ledger::LedgerApi {
        ledger::LedgerApi::new(self.clone())
    }

    /// `GET /health`: succeeds when the network answers `{"status":"ok"}`.
    pub fn health(&self) -> impl Future<Output = Result<()>> + Send + 'static + use<> {
        let client = self.clone();
        async move {
            #[derive(serde::Deserialize)]
            struct Health {
                status: String,
            }
            let health: Health = client.json(Call::get(routes::HEALTH).public()).await?;
            if health.status == "ok" {
                Ok(())
            } else {
                Err(Error::decode(
                    "health",
                    format!("status {:?}", health.status),
                ))
            }
        }
    }

    /// `GET /v1/stats` (admin): network-wide counters.
    pub fn stats(&self) -> impl Future<Output = Result<NetworkStats>> + Send + 'static + use<> {
        let client = self.clone();
        async move { client.json(Call::get(routes::STATS)).await }
    }

    /// The absolute URL of a route.
    pub(crate) fn url(&self, path: &str) -> String {
        let base = self.inner.base.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    /// Sends a call and decodes its JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        let what = call.path.clone();
        let (_, body) = self.buffered(call).await?;
        serde_json::from_slice(&body).map_err(|error| Error::decode(what, error))
    }

    /// Sends a call whose success is either `200` with JSON or `204` with nothing.
    pub(crate) async fn json_or_none<T: DeserializeOwned>(&self, call: Call) -> Result<Option<T>> {
        Ok(self.json_or_none_with_retry_after(call).await?.0)
    }

    /// As [`Client::json_or_none`], with the answer's `Retry-After` (whole seconds), if any.
    pub(crate) async fn json_or_none_with_retry_after<T: DeserializeOwned>(
        &self,
        call: Call,
    ) -> Result<(Option<T>, Option<Duration>)> {
        let what = call.path.clone();
        let (status, body, retry_after) = self.buffered_with_retry_after(call).await?;
        if status == StatusCode::NO_CONTENT || body.is_empty() {
            return Ok((None, retry_after));
        }
        serde_json::from_slice(&body)
            .map(|value| (Some(value), retry_after))
            .map_err(|error| Error::decode(what, error))
    }

    /// Sends a call and reads its whole answer (retrying body failures too).
    pub(crate) async fn buffered(&self, call: Call) -> Result<(StatusCode, Bytes)> {
        let (status, body, _) = self.buffered_with_retry_after(call).await?;
        Ok((status, body))
    }

    /// As [`Client::buffered`], with a successful answer's `Retry-After` (whole seconds).
    async fn buffered_with_retry_after(
        &self,
        call: Call,
    ) -> Result<(StatusCode, Bytes, Option<Duration>)> {
        let span = tracing::debug_span!("pictor_request", method = %call.method, path = %call.path);
        async {
            let mut retries = 0u32;
            loop {
                let (error, hint) = match self.attempt(&call).await {
                    Ok(response) => {
                        let status = response.status();
                        let retry_after = retry_after(response.headers());
                        match response.bytes().await {
                            Ok(body) => return Ok((status, body, retry_after)),
                            Err(error) => (Error::transport(error), None),
                        }
                    }
                    Err(failure) => failure,
                };
                self.after_failure(&call, &mut retries, error, hint).await?;
            }
        }
        .instrument(span)
        .await
    }

    /// Sends a call and hands back the successful response unread (downloads, event streams).
    pub(crate) async fn streaming(&self, call: Call) -> Result<reqwest::Response> {
        let span = tracing::debug_span!("pictor_request", method = %call.method, path = %call.path);
        async {
            let mut retries = 0u32;
            loop {
                match self.attempt(&call).await {
                    Ok(response) => return Ok(response),
                    Err((error, hint)) => {
                        self.after_failure(&call, &mut retries, error, hint).await?
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Waits before the next attempt, or gives the error back when the call must not be retried.
    async fn after_failure(
        &self,
        call: &Call,
        retries: &mut u32,
        error: Error,
        hint: Option<Duration>,
    ) -> Result<()> {
        let policy: &RetryPolicy = &self.inner.config.retry;
        if !should_retry(policy, call.idempotence, *retries, &error) {
            return Err(error);
        }
        let delay = policy.delay_with_hint(*retries, hint);
        tracing::debug!(retry = *retries + 1, delay_ms = delay.as_millis() as u64, %error, "retrying");
        *retries += 1;
        tokio::time::sleep(delay).await;
        Ok(())
    }

    /// One attempt: a 2xx response, or the mapped error and the server's `Retry-After`.
    async fn attempt(
        &self,
        call: &Call,
    ) -> std::result::Result<reqwest::Response, (Error, Option<Duration>)> {
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), self.url(&call.path));
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if call.auth
            && let Some(key) = &self.inner.api_key
        {
            request = request.bearer_auth(key);
        }
        if let Some(key) = &call.idempotency_key {
            request = request.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if let Some((body, content_type)) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, *content_type)
                .body(body.clone());
        }
        if call.bounded {
            request = request.timeout(self.inner.config.timeouts.request);
        }
        let response = request
            .send()
            .await
            .map_err(|error| (Error::transport(error), None))?;
        let status = response.status();
        tracing::debug!(status = status.as_u16(), "response");
        if status.is_success() {
            return Ok(response);
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string)
        };
        let request_id = header(REQUEST_ID_HEADER);
        let hint = retry_after(response.headers());
        let body = response.bytes().await.unwrap_or_default();
        Err((
            Error::from_response_parts(status.as_u16(), &body, request_id),
            hint,
        ))
    }
}

/// A `Retry-After` header in whole seconds (the HTTP-date form is not used by the network).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// One request, described as data so it can be sent again on retry.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<(Bytes, &'static str)>,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) auth: bool,
    pub(crate) idempotence: Idempotence,
    pub(crate) idempotency_key: Option<String>,
    /// Apply the total request timeout (false for transfers and streams).
    pub(crate) bounded: bool,
}

impl Call {
    fn new(method: Method, path: impl Into<String>, idempotence: Idempotence) -> Self {
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            headers: Vec::new(),
            auth: true,
            idempotence,
            idempotency_key: None,
            bounded: true,
        }
    }

    /// A `GET` (retryable).
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Call::new(Method::GET, path, Idempotence::Retryable)
    }

    /// A `POST` with a JSON body, sent once unless marked otherwise.
    pub(crate) fn post_json<T: Serialize + ?Sized>(
        path: impl Into<String>,
        body: &T,
    ) -> Result<Self> {
        let path = path.into();
        let bytes = serde_json::to_vec(body).map_err(|error| Error::decode(&path, error))?;
        let mut call = Call::new(Method::POST, path, Idempotence::Once);
        call.body = Some((Bytes::from(bytes), "application/json"));
        Ok(call)
    }

    /// A `POST` without a body, sent once.
    pub(crate) fn post_empty(path: impl Into<String>) -> Self {
        Call::new(Method::POST, path, Idempotence::Once)
    }

    /// Never retried by the request path (the caller runs its own reconnection loop).
    pub(crate) fn no_retry(mut self) -> Self {
        self.idempotence = Idempotence::Once;
        self
    }

    /// A `PUT` of raw bytes (retryable: a chunk at an offset is idempotent).
    pub(crate) fn put_bytes(path: impl Into<String>, body: Bytes) -> Self {
        let mut call = Call::new(Method::PUT, path, Idempotence::Retryable);
        call.body = Some((body, "application/octet-stream"));
        call
    }

    /// No `Authorization` header.
    pub(crate) fn public(mut self) -> Self {
        self.auth = false;
        self
    }

    /// Safe to repeat although it is a `POST` (a pure query or a content-addressed commit).
    pub(crate) fn repeatable(mut self) -> Self {
        self.idempotence = Idempotence::Retryable;
        self
    }

    /// Carries an `Idempotency-Key`, which makes it safe to repeat.
    pub(crate) fn keyed(mut self, key: String) -> Self {
        self.idempotency_key = Some(key);
        self.idempotence = Idempotence::Retryable;
        self
    }

    /// No total timeout (uploads, downloads, streams); the read-idle timeout still applies.
    pub(crate) fn unbounded(mut self) -> Self {
        self.bounded = false;
        self
    }

    /// Adds the fields of a query type of `pictor_core::api` (`UploadChunkQuery`, `ListJobsQuery`,
    /// …) as query parameters, by their wire names; a field that serializes to nothing (an absent
    /// option) adds none.
    pub(crate) fn query_of(mut self, query: &impl Serialize) -> Result<Self> {
        // Through JSON text, which keeps the fields in their declaration order (`?size=&offset=`).
        let QueryFields(fields) = serde_json::to_string(query)
            .and_then(|text| serde_json::from_str(&text))
            .map_err(|error| Error::decode("query", error))?;
        for (name, value) in fields {
            let text = match value {
                serde_json::Value::Null => continue,
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            self.query.push((name, text));
        }
        Ok(self)
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// The fields of a serialized query type in their order (a `serde_json::Map` would sort them).
struct QueryFields(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for QueryFields {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = QueryFields;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a query type's fields")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<QueryFields, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry()? {
                    fields.push(field);
                }
                Ok(QueryFields(fields))
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

/// A fresh random idempotency key: 32 hex digits.
pub(crate) fn new_idempotency_key() -> String {
    let bytes: [u8; 16] = crate::retry::fresh_rng().random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_types_become_parameters_in_field_order() {
        use pictor_core::api::{ListJobsQuery, UploadChunkQuery};
        let call = Call::get("/v1/blobs/x")
            .query_of(&UploadChunkQuery {
                size: 20,
                offset: 8,
            })
            .unwrap();
        let pairs: Vec<(&str, &str)> = call
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(pairs, [("size", "20"), ("offset", "8")]);
        let call = Call::get(routes::JOBS)
            .query_of(&ListJobsQuery {
                cursor: None,
                limit: Some(5),
            })
            .unwrap();
        assert_eq!(call.query, [("limit".to_string(), "5".to_string())]);
    }

    #[test]
    fn builder_validates_and_urls_join() {
        let client = Client::builder()
            .endpoint("http://127.0.0.1:7878/")
            .api_key("pk_test")
            .build()
            .unwrap();
        assert_eq!(client.url(routes::HEALTH), "http://127.0.0.1:7878/health");
        assert_eq!(
            client.url(&routes::job_events(5)),
            "http://127.0.0.1:7878/v1/jobs/5/events"
        );
        let proxied = Client::builder()
            .endpoint("https://example.com/pictor/")
            .build()
            .unwrap();
        assert_eq!(
            proxied.url(routes::JOBS),
            "https://example.com/pictor/v1/jobs"
        );
        assert!(!format!("{client:?}").contains("pk_test"));

        assert!(Client::builder().build().is_err());
        assert!(Client::builder().endpoint("ftp://x").build().is_err());
        assert!(Client::builder().endpoint("not a url").build().is_err());
        assert!(
            Client::builder()
                .endpoint("http://x")
                .api_key("bad key")
                .build()
                .is_err()
        );
        assert!(
            Client::builder()
                .endpoint("http://x")
                .chunk_size(MAX_CHUNK_SIZE + 1)
                .build()
                .is_err()
        );
    }

    #[test]
    fn idempotency_keys_are_random_hex() {
        let a = new_idempotency_key();
        let b = new_idempotency_key();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn futures_are_send_and_static() {
        fn assert_send_static<T: Send + 'static>(_: T) {}
        let client = Client::builder().endpoint("http://x").build().unwrap();
        assert_send_static(client.health());
        assert_send_static(client.stats());
        assert_send_static(client.clone());
    }
}
