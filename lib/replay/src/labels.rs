//! Label sets shared by the metric, log and trace stores: sorted name/value pairs whose
//! strings are interned, so a series or a stream costs a few pointers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// One label set, sorted by name; names and values are interned [`Arc<str>`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<(Arc<str>, Arc<str>)>);

impl Labels {
    /// Builds a label set from pairs in any order; empty values are dropped, as
    /// Prometheus and Loki treat an empty label as an absent one.
    pub fn new(mut pairs: Vec<(Arc<str>, Arc<str>)>) -> Self {
        pairs.retain(|(_, v)| !v.is_empty());
        pairs.sort();
        pairs.dedup_by(|a, b| a.0 == b.0);
        Self(pairs)
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| n.as_ref().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_ref())
    }

    /// The value of `name`, or `""` when absent (PromQL and LogQL matchers see it so).
    pub fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// The pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }

    /// The pairs as interned strings, sorted by name.
    pub fn pairs(&self) -> &[(Arc<str>, Arc<str>)] {
        &self.0
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A copy keeping only the pairs for which `keep(name)` is true.
    pub fn filter(&self, keep: impl Fn(&str) -> bool) -> Self {
        Self(self.0.iter().filter(|(n, _)| keep(n)).cloned().collect())
    }

    /// A copy with `name` set to `value` (removed when `value` is empty).
    pub fn with(&self, name: Arc<str>, value: Arc<str>) -> Self {
        let mut pairs: Vec<_> = self.0.iter().filter(|(n, _)| *n != name).cloned().collect();
        pairs.push((name, value));
        Self::new(pairs)
    }

    /// The labels as a JSON object, as every query API prints them.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.iter()
                .map(|(n, v)| (n.to_owned(), serde_json::Value::String(v.to_owned())))
                .collect(),
        )
    }
}

/// Interns strings while a dataset loads, so equal names and values share memory.
#[derive(Debug, Default)]
pub struct Interner(HashSet<Arc<str>>);

impl Interner {
    /// The shared copy of `s`.
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(found) = self.0.get(s) {
            return found.clone();
        }
        let new: Arc<str> = Arc::from(s);
        self.0.insert(new.clone());
        new
    }
}

/// The distinct label sets met while a dataset loads, numbered in order of first
/// appearance and found again by their text: millions of entries repeating a few sets
/// cost one hash lookup each, and each set is interned once.
#[derive(Debug, Default)]
pub struct SetIndex {
    index: HashMap<String, usize>,
    key: String,
}

impl SetIndex {
    /// The number of the set `pairs` (in the order its source gives them, which must be
    /// the same each time the set recurs) and, when it is new, its interned [`Labels`]
    /// for the caller to store at that number.
    pub fn find_or_add<'p>(
        &mut self,
        pairs: impl Iterator<Item = (&'p str, &'p str)> + Clone,
        interner: &mut Interner,
    ) -> (usize, Option<Labels>) {
        self.key.clear();
        for (k, v) in pairs.clone() {
            self.key.push_str(k);
            self.key.push('\0');
            self.key.push_str(v);
            self.key.push('\0');
        }
        if let Some(&i) = self.index.get(self.key.as_str()) {
            return (i, None);
        }
        let i = self.index.len();
        self.index.insert(self.key.clone(), i);
        let labels = Labels::new(
            pairs
                .map(|(k, v)| (interner.get(k), interner.get(v)))
                .collect(),
        );
        (i, Some(labels))
    }
}

#[cfg(test)]
mod set_index_tests {
    use super::*;

    #[test]
    fn sets_are_numbered_once_in_order_of_first_appearance() {
        let mut sets = SetIndex::default();
        let mut interner = Interner::default();
        let a = [("app", "cart"), ("pod", "cart-1")];
        let b = [("app", "front")];
        let (ia, new_a) = sets.find_or_add(a.iter().copied(), &mut interner);
        let (ib, new_b) = sets.find_or_add(b.iter().copied(), &mut interner);
        let (again, none) = sets.find_or_add(a.iter().copied(), &mut interner);
        assert_eq!((ia, ib, again), (0, 1, 0));
        assert_eq!(new_a.unwrap().get("pod"), Some("cart-1"));
        assert!(new_b.is_some() && none.is_none());
        // "ab","c" and "a","bc" must not collide.
        let (x, _) = sets.find_or_add([("ab", "c")].into_iter(), &mut interner);
        let (y, _) = sets.find_or_add([("a", "bc")].into_iter(), &mut interner);
        assert_ne!(x, y);
    }
}
