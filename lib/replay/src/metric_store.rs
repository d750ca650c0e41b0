//! The metric samples of a dataset: one sorted column of timestamps and one of values
//! per series, read from OpenMetrics text.
//!
//! Hand-written parser: the crates that read the exposition format parse a scrape
//! (one sample per series, no timestamps kept in order), not a file of millions of
//! timestamped samples; this one keys series by their raw text so a repeated series
//! costs one hash lookup.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::sync::Arc;

use super::LoadError;
use super::labels::{Interner, Labels};

/// One series: its labels (with `__name__`) and its samples sorted by time.
#[derive(Debug)]
pub struct Series {
    /// The labels, `__name__` included.
    pub labels: Labels,
    /// Sample timestamps in milliseconds, ascending, no duplicates.
    pub ts: Vec<i64>,
    /// Sample values, parallel to `ts`.
    pub vals: Vec<f64>,
}

/// `# TYPE` and `# HELP` of one metric family, for `/api/v1/metadata`.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// counter, gauge, summary, histogram, unknown...
    pub kind: String,
    /// The help text.
    pub help: String,
}

/// Every series of a dataset.
#[derive(Debug, Default)]
pub struct MetricStore {
    /// The series, in no particular order.
    pub series: Vec<Series>,
    /// Metadata by metric name (the name samples carry, `_total` included for counters).
    pub metadata: BTreeMap<String, Metadata>,
    /// The first and last sample time (ms), if any sample.
    pub bounds: Option<(i64, i64)>,
}

impl MetricStore {
    /// Reads OpenMetrics text (timestamps in seconds) until `# EOF`.
    pub fn parse(reader: impl BufRead) -> Result<Self, LoadError> {
        let mut interner = Interner::default();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut series: Vec<Series> = Vec::new();
        let mut families: BTreeMap<String, Metadata> = BTreeMap::new();
        let name_label: Arc<str> = interner.get("__name__");
        for (n, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| LoadError::Io("metrics.om.gz".into(), e))?;
            let bad = |why: &str| LoadError::Format {
                file: "metrics.om.gz",
                line: n + 1,
                why: why.to_owned(),
            };
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix('#') {
                let mut words = rest.trim_start().splitn(3, ' ');
                let (kw, family, text) = (words.next(), words.next(), words.next());
                match (kw, family) {
                    (Some("EOF"), _) => break,
                    (Some("TYPE"), Some(family)) => {
                        families
                            .entry(family.to_owned())
                            .or_insert_with(empty_meta)
                            .kind = text.unwrap_or("unknown").to_owned();
                    }
                    (Some("HELP"), Some(family)) => {
                        families
                            .entry(family.to_owned())
                            .or_insert_with(empty_meta)
                            .help = text.unwrap_or("").to_owned();
                    }
                    _ => {}
                }
                continue;
            }
            let key_end = match line.find('{') {
                Some(_) => closing_brace(&line).ok_or_else(|| bad("unterminated label set"))? + 1,
                None => line.find(' ').ok_or_else(|| bad("no value"))?,
            };
            let (key, rest) = line.split_at(key_end);
            let mut fields = rest.split_ascii_whitespace();
            let value = parse_value(fields.next().ok_or_else(|| bad("no value"))?)
                .ok_or_else(|| bad("bad value"))?;
            let ts_s: f64 = fields
                .next()
                .ok_or_else(|| bad("no timestamp"))?
                .parse()
                .map_err(|_| bad("bad timestamp"))?;
            let ts = (ts_s * 1000.0).round() as i64;
            let at = match index.get(key) {
                Some(&i) => i,
                None => {
                    let labels = parse_labels(key, &name_label, &mut interner)
                        .ok_or_else(|| bad("bad label set"))?;
                    series.push(Series {
                        labels,
                        ts: Vec::new(),
                        vals: Vec::new(),
                    });
                    index.insert(key.to_owned(), series.len() - 1);
                    series.len() - 1
                }
            };
            let s = &mut series[at];
            s.ts.push(ts);
            s.vals.push(value);
        }
        let mut bounds: Option<(i64, i64)> = None;
        for s in &mut series {
            sort_samples(s);
            if let (Some(&first), Some(&last)) = (s.ts.first(), s.ts.last()) {
                bounds = Some(match bounds {
                    Some((lo, hi)) => (lo.min(first), hi.max(last)),
                    None => (first, last),
                });
            }
        }
        let metadata = metadata_by_sample_name(families, &series);
        Ok(Self {
            series,
            metadata,
            bounds,
        })
    }
}

fn empty_meta() -> Metadata {
    Metadata {
        kind: "unknown".into(),
        help: String::new(),
    }
}

/// OpenMetrics names a counter family without `_total`; Prometheus' metadata API keys
/// by the names samples carry.
fn metadata_by_sample_name(
    families: BTreeMap<String, Metadata>,
    series: &[Series],
) -> BTreeMap<String, Metadata> {
    let names: std::collections::HashSet<&str> =
        series.iter().map(|s| s.labels.value("__name__")).collect();
    families
        .into_iter()
        .map(|(family, meta)| {
            let total = format!("{family}_total");
            if !names.contains(family.as_str()) && names.contains(total.as_str()) {
                (total, meta)
            } else {
                (family, meta)
            }
        })
        .collect()
}

/// Sorts a series' samples by time, keeping the last of duplicate timestamps.
fn sort_samples(s: &mut Series) {
    if s.ts.windows(2).all(|w| w[0] < w[1]) {
        return;
    }
    let mut pairs: Vec<(i64, f64)> = s.ts.iter().copied().zip(s.vals.iter().copied()).collect();
    pairs.sort_by_key(|p| p.0);
    let mut ts = Vec::with_capacity(pairs.len());
    let mut vals: Vec<f64> = Vec::with_capacity(pairs.len());
    for (t, v) in pairs {
        if ts.last() == Some(&t) {
            if let Some(last) = vals.last_mut() {
                *last = v;
            }
        } else {
            ts.push(t);
            vals.push(v);
        }
    }
    s.ts = ts;
    s.vals = vals;
}

/// A sample value as the exposition formats write it (`+Inf`, `NaN` included).
pub fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// The index of the `}` closing the label set, skipping quoted values.
fn closing_brace(line: &str) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '}' if !in_quotes => return Some(i),
            _ => {}
        }
    }
    None
}

/// `name{a="x",b="y"}` into labels with `__name__`.
fn parse_labels(key: &str, name_label: &Arc<str>, interner: &mut Interner) -> Option<Labels> {
    let (name, body) = match key.find('{') {
        Some(i) => (&key[..i], key[i + 1..].strip_suffix('}')?),
        None => (key, ""),
    };
    let mut pairs = vec![(name_label.clone(), interner.get(name))];
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let label = rest[..eq].trim();
        let after = rest[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '"' => break i,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        };
        pairs.push((interner.get(label), interner.get(&value)));
        rest = after[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Some(Labels::new(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_series_sorted_with_metadata() {
        let text = "# HELP c Counter.\n# TYPE c counter\n\
            c_total{a=\"x\",b=\"q\\\"}\"} 2 20.5\n\
            c_total{a=\"x\",b=\"q\\\"}\"} 1 10\n\
            g 3.5 10\n# EOF\n";
        let store = MetricStore::parse(text.as_bytes()).unwrap();
        assert_eq!(store.series.len(), 2);
        let c = &store.series[0];
        assert_eq!(c.labels.get("b"), Some("q\"}"));
        assert_eq!(c.ts, vec![10_000, 20_500]);
        assert_eq!(c.vals, vec![1.0, 2.0]);
        assert_eq!(store.metadata["c_total"].kind, "counter");
        assert_eq!(store.bounds, Some((10_000, 20_500)));
    }

    #[test]
    fn bad_line_names_file_and_line() {
        let err = MetricStore::parse("x{a=\"1\"} notanumber 1\n".as_bytes()).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
