//! Properties of the Prometheus API's time and duration parameters, which come from
//! the caller: any text is a value or a `bad_data` with a reason, and whole seconds
//! read back to the millisecond.

use proptest::prelude::*;

use super::{parse_duration, parse_time};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_time_or_duration_is_read_or_refused_with_a_reason(
        text in prop_oneof![
            any::<String>(),
            any::<f64>().prop_map(|f| f.to_string()),
            "-?[0-9]{1,25}(\\.[0-9]{1,4})?(e[0-9]{1,3})?",
            "[0-9]{1,20}(ms|s|m|h|d|w|y)",
        ],
    ) {
        if let Err(e) = parse_time(&text, "start") {
            prop_assert!(e.to_string().contains("start"), "{}", e);
        }
        if let Err(e) = parse_duration(&text, "step") {
            prop_assert!(e.to_string().contains("step"), "{}", e);
        }
    }

    #[test]
    fn whole_seconds_and_rfc3339_read_back(secs in -1_000_000_000_000i64..1_000_000_000_000, ms in 0i64..1000) {
        let text = format!("{secs}.{ms:03}");
        let sign = if secs < 0 { -1 } else { 1 };
        prop_assert_eq!(parse_time(&text, "time").ok(), Some(secs * 1000 + sign * ms));
        // RFC 3339 spells years 0001..9999 only.
        if (-62_135_596_800..253_402_300_800).contains(&secs) {
            let t = chrono::DateTime::from_timestamp_millis(secs * 1000 + ms).expect("in range");
            prop_assert_eq!(parse_time(&t.to_rfc3339(), "time").ok(), Some(t.timestamp_millis()));
        }
    }
}
