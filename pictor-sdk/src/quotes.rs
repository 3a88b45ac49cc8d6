//! Price quotes.

use crate::client::{Call, Client};
use crate::error::Result;
use pictor_core::api::{QuoteRequest, routes};
use pictor_core::{JobSpec, Quote};
use std::future::Future;

/// Price quotes; from [`Client::quotes`].
#[derive(Clone, Debug)]
pub struct Quotes {
    client: Client,
}

impl Quotes {
    pub(crate) fn new(client: Client) -> Self {
        Quotes { client }
    }

    /// Prices a spec (`POST /v1/quotes`): cost and ETA at P50 and P90, per tier. Nothing is held.
    ///
    /// ```no_run
    /// # async fn demo(client: pictor_sdk::Client, spec: pictor_core::JobSpec) -> pictor_sdk::Result<()> {
    /// let quote = client.quotes().create(spec).await?;
    /// println!("P90 cost {}, ETA {:.0} s", quote.cost_p90, quote.eta_p90_secs);
    /// # Ok(()) }
    /// ```
    pub fn create(
        &self,
        spec: JobSpec,
    ) -> impl Future<Output = Result<Quote>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move {
            // A quote changes nothing: safe to repeat.
            let call = Call::post_json(routes::QUOTES, &QuoteRequest { spec })?.repeatable();
            client.json(call).await
        }
    }
}
