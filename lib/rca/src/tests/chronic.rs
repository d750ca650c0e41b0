//! Chronic suspects: a service that departs as far in ordinary windows of the long history.

use super::*;

/// A service's long history: its name, level, and what multiplies sample `i`.
type History<'a> = (&'a str, f64, Box<dyn Fn(usize) -> f64>);

/// Six hours of 5-minute samples before the range and through it, for `services`.
fn ordinary_history(services: Vec<History>) -> Metric {
    let from = START - 6.0 * 3600.0;
    let n = (6 * 12) + 3;
    Metric::sampled(
        "latency_p90_seconds",
        from,
        300.0,
        services
            .into_iter()
            .map(|(name, level, spikes)| {
                let values = (0..n)
                    .map(|i| level * (1.0 + 0.05 * jitter(7919 + i)) * spikes(i))
                    .collect();
                (name, values)
            })
            .collect(),
    )
}

#[test]
fn a_service_that_departs_as_far_every_half_hour_is_a_chronic_suspect() {
    // In the range both `batch` and `orders` triple their latency from minute 10,
    // `batch` a little more; in the six hours before, `batch` did so for 10 minutes
    // every half hour.
    let latency = metric(
        "latency_p90_seconds",
        vec![
            ("batch", series(0.2, 1, 10, 3.6)),
            ("orders", series(0.1, 2, 10, 3.0)),
        ],
    );
    let mut obs = observations(vec![latency]);
    obs.ordinary = vec![ordinary_history(vec![
        (
            "batch",
            0.2,
            Box::new(|i| if i % 6 < 2 { 3.6 } else { 1.0 }),
        ),
        ("orders", 0.1, Box::new(|_| 1.0)),
    ])];
    let ranking = rank(&obs);
    assert_eq!(ranking.candidates[0].service, "orders");
    let batch = ranking.candidate("batch").expect("batch has evidence");
    assert!(batch.change.metrics[0].ordinary.is_some_and(|o| o > 0.2));
    let unweighed = crate::rank_with(&obs, &without(|s| s.chronic = false));
    assert_eq!(unweighed.candidates[0].service, "batch");
}

#[test]
fn when_every_suspect_is_chronic_the_unknown_share_rises() {
    let latency = metric(
        "latency_p90_seconds",
        vec![
            ("batch", series(0.2, 1, 10, 3.0)),
            ("cron", series(0.1, 2, 10, 3.0)),
        ],
    );
    let mut obs = observations(vec![latency]);
    // Both did so every 15 minutes for six hours.
    obs.ordinary = vec![ordinary_history(vec![
        (
            "batch",
            0.2,
            Box::new(|i| if i % 3 == 0 { 3.0 } else { 1.0 }),
        ),
        (
            "cron",
            0.1,
            Box::new(|i| if i % 3 == 1 { 3.0 } else { 1.0 }),
        ),
    ])];
    let chronic = rank(&obs).unknown;
    let fresh = crate::rank_with(&obs, &without(|s| s.chronic = false)).unknown;
    // Their scores fall by a third or so, and the mass on "unknown" grows (it only
    // takes most of it once the top score nears the "unknown" score).
    assert!(chronic > 1.5 * fresh, "{chronic} vs {fresh}");
}
