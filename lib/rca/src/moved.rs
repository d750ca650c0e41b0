//! What moved, per candidate, in structured form: the report's `moved`, which the
//! past-incident search fingerprints. The thresholds are the report's own, so `moved`
//! lists exactly the evidence the report's words describe.

use crate::rank::Candidate;
use aegis_core::report::{Direction, Moved};

/// The signals of `c` that the report cites, with their direction.
pub fn moved(c: &Candidate) -> Vec<Moved> {
    let mut out = Vec::new();
    let mut push = |signal: String, direction| {
        out.push(Moved {
            service: c.service.clone(),
            signal,
            direction,
        })
    };
    for m in c.change.metrics.iter().filter(|m| m.score() >= 0.1).take(4) {
        let way = if m.shift.effect >= 0.0 {
            Direction::Up
        } else {
            Direction::Down
        };
        push(format!("metric:{}", m.signal.name), way);
    }
    if let Some(l) = c.change.logs.as_ref().filter(|l| l.score() > 0.0) {
        for (template, _, _) in &l.top {
            push(format!("log:{template}"), Direction::Up);
        }
    }
    if c.change.mentions.as_ref().is_some_and(|m| m.score() >= 0.1) {
        push("mentioned".into(), Direction::Up);
    }
    if let Some(d) = c.change.drift.as_ref().filter(|d| d.score() >= 0.3) {
        let (template, usual, now, _) = &d.template;
        let way = if now >= usual {
            Direction::Up
        } else {
            Direction::Down
        };
        push(format!("drift:{template}"), way);
    }
    if let Some(i) = c.change.invariant.as_ref().filter(|i| i.score() >= 0.5) {
        push(
            format!("invariant:{} / {}", i.more.0, i.less.0),
            Direction::Broken,
        );
    }
    if let Some(t) = c.change.traffic.as_ref().filter(|t| t.score() >= 0.2) {
        push(format!("traffic:{}", t.follower), Direction::Broken);
    }
    if let Some(t) = c.change.traces.as_ref().filter(|t| t.score() >= 0.2) {
        if t.duration.abs() >= 0.2 {
            let way = if t.duration > 0.0 {
                Direction::Up
            } else {
                Direction::Down
            };
            push("spans:latency".into(), way);
        }
        if t.error_rise >= 0.05 {
            push("spans:errors".into(), Direction::Up);
        }
        if t.network >= 0.5 {
            push("spans:network".into(), Direction::Up);
        }
        if t.busy >= 0.5 {
            push("spans:busy".into(), Direction::Up);
        }
        if t.call_mix >= 0.7 {
            push("spans:calls".into(), Direction::Broken);
        }
    }
    out
}
