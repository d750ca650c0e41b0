//! The call graph of a range: the edges a dataset or configuration gives, and those
//! the spans show (a child span emitted by another service than its parent's).
//! Built once per ranking; the callee discount, the latency echoes, the traffic
//! invariants and the report's graph all read it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::observations::Observations;

/// Caller -> callee edges between distinct services, kept both ways.
#[derive(Debug, Clone, Default)]
pub struct CallGraph {
    callees: BTreeMap<String, BTreeSet<String>>,
    callers: BTreeMap<String, BTreeSet<String>>,
}

impl CallGraph {
    /// The given edges of `obs` and those its spans show.
    pub fn of(obs: &Observations) -> Self {
        let by_id: HashMap<(&str, &str), &str> = obs
            .spans
            .iter()
            .map(|s| {
                (
                    (s.trace_id.as_str(), s.span_id.as_str()),
                    s.service.as_str(),
                )
            })
            .collect();
        let spans = obs.spans.iter().filter_map(|s| {
            let parent = by_id.get(&(s.trace_id.as_str(), s.parent_span_id.as_deref()?))?;
            Some((parent.to_string(), s.service.clone()))
        });
        Self::from_edges(obs.graph.iter().cloned().chain(spans))
    }

    /// A graph of `edges`; an edge from a service to itself is left out.
    pub fn from_edges(edges: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut graph = Self::default();
        for (from, to) in edges {
            if from != to {
                graph
                    .callers
                    .entry(to.clone())
                    .or_default()
                    .insert(from.clone());
                graph.callees.entry(from).or_default().insert(to);
            }
        }
        graph
    }

    /// Whether it has no edge.
    pub fn is_empty(&self) -> bool {
        self.callees.is_empty()
    }

    /// The services `service` calls.
    pub fn callees(&self, service: &str) -> impl Iterator<Item = &str> {
        neighbours(&self.callees, service)
    }

    /// The services that call `service`.
    pub fn callers(&self, service: &str) -> impl Iterator<Item = &str> {
        neighbours(&self.callers, service)
    }

    /// Every edge, caller first, in order.
    pub fn edges(&self) -> impl Iterator<Item = (&str, &str)> {
        self.callees
            .iter()
            .flat_map(|(from, to)| to.iter().map(move |t| (from.as_str(), t.as_str())))
    }

    /// Every service on an edge.
    pub fn services(&self) -> BTreeSet<&str> {
        self.edges().flat_map(|(a, b)| [a, b]).collect()
    }

    /// The services `service` reaches in 1 to `hops` calls (itself left out).
    pub fn downstream(&self, service: &str, hops: usize) -> BTreeSet<&str> {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut frontier: Vec<&str> = vec![service];
        for _ in 0..hops {
            let mut next = Vec::new();
            for s in frontier {
                for c in self.callees(s) {
                    if c != service && seen.insert(c) {
                        next.push(c);
                    }
                }
            }
            frontier = next;
        }
        seen
    }
}

/// `service`'s entry of one direction of the graph.
fn neighbours<'a>(
    edges: &'a BTreeMap<String, BTreeSet<String>>,
    service: &str,
) -> impl Iterator<Item = &'a str> {
    edges.get(service).into_iter().flatten().map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observations::Span;

    fn span(trace: &str, id: &str, parent: Option<&str>, service: &str) -> Span {
        Span {
            trace_id: trace.into(),
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            service: service.into(),
            operation: "op".into(),
            start: 0.0,
            duration_us: 1.0,
            error: None,
        }
    }

    #[test]
    fn edges_come_from_the_given_graph_and_from_spans_of_another_service() {
        let obs = Observations {
            spans: vec![
                span("t1", "a", None, "frontend"),
                span("t1", "b", Some("a"), "cart"),
                span("t1", "c", Some("b"), "cart"),
                // The same span id in another trace is another span.
                span("t2", "a", None, "checkout"),
                span("t2", "d", Some("a"), "email"),
            ],
            graph: vec![("cart".into(), "redis".into())],
            ..Observations::default()
        };
        let graph = CallGraph::of(&obs);
        let edges: Vec<(&str, &str)> = graph.edges().collect();
        assert_eq!(
            edges,
            [
                ("cart", "redis"),
                ("checkout", "email"),
                ("frontend", "cart")
            ]
        );
        let services: Vec<&str> = graph.services().into_iter().collect();
        assert_eq!(services, ["cart", "checkout", "email", "frontend", "redis"]);
        // The same edges read from the callee's end.
        assert_eq!(graph.callers("cart").collect::<Vec<_>>(), ["frontend"]);
        assert_eq!(graph.callers("redis").collect::<Vec<_>>(), ["cart"]);
        assert_eq!(graph.callers("frontend").count(), 0);
    }

    #[test]
    fn downstream_stops_after_the_hops_asked_for() {
        let graph = CallGraph::from_edges(
            [("a", "b"), ("b", "c"), ("c", "d"), ("c", "a")]
                .map(|(f, t)| (f.to_string(), t.to_string())),
        );
        assert_eq!(graph.downstream("a", 1), BTreeSet::from(["b"]));
        assert_eq!(graph.downstream("a", 2), BTreeSet::from(["b", "c"]));
        // A cycle back to the start does not list the start.
        assert_eq!(graph.downstream("a", 5), BTreeSet::from(["b", "c", "d"]));
    }
}
