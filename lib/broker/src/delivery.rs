//! A Trigger's (or Broker's) `delivery` spec: retries, backoff, timeout and the dead
//! letter sink, as Knative Eventing applies them.

use std::time::Duration;

use serde_yaml_ng::Value;

use super::destination::Destination;

/// How deliveries to one subscriber are attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Attempts after the first.
    pub retry: u32,
    /// How the wait grows between attempts.
    pub backoff_policy: BackoffPolicy,
    /// The base wait (`backoffDelay`).
    pub backoff_delay: Duration,
    /// Timeout of one attempt.
    pub timeout: Duration,
    /// Where an event goes when every attempt failed.
    pub dead_letter_sink: Option<Destination>,
}

/// `backoffPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackoffPolicy {
    /// `backoffDelay * n` before retry n.
    Linear,
    /// `backoffDelay * 2^n` before retry n (Knative's default).
    Exponential,
}

/// Knative's defaults when no `delivery` is given: no retry, and (locally) a timeout
/// long enough for an analysis.
impl Default for Delivery {
    fn default() -> Self {
        Self {
            retry: 0,
            backoff_policy: BackoffPolicy::Exponential,
            backoff_delay: Duration::from_millis(200),
            timeout: Duration::from_secs(300),
            dead_letter_sink: None,
        }
    }
}

impl Delivery {
    /// Reads a `delivery` map.
    pub fn parse(spec: &Value) -> Result<Self, String> {
        let mut delivery = Self::default();
        let Some(map) = spec.as_mapping() else {
            return Err("delivery must be a map".into());
        };
        for (key, value) in map {
            let key = key.as_str().unwrap_or_default();
            match key {
                "retry" => {
                    delivery.retry = value
                        .as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| {
                            "delivery.retry must be a non-negative integer".to_string()
                        })?;
                }
                "backoffPolicy" => {
                    delivery.backoff_policy = match value.as_str() {
                        Some("linear") => BackoffPolicy::Linear,
                        Some("exponential") => BackoffPolicy::Exponential,
                        _ => {
                            return Err(
                                "delivery.backoffPolicy must be linear or exponential".into()
                            );
                        }
                    };
                }
                "backoffDelay" => delivery.backoff_delay = iso_duration(value, key)?,
                "timeout" => delivery.timeout = iso_duration(value, key)?,
                "deadLetterSink" => {
                    delivery.dead_letter_sink = Some(
                        Destination::parse(value)
                            .map_err(|e| format!("delivery.deadLetterSink: {e}"))?,
                    );
                }
                // retryAfterMax, format and the like change nothing locally.
                _ => {}
            }
        }
        Ok(delivery)
    }

    /// The wait before retry `n` (1-based).
    pub fn backoff(&self, n: u32) -> Duration {
        match self.backoff_policy {
            BackoffPolicy::Linear => self.backoff_delay.saturating_mul(n),
            BackoffPolicy::Exponential => self
                .backoff_delay
                .saturating_mul(2u32.saturating_pow(n.min(20))),
        }
    }
}

fn iso_duration(value: &Value, key: &str) -> Result<Duration, String> {
    value.as_str().and_then(parse_iso8601).ok_or_else(|| {
        format!("delivery.{key} must be an ISO-8601 duration such as PT1S or PT0.5S")
    })
}

/// Parses an ISO-8601 duration of days, hours, minutes and (fractional) seconds:
/// `PT1S`, `PT0.5S`, `PT2M30S`, `P1DT1H`. Years, months and weeks are refused since
/// their length is not fixed. Hand-written: the grammar is a few lines and no crate in
/// the lock file parses it.
pub fn parse_iso8601(text: &str) -> Option<Duration> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total = 0f64;
    let mut any = false;
    let mut parse = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        let mut allowed = units.iter();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            // Units must come in order, each at most once.
            let (_, secs) = allowed.find(|(u, _)| *u == c)?;
            let n: f64 = number.parse().ok()?;
            total += n * secs;
            number.clear();
            any = true;
        }
        number.is_empty().then_some(())
    };
    parse(date, &[('D', 86_400.0)])?;
    if let Some(time) = time {
        if time.is_empty() {
            return None;
        }
        parse(time, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    if !any || !total.is_finite() {
        return None;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations() {
        assert_eq!(parse_iso8601("PT1S"), Some(Duration::from_secs(1)));
        assert_eq!(parse_iso8601("PT0.2S"), Some(Duration::from_millis(200)));
        assert_eq!(parse_iso8601("PT2M30S"), Some(Duration::from_secs(150)));
        assert_eq!(parse_iso8601("P1DT1H"), Some(Duration::from_secs(90_000)));
        assert_eq!(parse_iso8601("PT5M"), Some(Duration::from_secs(300)));
        for bad in ["", "P", "PT", "1S", "PT1", "PT1X", "P1Y", "PT1S1M", "30s"] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn backoff_policies() {
        let spec: Value = serde_yaml_ng::from_str(
            "{retry: 3, backoffPolicy: exponential, backoffDelay: PT0.1S, timeout: PT10S}",
        )
        .unwrap();
        let d = Delivery::parse(&spec).unwrap();
        assert_eq!(d.retry, 3);
        assert_eq!(d.timeout, Duration::from_secs(10));
        assert_eq!(d.backoff(1), Duration::from_millis(200));
        assert_eq!(d.backoff(2), Duration::from_millis(400));
        let linear = Delivery {
            backoff_policy: BackoffPolicy::Linear,
            ..d
        };
        assert_eq!(linear.backoff(1), Duration::from_millis(100));
        assert_eq!(linear.backoff(3), Duration::from_millis(300));
    }

    #[test]
    fn bad_delivery_is_refused() {
        for bad in [
            "{retry: -1}",
            "{backoffPolicy: random}",
            "{backoffDelay: 1s}",
            "{timeout: 10}",
        ] {
            let spec: Value = serde_yaml_ng::from_str(bad).unwrap();
            assert!(Delivery::parse(&spec).is_err(), "{bad}");
        }
    }
}
