//! The log entries of a dataset: per stream, timestamps and offsets into one text arena.

use std::collections::BTreeMap;
use std::io::BufRead;

use serde::Deserialize;

use super::LoadError;
use super::json::{Str, each_line, parse_line};
use super::labels::{Interner, Labels, SetIndex};

/// One log stream: its labels and its entries sorted by time.
#[derive(Debug)]
pub struct Stream {
    /// The stream labels, as Promtail would attach them.
    pub labels: Labels,
    /// Entry timestamps in nanoseconds, ascending.
    pub ts: Vec<i64>,
    /// Per entry, the start and length of its line in the store's arena.
    spans: Vec<(u32, u32)>,
}

/// Every log entry of a dataset.
#[derive(Debug, Default)]
pub struct LogStore {
    /// The streams, in order of first appearance.
    pub streams: Vec<Stream>,
    arena: String,
    /// The first and last entry time (ns), if any entry.
    pub bounds: Option<(i64, i64)>,
}

#[derive(Deserialize)]
struct RawEntry<'a> {
    ts_ns: i64,
    #[serde(borrow)]
    labels: BTreeMap<Str<'a>, Str<'a>>,
    #[serde(borrow)]
    line: Str<'a>,
}

impl LogStore {
    /// Reads JSON Lines entries (`ts_ns`, `labels`, `line`).
    pub fn parse(reader: impl BufRead) -> Result<Self, LoadError> {
        const FILE: &str = "logs.jsonl.gz";
        let mut interner = Interner::default();
        let mut sets = SetIndex::default();
        let mut store = Self::default();
        each_line(reader, FILE, |line, n| {
            let raw: RawEntry = parse_line(line, FILE, n)?;
            let pairs = raw.labels.iter().map(|(k, v)| (&*k.0, &*v.0));
            let (at, new) = sets.find_or_add(pairs, &mut interner);
            if let Some(labels) = new {
                store.streams.push(Stream {
                    labels,
                    ts: Vec::new(),
                    spans: Vec::new(),
                });
            }
            let start = u32::try_from(store.arena.len()).map_err(|_| LoadError::Format {
                file: FILE,
                line: n,
                why: "more than 4 GiB of log text".into(),
            })?;
            store.arena.push_str(&raw.line);
            let len = u32::try_from(raw.line.len()).unwrap_or(u32::MAX);
            let stream = &mut store.streams[at];
            stream.ts.push(raw.ts_ns);
            stream.spans.push((start, len));
            store.bounds = Some(match store.bounds {
                Some((lo, hi)) => (lo.min(raw.ts_ns), hi.max(raw.ts_ns)),
                None => (raw.ts_ns, raw.ts_ns),
            });
            Ok(())
        })?;
        for stream in &mut store.streams {
            if !stream.ts.windows(2).all(|w| w[0] <= w[1]) {
                let mut order: Vec<usize> = (0..stream.ts.len()).collect();
                order.sort_by_key(|&i| stream.ts[i]);
                stream.ts = order.iter().map(|&i| stream.ts[i]).collect();
                stream.spans = order.iter().map(|&i| stream.spans[i]).collect();
            }
        }
        store.arena.shrink_to_fit();
        Ok(store)
    }

    /// The text of entry `i` of `stream`.
    pub fn line(&self, stream: &Stream, i: usize) -> &str {
        let (start, len) = stream.spans[i];
        let start = start as usize;
        &self.arena[start..start + len as usize]
    }

    /// How many entries the store holds.
    pub fn len(&self) -> usize {
        self.streams.iter().map(|s| s.ts.len()).sum()
    }

    /// Whether the store holds no entry.
    pub fn is_empty(&self) -> bool {
        self.streams.iter().all(|s| s.ts.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_entries_by_stream_in_an_arena() {
        let text = concat!(
            r#"{"ts_ns": 2, "labels": {"app": "a", "pod": "p1"}, "line": "second \"quoted\""}"#,
            "\n",
            r#"{"ts_ns": 1, "labels": {"pod": "p1", "app": "a"}, "line": "first"}"#,
            "\n",
            r#"{"ts_ns": 3, "labels": {"app": "b"}, "line": "other"}"#,
            "\n"
        );
        let store = LogStore::parse(text.as_bytes()).unwrap();
        assert_eq!(store.streams.len(), 2);
        let a = &store.streams[0];
        assert_eq!(a.ts, vec![1, 2]);
        assert_eq!(store.line(a, 0), "first");
        assert_eq!(store.line(a, 1), "second \"quoted\"");
        assert_eq!(store.len(), 3);
    }
}
