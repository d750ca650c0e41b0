//! Units of a metric's values, so evidence reads "0.50 cores", not "0.5004".

use serde::{Deserialize, Serialize};

/// What a series' values measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// CPU cores (CPU seconds per second).
    Cores,
    /// Bytes.
    Bytes,
    /// Bytes per second.
    BytesPerSecond,
    /// Seconds (a latency).
    Seconds,
    /// Requests per second.
    RequestsPerSecond,
    /// A ratio in [0, 1], shown as percent.
    Percent,
    /// A count (restarts, pods).
    Count,
    /// No known unit.
    #[default]
    None,
}

impl Unit {
    /// The unit a signal's name implies, by the Prometheus naming conventions
    /// (`cpu_seconds_rate`, `memory_working_set_bytes`, `latency_p90_seconds`,
    /// `error_ratio`, `request_rate`, `restarts_increase`).
    pub fn from_signal_name(name: &str) -> Self {
        let n = name.to_ascii_lowercase();
        let has = |w: &str| n.contains(w);
        if has("cpu") && has("seconds") && !has("throttl") {
            Self::Cores
        } else if has("bytes") && (has("rate") || has("per_second")) {
            Self::BytesPerSecond
        } else if has("bytes") {
            Self::Bytes
        } else if has("ratio") || has("percent") || has("throttl") {
            Self::Percent
        } else if has("seconds") && !has("rate") {
            Self::Seconds
        } else if has("request") || has("rps") {
            Self::RequestsPerSecond
        } else if has("restart") || has("pods") || has("oom") || has("goroutines") {
            Self::Count
        } else {
            Self::None
        }
    }

    /// `v` in this unit, in plain words: `0.50 cores`, `1.2 GiB`, `230 ms`,
    /// `4.2 req/s`, `3.1 %`.
    pub fn format(self, v: f64) -> String {
        match self {
            Self::Cores => format!("{} cores", number(v)),
            Self::Bytes => bytes(v),
            Self::BytesPerSecond => format!("{}/s", bytes(v)),
            Self::Seconds if v.abs() < 1.0 => format!("{} ms", number(v * 1000.0)),
            Self::Seconds => format!("{} s", number(v)),
            Self::RequestsPerSecond => format!("{} req/s", number(v)),
            Self::Percent => format!("{} %", number(v * 100.0)),
            Self::Count | Self::None => number(v),
        }
    }

    /// The axis label: `cores`, `bytes`, `seconds`, ...; empty for [`Unit::None`].
    pub fn label(self) -> &'static str {
        match self {
            Self::Cores => "cores",
            Self::Bytes => "bytes",
            Self::BytesPerSecond => "bytes/s",
            Self::Seconds => "seconds",
            Self::RequestsPerSecond => "requests/s",
            Self::Percent => "percent",
            Self::Count => "count",
            Self::None => "",
        }
    }
}

/// Three significant digits at most, no exponent for everyday sizes.
fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.01 {
        format!("{v:.2}")
    } else if a >= 0.0001 {
        format!("{v:.4}")
    } else {
        format!("{v:.2e}")
    }
}

fn bytes(v: f64) -> String {
    const STEPS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = v;
    let mut i = 0;
    while x.abs() >= 1024.0 && i + 1 < STEPS.len() {
        x /= 1024.0;
        i += 1;
    }
    format!("{} {}", number(x), STEPS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_units_and_values_read_in_them() {
        let cases = [
            ("cpu_seconds_rate", 0.5004, "0.50 cores"),
            (
                "memory_working_set_bytes",
                1.5 * 1024.0 * 1024.0 * 1024.0,
                "1.50 GiB",
            ),
            ("network_receive_bytes_rate", 2048.0, "2.00 KiB/s"),
            ("latency_p90_seconds", 0.23, "230 ms"),
            ("latency_p99_seconds", 2.5, "2.50 s"),
            ("error_ratio", 0.031, "3.10 %"),
            ("cpu_throttled_ratio", 0.5, "50.0 %"),
            ("request_rate", 4.2, "4.20 req/s"),
            ("restarts_increase", 3.0, "3.00"),
            ("jvm_gc_seconds_rate", 0.0047, "0.0047"),
            ("cpu_seconds_rate", 0.00001, "1.00e-5 cores"),
        ];
        for (name, v, shown) in cases {
            assert_eq!(Unit::from_signal_name(name).format(v), shown, "{name}");
        }
        assert_eq!(Unit::from_signal_name("cpu_seconds_rate"), Unit::Cores);
        assert_eq!(Unit::from_signal_name("jvm_gc_seconds_rate"), Unit::None);
    }
}
