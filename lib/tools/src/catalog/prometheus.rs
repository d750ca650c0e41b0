//! Prometheus tools: instant and range queries (compacted) and discovery.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Catalog, Window, args, tool};
use crate::compact::{self, BUDGET};
use crate::prometheus::Client;

/// Arguments of `prometheus_query`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct QueryArgs {
    /// PromQL expression, e.g. `sum by (service) (rate(http_server_requests_total{code="5xx"}[5m]))`.
    pub query: String,
    /// Evaluation time: RFC 3339, unix seconds or `now-5m`. Default: the end of the analysed range.
    pub time: Option<String>,
}

/// Arguments of `prometheus_range`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RangeArgs {
    /// PromQL expression; aggregate (`sum by (service)`, `topk(10, ...)`) to keep the series few.
    pub query: String,
    /// Range start: RFC 3339, unix seconds or `now-30m`. Default: the analysed range.
    pub start: Option<String>,
    /// Range end. Default: the end of the analysed range.
    pub end: Option<String>,
    /// Resolution such as `30s` or `1m`. Default: chosen for about 300 points.
    pub step: Option<String>,
}

/// Arguments of `prometheus_labels`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct LabelsArgs {
    /// Only labels of series matching these selectors, e.g. `["up", "{job=\"api\"}"]`.
    #[serde(default, rename = "match")]
    pub matches: Vec<String>,
    /// Range start. Default: the analysed range.
    pub start: Option<String>,
    /// Range end.
    pub end: Option<String>,
}

/// Arguments of `prometheus_label_values`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct LabelValuesArgs {
    /// The label, e.g. `service`, `namespace` or `__name__` (metric names).
    pub label: String,
    /// Only values in series matching these selectors.
    #[serde(default, rename = "match")]
    pub matches: Vec<String>,
    /// Range start. Default: the analysed range.
    pub start: Option<String>,
    /// Range end.
    pub end: Option<String>,
}

/// Arguments of `prometheus_series`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SeriesArgs {
    /// Series selectors (at least one), e.g. `["http_server_requests_total{service=\"cart\"}"]`.
    #[serde(rename = "match")]
    pub matches: Vec<String>,
    /// Range start. Default: the analysed range.
    pub start: Option<String>,
    /// Range end.
    pub end: Option<String>,
}

/// Arguments of `prometheus_alerts`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoArgs {}

pub(super) fn add(catalog: &mut Catalog, client: &Client, window: Window) {
    let c = Arc::new(client.clone());

    let p = c.clone();
    catalog.add(tool(
        "prometheus_query",
        "Evaluate a PromQL expression at one instant (default: the end of the analysed range). \
         Returns one line per series, largest value first. Use for current values, ratios and topk; \
         use prometheus_range to see how a signal changed over time.",
        move |a: QueryArgs| {
            let p = p.clone();
            async move {
                let time = window.instant(a.time.as_deref())?;
                let samples = p.query(&a.query, Some(time)).await?;
                Ok(compact::series::instant(&a.query, &samples, BUDGET))
            }
        },
    ));

    let p = c.clone();
    catalog.add(tool(
        "prometheus_range",
        "Evaluate a PromQL expression over a time range (default: the analysed range). Returns per \
         series: min/max/mean/last, the change point with the size of the shift, and points around \
         it; series that shifted most come first. Aggregate with sum/avg by (service) or topk to \
         keep series few.",
        move |a: RangeArgs| {
            let p = p.clone();
            async move {
                let (start, end) = window.resolve(a.start.as_deref(), a.end.as_deref())?;
                let step = a
                    .step
                    .as_deref()
                    .map(|s| args::duration(s, "step"))
                    .transpose()?;
                let step = step.unwrap_or_else(|| crate::auto_step(start, end));
                let series = p.query_range(&a.query, start, end, Some(step)).await?;
                Ok(compact::series::range(
                    &a.query,
                    start,
                    end,
                    step.as_secs_f64(),
                    &series,
                    BUDGET,
                ))
            }
        },
    ));

    let p = c.clone();
    catalog.add(tool(
        "prometheus_labels",
        "List label names, optionally only those of series matching selectors. Use to learn how \
         metrics are labelled (service, pod, namespace) before writing queries.",
        move |a: LabelsArgs| {
            let p = p.clone();
            async move {
                let (start, end) = window.resolve(a.start.as_deref(), a.end.as_deref())?;
                let m: Vec<&str> = a.matches.iter().map(String::as_str).collect();
                let names = p.labels(&m, Some(start), Some(end)).await?;
                Ok(compact::list::render(
                    "label names",
                    &names,
                    0,
                    "pass match to narrow",
                    BUDGET,
                ))
            }
        },
    ));

    let p = c.clone();
    catalog.add(tool(
        "prometheus_label_values",
        "List the values of one label, e.g. label=__name__ for metric names or label=service for \
         services; optionally only in series matching selectors.",
        move |a: LabelValuesArgs| {
            let p = p.clone();
            async move {
                let (start, end) = window.resolve(a.start.as_deref(), a.end.as_deref())?;
                let m: Vec<&str> = a.matches.iter().map(String::as_str).collect();
                let values = p.label_values(&a.label, &m, Some(start), Some(end)).await?;
                Ok(compact::list::render(
                    &format!("values of {}", a.label),
                    &values,
                    0,
                    "pass match to narrow",
                    BUDGET,
                ))
            }
        },
    ));

    let p = c.clone();
    catalog.add(tool(
        "prometheus_series",
        "List the label sets of series matching selectors (at least one), to see which \
         series exist for a metric or a service.",
        move |a: SeriesArgs| {
            let p = p.clone();
            async move {
                let (start, end) = window.resolve(a.start.as_deref(), a.end.as_deref())?;
                let m: Vec<&str> = a.matches.iter().map(String::as_str).collect();
                let series = p.series(&m, Some(start), Some(end)).await?;
                let items: Vec<String> = series
                    .iter()
                    .map(|l| compact::format::labels(l, &Default::default()))
                    .collect();
                Ok(compact::list::render(
                    "series",
                    &items,
                    series.omitted,
                    "narrow the selector",
                    BUDGET,
                ))
            }
        },
    ));

    let p = c;
    catalog.add(tool(
        "prometheus_alerts",
        "List the alerts Prometheus currently has pending or firing, with their labels and summary.",
        move |_: NoArgs| {
            let p = p.clone();
            async move {
                let alerts = p.alerts().await?;
                let items: Vec<String> = alerts
                    .iter()
                    .map(|a| {
                        let summary = a
                            .annotations
                            .get("summary")
                            .or_else(|| a.annotations.get("description"))
                            .map(|s| format!(" \"{}\"", compact::format::one_line(s, 160)))
                            .unwrap_or_default();
                        format!(
                            "[{}] {}{}",
                            a.state,
                            compact::format::labels(&a.labels, &Default::default()),
                            summary
                        )
                    })
                    .collect();
                Ok(compact::list::render("alerts", &items, 0, "", BUDGET))
            }
        },
    ));
}
