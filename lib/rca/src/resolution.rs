//! The metrics' own resolution. The engine asks Prometheus for a point a minute, but a
//! system scraped (or exported, as CloudWatch does) every five minutes answers with each
//! sample repeated for five points: the lookback carries a sample forward until the
//! next one. Counted as points, one 5-minute sample would pass for five minutes of
//! agreeing evidence, a ratio kept over ten "minutes" would be two samples, and a
//! departure held over "two points" would be one sample. So before anything is
//! compared the series are thinned back to their samples, and every hold or count is
//! taken in time or in real samples.

use std::collections::BTreeMap;

use crate::observations::{Metric, Observations};

/// Series with fewer distinct values than this say nothing about their resolution (a
/// flat error ratio of zero repeats because nothing changed, not because nothing
/// was sampled).
const MIN_DISTINCT: usize = 3;

/// The metrics of `obs` at their own resolution, `None` when that is the query's
/// (nothing to thin), and that resolution in seconds.
///
/// The resolution is read from the runs of equal consecutive values of the series
/// that vary: the median run length times the query step. A series whose samples
/// are as frequent as the query's has runs of one; one sampled every five query
/// steps has runs of five (shorter only at gaps). Series are then kept at every k-th
/// point, at the phase where most runs begin, so each kept point is a sample's first
/// appearance.
pub fn native(obs: &Observations) -> (Option<Vec<Metric>>, f64) {
    let query_step = query_step(obs);
    let mut runs = Vec::new();
    for metric in &obs.metrics {
        for points in metric.series.values() {
            let mut distinct: Vec<f64> = points.iter().map(|p| p.1).collect();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            if distinct.len() < MIN_DISTINCT {
                continue;
            }
            let mut length = 1;
            for w in points.windows(2) {
                if w[1].1 == w[0].1 && w[1].0 - w[0].0 <= 1.5 * query_step {
                    length += 1;
                } else {
                    runs.push(length);
                    length = 1;
                }
            }
        }
    }
    runs.sort_unstable();
    let k = runs.get(runs.len() / 2).copied().unwrap_or(1).max(1);
    if k == 1 {
        return (None, query_step);
    }
    // The phase (in query steps) at which most runs of varying series begin.
    let mut starts: BTreeMap<i64, usize> = BTreeMap::new();
    for metric in &obs.metrics {
        for points in metric.series.values() {
            for w in points.windows(2) {
                if w[1].1 != w[0].1 {
                    let phase = ((w[1].0 / query_step).round() as i64).rem_euclid(k as i64);
                    *starts.entry(phase).or_default() += 1;
                }
            }
        }
    }
    let phase = starts
        .iter()
        .max_by_key(|(phase, n)| (**n, -**phase))
        .map_or(0, |(phase, _)| *phase);
    let metrics = obs
        .metrics
        .iter()
        .map(|m| Metric {
            signal: m.signal.clone(),
            series: m
                .series
                .iter()
                .map(|(service, points)| {
                    let kept = points
                        .iter()
                        .copied()
                        .filter(|(t, _)| {
                            ((t / query_step).round() as i64).rem_euclid(k as i64) == phase
                        })
                        .collect();
                    (service.clone(), kept)
                })
                .collect(),
        })
        .collect();
    (Some(metrics), query_step * k as f64)
}

/// The step the metrics were queried at: the most common gap between points (60 s
/// when there are too few points to tell).
fn query_step(obs: &Observations) -> f64 {
    let mut gaps: BTreeMap<i64, usize> = BTreeMap::new();
    for metric in &obs.metrics {
        for points in metric.series.values() {
            for w in points.windows(2) {
                let gap = (w[1].0 - w[0].0).round() as i64;
                if gap > 0 {
                    *gaps.entry(gap).or_default() += 1;
                }
            }
        }
    }
    gaps.into_iter()
        .max_by_key(|(gap, n)| (*n, -*gap))
        .map_or(60.0, |(gap, _)| gap as f64)
}

/// How many samples of `step` seconds make up `seconds` (at least one).
pub fn samples(seconds: f64, step: f64) -> usize {
    ((seconds / step).ceil() as usize).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Kind, Signal};

    fn obs(series: Vec<Vec<(f64, f64)>>) -> Observations {
        Observations {
            metrics: vec![Metric {
                signal: Signal {
                    name: "latency_p99_seconds".into(),
                    query: String::new(),
                    kind: Kind::Latency,
                },
                series: series
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| (format!("svc{i}"), s))
                    .collect(),
            }],
            ..Observations::default()
        }
    }

    #[test]
    fn samples_repeated_by_the_lookback_are_thinned_to_one_each() {
        // A sample every 300 s at 120, 420, ..., queried every 60 s from 0: each value
        // shows from its sample on for five points (the first, at 0-60, is the
        // previous one's tail).
        let samples = [1.0, 2.0, 1.5, 3.0, 1.2, 2.5];
        let points: Vec<(f64, f64)> = (0..30)
            .map(|i| {
                let t = i as f64 * 60.0;
                let j = ((t - 120.0) / 300.0).floor().max(0.0) as usize;
                (t, samples[j.min(samples.len() - 1)])
            })
            .collect();
        let flat: Vec<(f64, f64)> = (0..30).map(|i| (i as f64 * 60.0, 0.0)).collect();
        let (metrics, step) = native(&obs(vec![points, flat]));
        assert_eq!(step, 300.0);
        let metrics = metrics.unwrap();
        let kept: Vec<(f64, f64)> = metrics[0].series["svc0"].clone();
        assert_eq!(
            kept,
            [
                (120.0, 1.0),
                (420.0, 2.0),
                (720.0, 1.5),
                (1020.0, 3.0),
                (1320.0, 1.2),
                (1620.0, 2.5)
            ]
        );
        // Every series is thinned alike, flat ones too.
        assert_eq!(metrics[0].series["svc1"].len(), 6);
    }

    #[test]
    fn series_sampled_at_the_query_step_are_kept_whole() {
        let points: Vec<(f64, f64)> = (0..20)
            .map(|i| (i as f64 * 60.0, (i % 7) as f64 + (i % 3) as f64 * 0.1))
            .collect();
        let (metrics, step) = native(&obs(vec![points]));
        assert_eq!(step, 60.0);
        assert!(metrics.is_none());
    }
}
