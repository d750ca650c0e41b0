use aegis_feishu as feishu;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// Labels of `aegis_feishu_sends_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SendLabels {
    /// `alert card`, `acknowledgement`, `analysis result`, `notice`.
    pub what: String,
    /// `ok`, `throttled`, `unavailable`, `rejected`.
    pub outcome: String,
}

/// Feishu sends by purpose and outcome, so throttling and rejected cards show on
/// `/metrics`.
#[derive(Clone, Default)]
pub struct Sends(Family<SendLabels, Counter>);

impl Sends {
    /// Registers `aegis_feishu_sends` in the process registry.
    pub fn register(metrics: &aegis_core::Metrics) -> Self {
        let sends = Self::default();
        metrics.register(
            "feishu_sends",
            "Feishu sends and replies by purpose and outcome",
            sends.0.clone(),
        );
        sends
    }

    /// Counts one send's outcome.
    pub fn record(&self, what: &str, result: Result<(), &feishu::Error>) {
        let outcome = match result {
            Ok(()) => "ok",
            Err(feishu::Error::Throttled { .. }) => "throttled",
            Err(e) if e.is_retryable() => "unavailable",
            Err(_) => "rejected",
        };
        self.0
            .get_or_create(&SendLabels {
                what: what.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }
}
