//! Aggregation operators, as Prometheus 2's `aggregation()` computes them (first
//! value as the seed, the incremental mean for `avg`, Welford for `stddev`).

use std::collections::HashMap;

use promql_parser::parser::LabelModifier;
use promql_parser::parser::token;

use super::error::Error;
use super::value::Sample;
use crate::labels::Labels;

struct Group {
    labels: Labels,
    value: f64,
    mean: f64,
    count: f64,
    members: Vec<Sample>,
}

/// Aggregates `input` by `modifier` with operator `op` (a promql-parser token id).
pub fn aggregate(
    op: u16,
    modifier: Option<&LabelModifier>,
    param: Option<f64>,
    input: Vec<Sample>,
) -> Result<Vec<Sample>, Error> {
    let mut k = 0usize;
    if matches!(op, token::T_TOPK | token::T_BOTTOMK) {
        let f = param.ok_or_else(|| Error::BadData("topk/bottomk need a parameter".into()))?;
        if !(f64::from(i32::MIN)..=9.2e18).contains(&f) {
            return Err(Error::Execution(format!(
                "Scalar value {f} overflows int64"
            )));
        }
        if f < 1.0 {
            return Ok(Vec::new());
        }
        k = f as usize;
    }
    let key_of = |l: &Labels| -> Labels {
        match modifier {
            Some(LabelModifier::Exclude(names)) => {
                l.filter(|n| n != "__name__" && !names.labels.iter().any(|x| x == n))
            }
            Some(LabelModifier::Include(names)) => {
                l.filter(|n| names.labels.iter().any(|x| x == n))
            }
            None => Labels::default(),
        }
    };
    let mut order: Vec<Group> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for s in input {
        let key = key_of(&s.labels);
        let Some(&gi) = index.get(&key) else {
            let mut g = Group {
                labels: key.clone(),
                value: s.value,
                mean: s.value,
                count: 1.0,
                members: Vec::new(),
            };
            match op {
                token::T_STDDEV | token::T_STDVAR => g.value = 0.0,
                token::T_GROUP => g.value = 1.0,
                token::T_TOPK | token::T_BOTTOMK | token::T_QUANTILE => g.members.push(s),
                _ => {}
            }
            index.insert(key, order.len());
            order.push(g);
            continue;
        };
        let g = &mut order[gi];
        match op {
            token::T_SUM => g.value += s.value,
            token::T_AVG => {
                g.count += 1.0;
                if g.mean.is_infinite() {
                    if s.value.is_infinite() && (g.mean > 0.0) == (s.value > 0.0) {
                        continue;
                    }
                    if !s.value.is_infinite() && !s.value.is_nan() {
                        continue;
                    }
                }
                g.mean += s.value / g.count - g.mean / g.count;
            }
            token::T_MAX if g.value < s.value || g.value.is_nan() => g.value = s.value,
            token::T_MIN if g.value > s.value || g.value.is_nan() => g.value = s.value,
            token::T_COUNT => g.count += 1.0,
            token::T_STDDEV | token::T_STDVAR => {
                g.count += 1.0;
                let delta = s.value - g.mean;
                g.mean += delta / g.count;
                g.value += delta * (s.value - g.mean);
            }
            token::T_TOPK | token::T_BOTTOMK | token::T_QUANTILE => g.members.push(s),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for mut g in order {
        let value = match op {
            token::T_AVG => g.mean,
            token::T_COUNT => g.count,
            token::T_STDVAR => g.value / g.count,
            token::T_STDDEV => (g.value / g.count).sqrt(),
            token::T_TOPK | token::T_BOTTOMK => {
                let top = op == token::T_TOPK;
                // NaN sorts last for both, as in Prometheus' heaps.
                g.members
                    .sort_by(|a, b| match (a.value.is_nan(), b.value.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        _ if top => b.value.total_cmp(&a.value),
                        _ => a.value.total_cmp(&b.value),
                    });
                g.members.truncate(k);
                out.extend(g.members);
                continue;
            }
            token::T_QUANTILE => {
                let q = param.ok_or_else(|| Error::BadData("quantile needs a parameter".into()))?;
                let mut vals: Vec<f64> = g.members.iter().map(|s| s.value).collect();
                super::functions::quantile(q, &mut vals)
            }
            _ => g.value,
        };
        out.push(Sample {
            labels: g.labels,
            value,
        });
    }
    Ok(out)
}
