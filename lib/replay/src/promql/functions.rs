//! PromQL functions, with Prometheus 2's arithmetic (`extrapolatedRate`,
//! `instantValue`, `bucketQuantile`).

use std::collections::HashMap;

use super::error::Error;
use super::operand::{Value, drop_name};
use super::value::Sample;
use crate::labels::Labels;
use crate::metric_store::parse_value;

/// The functions over a range vector (`f(selector[window])`).
pub(super) const RANGE: &[&str] = &[
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "avg_over_time",
    "sum_over_time",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "last_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "quantile_over_time",
    "present_over_time",
];

const MATH: &[&str] = &[
    "abs", "ceil", "floor", "exp", "ln", "log2", "log10", "sqrt", "sgn",
];

const OTHER: &[&str] = &[
    "histogram_quantile",
    "clamp",
    "clamp_min",
    "clamp_max",
    "round",
    "scalar",
    "vector",
    "time",
    "timestamp",
    "sort",
    "sort_desc",
    "label_replace",
    "label_join",
];

/// Whether the replay implements function `name`.
pub fn supported(name: &str) -> bool {
    RANGE.contains(&name) || MATH.contains(&name) || OTHER.contains(&name)
}

fn scalar_arg(args: &[Value], i: usize) -> Result<f64, Error> {
    match args.get(i) {
        Some(Value::Scalar(v)) => Ok(*v),
        _ => Err(Error::BadData(format!(
            "expected a scalar as argument {}",
            i + 1
        ))),
    }
}

/// Calls function `name` at `t` (ms) on evaluated `args`; `range` is the range and
/// offset (ms) of its range-vector argument, if any.
pub(super) fn call(
    name: &str,
    mut args: Vec<Value>,
    range: Option<(i64, i64)>,
    t: i64,
) -> Result<Value<'static>, Error> {
    if RANGE.contains(&name) {
        let (range_ms, offset_ms) =
            range.ok_or_else(|| Error::BadData(format!("{name}() needs a range vector")))?;
        let param = if name == "quantile_over_time" {
            Some(scalar_arg(&args, 0)?)
        } else {
            None
        };
        let Some(Value::Matrix(series)) = args.pop() else {
            return Err(Error::BadData(format!("{name}() needs a range vector")));
        };
        let range_start = t - offset_ms - range_ms;
        let range_end = t - offset_ms;
        let out = series
            .into_iter()
            .filter_map(|(labels, ts, vals)| {
                let value = match name {
                    "rate" => extrapolated_rate(ts, vals, range_start, range_end, true, true)?,
                    "increase" => extrapolated_rate(ts, vals, range_start, range_end, true, false)?,
                    "delta" => extrapolated_rate(ts, vals, range_start, range_end, false, false)?,
                    "irate" => instant_value(ts, vals, true)?,
                    "idelta" => instant_value(ts, vals, false)?,
                    _ => over_time(name, vals, param)?,
                };
                let labels = if name == "last_over_time" {
                    labels.clone()
                } else {
                    drop_name(labels)
                };
                Some(Sample { labels, value })
            })
            .collect();
        return Ok(Value::Vector(out));
    }
    match name {
        "time" => Ok(Value::Scalar(t as f64 / 1000.0)),
        "vector" => {
            let v = scalar_arg(&args, 0)?;
            Ok(Value::Vector(vec![Sample {
                labels: Labels::default(),
                value: v,
            }]))
        }
        "scalar" => match args.pop() {
            Some(Value::Vector(v)) if v.len() == 1 => Ok(Value::Scalar(v[0].value)),
            Some(Value::Vector(_)) => Ok(Value::Scalar(f64::NAN)),
            _ => Err(Error::BadData("scalar() needs an instant vector".into())),
        },
        "label_replace" => label_replace(args).map(Value::Vector),
        "label_join" => label_join(args).map(Value::Vector),
        "histogram_quantile" => {
            let q = scalar_arg(&args, 0)?;
            let Some(Value::Vector(v)) = args.pop() else {
                return Err(Error::BadData(
                    "histogram_quantile() needs an instant vector".into(),
                ));
            };
            Ok(Value::Vector(histogram_quantile(q, v)))
        }
        _ => {
            let extra: Vec<f64> = args
                .iter()
                .skip(1)
                .filter_map(|a| match a {
                    Value::Scalar(v) => Some(*v),
                    _ => None,
                })
                .collect();
            let Some(Value::Vector(v)) = args.into_iter().next() else {
                return Err(Error::BadData(format!("{name}() needs an instant vector")));
            };
            if name == "sort" || name == "sort_desc" {
                return Ok(Value::Vector(v));
            }
            let f = |x: f64| -> f64 {
                match name {
                    "abs" => x.abs(),
                    "ceil" => x.ceil(),
                    "floor" => x.floor(),
                    "exp" => x.exp(),
                    "ln" => x.ln(),
                    "log2" => x.log2(),
                    "log10" => x.log10(),
                    "sqrt" => x.sqrt(),
                    "sgn" => {
                        if x > 0.0 {
                            1.0
                        } else if x < 0.0 {
                            -1.0
                        } else {
                            x
                        }
                    }
                    "clamp_min" => x.max(extra[0]),
                    "clamp_max" => x.min(extra[0]),
                    "clamp" => x.max(extra[0]).min(extra[1]),
                    "round" => {
                        let to = extra.first().copied().unwrap_or(1.0);
                        let inv = 1.0 / to;
                        (x * inv + 0.5).floor() / inv
                    }
                    _ => f64::NAN,
                }
            };
            if name == "clamp" && extra.len() == 2 && extra[1] < extra[0] {
                return Ok(Value::Vector(Vec::new()));
            }
            if matches!(name, "clamp_min" | "clamp_max") && extra.is_empty()
                || name == "clamp" && extra.len() < 2
            {
                return Err(Error::BadData(format!(
                    "{name}() needs its scalar arguments"
                )));
            }
            if name == "timestamp" {
                return Err(Error::BadData(
                    "timestamp() is not supported by the replay".into(),
                ));
            }
            Ok(Value::Vector(
                v.into_iter()
                    .map(|s| Sample {
                        value: f(s.value),
                        labels: drop_name(&s.labels),
                    })
                    .collect(),
            ))
        }
    }
}

fn string_arg(args: &[Value], i: usize) -> Result<String, Error> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(Error::BadData(format!(
            "expected a string as argument {}",
            i + 1
        ))),
    }
}

/// Whether `name` is a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Refuses two output elements with the same labels, as Prometheus does.
fn unique(out: &[Sample], func: &str) -> Result<(), Error> {
    let mut seen = std::collections::HashSet::with_capacity(out.len());
    for s in out {
        if !seen.insert(&s.labels) {
            return Err(Error::Execution(format!(
                "duplicated label set in output of {func}()"
            )));
        }
    }
    Ok(())
}

/// `label_replace(v, dst, replacement, src, regex)`: the metric name is kept.
fn label_replace(args: Vec<Value>) -> Result<Vec<Sample>, Error> {
    let (dst, repl, src, re) = (
        string_arg(&args, 1)?,
        string_arg(&args, 2)?,
        string_arg(&args, 3)?,
        string_arg(&args, 4)?,
    );
    let regex = regex::Regex::new(&format!("^(?:{re})$")).map_err(|_| {
        Error::BadData(format!(
            "invalid regular expression in label_replace(): {re}"
        ))
    })?;
    if !valid_label_name(&dst) {
        return Err(Error::BadData(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let Some(Value::Vector(v)) = args.into_iter().next() else {
        return Err(Error::BadData(
            "label_replace() needs an instant vector".into(),
        ));
    };
    let dst: std::sync::Arc<str> = std::sync::Arc::from(dst.as_str());
    let out: Vec<Sample> = v
        .into_iter()
        .map(|s| {
            let Some(caps) = regex.captures(s.labels.value(&src)) else {
                return s;
            };
            let mut res = String::new();
            caps.expand(&repl, &mut res);
            Sample {
                labels: s
                    .labels
                    .with(dst.clone(), std::sync::Arc::from(res.as_str())),
                value: s.value,
            }
        })
        .collect();
    unique(&out, "label_replace")?;
    Ok(out)
}

/// `label_join(v, dst, separator, src...)`: the metric name is kept.
fn label_join(args: Vec<Value>) -> Result<Vec<Sample>, Error> {
    let dst = string_arg(&args, 1)?;
    let sep = string_arg(&args, 2)?;
    let srcs = (3..args.len())
        .map(|i| string_arg(&args, i))
        .collect::<Result<Vec<_>, _>>()?;
    if !valid_label_name(&dst) {
        return Err(Error::BadData(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let Some(Value::Vector(v)) = args.into_iter().next() else {
        return Err(Error::BadData(
            "label_join() needs an instant vector".into(),
        ));
    };
    let dst: std::sync::Arc<str> = std::sync::Arc::from(dst.as_str());
    let out: Vec<Sample> = v
        .into_iter()
        .map(|s| {
            let joined = srcs
                .iter()
                .map(|n| s.labels.value(n))
                .collect::<Vec<_>>()
                .join(&sep);
            Sample {
                labels: s
                    .labels
                    .with(dst.clone(), std::sync::Arc::from(joined.as_str())),
                value: s.value,
            }
        })
        .collect();
    unique(&out, "label_join")?;
    Ok(out)
}

/// Go's `extrapolatedRate` (Prometheus 2.42) for `rate`, `increase` and `delta`.
fn extrapolated_rate(
    ts: &[i64],
    vals: &[f64],
    range_start: i64,
    range_end: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if ts.len() < 2 {
        return None;
    }
    let n = ts.len();
    let mut result = vals[n - 1] - vals[0];
    if is_counter {
        let mut prev = vals[0];
        for &v in &vals[1..] {
            if v < prev {
                result += prev;
            }
            prev = v;
        }
    }
    let mut duration_to_start = (ts[0] - range_start) as f64 / 1000.0;
    let duration_to_end = (range_end - ts[n - 1]) as f64 / 1000.0;
    let sampled_interval = (ts[n - 1] - ts[0]) as f64 / 1000.0;
    let average_between = sampled_interval / (n - 1) as f64;
    if is_counter && result > 0.0 && vals[0] >= 0.0 {
        let duration_to_zero = sampled_interval * (vals[0] / result);
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    let threshold = average_between * 1.1;
    let mut extrapolate_to = sampled_interval;
    extrapolate_to += if duration_to_start < threshold {
        duration_to_start
    } else {
        average_between / 2.0
    };
    extrapolate_to += if duration_to_end < threshold {
        duration_to_end
    } else {
        average_between / 2.0
    };
    let mut factor = extrapolate_to / sampled_interval;
    if is_rate {
        factor /= (range_end - range_start) as f64 / 1000.0;
    }
    Some(result * factor)
}

/// Go's `instantValue` for `irate` and `idelta`.
fn instant_value(ts: &[i64], vals: &[f64], is_rate: bool) -> Option<f64> {
    let n = ts.len();
    if n < 2 {
        return None;
    }
    let (last, prev) = (vals[n - 1], vals[n - 2]);
    let mut result = if is_rate && last < prev {
        last
    } else {
        last - prev
    };
    let interval = ts[n - 1] - ts[n - 2];
    if interval == 0 {
        return None;
    }
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

fn over_time(name: &str, vals: &[f64], param: Option<f64>) -> Option<f64> {
    if vals.is_empty() {
        return None;
    }
    let n = vals.len() as f64;
    Some(match name {
        "count_over_time" => n,
        "present_over_time" => 1.0,
        "last_over_time" => vals[vals.len() - 1],
        "sum_over_time" => vals.iter().sum(),
        "max_over_time" => vals[1..]
            .iter()
            .fold(vals[0], |m, &v| if v > m || m.is_nan() { v } else { m }),
        "min_over_time" => vals[1..]
            .iter()
            .fold(vals[0], |m, &v| if v < m || m.is_nan() { v } else { m }),
        "avg_over_time" => {
            let (mut mean, mut count) = (0.0f64, 0.0f64);
            for &v in vals {
                count += 1.0;
                if mean.is_infinite() {
                    if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                        continue;
                    }
                    if !v.is_infinite() && !v.is_nan() {
                        continue;
                    }
                }
                mean += v / count - mean / count;
            }
            mean
        }
        "stddev_over_time" | "stdvar_over_time" => {
            let (mut count, mut mean, mut aux) = (0.0f64, 0.0f64, 0.0f64);
            for &v in vals {
                count += 1.0;
                let delta = v - mean;
                mean += delta / count;
                aux += delta * (v - mean);
            }
            let var = aux / count;
            if name == "stddev_over_time" {
                var.sqrt()
            } else {
                var
            }
        }
        "quantile_over_time" => {
            let mut v = vals.to_vec();
            quantile(param.unwrap_or(f64::NAN), &mut v)
        }
        _ => return None,
    })
}

/// Go's `quantile`: linear interpolation between the closest ranks.
pub fn quantile(q: f64, vals: &mut [f64]) -> f64 {
    if vals.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    vals.sort_by(f64::total_cmp);
    let n = vals.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    vals[lower as usize] * (1.0 - weight) + vals[upper as usize] * weight
}

/// `histogram_quantile` over classic `le` buckets, grouped by all other labels.
fn histogram_quantile(q: f64, v: Vec<Sample>) -> Vec<Sample> {
    let mut groups: Vec<(Labels, Vec<(f64, f64)>)> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for s in v {
        let Some(upper) = s.labels.get("le").and_then(parse_value) else {
            continue;
        };
        let key = s.labels.filter(|n| n != "le");
        let gi = *index.entry(key).or_insert_with(|| {
            groups.push((
                s.labels.filter(|n| n != "le" && n != "__name__"),
                Vec::new(),
            ));
            groups.len() - 1
        });
        groups[gi].1.push((upper, s.value));
    }
    groups
        .into_iter()
        .map(|(labels, buckets)| Sample {
            labels,
            value: bucket_quantile(q, buckets),
        })
        .collect()
}

/// Go's `bucketQuantile` (Prometheus 2.42).
fn bucket_quantile(q: f64, mut buckets: Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // coalesceBuckets: merge equal upper bounds.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for b in buckets {
        match merged.last_mut() {
            Some(last) if last.0 == b.0 => last.1 += b.1,
            _ => merged.push(b),
        }
    }
    // ensureMonotonic
    let mut max = f64::NEG_INFINITY;
    for b in &mut merged {
        if b.1 > max {
            max = b.1;
        } else if b.1 < max {
            b.1 = max;
        }
    }
    if merged.len() < 2 {
        return f64::NAN;
    }
    let observations = merged[merged.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = merged[..merged.len() - 1].partition_point(|x| x.1 < rank);
    if b == merged.len() - 1 {
        return merged[merged.len() - 2].0;
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return merged[0].0;
    }
    let (mut start, end, mut count) = (0.0, merged[b].0, merged[b].1);
    if b > 0 {
        start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    start + (end - start) * (rank / count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_extrapolates_like_prometheus() {
        // Samples every 60s, a 120s window [0, 120s] holding samples at 30s and 90s.
        let ts = [30_000, 90_000];
        let vals = [100.0, 160.0];
        // sampled 60s, avg 60s; to start 30s < 66s and to end 30s < 66s: extrapolate to 120s.
        let r = extrapolated_rate(&ts, &vals, 0, 120_000, true, true).unwrap();
        assert!((r - 1.0).abs() < 1e-12, "{r}");
        // A counter near zero is extrapolated only back to its zero point (10s before).
        let r = extrapolated_rate(&ts, &[10.0, 70.0], 0, 120_000, true, true).unwrap();
        assert!((r - 60.0 * (100.0 / 60.0) / 120.0).abs() < 1e-12, "{r}");
        // A counter reset adds the value before it.
        let r = extrapolated_rate(
            &[0, 60_000, 120_000],
            &[5.0, 10.0, 2.0],
            0,
            120_000,
            true,
            false,
        )
        .unwrap();
        assert!((r - 7.0).abs() < 1e-12, "{r}");
    }

    #[test]
    fn bucket_quantile_interpolates() {
        let b = vec![(0.1, 10.0), (0.5, 20.0), (f64::INFINITY, 20.0)];
        assert!((bucket_quantile(0.5, b.clone()) - 0.1).abs() < 1e-12);
        assert!((bucket_quantile(0.75, b) - 0.3).abs() < 1e-12);
    }
}
