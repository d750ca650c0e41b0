//! The call graph as SVG, the candidates highlighted by rank.
//!
//! Drawn here rather than by a graph-layout crate: the graphs are small (tens of
//! services), a layered left-to-right layout reads well for call graphs, and it is a
//! few lines, where a layout engine would bring a DOT parser and its own styling.

use std::collections::{BTreeMap, BTreeSet};

use aegis_core::report::Edge;
use maud::{Markup, html};

const COLUMN: f64 = 190.0;
const ROW: f64 = 44.0;
const NODE_W: f64 = 160.0;
const NODE_H: f64 = 28.0;
/// Services drawn at most; a larger graph keeps the candidates and their neighbours.
const MAX_NODES: usize = 60;

/// Fill of the node of the candidate ranked 1, 2, 3 and later.
fn fill(rank: Option<usize>) -> &'static str {
    match rank {
        Some(1) => "#e03131",
        Some(2) => "#f08c00",
        Some(3) => "#fab005",
        Some(_) => "#ffe8cc",
        None => "#f1f3f5",
    }
}

/// The graph of `edges` with `ranked` (services, most likely first) highlighted, named
/// `label` for screen readers (in the page's language); `None` when there are no edges.
pub fn svg(edges: &[Edge], ranked: &[&str], label: &str) -> Option<Markup> {
    if edges.is_empty() {
        return None;
    }
    let keep = kept(edges, ranked);
    let edges: Vec<&Edge> = edges
        .iter()
        .filter(|e| keep.contains(e.caller.as_str()) && keep.contains(e.callee.as_str()))
        .collect();
    let layer = layers(&keep, &edges);
    let mut rows: BTreeMap<usize, usize> = BTreeMap::new();
    let mut at: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for service in &keep {
        let col = layer[service];
        let row = rows.entry(col).or_default();
        at.insert(
            service,
            (10.0 + COLUMN * col as f64, 10.0 + ROW * *row as f64),
        );
        *row += 1;
    }
    let width = 20.0 + COLUMN * (rows.len() as f64 - 1.0) + NODE_W;
    let height = 20.0 + ROW * (*rows.values().max().unwrap_or(&1) as f64 - 1.0) + NODE_H;
    let rank = |s: &str| ranked.iter().position(|r| *r == s).map(|i| i + 1);
    Some(html! {
        svg.graph xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
            viewBox=(format!("0 0 {width} {height}")) role="img" aria-label=(label) {
            defs {
                marker #arrow viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"
                    markerHeight="7" orient="auto-start-reverse" {
                    path d="M 0 0 L 10 5 L 0 10 z" fill="#868e96" {}
                }
            }
            @for e in &edges {
                @let (a, b) = (at[e.caller.as_str()], at[e.callee.as_str()]);
                line x1=(a.0 + NODE_W) y1=(a.1 + NODE_H / 2.0) x2=(b.0) y2=(b.1 + NODE_H / 2.0)
                    stroke="#868e96" stroke-width="1.2" marker-end="url(#arrow)" {}
            }
            @for (service, (x, y)) in &at {
                @let r = rank(service);
                g.node data-service=(service) data-rank=[r] {
                    rect x=(x) y=(y) width=(NODE_W) height=(NODE_H) rx="6" fill=(fill(r))
                        stroke=(if r.is_some() { "#862e2e" } else { "#adb5bd" }) {}
                    text x=(x + NODE_W / 2.0) y=(y + NODE_H / 2.0 + 4.0) text-anchor="middle"
                        font-size="12" fill=(if r.is_some_and(|r| r <= 2) { "#fff" } else { "#212529" }) {
                        @if let Some(r) = r { (r) ". " }
                        (truncate(service, 22))
                    }
                }
            }
        }
    })
}

/// The services drawn: all when few; else the candidates and their neighbours.
fn kept<'a>(edges: &'a [Edge], ranked: &[&'a str]) -> BTreeSet<&'a str> {
    let all: BTreeSet<&str> = edges
        .iter()
        .flat_map(|e| [e.caller.as_str(), e.callee.as_str()])
        .collect();
    if all.len() <= MAX_NODES {
        return all;
    }
    let mut keep: BTreeSet<&str> = ranked.iter().copied().filter(|s| all.contains(s)).collect();
    for e in edges {
        if keep.len() >= MAX_NODES {
            break;
        }
        if ranked.contains(&e.caller.as_str()) || ranked.contains(&e.callee.as_str()) {
            keep.insert(&e.caller);
            keep.insert(&e.callee);
        }
    }
    keep
}

/// Each service's column: its longest call chain from a caller nobody calls
/// (cycles are cut where they close).
fn layers<'a>(nodes: &BTreeSet<&'a str>, edges: &[&'a Edge]) -> BTreeMap<&'a str, usize> {
    let mut layer: BTreeMap<&str, usize> = nodes.iter().map(|n| (*n, 0)).collect();
    // Longest path by relaxation, bounded by the node count so a cycle cannot loop.
    for _ in 0..nodes.len() {
        let mut changed = false;
        for e in edges {
            let next = layer[e.caller.as_str()] + 1;
            if e.caller != e.callee && next < nodes.len() && layer[e.callee.as_str()] < next {
                layer.insert(&e.callee, next);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    layer
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(a: &str, b: &str) -> Edge {
        Edge {
            caller: a.into(),
            callee: b.into(),
        }
    }

    #[test]
    fn callers_come_before_callees_and_candidates_are_marked() {
        let edges = [
            edge("frontend", "checkout"),
            edge("checkout", "payment"),
            edge("frontend", "cart"),
            edge("payment", "checkout"), // a cycle
        ];
        let layer = layers(&kept(&edges, &[]), &edges.iter().collect::<Vec<_>>());
        assert_eq!(layer["frontend"], 0);
        assert!(layer["checkout"] >= 1 && layer["payment"] > layer["frontend"]);
        let svg = svg(&edges, &["payment", "checkout"], "call graph")
            .unwrap()
            .into_string();
        assert!(svg.contains(r#"aria-label="call graph""#), "{svg}");
        assert!(
            svg.contains(r#"data-service="payment" data-rank="1""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"data-service="checkout" data-rank="2""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"data-service="cart""#)
                && !svg.contains(r#"data-service="cart" data-rank"#)
        );
        assert_eq!(svg.matches("<line").count(), 4);
        assert!(super::svg(&[], &["x"], "call graph").is_none());
    }
}
