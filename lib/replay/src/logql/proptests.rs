//! Properties of the LogQL the replay answers: any query is parsed or refused with a
//! reason, a well-formed selector with line filters parses to matchers and filters
//! that select and keep what they say, and metric queries keep their function, range
//! and grouping.

use std::sync::Arc;

use proptest::prelude::*;

use super::{Query, RangeFn, parse, parse_duration_ns};
use crate::labels::Labels;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text that looks like LogQL often enough to reach deep into the parser.
fn query_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(
        &[
            "{",
            "}",
            "(",
            ")",
            "[",
            "]",
            ",",
            "=",
            "!=",
            "=~",
            "!~",
            "|=",
            "|~",
            "|",
            "\"",
            "`",
            "\\",
            " ",
            "app",
            "a_1",
            "\"x\"",
            "`y`",
            "\".+\"",
            "\"(\"",
            "5m",
            "1h30m",
            "0s",
            "99999999999y",
            "count_over_time",
            "rate",
            "sum",
            "avg",
            "by",
            "without",
            "json",
            "é",
            "\u{0}",
        ][..],
    );
    prop::collection::vec(token, 0..24).prop_map(|t| t.concat())
}

/// A string as LogQL writes it: double-quoted with escapes, or backquoted.
fn quote(value: &str, backquote: bool) -> String {
    if backquote && !value.contains('`') {
        format!("`{value}`")
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Eq,
    Ne,
    Re,
    NotRe,
}

/// A selector's matchers: the first an equality to a non-empty value (so the query
/// selects something), then any; names distinct.
fn matchers() -> impl Strategy<Value = Vec<(String, Op, String, bool)>> {
    let op = prop_oneof![Just(Op::Eq), Just(Op::Ne), Just(Op::Re), Just(Op::NotRe)];
    (
        prop::collection::btree_map(
            "[a-zA-Z_][a-zA-Z0-9_]{0,10}",
            (op, any::<String>(), any::<bool>()),
            1..5,
        ),
        ".+",
    )
        .prop_map(|(by_name, first_value)| {
            by_name
                .into_iter()
                .enumerate()
                .map(|(i, (name, (op, value, backquote)))| {
                    if i == 0 {
                        (name, Op::Eq, first_value.clone(), backquote)
                    } else {
                        (name, op, value, backquote)
                    }
                })
                .collect()
        })
}

/// Line filters: what a line must contain (letters a-m) and must not (letters n-z),
/// as plain or as (escaped) regex filters.
fn filters() -> impl Strategy<Value = Vec<(bool, bool, String, bool)>> {
    prop::collection::vec(
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_flat_map(|(keep, regex, backquote)| {
            let text = if keep { "[a-m]{1,6}" } else { "[n-z]{1,6}" };
            (Just(keep), Just(regex), text, Just(backquote))
        }),
        0..4,
    )
}

fn render(
    matchers: &[(String, Op, String, bool)],
    filters: &[(bool, bool, String, bool)],
) -> String {
    let m: Vec<String> = matchers
        .iter()
        .map(|(name, op, value, backquote)| {
            let (op, value) = match op {
                Op::Eq => ("=", value.clone()),
                Op::Ne => ("!=", value.clone()),
                Op::Re => ("=~", regex::escape(value)),
                Op::NotRe => ("!~", regex::escape(value)),
            };
            format!("{name} {op} {}", quote(&value, *backquote))
        })
        .collect();
    let f: Vec<String> = filters
        .iter()
        .map(|(keep, regex, text, backquote)| {
            let op = match (keep, regex) {
                (true, false) => "|=",
                (false, false) => "!=",
                (true, true) => "|~",
                (false, true) => "!~",
            };
            format!("{op} {}", quote(text, *backquote))
        })
        .collect();
    format!("{{{}}} {}", m.join(", "), f.join(" "))
}

/// Labels that every matcher accepts.
fn matching_labels(matchers: &[(String, Op, String, bool)]) -> Labels {
    Labels::new(
        matchers
            .iter()
            .map(|(name, op, value, _)| {
                let v = match op {
                    Op::Eq | Op::Re => value.clone(),
                    Op::Ne | Op::NotRe => format!("{value}x"),
                };
                (Arc::from(name.as_str()), Arc::from(v.as_str()))
            })
            .collect(),
    )
}

/// A duration as parts (`1h30m`) and its nanoseconds.
fn duration() -> impl Strategy<Value = (String, i64)> {
    let unit = prop::sample::select(
        &[
            ("ms", 1_000_000i64),
            ("s", 1_000_000_000),
            ("m", 60_000_000_000),
            ("h", 3_600_000_000_000),
            ("d", 86_400_000_000_000),
            ("w", 604_800_000_000_000),
            ("y", 31_536_000_000_000_000),
        ][..],
    );
    prop::collection::vec((0i64..60, unit), 1..4).prop_map(|parts| {
        let text: String = parts.iter().map(|(n, (u, _))| format!("{n}{u}")).collect();
        let ns = parts.iter().map(|(n, (_, per))| n * per).sum();
        (text, ns)
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_query_is_parsed_or_refused_with_a_reason(q in prop_oneof![any::<String>(), query_soup()]) {
        if let Err(e) = parse(&q) {
            prop_assert!(!e.is_empty());
        }
        let _ = parse_duration_ns(&q);
    }

    #[test]
    fn a_well_formed_selector_selects_and_keeps_what_it_says(m in matchers(), f in filters()) {
        let q = render(&m, &f);
        let Ok(Query::Logs(selector)) = parse(&q) else {
            return Err(TestCaseError::fail(format!("{q} is not a log query: {:?}", parse(&q))));
        };
        let names: Vec<&str> = selector.matchers.iter().map(|m| m.name.as_str()).collect();
        prop_assert_eq!(names, m.iter().map(|(n, ..)| n.as_str()).collect::<Vec<_>>());
        prop_assert_eq!(selector.filters.len(), f.len());
        let labels = matching_labels(&m);
        prop_assert!(selector.selects(&labels), "{} does not select {:?}", q, labels);
        // Change the first (equality) matcher's value and the stream is not selected.
        let other = labels.with(Arc::from(m[0].0.as_str()), Arc::from(format!("{}x", m[0].2).as_str()));
        prop_assert!(!selector.selects(&other));
        let line: String = f.iter().filter(|(keep, ..)| *keep).map(|(.., text, _)| text.as_str()).collect();
        prop_assert!(selector.keeps(&line), "{} does not keep {:?}", q, line);
        if let Some((.., text, _)) = f.iter().find(|(keep, ..)| !*keep) {
            let dropped = format!("{line}{text}");
            prop_assert!(!selector.keeps(&dropped));
        }
    }

    #[test]
    fn a_metric_query_keeps_its_function_range_and_grouping(
        m in matchers(),
        f in filters(),
        rate in any::<bool>(),
        (range, range_ns) in duration(),
        aggregation in prop::option::of((
            prop::sample::select(&["sum", "count", "max", "min", "avg"][..]),
            prop::option::of((any::<bool>(), prop::collection::vec("[a-z_][a-z0-9_]{0,8}", 0..3), any::<bool>())),
        )),
    ) {
        let func = if rate { "rate" } else { "count_over_time" };
        let inner = format!("{func}({} [{range}])", render(&m, &f));
        let q = match &aggregation {
            None => inner,
            Some((op, None)) => format!("{op}({inner})"),
            Some((op, Some((by, labels, before)))) => {
                let grouping = format!("{} ({})", if *by { "by" } else { "without" }, labels.join(", "));
                if *before { format!("{op} {grouping} ({inner})") } else { format!("{op}({inner}) {grouping}") }
            }
        };
        let Ok(Query::Metric { func: parsed, range_ns: parsed_ns, aggregation: parsed_agg, .. }) = parse(&q) else {
            return Err(TestCaseError::fail(format!("{q} is not a metric query: {:?}", parse(&q))));
        };
        prop_assert_eq!(parsed, if rate { RangeFn::Rate } else { RangeFn::CountOverTime });
        prop_assert_eq!(parsed_ns, range_ns);
        match (aggregation, parsed_agg) {
            (None, None) => {}
            (Some((op, grouping)), Some(a)) => {
                prop_assert_eq!(a.op, op);
                let (by, labels) = grouping.map(|(by, labels, _)| (by, labels)).unwrap_or((false, Vec::new()));
                prop_assert_eq!((a.by, a.labels), (by, labels));
            }
            (want, got) => return Err(TestCaseError::fail(format!("{q}: wanted {want:?}, got {got:?}"))),
        }
    }

    #[test]
    fn a_selector_that_matches_everything_is_refused(
        names in prop::collection::btree_set("[a-z]{1,6}", 1..4),
        anything in prop::sample::select(&["=\"\"", "=~\".*\"", "!=\"\"", "=~\"\"", "!~\".+\""][..]),
    ) {
        // `!=""` alone is empty-compatible only in part: it needs the label present.
        let matchers: Vec<String> = names.iter().map(|n| format!("{n}{anything}")).collect();
        let q = format!("{{{}}}", matchers.join(","));
        let result = parse(&q);
        if anything == "!=\"\"" {
            prop_assert!(result.is_ok(), "{}: {:?}", q, result.err());
        } else {
            let e = result.expect_err("refused");
            prop_assert!(e.contains("at least one"), "{}", e);
        }
    }

    #[test]
    fn a_duration_is_the_sum_of_its_parts((text, ns) in duration()) {
        prop_assert_eq!(parse_duration_ns(&text), Some(ns));
    }
}
