//! Loki tools: log queries compacted to templates, and label discovery.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Catalog, Window, tool};
use crate::compact::{self, BUDGET};
use crate::loki::{Client, Direction};

/// Arguments of `loki_query`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct QueryArgs {
    /// LogQL log query: a stream selector and optional line filters, e.g.
    /// `{app="checkout"} |= "error"` or `{namespace="shop"} |~ "(?i)timeout|refused"`.
    pub query: String,
    /// Range start: RFC 3339, unix seconds or `now-30m`. Default: the analysed range.
    pub start: Option<String>,
    /// Range end. Default: the end of the analysed range.
    pub end: Option<String>,
    /// Most lines to read (capped by the server's line limit). Default: the cap.
    pub limit: Option<usize>,
    /// `backward` (newest first, default) or `forward` (oldest first).
    pub direction: Option<Direction>,
}

/// Arguments of `loki_labels`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct LabelsArgs {
    /// Range start. Default: the analysed range.
    pub start: Option<String>,
    /// Range end.
    pub end: Option<String>,
}

/// Arguments of `loki_label_values`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct LabelValuesArgs {
    /// The label, e.g. `app` or `namespace`.
    pub label: String,
    /// Range start. Default: the analysed range.
    pub start: Option<String>,
    /// Range end.
    pub end: Option<String>,
}

pub(super) fn add(catalog: &mut Catalog, client: &Client, window: Window) {
    let c = Arc::new(client.clone());

    let l = c.clone();
    let service_label = client.service_label().to_string();
    let description = format!(
        "Search logs with LogQL over a time range (default: the analysed range). Lines are \
             grouped into templates (numbers, ids, IPs, UUIDs, timestamps masked) with counts, \
             first/last seen and one example, errors first. The service is the `{service_label}` \
             stream label. Filter with |= \"error\" to focus on failures."
    );
    catalog.add(tool("loki_query", description, move |a: QueryArgs| {
        let l = l.clone();
        async move {
            let (start, end) = window.resolve(a.start.as_deref(), a.end.as_deref())?;
            let cap = l.bounds().max_log_lines;
            let limit = a.limit.unwrap_or(cap).clamp(1, cap);
            let streams = l
                .query_range(&a.query, start, end, limit, a.direction.unwrap_or_default())
                .await?;
            Ok(compact::logs::render(
                &a.query,
                start,
                end,
                &streams,
                l.service_label(),
                limit,
                BUDGET,
            ))
        }
    }));

    let l = c.clone();
    catalog.add(tool(
        "loki_labels",
        "List the stream label names Loki has in a time range (default: the analysed range).",
        move |a: LabelsArgs| {
            let l = l.clone();
            async move {
                let (start, end) = window.resolve(a.start.as_deref(), a.end.as_deref())?;
                let names = l.labels(Some(start), Some(end)).await?;
                Ok(compact::list::render("log labels", &names, 0, "", BUDGET))
            }
        },
    ));

    let l = c;
    catalog.add(tool(
        "loki_label_values",
        "List the values of one stream label in a time range, e.g. label=app for the services \
         that logged.",
        move |a: LabelValuesArgs| {
            let l = l.clone();
            async move {
                let (start, end) = window.resolve(a.start.as_deref(), a.end.as_deref())?;
                let values = l.label_values(&a.label, Some(start), Some(end)).await?;
                Ok(compact::list::render(
                    &format!("values of {}", a.label),
                    &values,
                    0,
                    "",
                    BUDGET,
                ))
            }
        },
    ));
}
