//! Reports to store and read back in tests.

use aegis_analysis::{Evidence, Report, RootCause, Step, TimeRange, Trace, Usage};
use chrono::Utc;

/// A two-candidate report with evidence, a tool step and a degraded source, ended now.
pub fn sample(id: &str) -> Report {
    let end = Utc::now();
    Report {
        id: id.to_string(),
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
        model: "statistical".into(),
        time_range: TimeRange::last(end, 15),
        duration_ms: 1234,
        usage: Usage::default(),
        degraded: vec!["loki: connection refused".into()],
        archived: true,
        timezone: "UTC".into(),
        call_graph: Vec::new(),
        feedback: None,
        moved: Vec::new(),
        similar: Vec::new(),
    }
}
