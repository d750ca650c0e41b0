//! Evaluation of a parsed PromQL expression at one instant or over a range of steps,
//! following Prometheus 2 (the version the differential test runs): closed selector
//! ranges `[t - range, t]`, a 5-minute lookback for instant selectors, and the
//! engine's order of float operations where it changes results.
//!
//! A range query is evaluated step by step; series are found once per query.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::token::{self, TokenType};
use promql_parser::parser::{
    AggregateExpr, BinaryExpr, Call, Expr, LabelModifier, Offset, VectorMatchCardinality,
    VectorSelector,
};

pub use super::error::Error;
use super::functions;
use super::operand::{Value, drop_name};
use super::value::{Instant, RangeSeries, Sample};
use crate::labels::Labels;
use crate::metric_store::{MetricStore, Series};

/// The lookback delta of instant selectors (Prometheus' default, 5m).
pub const LOOKBACK_MS: i64 = 5 * 60 * 1000;
/// Prometheus refuses range queries with more points per series than this.
pub const MAX_POINTS: i64 = 11_000;

fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::BadData(format!(
        "{what} is not supported by the replay (it answers selectors, rate/irate/increase/delta, *_over_time, \
         sum/avg/min/max/count/group/stddev/stdvar/topk/bottomk/quantile, arithmetic, comparisons, and/or/unless, \
         histogram_quantile and a few math functions)"
    ))
}

/// Evaluates `query` at `at_ms`.
pub fn instant(store: &MetricStore, query: &str, at_ms: i64) -> Result<Instant, Error> {
    let expr = parse(query)?;
    let ev = Evaluator::new(store, &expr)?;
    match ev.eval(&expr, at_ms)? {
        Value::Scalar(v) => Ok(Instant::Scalar(v)),
        Value::Vector(v) => {
            check_unique(&v)?;
            Ok(Instant::Vector(v))
        }
        Value::Matrix(_) | Value::String(_) => {
            Err(unsupported("a query returning a range vector or a string"))
        }
    }
}

/// Evaluates `query` at every step from `start_ms` to `end_ms` inclusive; series are
/// sorted by labels as Prometheus returns them.
pub fn range(
    store: &MetricStore,
    query: &str,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
) -> Result<Vec<RangeSeries>, Error> {
    if step_ms <= 0 {
        return Err(Error::BadData(
            "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
        ));
    }
    if end_ms < start_ms {
        return Err(Error::BadData(
            "end timestamp must not be before start time".into(),
        ));
    }
    // Checked, as the stepping below: both ends come from the caller, and a span past
    // i64 would wrap (release builds) into a check that passes and a loop without end.
    if end_ms
        .checked_sub(start_ms)
        .is_none_or(|span| span / step_ms > MAX_POINTS)
    {
        return Err(Error::BadData(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
                .into(),
        ));
    }
    let expr = parse(query)?;
    match expr.value_type() {
        promql_parser::parser::value::ValueType::Vector
        | promql_parser::parser::value::ValueType::Scalar => {}
        other => {
            return Err(Error::BadData(format!(
                "invalid expression type \"{other}\" for range query, must be Scalar or instant Vector"
            )));
        }
    }
    let ev = Evaluator::new(store, &expr)?;
    let mut out: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
    let mut t = start_ms;
    while t <= end_ms {
        match ev.eval(&expr, t)? {
            Value::Scalar(v) => out.entry(Labels::default()).or_default().push((t, v)),
            Value::Vector(samples) => {
                check_unique(&samples)?;
                for s in samples {
                    out.entry(s.labels).or_default().push((t, s.value));
                }
            }
            Value::Matrix(_) | Value::String(_) => {
                return Err(unsupported("a range vector result"));
            }
        }
        match t.checked_add(step_ms) {
            Some(next) => t = next,
            None => break,
        }
    }
    Ok(out
        .into_iter()
        .map(|(labels, points)| RangeSeries { labels, points })
        .collect())
}

/// Parses `query` and refuses what the evaluator does not implement, before any work.
pub fn parse(query: &str) -> Result<Expr, Error> {
    let expr = promql_parser::parser::parse(query).map_err(Error::BadData)?;
    check_supported(&expr)?;
    Ok(expr)
}

fn check_supported(expr: &Expr) -> Result<(), Error> {
    match expr {
        Expr::Aggregate(a) => {
            let op = a.op.id();
            if !matches!(
                op,
                token::T_SUM
                    | token::T_AVG
                    | token::T_MIN
                    | token::T_MAX
                    | token::T_COUNT
                    | token::T_GROUP
                    | token::T_STDDEV
                    | token::T_STDVAR
                    | token::T_TOPK
                    | token::T_BOTTOMK
                    | token::T_QUANTILE
            ) {
                return Err(unsupported(format!("the aggregation {}", a.op)));
            }
            if let Some(p) = &a.param {
                check_supported(p)?;
            }
            check_supported(&a.expr)
        }
        Expr::Unary(u) => check_supported(&u.expr),
        Expr::Binary(b) => {
            if let Some(m) = &b.modifier
                && (m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some())
            {
                return Err(unsupported("fill modifiers"));
            }
            check_supported(&b.lhs)?;
            check_supported(&b.rhs)
        }
        Expr::Paren(p) => check_supported(&p.expr),
        Expr::Subquery(_) => Err(unsupported("a subquery")),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => Ok(()),
        Expr::VectorSelector(vs) => check_selector(vs),
        Expr::MatrixSelector(ms) => check_selector(&ms.vs),
        Expr::Call(c) => {
            if !functions::supported(c.func.name) {
                return Err(unsupported(format!("the function {}()", c.func.name)));
            }
            c.args.args.iter().try_for_each(|a| check_supported(a))
        }
        Expr::Extension(_) => Err(unsupported("an extension expression")),
    }
}

fn check_selector(vs: &VectorSelector) -> Result<(), Error> {
    if vs.at.is_some() {
        return Err(unsupported("the @ modifier"));
    }
    Ok(())
}

/// Two elements of a result with the same labels: Prometheus refuses these.
fn check_unique(v: &[Sample]) -> Result<(), Error> {
    let mut seen = HashSet::with_capacity(v.len());
    for s in v {
        if !seen.insert(&s.labels) {
            return Err(Error::Execution(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
    }
    Ok(())
}

/// Evaluates one query; holds the series each selector matched.
struct Evaluator<'a> {
    store: &'a MetricStore,
    /// Selector (by address) → the series it matches.
    selected: HashMap<usize, Vec<&'a Series>>,
}

fn offset_ms(offset: &Option<Offset>) -> i64 {
    match offset {
        Some(Offset::Pos(d)) => duration_ms(*d),
        Some(Offset::Neg(d)) => -duration_ms(*d),
        None => 0,
    }
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn selector_key(vs: &VectorSelector) -> usize {
    std::ptr::from_ref(vs) as usize
}

impl<'a> Evaluator<'a> {
    fn new(store: &'a MetricStore, expr: &Expr) -> Result<Self, Error> {
        let mut ev = Self {
            store,
            selected: HashMap::new(),
        };
        ev.select_all(expr)?;
        Ok(ev)
    }

    fn select_all(&mut self, expr: &Expr) -> Result<(), Error> {
        match expr {
            Expr::Aggregate(a) => {
                if let Some(p) = &a.param {
                    self.select_all(p)?;
                }
                self.select_all(&a.expr)
            }
            Expr::Unary(u) => self.select_all(&u.expr),
            Expr::Binary(b) => {
                self.select_all(&b.lhs)?;
                self.select_all(&b.rhs)
            }
            Expr::Paren(p) => self.select_all(&p.expr),
            Expr::VectorSelector(vs) => self.select(vs),
            Expr::MatrixSelector(ms) => self.select(&ms.vs),
            Expr::Call(c) => c.args.args.iter().try_for_each(|a| self.select_all(a)),
            _ => Ok(()),
        }
    }

    fn select(&mut self, vs: &VectorSelector) -> Result<(), Error> {
        let groups: Vec<Vec<&Matcher>> = if vs.matchers.or_matchers.is_empty() {
            vec![vs.matchers.matchers.iter().collect()]
        } else {
            vs.matchers
                .or_matchers
                .iter()
                .map(|g| g.iter().chain(vs.matchers.matchers.iter()).collect())
                .collect()
        };
        let matched = self
            .store
            .series
            .iter()
            .filter(|s| {
                let name_ok = vs
                    .name
                    .as_deref()
                    .is_none_or(|n| s.labels.value("__name__") == n);
                name_ok
                    && groups.iter().any(|g| {
                        g.iter()
                            .all(|m| matcher_matches(m, s.labels.value(&m.name)))
                    })
            })
            .collect();
        self.selected.insert(selector_key(vs), matched);
        Ok(())
    }

    fn series_of(&self, vs: &VectorSelector) -> &[&'a Series] {
        self.selected
            .get(&selector_key(vs))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub(super) fn eval(&self, expr: &Expr, t: i64) -> Result<Value<'a>, Error> {
        match expr {
            Expr::NumberLiteral(n) => Ok(Value::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(Value::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, t),
            Expr::Unary(u) => match self.eval(&u.expr, t)? {
                Value::Scalar(v) => Ok(Value::Scalar(-v)),
                Value::Vector(v) => Ok(Value::Vector(
                    v.into_iter()
                        .map(|s| Sample {
                            labels: drop_name(&s.labels),
                            value: -s.value,
                        })
                        .collect(),
                )),
                _ => Err(unsupported("unary minus on a range vector")),
            },
            Expr::VectorSelector(vs) => Ok(Value::Vector(self.instant_selector(vs, t))),
            Expr::MatrixSelector(ms) => {
                let end = t - offset_ms(&ms.vs.offset);
                let start = end - duration_ms(ms.range);
                let mut out = Vec::new();
                for s in self.series_of(&ms.vs) {
                    let lo = s.ts.partition_point(|&x| x < start);
                    let hi = s.ts.partition_point(|&x| x <= end);
                    if hi > lo {
                        out.push((&s.labels, &s.ts[lo..hi], &s.vals[lo..hi]));
                    }
                }
                Ok(Value::Matrix(out))
            }
            Expr::Aggregate(a) => self.aggregate(a, t),
            Expr::Binary(b) => self.binary(b, t),
            Expr::Call(c) => self.call(c, t),
            Expr::Subquery(_) => Err(unsupported("a subquery")),
            Expr::Extension(_) => Err(unsupported("an extension expression")),
        }
    }

    /// The latest sample in `[t - 5m, t]` of each series.
    fn instant_selector(&self, vs: &VectorSelector, t: i64) -> Vec<Sample> {
        let at = t - offset_ms(&vs.offset);
        self.series_of(vs)
            .iter()
            .filter_map(|s| {
                let i = s.ts.partition_point(|&x| x <= at);
                if i == 0 || s.ts[i - 1] < at - LOOKBACK_MS || is_stale(s.vals[i - 1]) {
                    return None;
                }
                Some(Sample {
                    labels: s.labels.clone(),
                    value: s.vals[i - 1],
                })
            })
            .collect()
    }

    fn call(&self, c: &Call, t: i64) -> Result<Value<'a>, Error> {
        let args = c
            .args
            .args
            .iter()
            .map(|a| self.eval(a, t))
            .collect::<Result<Vec<_>, _>>()?;
        let range_ms = c.args.args.iter().find_map(|a| match a.as_ref() {
            Expr::MatrixSelector(ms) => Some((duration_ms(ms.range), offset_ms(&ms.vs.offset))),
            _ => None,
        });
        functions::call(c.func.name, args, range_ms, t)
    }

    fn aggregate(&self, a: &AggregateExpr, t: i64) -> Result<Value<'a>, Error> {
        let Value::Vector(input) = self.eval(&a.expr, t)? else {
            return Err(unsupported("an aggregation over a non-vector"));
        };
        let param = match &a.param {
            Some(p) => match self.eval(p, t)? {
                Value::Scalar(v) => Some(v),
                _ => return Err(Error::BadData("expected a scalar parameter".into())),
            },
            None => None,
        };
        super::aggregate::aggregate(a.op.id(), a.modifier.as_ref(), param, input).map(Value::Vector)
    }

    fn binary(&self, b: &BinaryExpr, t: i64) -> Result<Value<'a>, Error> {
        let lhs = self.eval(&b.lhs, t)?;
        let rhs = self.eval(&b.rhs, t)?;
        let op = b.op;
        let return_bool = b.return_bool();
        match (lhs, rhs) {
            (Value::Scalar(l), Value::Scalar(r)) => {
                let (v, keep) = elem_binop(op, l, r);
                Ok(Value::Scalar(if op.is_comparison_operator() {
                    f64::from(u8::from(keep))
                } else {
                    v
                }))
            }
            (Value::Vector(l), Value::Scalar(r)) => {
                Ok(Value::Vector(vector_scalar(op, l, r, false, return_bool)))
            }
            (Value::Scalar(l), Value::Vector(r)) => {
                Ok(Value::Vector(vector_scalar(op, r, l, true, return_bool)))
            }
            (Value::Vector(l), Value::Vector(r)) => {
                let (card, matching) = match &b.modifier {
                    Some(m) => (m.card.clone(), m.matching.clone()),
                    None if op.is_set_operator() => (VectorMatchCardinality::ManyToMany, None),
                    None => (VectorMatchCardinality::OneToOne, None),
                };
                let sig = Signature::new(matching.as_ref());
                if op.is_set_operator() {
                    return Ok(Value::Vector(set_op(op, l, r, &sig)));
                }
                vector_binop(op, l, r, &card, matching.as_ref(), &sig, return_bool)
                    .map(Value::Vector)
            }
            _ => Err(unsupported(
                "a binary operation on range vectors or strings",
            )),
        }
    }
}

fn matcher_matches(m: &Matcher, value: &str) -> bool {
    match &m.op {
        MatchOp::Equal => value == m.value,
        MatchOp::NotEqual => value != m.value,
        MatchOp::Re(re) => re.is_match(value),
        MatchOp::NotRe(re) => !re.is_match(value),
    }
}

/// Prometheus' staleness marker, a NaN with this exact bit pattern.
fn is_stale(v: f64) -> bool {
    v.to_bits() == 0x7ff0_0000_0000_0002
}

/// Go's `vectorElemBinop`: the value, and whether a comparison holds.
fn elem_binop(op: TokenType, l: f64, r: f64) -> (f64, bool) {
    match op.id() {
        token::T_ADD => (l + r, true),
        token::T_SUB => (l - r, true),
        token::T_MUL => (l * r, true),
        token::T_DIV => (l / r, true),
        token::T_POW => (l.powf(r), true),
        token::T_MOD => (l % r, true),
        token::T_ATAN2 => (l.atan2(r), true),
        token::T_EQLC => (l, l == r),
        token::T_NEQ => (l, l != r),
        token::T_GTR => (l, l > r),
        token::T_LSS => (l, l < r),
        token::T_GTE => (l, l >= r),
        token::T_LTE => (l, l <= r),
        _ => (f64::NAN, false),
    }
}

fn drops_name(op: TokenType) -> bool {
    matches!(
        op.id(),
        token::T_ADD
            | token::T_SUB
            | token::T_MUL
            | token::T_DIV
            | token::T_POW
            | token::T_MOD
            | token::T_ATAN2
    )
}

/// Go's `VectorscalarBinop`; `swap` when the scalar is on the left.
fn vector_scalar(
    op: TokenType,
    v: Vec<Sample>,
    s: f64,
    swap: bool,
    return_bool: bool,
) -> Vec<Sample> {
    v.into_iter()
        .filter_map(|sample| {
            let (l, r) = if swap {
                (s, sample.value)
            } else {
                (sample.value, s)
            };
            let (mut value, mut keep) = elem_binop(op, l, r);
            if op.is_comparison_operator() && swap {
                value = r;
            }
            if return_bool {
                value = f64::from(u8::from(keep));
                keep = true;
            }
            keep.then(|| Sample {
                labels: if drops_name(op) || return_bool {
                    drop_name(&sample.labels)
                } else {
                    sample.labels
                },
                value,
            })
        })
        .collect()
}

/// The labels two sides are matched on.
type MatchKey = Vec<(Arc<str>, Arc<str>)>;

/// The match signature of `on (...)` / `ignoring (...)`.
struct Signature {
    on: bool,
    names: Vec<String>,
}

impl Signature {
    fn new(matching: Option<&LabelModifier>) -> Self {
        match matching {
            Some(LabelModifier::Include(l)) => Self {
                on: true,
                names: l.labels.clone(),
            },
            Some(LabelModifier::Exclude(l)) => Self {
                on: false,
                names: l.labels.clone(),
            },
            None => Self {
                on: false,
                names: Vec::new(),
            },
        }
    }

    fn of(&self, l: &Labels) -> MatchKey {
        l.pairs()
            .iter()
            .filter(|(n, _)| {
                let listed = self.names.iter().any(|x| x.as_str() == n.as_ref());
                if self.on {
                    listed
                } else {
                    !listed && n.as_ref() != "__name__"
                }
            })
            .cloned()
            .collect()
    }
}

fn set_op(op: TokenType, l: Vec<Sample>, r: Vec<Sample>, sig: &Signature) -> Vec<Sample> {
    match op.id() {
        token::T_LAND => {
            let right: HashSet<_> = r.iter().map(|s| sig.of(&s.labels)).collect();
            l.into_iter()
                .filter(|s| right.contains(&sig.of(&s.labels)))
                .collect()
        }
        token::T_LUNLESS => {
            let right: HashSet<_> = r.iter().map(|s| sig.of(&s.labels)).collect();
            l.into_iter()
                .filter(|s| !right.contains(&sig.of(&s.labels)))
                .collect()
        }
        _ => {
            let left: HashSet<_> = l.iter().map(|s| sig.of(&s.labels)).collect();
            let mut out = l;
            out.extend(r.into_iter().filter(|s| !left.contains(&sig.of(&s.labels))));
            out
        }
    }
}

/// Go's `VectorBinop` for one-to-one, many-to-one and one-to-many matching.
fn vector_binop(
    op: TokenType,
    lhs: Vec<Sample>,
    rhs: Vec<Sample>,
    card: &VectorMatchCardinality,
    matching: Option<&LabelModifier>,
    sig: &Signature,
    return_bool: bool,
) -> Result<Vec<Sample>, Error> {
    let one_to_many = matches!(card, VectorMatchCardinality::OneToMany(_));
    let (many, one) = if one_to_many { (rhs, lhs) } else { (lhs, rhs) };
    let mut one_side: HashMap<MatchKey, &Sample> = HashMap::new();
    for s in &one {
        if one_side.insert(sig.of(&s.labels), s).is_some() {
            let side = if one_to_many { "left" } else { "right" };
            return Err(Error::Execution(format!(
                "found duplicate series for the match group on the {side} hand-side of the operation;many-to-many matching not allowed: matching labels must be unique on one side"
            )));
        }
    }
    let include: &[String] = card.labels().map(|l| l.labels.as_slice()).unwrap_or(&[]);
    let mut matched: HashMap<MatchKey, HashSet<Labels>> = HashMap::new();
    let mut out = Vec::new();
    for ls in &many {
        let key = sig.of(&ls.labels);
        let Some(rs) = one_side.get(&key) else {
            continue;
        };
        let (vl, vr) = if one_to_many {
            (rs.value, ls.value)
        } else {
            (ls.value, rs.value)
        };
        let (mut value, keep) = elem_binop(op, vl, vr);
        if return_bool {
            value = f64::from(u8::from(keep));
        } else if !keep {
            continue;
        }
        let mut labels = ls.labels.clone();
        if drops_name(op) || return_bool {
            labels = drop_name(&labels);
        }
        if matches!(card, VectorMatchCardinality::OneToOne) {
            labels = match matching {
                Some(LabelModifier::Include(on)) => {
                    labels.filter(|n| on.labels.iter().any(|x| x == n))
                }
                Some(LabelModifier::Exclude(ign)) => {
                    labels.filter(|n| !ign.labels.iter().any(|x| x == n))
                }
                None => labels,
            };
        }
        for name in include {
            let name: Arc<str> = Arc::from(name.as_str());
            let v: Arc<str> = Arc::from(rs.labels.value(&name));
            labels = labels.with(name, v);
        }
        let seen = matched.entry(key).or_default();
        if matches!(card, VectorMatchCardinality::OneToOne) {
            if !seen.is_empty() {
                return Err(Error::Execution(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                ));
            }
        } else if seen.contains(&labels) {
            return Err(Error::Execution(
                "multiple matches for labels: grouping labels must ensure unique results".into(),
            ));
        }
        seen.insert(labels.clone());
        out.push(Sample { labels, value });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samples every 60 s from t=0: `req_total` per service and code, and `le` buckets.
    fn store() -> MetricStore {
        let mut text = String::new();
        for i in 0..20 {
            let t = i * 60;
            text += &format!("req_total{{service=\"a\",code=\"2xx\"}} {} {t}\n", i * 60);
            text += &format!("req_total{{service=\"a\",code=\"5xx\"}} {} {t}\n", i * 6);
            text += &format!("req_total{{service=\"b\",code=\"2xx\"}} {} {t}\n", i * 120);
            text += &format!("lat_bucket{{service=\"a\",le=\"0.1\"}} {} {t}\n", i * 10);
            text += &format!("lat_bucket{{service=\"a\",le=\"1\"}} {} {t}\n", i * 20);
            text += &format!("lat_bucket{{service=\"a\",le=\"+Inf\"}} {} {t}\n", i * 20);
        }
        text += "# EOF\n";
        MetricStore::parse(text.as_bytes()).unwrap()
    }

    fn vector(q: &str, at_s: i64) -> Vec<(String, f64)> {
        let Instant::Vector(v) = instant(&store(), q, at_s * 1000).unwrap() else {
            panic!("{q} is not a vector")
        };
        let mut out: Vec<(String, f64)> = v
            .into_iter()
            .map(|s| (s.labels.to_json().to_string(), s.value))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn error_ratio_matches_on_service() {
        let q = "sum by (service) (rate(req_total{code=\"5xx\"}[2m])) / sum by (service) (rate(req_total[2m]))";
        let v = vector(q, 600);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!((v[0].1 - 0.1 / 1.1).abs() < 1e-12, "{v:?}");
    }

    #[test]
    fn set_operators_filter_by_signature() {
        let and = vector("req_total and on (service) req_total{code=\"5xx\"}", 600);
        assert_eq!(and.len(), 2, "both series of a: {and:?}");
        let unless = vector("req_total unless on (service) req_total{code=\"5xx\"}", 600);
        assert_eq!(unless.len(), 1, "{unless:?}");
        let or = vector("req_total{service=\"a\"} or req_total", 600);
        assert_eq!(or.len(), 3, "{or:?}");
    }

    #[test]
    fn one_to_one_matching_refuses_duplicates() {
        let err = instant(
            &store(),
            "req_total / on (service) req_total{code=\"2xx\"}",
            600_000,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Execution(_)), "{err}");
        let ok = vector(
            "req_total / on (service) group_left req_total{code=\"2xx\"}",
            600,
        );
        assert_eq!(ok.len(), 3, "{ok:?}");
    }

    #[test]
    fn histogram_quantile_over_rated_buckets() {
        let v = vector(
            "histogram_quantile(0.75, sum by (le, service) (rate(lat_bucket[5m])))",
            600,
        );
        // Half the observations under 0.1, all under 1: the 0.75 quantile is halfway in (0.1, 1].
        assert_eq!(v.len(), 1);
        assert!((v[0].1 - 0.55).abs() < 1e-9, "{v:?}");
    }

    #[test]
    fn lookback_ends_five_minutes_after_the_last_sample() {
        // The last sample is at 1140 s.
        assert_eq!(vector("req_total", 1140 + 300).len(), 3);
        assert!(vector("req_total", 1140 + 301).is_empty());
    }

    #[test]
    fn range_query_steps_inclusively_and_refuses_too_many_points() {
        let r = range(&store(), "sum(req_total)", 0, 600_000, 60_000).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].points.len(), 11);
        assert!(matches!(
            range(&store(), "up", 0, 12_000_000, 1),
            Err(Error::BadData(_))
        ));
    }
}
