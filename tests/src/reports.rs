//! Reports to store and read back in tests.

use aegis_core::report::{Evidence, Report, RootCause, Step, TimeRange, Trace};
use chrono::Utc;

/// A two-candidate report with evidence, a tool step and a degraded source, ended now.
pub fn sample(id: &str) -> Report {
    let end = Utc::now();
    Report {
        summary: format!("{id}: checkout errors come from payments-db connection exhaustion"),
        ranked_root_causes: vec![
            RootCause {
                rank: 1,
                service: "payments-db".into(),
                probability: 0.7,
                description: "connection pool exhausted".into(),
                key_indicators: vec!["pool usage x3.1".into()],
                key_logs: vec!["FATAL: too many connections".into()],
                evidence: vec![Evidence {
                    source: "prometheus".into(),
                    query: "sum(rate(pg_errors_total{db=\"payments\"}[5m]))".into(),
                    summary: "errors rose at 08:43".into(),
                    chart: None,
                }],
            },
            RootCause {
                rank: 2,
                service: "checkout".into(),
                probability: 0.2,
                description: "retry storm".into(),
                key_indicators: vec![],
                key_logs: vec![],
                evidence: vec![],
            },
        ],
        next_actions: vec!["Check the pool size of payments-db".into()],
        trace: Trace {
            steps: vec![Step {
                index: 1,
                tool: "query_metrics".into(),
                tool_input: serde_json::json!({"query": "up"}),
                observation: "all targets up".into(),
                log: String::new(),
            }],
        },
        duration_ms: 1234,
        degraded: vec!["loki: connection refused".into()],
        timezone: "UTC".into(),
        ..Report::new(id, TimeRange::last(end, 15))
    }
}
