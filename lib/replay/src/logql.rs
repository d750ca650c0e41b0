//! The subset of LogQL the replay answers: a stream selector with `=`, `!=`, `=~`,
//! `!~` and line filters `|=`, `!=`, `|~`, `!~`; optionally inside
//! `count_over_time(...[d])` or `rate(...[d])`, optionally under
//! `sum|count|max|min|avg [by|without (labels)]`.
//!
//! Hand-written: no maintained Rust crate parses LogQL, and this subset is small.

use regex::Regex;

use super::labels::Labels;

/// A stream label matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    op: MatchOp,
}

#[derive(Debug, Clone)]
enum MatchOp {
    Eq(String),
    Ne(String),
    Re(Regex),
    NotRe(Regex),
}

impl Matcher {
    /// Whether the stream's value of this label (empty when absent) matches.
    pub fn matches(&self, labels: &Labels) -> bool {
        let v = labels.value(&self.name);
        match &self.op {
            MatchOp::Eq(want) => v == want,
            MatchOp::Ne(want) => v != want,
            MatchOp::Re(re) => re.is_match(v),
            MatchOp::NotRe(re) => !re.is_match(v),
        }
    }

    fn matches_empty(&self) -> bool {
        match &self.op {
            MatchOp::Eq(want) => want.is_empty(),
            MatchOp::Ne(want) => !want.is_empty(),
            MatchOp::Re(re) => re.is_match(""),
            MatchOp::NotRe(re) => !re.is_match(""),
        }
    }
}

/// A line filter.
#[derive(Debug, Clone)]
pub enum LineFilter {
    /// `|= "text"`
    Contains(String),
    /// `!= "text"`
    NotContains(String),
    /// `|~ "regex"` (unanchored)
    Matches(Regex),
    /// `!~ "regex"`
    NotMatches(Regex),
}

impl LineFilter {
    fn keeps(&self, line: &str) -> bool {
        match self {
            Self::Contains(s) => line.contains(s.as_str()),
            Self::NotContains(s) => !line.contains(s.as_str()),
            Self::Matches(re) => re.is_match(line),
            Self::NotMatches(re) => !re.is_match(line),
        }
    }
}

/// A log query: which streams, which lines.
#[derive(Debug, Clone)]
pub struct LogSelector {
    /// Stream matchers, all must hold.
    pub matchers: Vec<Matcher>,
    /// Line filters, all must hold.
    pub filters: Vec<LineFilter>,
}

impl LogSelector {
    /// Whether the stream is selected.
    pub fn selects(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|m| m.matches(labels))
    }

    /// Whether the line passes every filter.
    pub fn keeps(&self, line: &str) -> bool {
        self.filters.iter().all(|f| f.keeps(line))
    }
}

/// A range aggregation over log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeFn {
    /// `count_over_time`: lines in the range.
    CountOverTime,
    /// `rate`: lines per second in the range.
    Rate,
}

/// A vector aggregation over a range aggregation.
#[derive(Debug, Clone)]
pub struct Aggregation {
    /// sum, count, max, min or avg.
    pub op: String,
    /// `by (...)` when true, `without (...)` when false.
    pub by: bool,
    /// The grouping labels.
    pub labels: Vec<String>,
}

/// A parsed query.
#[derive(Debug, Clone)]
pub enum Query {
    /// A log query: returns streams.
    Logs(LogSelector),
    /// A metric query over logs: returns a vector or a matrix.
    Metric {
        /// The lines counted.
        selector: LogSelector,
        /// The range function.
        func: RangeFn,
        /// The range, in nanoseconds.
        range_ns: i64,
        /// An optional aggregation on top.
        aggregation: Option<Aggregation>,
    },
}

/// Parses a query, or says what is wrong or unsupported (Loki answers 400).
pub fn parse(input: &str) -> Result<Query, String> {
    let mut p = Parser { s: input, pos: 0 };
    let q = p.query()?;
    p.ws();
    if p.pos < p.s.len() {
        return Err(p.error("unsupported or unexpected expression"));
    }
    Ok(q)
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

const AGGREGATIONS: [&str; 5] = ["sum", "count", "max", "min", "avg"];

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.s.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.ws();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn error(&self, what: &str) -> String {
        format!(
            "parse error at line 1, col {}: {what} (the replay supports stream selectors, line filters |= != |~ !~, count_over_time, rate and sum/count/max/min/avg by/without)",
            self.pos + 1
        )
    }

    fn ident(&mut self) -> Option<String> {
        self.ws();
        let len = self
            .rest()
            .char_indices()
            .take_while(|(i, c)| {
                c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit())
            })
            .count();
        if len == 0 {
            return None;
        }
        let id = self.rest()[..len].to_owned();
        self.pos += len;
        Some(id)
    }

    fn query(&mut self) -> Result<Query, String> {
        self.ws();
        if self.rest().starts_with('{') {
            return Ok(Query::Logs(self.selector()?));
        }
        let start = self.pos;
        let name = self
            .ident()
            .ok_or_else(|| self.error("expected a stream selector"))?;
        if AGGREGATIONS.contains(&name.as_str()) {
            let mut grouping = self.grouping()?;
            if !self.eat("(") {
                return Err(self.error("expected ( after the aggregation"));
            }
            let inner = self.query()?;
            if !self.eat(")") {
                return Err(self.error("expected )"));
            }
            if grouping.is_none() {
                grouping = self.grouping()?;
            }
            let Query::Metric {
                selector,
                func,
                range_ns,
                aggregation: None,
            } = inner
            else {
                return Err(self.error("an aggregation takes count_over_time or rate"));
            };
            let (by, labels) = grouping.unwrap_or((false, Vec::new()));
            return Ok(Query::Metric {
                selector,
                func,
                range_ns,
                aggregation: Some(Aggregation {
                    op: name,
                    by,
                    labels,
                }),
            });
        }
        let func = match name.as_str() {
            "count_over_time" => RangeFn::CountOverTime,
            "rate" => RangeFn::Rate,
            _ => {
                self.pos = start;
                return Err(self.error(&format!("unsupported function {name}")));
            }
        };
        if !self.eat("(") {
            return Err(self.error("expected ("));
        }
        let selector = self.selector()?;
        if !self.eat("[") {
            return Err(self.error("expected a range like [5m]"));
        }
        let close = self
            .rest()
            .find(']')
            .ok_or_else(|| self.error("expected ]"))?;
        let range = self.rest()[..close].trim().to_owned();
        let range_ns = parse_duration_ns(&range).ok_or_else(|| self.error("bad range duration"))?;
        self.pos += close + 1;
        if !self.eat(")") {
            return Err(self.error("expected )"));
        }
        Ok(Query::Metric {
            selector,
            func,
            range_ns,
            aggregation: None,
        })
    }

    fn grouping(&mut self) -> Result<Option<(bool, Vec<String>)>, String> {
        let save = self.pos;
        let by = match self.ident().as_deref() {
            Some("by") => true,
            Some("without") => false,
            _ => {
                self.pos = save;
                return Ok(None);
            }
        };
        if !self.eat("(") {
            return Err(self.error("expected ( after by/without"));
        }
        let mut labels = Vec::new();
        loop {
            if self.eat(")") {
                break;
            }
            labels.push(
                self.ident()
                    .ok_or_else(|| self.error("expected a label name"))?,
            );
            self.eat(",");
        }
        Ok(Some((by, labels)))
    }

    fn selector(&mut self) -> Result<LogSelector, String> {
        if !self.eat("{") {
            return Err(self.error("expected {"));
        }
        let mut matchers = Vec::new();
        loop {
            if self.eat("}") {
                break;
            }
            let name = self
                .ident()
                .ok_or_else(|| self.error("expected a label name"))?;
            self.ws();
            let op = ["=~", "!~", "!=", "="]
                .into_iter()
                .find(|op| self.rest().starts_with(op))
                .ok_or_else(|| self.error("expected =, !=, =~ or !~"))?;
            self.pos += op.len();
            let value = self.string()?;
            let anchored = |v: &str| {
                Regex::new(&format!("^(?:{v})$"))
                    .map_err(|e| self.error(&format!("bad regex: {e}")))
            };
            let op = match op {
                "=" => MatchOp::Eq(value),
                "!=" => MatchOp::Ne(value),
                "=~" => MatchOp::Re(anchored(&value)?),
                _ => MatchOp::NotRe(anchored(&value)?),
            };
            matchers.push(Matcher { name, op });
            if !self.eat(",") {
                if !self.eat("}") {
                    return Err(self.error("expected , or }"));
                }
                break;
            }
        }
        if matchers.iter().all(Matcher::matches_empty) {
            return Err("queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will".into());
        }
        let mut filters = Vec::new();
        loop {
            self.ws();
            let op = ["|=", "!=", "|~", "!~"]
                .into_iter()
                .find(|op| self.rest().starts_with(op));
            let Some(op) = op else {
                if self.rest().starts_with('|') {
                    return Err(self.error("unsupported pipeline stage"));
                }
                break;
            };
            self.pos += op.len();
            let value = self.string()?;
            let regex = |v: &str| Regex::new(v).map_err(|e| self.error(&format!("bad regex: {e}")));
            filters.push(match op {
                "|=" => LineFilter::Contains(value),
                "!=" => LineFilter::NotContains(value),
                "|~" => LineFilter::Matches(regex(&value)?),
                _ => LineFilter::NotMatches(regex(&value)?),
            });
        }
        Ok(LogSelector { matchers, filters })
    }

    /// A double-quoted string with Go escapes, or a backquoted raw string.
    fn string(&mut self) -> Result<String, String> {
        self.ws();
        let mut chars = self.rest().char_indices();
        match chars.next() {
            Some((_, '`')) => {
                let end = self.rest()[1..]
                    .find('`')
                    .ok_or_else(|| self.error("unterminated string"))?;
                let s = self.rest()[1..1 + end].to_owned();
                self.pos += end + 2;
                Ok(s)
            }
            Some((_, '"')) => {
                let mut out = String::new();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '"' => {
                            self.pos += i + 1;
                            return Ok(out);
                        }
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('n') => out.push('\n'),
                            Some('t') => out.push('\t'),
                            Some('r') => out.push('\r'),
                            Some(c) => out.push(c),
                            None => break,
                        },
                        c => out.push(c),
                    }
                }
                Err(self.error("unterminated string"))
            }
            _ => Err(self.error("expected a string")),
        }
    }
}

/// A Prometheus-style duration (`5m`, `1h30m`, `90s`, `500ms`) in nanoseconds.
pub fn parse_duration_ns(s: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
        let unit = match &rest[..unit_len] {
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            "w" => 604_800_000_000_000,
            "y" => 31_536_000_000_000_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(
            pairs
                .iter()
                .map(|(k, v)| (Arc::from(*k), Arc::from(*v)))
                .collect(),
        )
    }

    #[test]
    fn parses_selector_and_filters() {
        let Query::Logs(sel) =
            parse(r#"{app=~"ts-.*", pod!="x"} |= "ERROR" != `debug` |~ "time(out)?" !~ "ok$""#)
                .unwrap()
        else {
            panic!("expected a log query")
        };
        assert!(sel.selects(&labels(&[("app", "ts-a"), ("pod", "y")])));
        assert!(
            !sel.selects(&labels(&[("app", "xts-a")])),
            "regex matchers are anchored"
        );
        assert!(sel.keeps("ERROR time out"));
        assert!(!sel.keeps("ERROR debug timeout"));
        assert!(!sel.keeps("ERROR ok"));
    }

    #[test]
    fn parses_metric_queries() {
        let Query::Metric {
            func,
            range_ns,
            aggregation,
            ..
        } = parse(r#"sum by (app) (count_over_time({namespace="x"} |= "error" [5m]))"#).unwrap()
        else {
            panic!("expected a metric query")
        };
        assert_eq!(func, RangeFn::CountOverTime);
        assert_eq!(range_ns, 300_000_000_000);
        let agg = aggregation.unwrap();
        assert_eq!(
            (agg.op.as_str(), agg.by, agg.labels),
            ("sum", true, vec!["app".to_owned()])
        );
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        for q in [
            r#"{app="a"} | json"#,
            r#"{app=~".*"}"#,
            r#"bytes_over_time({app="a"}[1m])"#,
            "{app=\"a\"",
        ] {
            assert!(parse(q).is_err(), "{q} should be refused");
        }
    }
}
