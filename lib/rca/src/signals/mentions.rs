//! Mentions: other services' rising error lines that name a service ("No instances
//! available for ts-route-service"): a caller's error often says which callee failed.

use std::collections::BTreeMap;

use super::logs::{Blame, LogChange};
use crate::observations::Observations;

/// Services that other services' rising error lines name ("No instances available
/// for ts-route-service", "connection refused: cartservice:7070"): a caller's error
/// often says which callee failed.
#[derive(Debug, Clone, Default)]
pub struct Mentions {
    /// Sum of the rises of the templates that name the service.
    pub surge: f64,
    /// The services whose lines name it.
    pub by: std::collections::BTreeSet<String>,
    /// One such line.
    pub example: String,
}

impl Mentions {
    /// Its weight as evidence.
    pub fn score(&self) -> f64 {
        (self.surge / 5.0).min(2.0)
    }
}

/// Which known services `line` names, as whole words (a name followed by a letter,
/// digit or `-` is another, longer name).
fn named_services<'a>(line: &str, services: &'a [String]) -> Vec<&'a str> {
    services
        .iter()
        .filter(|s| s.len() >= 4)
        .filter(|s| {
            line.match_indices(s.as_str()).any(|(i, _)| {
                let before = line[..i].chars().next_back();
                let after = line[i + s.len()..].chars().next();
                let word = |c: Option<char>| {
                    c.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
                };
                !word(before) && !word(after)
            })
        })
        .map(String::as_str)
        .collect()
}

/// Credits every service named by another service's rising error templates, and
/// records on each writer how much of its rise blames others ([`LogChange::blame`]).
pub fn mentions(
    obs: &Observations,
    logs: &mut BTreeMap<String, LogChange>,
) -> BTreeMap<String, Mentions> {
    let services: Vec<String> = obs.services().into_iter().collect();
    let mut out: BTreeMap<String, Mentions> = BTreeMap::new();
    for (writer, change) in logs.iter_mut() {
        let (mut total, mut blaming) = (0.0, 0.0);
        let mut named_rise: BTreeMap<&str, f64> = BTreeMap::new();
        for (rise, example) in &change.rising {
            total += rise;
            let named: Vec<&str> = named_services(example, &services)
                .into_iter()
                .filter(|n| n != writer)
                .collect();
            if !named.is_empty() {
                blaming += rise;
            }
            for named in named {
                *named_rise.entry(named).or_default() += rise;
                let m = out.entry(named.to_string()).or_default();
                m.surge += rise;
                m.by.insert(writer.clone());
                if m.example.is_empty() {
                    m.example = example.clone();
                }
            }
        }
        change.blame = named_rise
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(service, _)| Blame {
                share: blaming / total,
                service: service.to_string(),
            });
    }
    out
}
