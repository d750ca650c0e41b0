use super::bounds::Bounds;
use super::config::{Backend, Config};
use super::error::{Api, Error};
use super::http::Http;
use super::{jaeger, loki, prometheus};

/// The configured backends' clients, sharing one connection pool. A backend that is
/// not configured answers [`Error::NotConfigured`], so callers can report it as a
/// degraded source instead of failing.
#[derive(Debug, Clone)]
pub struct Clients {
    prometheus: Option<prometheus::Client>,
    loki: Option<loki::Client>,
    jaeger: Option<jaeger::Client>,
    bounds: Bounds,
}

impl Clients {
    /// Builds a client for each configured backend.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let bounds = Bounds::from(config);
        let redactor = config.redactor();
        let layer = |api: Api, backend: &Backend| {
            Http::new(api, backend, bounds.timeout, bounds.max_bytes).with_redactor(&redactor)
        };
        Ok(Self {
            prometheus: config
                .prometheus
                .as_ref()
                .map(|b| prometheus::Client::new(layer(Api::Prometheus, b), bounds)),
            loki: config.loki.as_ref().map(|b| {
                let mut http = layer(Api::Loki, b);
                if let Some(tenant) = &config.loki_tenant_id {
                    http = http.with_header("X-Scope-OrgID", tenant.clone());
                }
                loki::Client::new(http, bounds, config.loki_service_label.clone())
            }),
            jaeger: config
                .jaeger
                .as_ref()
                .map(|b| jaeger::Client::new(layer(Api::Jaeger, b), bounds)),
            bounds,
        })
    }

    /// The Prometheus client, or [`Error::NotConfigured`].
    pub fn prometheus(&self) -> Result<&prometheus::Client, Error> {
        self.prometheus.as_ref().ok_or(Error::NotConfigured {
            api: Api::Prometheus,
        })
    }

    /// The Loki client, or [`Error::NotConfigured`].
    pub fn loki(&self) -> Result<&loki::Client, Error> {
        self.loki
            .as_ref()
            .ok_or(Error::NotConfigured { api: Api::Loki })
    }

    /// The Jaeger client, or [`Error::NotConfigured`].
    pub fn jaeger(&self) -> Result<&jaeger::Client, Error> {
        self.jaeger
            .as_ref()
            .ok_or(Error::NotConfigured { api: Api::Jaeger })
    }

    /// Which backends are configured.
    pub fn configured(&self) -> Vec<Api> {
        [
            self.prometheus.as_ref().map(|_| Api::Prometheus),
            self.loki.as_ref().map(|_| Api::Loki),
            self.jaeger.as_ref().map(|_| Api::Jaeger),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The bounds every client applies.
    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }
}
