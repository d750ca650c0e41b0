//! Values of PromQL evaluation and their JSON form in the Prometheus HTTP API.

use serde_json::{Value, json};

use crate::labels::Labels;

/// One element of an instant vector.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The series labels.
    pub labels: Labels,
    /// The value.
    pub value: f64,
}

/// A series of a range-query result.
#[derive(Debug, Clone)]
pub struct RangeSeries {
    /// The series labels.
    pub labels: Labels,
    /// `(timestamp ms, value)` pairs, ascending.
    pub points: Vec<(i64, f64)>,
}

/// The result of an instant query.
#[derive(Debug, Clone)]
pub enum Instant {
    /// An instant vector.
    Vector(Vec<Sample>),
    /// A scalar.
    Scalar(f64),
}

/// A sample value as Prometheus prints it (Go's `FormatFloat(v, 'f', -1, 64)`).
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        // Rust's Display is the shortest round-trip form and never uses an exponent,
        // as Go's 'f' with precision -1.
        format!("{v}")
    }
}

/// A timestamp as Prometheus prints it: seconds, with milliseconds when not whole.
pub fn json_time(ms: i64) -> Value {
    if ms % 1000 == 0 {
        json!(ms / 1000)
    } else {
        json!(ms as f64 / 1000.0)
    }
}

/// `[ts, "value"]`
pub fn json_point(ms: i64, v: f64) -> Value {
    json!([json_time(ms), format_value(v)])
}

/// The `data` of an instant-query answer.
pub fn instant_data(result: &Instant, at_ms: i64) -> Value {
    match result {
        Instant::Scalar(v) => json!({"resultType": "scalar", "result": json_point(at_ms, *v)}),
        Instant::Vector(samples) => json!({
            "resultType": "vector",
            "result": samples
                .iter()
                .map(|s| json!({"metric": s.labels.to_json(), "value": json_point(at_ms, s.value)}))
                .collect::<Vec<_>>(),
        }),
    }
}

/// The `data` of a range-query answer.
pub fn matrix_data(series: &[RangeSeries]) -> Value {
    json!({
        "resultType": "matrix",
        "result": series
            .iter()
            .map(|s| json!({
                "metric": s.labels.to_json(),
                "values": s.points.iter().map(|&(t, v)| json_point(t, v)).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_as_go_does() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(1e-7), "0.0000001");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(json_time(1_500), json!(1.5));
        assert_eq!(json_time(2_000), json!(2));
    }
}
