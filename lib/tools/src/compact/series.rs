//! Metric compaction: a range result becomes, per series, its labels, min/max/mean/last,
//! the change point and the size of the shift, and a few points around it; series
//! that shifted most come first, and what does not fit is counted.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::format;
use super::tokens::Budget;
use crate::Capped;
use crate::prometheus::{Labels, Sample, Series};

/// Points shown on each side of a change point.
const AROUND: usize = 2;
/// A shift counts when it is this many within-segment standard deviations.
const SIGNIFICANT: f64 = 3.0;

/// The statistics of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Points with a finite value.
    pub points: usize,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean value.
    pub mean: f64,
    /// Last value.
    pub last: f64,
    /// The single most likely change point, when the series shifted significantly.
    pub shift: Option<Shift>,
}

/// A change point: where the mean level of a series moved, and by how much.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    /// Index (into the finite points) of the first point after the change.
    pub index: usize,
    /// Its time, unix seconds.
    pub time: f64,
    /// Mean before.
    pub before: f64,
    /// Mean after.
    pub after: f64,
    /// How many within-segment standard deviations the mean moved (higher is clearer).
    pub score: f64,
}

impl Shift {
    /// `after - before`.
    pub fn size(&self) -> f64 {
        self.after - self.before
    }
}

/// Min/max/mean/last and the change point of `points` (non-finite values skipped).
///
/// The change point is the single split that minimises the squared error of a
/// two-level fit (one step of binary segmentation), found in one pass over prefix
/// sums; it is reported when the levels differ by at least three within-segment
/// standard deviations.
pub fn summarize(points: &[(f64, f64)]) -> Option<Summary> {
    let finite: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.1.is_finite()).collect();
    let (first, rest) = finite.split_first()?;
    let (mut min, mut max, mut sum) = (first.1, first.1, first.1);
    for p in rest {
        min = min.min(p.1);
        max = max.max(p.1);
        sum += p.1;
    }
    let n = finite.len();
    Some(Summary {
        points: n,
        min,
        max,
        mean: sum / n as f64,
        last: finite[n - 1].1,
        shift: change_point(&finite),
    })
}

fn change_point(points: &[(f64, f64)]) -> Option<Shift> {
    let n = points.len();
    let edge = (n / 20).max(2);
    if n < 2 * edge {
        return None;
    }
    let mut sums = Vec::with_capacity(n + 1);
    let mut squares = Vec::with_capacity(n + 1);
    sums.push(0.0);
    squares.push(0.0);
    for p in points {
        sums.push(sums[sums.len() - 1] + p.1);
        squares.push(squares[squares.len() - 1] + p.1 * p.1);
    }
    let sse = |from: usize, to: usize| {
        let k = (to - from) as f64;
        let s = sums[to] - sums[from];
        (squares[to] - squares[from] - s * s / k).max(0.0)
    };
    let (best, cost) = (edge..=n - edge)
        .map(|k| (k, sse(0, k) + sse(k, n)))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let before = sums[best] / best as f64;
    let after = (sums[n] - sums[best]) / (n - best) as f64;
    let noise = (cost / n as f64).sqrt();
    let size = (after - before).abs();
    let scale = before.abs().max(after.abs());
    // A flat series with one step has no noise at all: any visible step counts.
    let score = if noise <= scale * 1e-9 {
        if size > scale * 1e-6 {
            f64::INFINITY
        } else {
            0.0
        }
    } else {
        size / noise
    };
    (score >= SIGNIFICANT).then(|| Shift {
        index: best,
        time: points[best].0,
        before,
        after,
        score,
    })
}

/// Compact text of a range result within `budget` tokens: a header, then one line
/// per series, shifted series first (largest shift first), and a closing line saying
/// what was left out.
pub fn range(
    query: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    step_secs: f64,
    series: &Capped<Series>,
    budget: usize,
) -> String {
    let long = end - start > chrono::Duration::hours(24);
    // One series keeps its labels on its own line; several share theirs in the header.
    let common = if series.len() > 1 {
        format::common(series.iter().map(|s| &s.labels))
    } else {
        Labels::new()
    };
    let mut rows: Vec<(&Series, Option<Summary>)> =
        series.iter().map(|s| (s, summarize(&s.points))).collect();
    rows.sort_by(|a, b| rank(&b.1).total_cmp(&rank(&a.1)));
    let shifted = rows
        .iter()
        .filter(|r| r.1.as_ref().is_some_and(|s| s.shift.is_some()))
        .count();

    let mut out = Budget::new(budget);
    out.force(&format!(
        "query: {}\nrange: {} .. {} step {}s; {} series ({} shifted){}",
        format::one_line(query, 400),
        start.to_rfc3339(),
        end.to_rfc3339(),
        format::num(step_secs),
        series.len() + series.omitted,
        shifted,
        if common.is_empty() {
            String::new()
        } else {
            format!(
                "; common labels {}",
                format::labels(&common, &Labels::new())
            )
        },
    ));
    if series.is_empty() {
        out.force("no series: the selector matched nothing in this range (check names with prometheus_labels / prometheus_label_values)");
        return out.finish();
    }
    for (s, summary) in &rows {
        out.push(&row(s, summary.as_ref(), &common, long));
    }
    let skipped = out.skipped();
    if skipped > 0 {
        out.force(&format!(
            "... {skipped} more series omitted (smaller or no shifts): narrow with topk or by, or a more selective selector"
        ));
    }
    if let Some(note) = series.note() {
        out.force(&format!("... {note}"));
    }
    out.finish()
}

/// Compact text of an instant result: one line per sample, largest value first.
pub fn instant(query: &str, samples: &Capped<Sample>, budget: usize) -> String {
    let common = if samples.len() > 1 {
        format::common(samples.iter().map(|s| &s.labels))
    } else {
        Labels::new()
    };
    let mut rows: Vec<&Sample> = samples.iter().collect();
    rows.sort_by(|a, b| b.value.total_cmp(&a.value));
    let mut out = Budget::new(budget);
    out.force(&format!(
        "query: {}\n{} samples{}",
        format::one_line(query, 400),
        samples.len() + samples.omitted,
        match rows.first() {
            Some(s) => format!(" at {}", format::from_secs(s.time).to_rfc3339()),
            None => String::new(),
        } + &if common.is_empty() {
            String::new()
        } else {
            format!(
                "; common labels {}",
                format::labels(&common, &Labels::new())
            )
        },
    ));
    if rows.is_empty() {
        out.force("no samples: the selector matched nothing at this time (check names with prometheus_labels / prometheus_label_values)");
    }
    for s in rows {
        out.push(&format!(
            "{} {}",
            format::labels(&s.labels, &common),
            format::num(s.value)
        ));
    }
    let skipped = out.skipped();
    if skipped > 0 {
        out.force(&format!(
            "... {skipped} more samples omitted (smaller values): narrow with topk or by"
        ));
    }
    if let Some(note) = samples.note() {
        out.force(&format!("... {note}"));
    }
    out.finish()
}

fn rank(summary: &Option<Summary>) -> f64 {
    match summary {
        None => -2.0,
        Some(Summary { shift: None, .. }) => -1.0,
        Some(Summary { shift: Some(s), .. }) => {
            // Relative size orders shifts of different units; the score breaks ties.
            let rel = s.size().abs() / s.before.abs().max(s.after.abs()).max(f64::MIN_POSITIVE);
            rel + s.score.min(1e6) * 1e-9
        }
    }
}

fn row(series: &Series, summary: Option<&Summary>, common: &Labels, long: bool) -> String {
    let mut line = format::labels(&series.labels, common);
    let Some(s) = summary else {
        line.push_str(" no finite values");
        return line;
    };
    let _ = write!(
        line,
        " n={} min={} max={} mean={} last={}",
        s.points,
        format::num(s.min),
        format::num(s.max),
        format::num(s.mean),
        format::num(s.last)
    );
    match &s.shift {
        None => line.push_str(" | no clear shift"),
        Some(shift) => {
            let _ = write!(
                line,
                " | shift at {}: {} -> {} ({}{})",
                format::time(format::from_secs(shift.time), long),
                format::num(shift.before),
                format::num(shift.after),
                if shift.size() >= 0.0 { "+" } else { "" },
                format::num(shift.size()),
            );
            let finite: Vec<(f64, f64)> = series
                .points
                .iter()
                .copied()
                .filter(|p| p.1.is_finite())
                .collect();
            let from = shift.index.saturating_sub(AROUND);
            let to = (shift.index + AROUND).min(finite.len());
            let around: Vec<String> = finite[from..to]
                .iter()
                .map(|(t, v)| {
                    format!(
                        "{}={}",
                        format::time(format::from_secs(*t), long),
                        format::num(*v)
                    )
                })
                .collect();
            let _ = write!(line, " | around: {}", around.join(" "));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step_series(n: usize, at: usize, low: f64, high: f64) -> Vec<(f64, f64)> {
        (0..n)
            .map(|i| {
                let noise = ((i * 7919) % 13) as f64 / 13.0 * 0.1;
                let v = if i < at { low } else { high };
                (1_700_000_000.0 + i as f64 * 3.0, v + noise)
            })
            .collect()
    }

    #[test]
    fn a_step_is_found_where_it_happened() {
        let points = step_series(300, 180, 1.0, 5.0);
        let s = summarize(&points).unwrap();
        let shift = s.shift.unwrap();
        assert_eq!(shift.index, 180);
        assert!((shift.size() - 4.0).abs() < 0.1, "{shift:?}");
        assert_eq!(s.points, 300);
    }

    #[test]
    fn noise_alone_is_no_shift() {
        let points = step_series(300, 300, 1.0, 1.0);
        assert_eq!(summarize(&points).unwrap().shift, None);
        assert_eq!(summarize(&[]), None);
    }

    #[test]
    fn shifted_series_come_first_and_omissions_are_said() {
        let mut all = Vec::new();
        for i in 0..60 {
            let at = if i == 42 { 150 } else { 400 };
            all.push(Series {
                labels: Labels::from([
                    ("service".to_string(), format!("svc-{i}")),
                    ("namespace".to_string(), "shop".to_string()),
                ]),
                points: step_series(300, at, 1.0, 9.0),
            });
        }
        let capped = Capped::new(all, 50);
        let start = format::from_secs(1_700_000_000.0);
        let end = format::from_secs(1_700_000_900.0);
        let text = range("q", start, end, 3.0, &capped, 600);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].contains("60 series (1 shifted)"), "{text}");
        assert!(lines[1].contains("namespace=\"shop\""), "{text}");
        assert!(lines[2].starts_with("{service=\"svc-42\"}"), "{text}");
        assert!(lines[2].contains("shift at"), "{text}");
        assert!(text.contains("more series omitted"), "{text}");
        assert!(
            text.contains("10 more series: narrow with topk or by"),
            "{text}"
        );
    }
}
