//! The spans of a dataset, grouped by trace and indexed by service.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use serde::Deserialize;

use super::LoadError;
use super::json::{ScalarText, Str, each_line, parse_line};
use super::labels::{Interner, Labels, SetIndex};

/// One span; names are indexes into the store's tables.
#[derive(Debug, Clone)]
pub struct Span {
    /// Index of the trace id in [`TraceStore::trace_ids`].
    pub trace: u32,
    /// The span id, in [`TraceStore::id`].
    pub span_id: IdRef,
    /// The parent span id, `None` for a root span.
    pub parent: Option<IdRef>,
    /// Index in [`TraceStore::services`].
    pub service: u32,
    /// Index in [`TraceStore::operations`].
    pub operation: u32,
    /// Start, µs since the epoch.
    pub start_us: i64,
    /// Duration, µs.
    pub duration_us: i64,
    /// Span status: `Some(true)` failed, `None` not recorded.
    pub error: Option<bool>,
    /// Index of the span's attributes in [`TraceStore::attributes`].
    pub attributes: u32,
}

/// A span id: a slice of the store's id arena (span ids are unique per span, so
/// interning them would cost a map of a million entries for nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRef {
    start: u32,
    len: u32,
}

/// Every span of a dataset, sorted by trace then start.
#[derive(Debug, Default)]
pub struct TraceStore {
    /// The spans, sorted by (trace, start).
    pub spans: Vec<Span>,
    /// Trace ids as written in the dataset.
    pub trace_ids: Vec<Box<str>>,
    /// Span ids as written in the dataset, end to end.
    ids: String,
    /// Service names, sorted.
    pub services: Vec<Box<str>>,
    /// Operation names.
    pub operations: Vec<Box<str>>,
    /// Distinct attribute sets.
    pub attributes: Vec<Labels>,
    /// Per trace (by index), the range of its spans in `spans`.
    pub trace_spans: Vec<std::ops::Range<usize>>,
    /// Per service, the traces with a span of it, ascending.
    pub traces_by_service: Vec<Vec<u32>>,
    /// Per service, its operations, sorted by name.
    pub operations_by_service: Vec<Vec<u32>>,
    trace_index: HashMap<Box<str>, u32>,
}

#[derive(Deserialize)]
struct RawSpan<'a> {
    #[serde(borrow)]
    trace_id: Str<'a>,
    #[serde(borrow)]
    span_id: Str<'a>,
    #[serde(borrow)]
    parent_span_id: Option<Str<'a>>,
    #[serde(borrow)]
    service: Str<'a>,
    #[serde(borrow)]
    operation: Str<'a>,
    start_us: i64,
    duration_us: i64,
    error: Option<bool>,
    #[serde(default, borrow)]
    attributes: BTreeMap<Str<'a>, ScalarText<'a>>,
}

/// Names to indexes while loading.
#[derive(Default)]
struct Table {
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl Table {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = u32::try_from(self.names.len()).expect("fewer than 4 billion names");
        self.names.push(name.into());
        self.index.insert(name.into(), i);
        i
    }
}

impl TraceStore {
    /// Reads JSON Lines spans (see docs/dataset-format.md).
    pub fn parse(reader: impl BufRead) -> Result<Self, LoadError> {
        const FILE: &str = "traces.jsonl.gz";
        let mut traces = Table::default();
        let mut ids = String::new();
        let mut services = Table::default();
        let mut operations = Table::default();
        // Most spans repeat an attribute set: it is found again by its text.
        let mut sets = SetIndex::default();
        let mut attributes: Vec<Labels> = Vec::new();
        let mut interner = Interner::default();
        let mut spans = Vec::new();
        each_line(reader, FILE, |line, n| {
            let raw: RawSpan = parse_line(line, FILE, n)?;
            let pairs = raw.attributes.iter().map(|(k, v)| (&*k.0, &*v.0));
            let (attrs, new) = sets.find_or_add(pairs, &mut interner);
            if let Some(labels) = new {
                attributes.push(labels);
            }
            let attrs = u32::try_from(attrs).expect("fewer than 4 billion sets");
            let mut push_id = |id: &str| {
                let start = u32::try_from(ids.len()).map_err(|_| LoadError::Format {
                    file: FILE,
                    line: n,
                    why: "more than 4 GiB of span ids".into(),
                })?;
                ids.push_str(id);
                Ok::<_, LoadError>(IdRef {
                    start,
                    len: id.len() as u32,
                })
            };
            let span_id = push_id(&raw.span_id)?;
            let parent = raw.parent_span_id.map(|p| push_id(&p)).transpose()?;
            spans.push(Span {
                trace: traces.id(&raw.trace_id),
                span_id,
                parent,
                service: services.id(&raw.service),
                operation: operations.id(&raw.operation),
                start_us: raw.start_us,
                duration_us: raw.duration_us,
                error: raw.error,
                attributes: attrs,
            });
            Ok(())
        })?;
        // Services sorted by name, so `/api/services` and indexes agree.
        let mut order: Vec<u32> = (0..services.names.len() as u32).collect();
        order.sort_by(|&a, &b| services.names[a as usize].cmp(&services.names[b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            rank[old as usize] = new as u32;
        }
        for span in &mut spans {
            span.service = rank[span.service as usize];
        }
        let service_names: Vec<Box<str>> = order
            .iter()
            .map(|&old| services.names[old as usize].clone())
            .collect();
        spans.sort_by_key(|s| (s.trace, s.start_us));
        let mut trace_spans = vec![0..0; traces.names.len()];
        let mut traces_by_service = vec![Vec::new(); service_names.len()];
        let mut ops: Vec<std::collections::BTreeSet<u32>> =
            vec![Default::default(); service_names.len()];
        let mut i = 0;
        while i < spans.len() {
            let trace = spans[i].trace;
            let mut j = i;
            while j < spans.len() && spans[j].trace == trace {
                let s = &spans[j];
                let list = &mut traces_by_service[s.service as usize];
                if list.last() != Some(&trace) {
                    list.push(trace);
                }
                ops[s.service as usize].insert(s.operation);
                j += 1;
            }
            trace_spans[trace as usize] = i..j;
            i = j;
        }
        let operations_by_service = ops
            .into_iter()
            .map(|set| {
                let mut v: Vec<u32> = set.into_iter().collect();
                v.sort_by(|&a, &b| operations.names[a as usize].cmp(&operations.names[b as usize]));
                v
            })
            .collect();
        Ok(Self {
            spans,
            trace_ids: traces.names,
            ids,
            services: service_names,
            operations: operations.names,
            attributes,
            trace_spans,
            traces_by_service,
            operations_by_service,
            trace_index: traces.index,
        })
    }

    /// The trace with this id (as written in the dataset, case-insensitive hex).
    pub fn trace(&self, id: &str) -> Option<u32> {
        self.trace_index
            .get(id)
            .or_else(|| self.trace_index.get(id.to_ascii_lowercase().as_str()))
            .copied()
    }

    /// The text of a span id.
    pub fn id(&self, id: IdRef) -> &str {
        &self.ids[id.start as usize..(id.start + id.len) as usize]
    }

    /// The spans of trace `t`.
    pub fn spans_of(&self, t: u32) -> &[Span] {
        &self.spans[self.trace_spans[t as usize].clone()]
    }

    /// The index of a service by name.
    pub fn service(&self, name: &str) -> Option<u32> {
        self.services
            .binary_search_by(|s| s.as_ref().cmp(name))
            .ok()
            .map(|i| i as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_traces_and_services() {
        let text = concat!(
            r#"{"trace_id": "t1", "span_id": "b", "parent_span_id": "a", "service": "cart", "operation": "get", "start_us": 20, "duration_us": 5, "error": true, "attributes": {"pod": "cart-1", "retries": 2, "cached": false}}"#,
            "\n",
            r#"{"trace_id": "t1", "span_id": "a", "parent_span_id": null, "service": "front", "operation": "/", "start_us": 10, "duration_us": 50, "error": null, "attributes": {"pod": "front-1"}}"#,
            "\n"
        );
        let store = TraceStore::parse(text.as_bytes()).unwrap();
        let t = store.trace("t1").unwrap();
        let spans = store.spans_of(t);
        assert_eq!(spans.len(), 2);
        assert_eq!(&*store.services[spans[0].service as usize], "front");
        assert_eq!(
            store.id(spans[1].parent.unwrap()),
            store.id(spans[0].span_id)
        );
        assert_eq!(store.id(spans[0].span_id), "a");
        assert_eq!(spans[1].error, Some(true));
        let attrs = &store.attributes[spans[1].attributes as usize];
        assert_eq!(
            (attrs.get("retries"), attrs.get("cached")),
            (Some("2"), Some("false"))
        );
        assert_eq!(
            store.traces_by_service[store.service("cart").unwrap() as usize],
            vec![t]
        );
    }
}
