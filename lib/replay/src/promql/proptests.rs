//! Properties of the PromQL the replay answers: any query is parsed or refused with a
//! reason, a well-formed selector parses to its name and matchers, and any expression
//! built from the supported grammar evaluates or is refused, at an instant and over a
//! range, without a panic.

use promql_parser::label::{METRIC_NAME, MatchOp};
use promql_parser::parser::Expr;
use proptest::prelude::*;

use super::functions::RANGE;
use super::{instant, parse, range};
use crate::metric_store::MetricStore;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Samples every 60 s from t=0 to 19 min: counters per service and code, histogram
/// buckets, a gauge that goes negative and a series with a NaN.
fn store() -> MetricStore {
    let mut text = String::new();
    for i in 0..20 {
        let t = i * 60;
        text += &format!("req_total{{service=\"a\",code=\"2xx\"}} {} {t}\n", i * 60);
        text += &format!(
            "req_total{{service=\"a\",code=\"5xx\"}} {} {t}\n",
            (i % 7) * 6
        );
        text += &format!("req_total{{service=\"b\",code=\"2xx\"}} {} {t}\n", i * 120);
        text += &format!("lat_bucket{{service=\"a\",le=\"0.1\"}} {} {t}\n", i * 10);
        text += &format!("lat_bucket{{service=\"a\",le=\"1\"}} {} {t}\n", i * 20);
        text += &format!("lat_bucket{{service=\"a\",le=\"+Inf\"}} {} {t}\n", i * 20);
        text += &format!("temp{{service=\"b\"}} {} {t}\n", 5 - i);
        let odd = if i == 7 {
            "NaN".to_string()
        } else {
            i.to_string()
        };
        text += &format!("odd{{service=\"a\",code=\"2xx\"}} {odd} {t}\n");
    }
    text += "# EOF\n";
    MetricStore::parse(text.as_bytes()).expect("a valid store")
}

/// A PromQL string literal: double-quoted, `\` and `"` escaped.
fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Text that looks like PromQL often enough to reach deep into the parser.
fn query_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(
        &[
            "req_total",
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
            "\"a\"",
            "\"(\"",
            "5m",
            "0s",
            "1y",
            ":",
            "@",
            "offset",
            "-",
            "+",
            "/",
            "^",
            "%",
            "==",
            "bool",
            "on",
            "ignoring",
            "group_left",
            "by",
            "without",
            "sum",
            "topk",
            "rate",
            "histogram_quantile",
            "label_replace",
            "1e308",
            "NaN",
            "Inf",
            " ",
            "\\",
            "é",
        ][..],
    );
    prop::collection::vec(token, 0..24).prop_map(|t| t.concat())
}

/// Expressions from the grammar the evaluator implements, often ill-typed on purpose.
fn expression() -> impl Strategy<Value = String> {
    let number = prop::sample::select(
        &[
            "0", "1", "-1", "0.5", "2", "NaN", "Inf", "-Inf", "1e308", "-0", "100",
        ][..],
    )
    .prop_map(str::to_string);
    let selector = prop::sample::select(
        &[
            "req_total",
            "req_total{code=\"5xx\"}",
            "req_total{service=~\"a|b\"}",
            "lat_bucket",
            "temp",
            "odd",
            "nothing",
            "{service=\"a\"}",
            "req_total offset 5m",
            "req_total offset -5m",
        ][..],
    )
    .prop_map(str::to_string);
    let window = prop::sample::select(&["1s", "30s", "1m", "2m", "5m", "1h", "1d"][..]);
    // Every range function the evaluator knows but quantile_over_time, whose first
    // argument is a scalar.
    let range_fn = prop::sample::select(
        RANGE
            .iter()
            .copied()
            .filter(|f| *f != "quantile_over_time")
            .collect::<Vec<_>>(),
    );
    let ranged = (
        range_fn,
        selector.clone(),
        window,
        prop::option::of(number.clone()),
    )
        .prop_map(|(f, s, w, q)| match q {
            Some(q) if f == "avg_over_time" => format!("quantile_over_time({q}, {s}[{w}])"),
            _ => format!("{f}({s}[{w}])"),
        });
    let leaf = prop_oneof![number.clone(), selector, ranged, Just("time()".to_string())];
    leaf.prop_recursive(4, 24, 3, move |inner| {
        let agg = prop::sample::select(
            &[
                "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar",
            ][..],
        );
        let grouping = prop::sample::select(
            &["", " by (service)", " without (code)", " by ()", " by (le)"][..],
        );
        let param_agg = prop::sample::select(&["topk", "bottomk", "quantile"][..]);
        let op = prop::sample::select(
            &[
                "+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=", "and", "or",
                "unless", "== bool", "> bool",
            ][..],
        );
        let matching = prop::sample::select(
            &[
                "",
                " on (service)",
                " ignoring (code)",
                " on (service) group_left",
                " ignoring (code) group_right",
                " on ()",
            ][..],
        );
        let math = prop::sample::select(
            &[
                "abs",
                "ceil",
                "floor",
                "exp",
                "ln",
                "log2",
                "log10",
                "sqrt",
                "sgn",
                "scalar",
                "vector",
                "timestamp",
                "sort",
                "sort_desc",
            ][..],
        );
        prop_oneof![
            (agg, grouping, inner.clone()).prop_map(|(a, g, e)| format!("{a}{g} ({e})")),
            (param_agg, number.clone(), inner.clone())
                .prop_map(|(a, n, e)| format!("{a}({n}, {e})")),
            (inner.clone(), op, matching, inner.clone())
                .prop_map(|(l, o, m, r)| format!("({l}) {o}{m} ({r})")),
            (math, inner.clone()).prop_map(|(f, e)| format!("{f}({e})")),
            (number.clone(), inner.clone())
                .prop_map(|(q, e)| format!("histogram_quantile({q}, {e})")),
            (inner.clone(), number.clone(), number.clone())
                .prop_map(|(e, lo, hi)| format!("clamp({e}, {lo}, {hi})")),
            (inner.clone(), number.clone()).prop_map(|(e, n)| format!("round({e}, {n})")),
            (
                inner.clone(),
                prop::sample::select(&["dst", "service", "__name__", "1bad", ""][..]),
                prop::sample::select(&["$1", "${1}x", "$9", ""][..]),
                prop::sample::select(&["service", "code", "none"][..]),
                prop::sample::select(&["(.*)", "a(.)?", "(", "", "[[:alpha:]]+"][..]),
            )
                .prop_map(|(e, dst, repl, src, re)| {
                    format!(
                        "label_replace({e}, {}, {}, {}, {})",
                        quote(dst),
                        quote(repl),
                        quote(src),
                        quote(re)
                    )
                }),
            (inner, prop::sample::select(&["dst", "service", ""][..])).prop_map(
                |(e, dst)| format!(
                    "label_join({e}, {}, \"-\", \"service\", \"code\")",
                    quote(dst)
                )
            ),
        ]
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_query_is_parsed_or_refused_with_a_reason(q in prop_oneof![any::<String>(), query_soup()]) {
        if let Err(e) = parse(&q) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn a_well_formed_selector_parses_to_its_matchers(
        // A prefix keeps the name clear of keywords (`sum`, `by`, `inf`), which read as
        // something else.
        name in "aegis_[a-zA-Z0-9_:]{0,15}",
        matchers in prop::collection::vec(("[a-zA-Z_][a-zA-Z0-9_]{0,10}", 0..4usize, "\\PC{0,16}"), 0..4),
    ) {
        prop_assume!(!matchers.iter().any(|(n, ..)| n == METRIC_NAME));
        let rendered: Vec<String> = matchers
            .iter()
            .map(|(label, op, value)| match op {
                0 => format!("{label}={}", quote(value)),
                1 => format!("{label}!={}", quote(value)),
                2 => format!("{label}=~{}", quote(&regex::escape(value))),
                _ => format!("{label}!~{}", quote(&regex::escape(value))),
            })
            .collect();
        let q = format!("{name}{{{}}}", rendered.join(","));
        let expr = parse(&q).map_err(|e| TestCaseError::fail(format!("{q}: {e}")))?;
        let Expr::VectorSelector(vs) = expr else {
            return Err(TestCaseError::fail(format!("{q} is not a selector")));
        };
        prop_assert_eq!(vs.name.as_deref(), Some(name.as_str()));
        let parsed: Vec<(String, usize, String)> = vs
            .matchers
            .matchers
            .iter()
            .filter(|m| m.name != METRIC_NAME)
            .map(|m| {
                let op = match m.op {
                    MatchOp::Equal => 0,
                    MatchOp::NotEqual => 1,
                    MatchOp::Re(_) => 2,
                    MatchOp::NotRe(_) => 3,
                };
                (m.name.clone(), op, m.value.clone())
            })
            .collect();
        let wanted: Vec<(String, usize, String)> = matchers
            .into_iter()
            .map(|(label, op, value)| {
                let value = if op >= 2 { regex::escape(&value) } else { value };
                (label, op, value)
            })
            .collect();
        prop_assert_eq!(parsed, wanted);
    }

    #[test]
    fn any_supported_expression_evaluates_or_is_refused_with_a_reason(
        q in expression(),
        at_s in 0i64..1500,
        step_s in 1i64..300,
        steps in 0i64..8,
    ) {
        let store = store();
        if let Err(e) = instant(&store, &q, at_s * 1000) {
            prop_assert!(!e.to_string().is_empty());
        }
        let end = at_s + step_s * steps;
        if let Err(e) = range(&store, &q, at_s * 1000, end * 1000, step_s * 1000) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn an_instant_at_any_time_is_evaluated_or_refused(q in expression(), at_ms in any::<i64>()) {
        if let Err(e) = instant(&store(), &q, at_ms) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn any_range_request_is_answered_or_refused(
        start in any::<i64>(),
        end in any::<i64>(),
        step in any::<i64>(),
    ) {
        if let Err(e) = range(&store(), "vector(1)", start, end, step) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
