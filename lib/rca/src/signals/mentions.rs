//! Mentions: other services' rising error lines that name a service ("No instances
//! available for ts-route-service"): a caller's error often says which callee failed.

use std::collections::{BTreeMap, HashMap};

use aho_corasick::AhoCorasick;

use super::logs::{Blame, LogChange, LogLines};
use crate::observations::Observations;

/// Services that other services' rising error lines name ("No instances available
/// for ts-route-service", "connection refused: cartservice:7070"): a caller's error
/// often says which callee failed.
#[derive(Debug, Clone, Default)]
pub struct Mentions {
    /// Sum over other services' rising error templates of the share of each rise
    /// whose lines name the service (as far as the rise is not ordinary for its
    /// writer).
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

/// Finds the known services a line names, as whole words (a name next to a letter,
/// digit, `-` or `_` is part of another, longer name). One automaton over every name
/// (`aho-corasick`): every rising error line of the incident part is searched for
/// each of up to thousands of services. Built once per ranking, for every incident
/// start: collecting the names walks every log line and span.
pub struct Namer {
    services: Vec<String>,
    automaton: Option<AhoCorasick>,
}

impl Namer {
    /// The services of `obs`; names shorter than 4 characters ("db", "api") are words
    /// of ordinary lines.
    pub fn new(obs: &Observations) -> Self {
        let services: Vec<String> = obs
            .services()
            .into_iter()
            .filter(|s| s.len() >= 4)
            .collect();
        Self {
            automaton: AhoCorasick::new(&services).ok(),
            services,
        }
    }

    /// The services `line` names, each once, in the order of the names.
    fn names(&self, line: &str) -> Vec<&str> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_');
        let mut found: Vec<usize> = automaton
            .find_overlapping_iter(line)
            .filter(|m| {
                !word(line[..m.start()].chars().next_back())
                    && !word(line[m.end()..].chars().next())
            })
            .map(|m| m.pattern().as_usize())
            .collect();
        found.sort_unstable();
        found.dedup();
        found
            .into_iter()
            .map(|p| self.services[p].as_str())
            .collect()
    }
}

/// A rising error template's lines in a writer's incident part.
#[derive(Default)]
struct TemplateLines<'a> {
    /// Its lines.
    lines: usize,
    /// Its lines that name another service.
    naming: usize,
    /// Per service named, the lines naming it and the first of them.
    named: BTreeMap<&'a str, (usize, usize)>,
}

/// Credits every service named by another service's rising error templates, and
/// records on each writer how much of its rise blames others ([`LogChange::blame`]).
/// A template's rise goes to the services its lines in the incident part name, in
/// proportion to the lines naming each (a template cut short holds "No instances
/// available for" every callee), and counts as far as it is not ordinary for the
/// writer ([`LogChange::ordinary`]). `lines` are the range's lines grouped once
/// ([`crate::signals::templates`]), `namer` its services ([`Namer::new`]).
pub fn mentions(
    obs: &Observations,
    lines: &LogLines,
    namer: &Namer,
    split: f64,
    logs: &mut BTreeMap<String, LogChange>,
) -> BTreeMap<String, Mentions> {
    let mut out: BTreeMap<String, Mentions> = BTreeMap::new();
    for (writer, indices) in &lines.by_service {
        let Some(change) = logs.get_mut(writer).filter(|c| !c.rising.is_empty()) else {
            continue;
        };
        let rises: HashMap<u32, f64> = change.rising.iter().map(|&(r, t)| (t, r)).collect();
        let mut per_template: BTreeMap<u32, TemplateLines> = BTreeMap::new();
        for &i in indices.iter().filter(|&&i| obs.logs[i].time >= split) {
            let t = lines.template_of[i];
            if !rises.contains_key(&t) {
                continue;
            }
            let entry = per_template.entry(t).or_default();
            entry.lines += 1;
            let named: Vec<&str> = namer
                .names(&obs.logs[i].line)
                .into_iter()
                .filter(|n| n != writer)
                .collect();
            entry.naming += usize::from(!named.is_empty());
            for service in named {
                entry.named.entry(service).or_insert((0, i)).0 += 1;
            }
        }
        let extraordinary = 1.0 - change.ordinary.unwrap_or(0.0);
        let (mut total, mut blaming) = (0.0, 0.0);
        let mut named_rise: BTreeMap<&str, f64> = BTreeMap::new();
        for (t, template) in &per_template {
            let rise = rises[t];
            let count = template.lines as f64;
            total += rise;
            blaming += rise * template.naming as f64 / count;
            for (service, (n, example)) in &template.named {
                let rise = rise * *n as f64 / count;
                *named_rise.entry(service).or_default() += rise;
                let m = out.entry(service.to_string()).or_default();
                m.surge += rise * extraordinary;
                m.by.insert(writer.clone());
                if m.example.is_empty() {
                    m.example = obs.logs[*example].line.clone();
                }
            }
        }
        change.blame = named_rise
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(a.0)))
            .map(|(service, _)| Blame {
                share: blaming / total,
                service: service.to_string(),
            });
    }
    out
}
