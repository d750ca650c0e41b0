//! What a person sees of a report: the self-contained HTML [`page`](mod@page) with an SVG
//! [`chart`] of each piece of metric evidence and the call [`graph`], the same charts as
//! PNG for chat cards, and the report as [`markdown`].

pub mod chart;
pub mod graph;
pub mod incident;
pub mod markdown;
pub mod page;

pub use page::render as page;

use aegis_core::report::{Report, Views};

/// Everything stored beside a report's JSON for people to read: its Markdown and its
/// page.
pub fn views(report: &Report) -> Views {
    Views {
        markdown: markdown::render(report),
        page: page(report),
    }
}
