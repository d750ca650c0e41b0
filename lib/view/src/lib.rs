//! What a person sees of a report: the self-contained HTML [`page`] with an SVG
//! [`chart`] of each piece of metric evidence and the call [`graph`], and the same
//! charts as PNG for chat cards.

pub mod chart;
pub mod graph;
pub mod page;

pub use page::render as page;
