//! The checker side: lease a check, post a verdict.

use crate::client::{Call, Client};
use crate::error::Result;
use pictor_core::CheckId;
use pictor_core::api::{
    CheckLease, CheckLeaseRequest, CheckerStanding, TaskStateView, Verdict, VerdictSubmission,
    routes,
};
use std::future::Future;

/// The checker side; from [`Client::checks`]. Needs a checker key.
#[derive(Clone, Debug)]
pub struct Checks {
    client: Client,
}

impl Checks {
    pub(crate) fn new(client: Client) -> Self {
        Checks { client }
    }

    /// Leases a check, or `None` when none waits (`204`). Download the outputs with
    /// [`Assets::download_blob`](crate::assets::Assets::download_blob). Sent once.
    ///
    /// ```no_run
    /// # async fn demo(checker: pictor_sdk::Client) -> pictor_sdk::Result<()> {
    /// use pictor_core::api::Verdict;
    /// if let Some(check) = checker.checks().lease().await? {
    ///     let evidence = serde_json::json!({ "tiles": [] });
    ///     checker.checks().verdict(check.check, Verdict::Accept, evidence).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn lease(
        &self,
    ) -> impl Future<Output = Result<Option<CheckLease>>> + Send + 'static + use<> {
        self.lease_for(CheckLeaseRequest::default())
    }

    /// Leases a check this checker can verify with the renderers it declares, or `None` when
    /// none waits (`204`): a frame Blender finished with the scene's settings is leased only to a
    /// checker with that Blender version ([`CheckLeaseRequest::can_verify`]). Sent once.
    pub fn lease_for(
        &self,
        request: CheckLeaseRequest,
    ) -> impl Future<Output = Result<Option<CheckLease>>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move {
            let call = Call::post_json(routes::CHECK_LEASES, &request)?;
            client.json_or_none(call).await
        }
    }

    /// Posts the verdict of a leased check with its evidence. Sent once.
    pub fn verdict(
        &self,
        check: CheckId,
        verdict: Verdict,
        evidence: serde_json::Value,
    ) -> impl Future<Output = Result<TaskStateView>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move {
            let body = VerdictSubmission { verdict, evidence };
            client
                .json(Call::post_json(routes::check_verdict(check), &body)?)
                .await
        }
    }

    /// This checker's record on known-outcome checks (docs/TRUST.md).
    pub fn standing(
        &self,
    ) -> impl Future<Output = Result<CheckerStanding>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move { client.json(Call::get(routes::CHECKER_STANDING)).await }
    }
}
