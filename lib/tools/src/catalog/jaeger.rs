//! Jaeger tools: trace search (compacted), one trace, services, operations, and the
//! service dependency graph.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Catalog, Window, args, tool};
use crate::compact::{self, BUDGET};
use crate::jaeger::{Client, TraceQuery};

/// Arguments of `jaeger_traces`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TracesArgs {
    /// The service whose traces to search (see jaeger_services).
    pub service: String,
    /// Only traces with a span of this operation (see jaeger_operations).
    pub operation: Option<String>,
    /// Only traces with spans carrying all these tags, e.g. `{"error": "true"}` or
    /// `{"http.status_code": "500"}`.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Only traces with a span at least this long, e.g. `500ms` or `2s`.
    pub min_duration: Option<String>,
    /// Most traces to read (capped by the server's trace limit). Default: the cap.
    pub limit: Option<usize>,
    /// Range start: RFC 3339, unix seconds or `now-30m`. Default: the analysed range.
    pub start: Option<String>,
    /// Range end. Default: the end of the analysed range.
    pub end: Option<String>,
}

/// Arguments of `jaeger_trace`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TraceArgs {
    /// The trace id (hex), as shown by jaeger_traces.
    pub trace_id: String,
}

/// Arguments of `jaeger_operations`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct OperationsArgs {
    /// The service.
    pub service: String,
}

/// Arguments of `jaeger_dependencies`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DependenciesArgs {
    /// Range start. Default: the analysed range.
    pub start: Option<String>,
    /// Range end.
    pub end: Option<String>,
}

/// Arguments of `jaeger_services`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoArgs {}

pub(super) fn add(catalog: &mut Catalog, client: &Client, window: Window) {
    let c = Arc::new(client.clone());

    let j = c.clone();
    catalog.add(tool(
        "jaeger_traces",
        "Search traces of one service in a time range (default: the analysed range), optionally by \
         operation, tags (error=true) and minimum duration. Returns per service and operation the \
         span count, error count and p50/p99 latency, and the slowest trace's critical path.",
        move |a: TracesArgs| {
            let j = j.clone();
            async move {
                let (start, end) = window.resolve(a.start.as_deref(), a.end.as_deref())?;
                let min_duration = a
                    .min_duration
                    .as_deref()
                    .map(|d| args::duration(d, "min_duration"))
                    .transpose()?;
                let cap = j.bounds().max_traces;
                let limit = a.limit.unwrap_or(cap).clamp(1, cap);
                let query = TraceQuery {
                    service: a.service,
                    operation: a.operation,
                    tags: a.tags,
                    min_duration,
                    limit,
                    start,
                    end,
                };
                let traces = j.find_traces(&query).await?;
                let what = format!(
                    "service={}{}{}{} {} .. {}",
                    query.service,
                    query
                        .operation
                        .as_deref()
                        .map(|o| format!(" operation={o}"))
                        .unwrap_or_default(),
                    if query.tags.is_empty() {
                        String::new()
                    } else {
                        format!(" tags={:?}", query.tags)
                    },
                    min_duration
                        .map(|d| format!(" min_duration={}ms", d.as_millis()))
                        .unwrap_or_default(),
                    start.to_rfc3339(),
                    end.to_rfc3339(),
                );
                Ok(compact::traces::render(&what, &traces, limit, BUDGET))
            }
        },
    ));

    let j = c.clone();
    catalog.add(tool(
        "jaeger_trace",
        "Show one trace by id: per service and operation its spans, errors and latency, and its \
         critical path.",
        move |a: TraceArgs| {
            let j = j.clone();
            async move {
                match j.trace(&a.trace_id).await? {
                    Some(trace) => Ok(compact::traces::render(
                        &format!("trace {}", a.trace_id),
                        std::slice::from_ref(&trace),
                        usize::MAX,
                        BUDGET,
                    )),
                    None => Ok(format!(
                        "trace {} not found (it may have expired; search with jaeger_traces)",
                        a.trace_id
                    )),
                }
            }
        },
    ));

    let j = c.clone();
    catalog.add(tool(
        "jaeger_services",
        "List the services that reported traces.",
        move |_: NoArgs| {
            let j = j.clone();
            async move {
                let services = j.services().await?;
                Ok(compact::list::render("services", &services, 0, "", BUDGET))
            }
        },
    ));

    let j = c.clone();
    catalog.add(tool(
        "jaeger_operations",
        "List the operations (endpoints, RPCs) of one service.",
        move |a: OperationsArgs| {
            let j = j.clone();
            async move {
                let ops = j.operations(&a.service).await?;
                Ok(compact::list::render(
                    &format!("operations of {}", a.service),
                    &ops,
                    0,
                    "",
                    BUDGET,
                ))
            }
        },
    ));

    let j = c;
    catalog.add(tool(
        "jaeger_dependencies",
        "List the service call graph (caller -> callee with call counts) seen in a time range \
         (default: the analysed range). Use it to follow a symptom to the services it depends on.",
        move |a: DependenciesArgs| {
            let j = j.clone();
            async move {
                let (start, end) = window.resolve(a.start.as_deref(), a.end.as_deref())?;
                let lookback = (end - start).to_std().unwrap_or_default();
                let mut deps = j.dependencies(end, lookback).await?;
                deps.sort_by_key(|d| std::cmp::Reverse(d.call_count));
                let items: Vec<String> = deps
                    .iter()
                    .map(|d| format!("{} -> {} ({})", d.parent, d.child, d.call_count))
                    .collect();
                Ok(compact::list::render("call edges", &items, 0, "", BUDGET))
            }
        },
    ));
}
