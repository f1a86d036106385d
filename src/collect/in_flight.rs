//! A bound on the calls a run has in flight, across every client and
//! account: a scan of many accounts and regions at once stays polite to
//! each endpoint and to the network it runs on. It wraps the SDK's HTTP
//! client, so every request, retries included, takes a permit until its
//! response arrives.

use std::sync::Arc;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::Semaphore;

#[derive(Debug)]
struct Bounded {
    inner: SharedHttpClient,
    permits: Arc<Semaphore>,
}

#[derive(Debug)]
struct BoundedConnector {
    inner: SharedHttpConnector,
    permits: Arc<Semaphore>,
}

impl HttpClient for Bounded {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(BoundedConnector {
            inner: self.inner.http_connector(settings, components),
            permits: self.permits.clone(),
        })
    }
}

impl HttpConnector for BoundedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, permits) = (self.inner.clone(), self.permits.clone());
        HttpConnectorFuture::new(async move {
            // Never closed, so acquiring only waits; were it closed, the
            // call would go ahead unbounded rather than fail.
            let _permit = permits.acquire_owned().await.ok();
            inner.call(request).await
        })
    }
}

/// `config` whose requests each take one of `permits` while in flight;
/// every configuration of the run shares the same permits, so their number
/// bounds the run's calls in flight.
pub fn bounded(config: &aws_config::SdkConfig, permits: &Arc<Semaphore>) -> aws_config::SdkConfig {
    let Some(inner) = config.http_client() else {
        return config.clone();
    };
    config
        .to_builder()
        .http_client(SharedHttpClient::new(Bounded {
            inner,
            permits: permits.clone(),
        }))
        .build()
}
