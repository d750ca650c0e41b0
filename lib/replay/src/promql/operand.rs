//! What an expression evaluates to inside the evaluator, before it becomes a result.

use super::value::Sample;
use crate::labels::Labels;

/// A value during evaluation.
pub(super) enum Value<'a> {
    Scalar(f64),
    Vector(Vec<Sample>),
    /// Per series: labels and the samples inside the range.
    Matrix(Vec<(&'a Labels, &'a [i64], &'a [f64])>),
    String(String),
}

/// The labels without `__name__`.
pub(super) fn drop_name(l: &Labels) -> Labels {
    l.filter(|n| n != "__name__")
}
