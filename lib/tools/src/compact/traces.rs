//! Trace compaction: per service and operation, span counts, error counts and p50/p99
//! latency; then the slowest trace's critical path.

use std::collections::HashMap;

use super::format;
use super::tokens::Budget;
use crate::jaeger::{Span, Trace};

/// Spans of one service and operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The service.
    pub service: String,
    /// The operation.
    pub operation: String,
    /// How many spans.
    pub count: usize,
    /// How many were marked failed.
    pub errors: usize,
    /// Median duration, microseconds.
    pub p50_us: i64,
    /// 99th percentile duration, microseconds.
    pub p99_us: i64,
}

/// One hop of a critical path.
#[derive(Debug, Clone, PartialEq)]
pub struct Hop {
    /// The span's service.
    pub service: String,
    /// The span's operation.
    pub operation: String,
    /// The span's duration, microseconds.
    pub duration_us: i64,
    /// Its time not covered by the next hop, microseconds.
    pub self_us: i64,
    /// Whether it failed.
    pub error: bool,
}

/// Per service and operation statistics, the ones with errors first, then slowest p99.
pub fn operations(traces: &[Trace]) -> Vec<Operation> {
    let mut groups: HashMap<(&str, &str), (Vec<i64>, usize)> = HashMap::new();
    for span in traces.iter().flat_map(|t| &t.spans) {
        let entry = groups
            .entry((span.service.as_str(), span.operation.as_str()))
            .or_default();
        entry.0.push(span.duration_us);
        entry.1 += usize::from(span.error);
    }
    let mut out: Vec<Operation> = groups
        .into_iter()
        .map(|((service, operation), (mut durations, errors))| {
            durations.sort_unstable();
            Operation {
                service: service.to_string(),
                operation: operation.to_string(),
                count: durations.len(),
                errors,
                p50_us: quantile(&durations, 0.5),
                p99_us: quantile(&durations, 0.99),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.errors
            .cmp(&a.errors)
            .then(b.p99_us.cmp(&a.p99_us))
            .then(a.service.cmp(&b.service))
            .then(a.operation.cmp(&b.operation))
    });
    out
}

/// The nearest-rank quantile of sorted `values`.
fn quantile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The critical path of `trace`: from its longest root span, at each step the child
/// that finishes last (the one the parent waited for), down to a leaf.
pub fn critical_path(trace: &Trace) -> Vec<Hop> {
    let ids: HashMap<&str, &Span> = trace
        .spans
        .iter()
        .map(|s| (s.span_id.as_str(), s))
        .collect();
    let mut children: HashMap<&str, Vec<&Span>> = HashMap::new();
    let mut roots = Vec::new();
    for span in &trace.spans {
        match span
            .parent_span_id
            .as_deref()
            .filter(|p| ids.contains_key(p))
        {
            Some(parent) => children.entry(parent).or_default().push(span),
            None => roots.push(span),
        }
    }
    let Some(mut span) = roots.into_iter().max_by_key(|s| s.duration_us) else {
        return Vec::new();
    };
    let mut path = Vec::new();
    // Bounded by the span count, so a reference cycle cannot loop forever.
    for _ in 0..trace.spans.len() {
        let next = children.get(span.span_id.as_str()).and_then(|c| {
            c.iter()
                .max_by_key(|c| (c.start_us + c.duration_us, c.duration_us))
        });
        path.push(Hop {
            service: span.service.clone(),
            operation: span.operation.clone(),
            duration_us: span.duration_us,
            self_us: span.duration_us - next.map_or(0, |n| n.duration_us),
            error: span.error,
        });
        match next {
            Some(n) => span = n,
            None => break,
        }
    }
    path
}

/// Compact text of a trace search within `budget` tokens.
pub fn render(what: &str, traces: &[Trace], trace_cap: usize, budget: usize) -> String {
    let spans: usize = traces.iter().map(|t| t.spans.len()).sum();
    let failed = traces
        .iter()
        .filter(|t| t.spans.iter().any(|s| s.error))
        .count();
    let ops = operations(traces);
    let mut out = Budget::new(budget);
    out.force(&format!(
        "traces: {}\n{} traces ({} with errors), {} spans, {} service/operation pairs",
        format::one_line(what, 300),
        traces.len(),
        failed,
        spans,
        ops.len()
    ));
    if traces.len() >= trace_cap {
        out.force(&format!(
            "note: the trace cap ({trace_cap}) was reached, statistics cover only those traces: narrow by operation, tags or min_duration"
        ));
    }
    if traces.is_empty() {
        out.force("no traces matched (check names with jaeger_services / jaeger_operations)");
        return out.finish();
    }
    // The slowest trace's path first: it is one line and the most telling.
    if let Some(slowest) = traces.iter().max_by_key(|t| trace_duration(t)) {
        let path: Vec<String> = critical_path(slowest)
            .iter()
            .map(|h| {
                format!(
                    "{} {} {}ms (self {}ms){}",
                    h.service,
                    format::one_line(&h.operation, 60),
                    ms(h.duration_us),
                    ms(h.self_us),
                    if h.error { " ERROR" } else { "" }
                )
            })
            .collect();
        out.force(&format!(
            "slowest trace {} ({}ms), critical path: {}",
            slowest.trace_id,
            ms(trace_duration(slowest)),
            format::one_line(&path.join(" -> "), 1200)
        ));
    }
    out.force("service operation: spans errors p50 p99");
    for op in &ops {
        out.push(&format!(
            "{} {}: {} {} {}ms {}ms",
            op.service,
            format::one_line(&op.operation, 80),
            op.count,
            op.errors,
            ms(op.p50_us),
            ms(op.p99_us)
        ));
    }
    let skipped = out.skipped();
    if skipped > 0 {
        out.force(&format!(
            "... {skipped} more service/operation pairs omitted (no errors, faster): narrow by service or operation"
        ));
    }
    out.finish()
}

fn trace_duration(trace: &Trace) -> i64 {
    let start = trace.spans.iter().map(|s| s.start_us).min().unwrap_or(0);
    let end = trace
        .spans
        .iter()
        .map(|s| s.start_us + s.duration_us)
        .max()
        .unwrap_or(0);
    end - start
}

fn ms(us: i64) -> String {
    format::num(us as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn span(
        id: &str,
        parent: Option<&str>,
        service: &str,
        start: i64,
        dur: i64,
        error: bool,
    ) -> Span {
        Span {
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            service: service.into(),
            operation: "op".into(),
            start_us: start,
            duration_us: dur,
            error,
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn critical_path_follows_the_child_that_ends_last() {
        let trace = Trace {
            trace_id: "t1".into(),
            spans: vec![
                span("a", None, "gateway", 0, 1000, false),
                span("b", Some("a"), "orders", 10, 200, false),
                span("c", Some("a"), "payments", 300, 650, false),
                span("d", Some("c"), "db", 310, 600, true),
            ],
        };
        let path = critical_path(&trace);
        let services: Vec<&str> = path.iter().map(|h| h.service.as_str()).collect();
        assert_eq!(services, ["gateway", "payments", "db"]);
        assert_eq!(path[0].self_us, 350);
        assert!(path[2].error);
    }

    #[test]
    fn operations_count_errors_and_quantiles() {
        let spans: Vec<Span> = (1..=100)
            .map(|i| span(&i.to_string(), None, "api", 0, i * 1000, i > 95))
            .collect();
        let ops = operations(&[Trace {
            trace_id: "t".into(),
            spans,
        }]);
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].count, 100);
        assert_eq!(ops[0].errors, 5);
        assert_eq!(ops[0].p50_us, 50_000);
        assert_eq!(ops[0].p99_us, 99_000);
    }
}
