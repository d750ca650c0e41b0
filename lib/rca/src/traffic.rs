//! Traffic invariants: pairs of services whose request rates kept one ratio minute
//! after minute, because every request of the first makes the same calls to the
//! second (each order checkoutservice places sends one confirmation through
//! emailservice). When the follower's traffic falls away while the leader's holds,
//! the leader receives its requests but no longer passes them on: it throws or
//! returns before the call. That is the metric side of the log invariants
//! ([`super::invariants`]): a code path that stops half way, seen without logs or
//! traces, and it points at the leader where every other signal points at the
//! follower (whose traffic fell) or at the leader's callers (whose errors rose).
//!
//! A follower that crashed would break the pair the same way; its restarts and
//! readiness are signals of their own, which this does not replace.

use std::collections::BTreeMap;

use super::catalog::{Kind, Signal};
use super::graph::CallGraph;
use super::observations::Observations;
use super::stats;

/// How many calls away from a leader its followers are looked for when there is a
/// call graph: two, so that a loss further on (frontend -> checkout -> email) can be
/// told from one at the leader's own callee.
const FOLLOWER_HOPS: usize = 2;

/// Samples before the incident part a pair needs, both series serving. The engine
/// queries a sample a minute (fewer over ranges longer than 2 hours: about 180
/// over the range and its history), so "minute" below means a sample.
const MIN_HISTORY_POINTS: usize = 10;

/// Share of those minutes in which the ratio must have held: three in four, so that
/// an earlier fault of the same kind in the history does not hide the pair it
/// breaks again.
const MIN_HOLDING: f64 = 0.75;

/// How far a minute's ratio may be from the usual one and still hold it.
const TOLERANCE: f64 = 0.15;

/// A minute breaks the pair when the follower has less than this share of the
/// traffic the ratio expects while the leader keeps at least this share of its own
/// usual traffic (a leader whose traffic fell passes less on for that reason).
const BROKEN_BELOW: f64 = 0.5;

/// Minutes of the incident part that must break the pair: one is a scrape's luck.
const MIN_BROKEN_POINTS: usize = 2;

/// The pair of a service, as leader, that the incident part breaks most.
#[derive(Debug, Clone)]
pub struct TrafficBreak {
    /// The signal whose series kept the ratio.
    pub signal: Signal,
    /// The service whose traffic stopped following.
    pub follower: String,
    /// The ratio they kept, and how it broke.
    pub pair: KeptRatio,
}

/// A ratio one series kept to another before the incident part, and how the
/// incident part kept it.
#[derive(Debug, Clone, Copy)]
pub struct KeptRatio {
    /// The follower's traffic per unit of the leader's before the incident part.
    pub ratio: f64,
    /// How far the history's minutes strayed from the ratio: the median of their
    /// distances from it, as a share of it.
    pub spread: f64,
    /// Minutes before the incident part, and those in which the ratio held.
    pub history: (usize, usize),
    /// Minutes of the incident part, and those that broke the pair.
    pub incident: (usize, usize),
    /// Share of the incident part's minutes that broke the pair, less the share of
    /// the history's minutes that did.
    pub share: f64,
}

impl KeptRatio {
    /// Whether the incident part broke it.
    pub fn broke(&self) -> bool {
        self.incident.1 >= MIN_BROKEN_POINTS && self.share > 0.0
    }
}

impl TrafficBreak {
    /// Its weight as evidence: the share of minutes that broke the pair.
    pub fn score(&self) -> f64 {
        self.pair.share
    }
}

/// The series of every traffic signal ([`Kind::Traffic`]), keyed by the millisecond
/// so that the two series of a pair meet on their common samples, and the pairs worth
/// comparing. Built once per ranking and read at each incident start.
pub struct Rates<'a> {
    signals: Vec<(&'a Signal, Vec<(&'a str, Samples)>)>,
    /// Per signal, the (leader, follower) indices into its series to compare.
    pairs: Vec<Vec<(usize, usize)>>,
}

/// One series' values by the millisecond.
type Samples = BTreeMap<i64, f64>;

impl<'a> Rates<'a> {
    /// The traffic signals of `obs`, their pairs along `graph` (see [`pairs`]).
    pub fn new(obs: &'a Observations, graph: &CallGraph) -> Self {
        let signals: Vec<(&Signal, Vec<(&str, Samples)>)> = obs
            .metrics
            .iter()
            .filter(|m| m.signal.kind == Kind::Traffic)
            .map(|metric| {
                let series = metric
                    .series
                    .iter()
                    .map(|(service, points)| {
                        let by_time = points
                            .iter()
                            .filter(|(_, v)| v.is_finite())
                            .map(|(t, v)| ((t * 1000.0).round() as i64, v.max(0.0)))
                            .collect();
                        (service.as_str(), by_time)
                    })
                    .collect();
                (&metric.signal, series)
            })
            .collect();
        let pairs = signals
            .iter()
            .map(|(_, series)| {
                let names: Vec<&str> = series.iter().map(|(s, _)| *s).collect();
                pairs(&names, graph)
            })
            .collect();
        Self { signals, pairs }
    }

    /// Per service, the traffic invariant it leads that the part from `split` on
    /// breaks most, over every traffic signal.
    pub fn broken(&self, split: f64) -> BTreeMap<String, TrafficBreak> {
        let split_ms = (split * 1000.0).round() as i64;
        let mut out: BTreeMap<String, TrafficBreak> = BTreeMap::new();
        for ((signal, series), pairs) in self.signals.iter().zip(&self.pairs) {
            let mut kept: BTreeMap<(&str, &str), KeptRatio> = BTreeMap::new();
            for &(l, f) in pairs {
                let ((leader, lead), (follower, follow)) = (&series[l], &series[f]);
                if let Some(ratio) = kept_ratio(lead, follow, split_ms) {
                    kept.insert((leader, follower), ratio);
                }
            }
            for (&(leader, follower), pair) in &kept {
                if !pair.broke() || out.get(leader).is_some_and(|b| b.pair.share >= pair.share) {
                    continue;
                }
                // When the leader's traffic still reaches another service that lost the
                // follower too (the frontend's orders still reach checkout, checkout's
                // no longer reach email), the loss is further on, at that service. A
                // ratio says nothing of who calls whom, so "further on" is the service
                // whose own ratio to the follower was the tighter: each hop between
                // them adds its own noise.
                let further_on = kept
                    .range((leader, "")..)
                    .take_while(|((from, _), _)| *from == leader)
                    .any(|(&(_, to), via)| {
                        to != follower
                            && !via.broke()
                            && kept
                                .get(&(to, follower))
                                .is_some_and(|next| next.broke() && next.spread < pair.spread)
                    });
                if further_on {
                    continue;
                }
                out.insert(
                    leader.to_string(),
                    TrafficBreak {
                        signal: (*signal).clone(),
                        follower: follower.to_string(),
                        pair: *pair,
                    },
                );
            }
        }
        out
    }
}

/// The ordered pairs of `services` (indices) whose traffic may keep a ratio. With no
/// call graph every pair, which grows with the square of the services (2,000
/// services make 4 million); along a call graph, each service's followers are the
/// services it reaches in [`FOLLOWER_HOPS`] calls, and those the graph does not know
/// (a service without spans may still be called). A service the graph does not
/// know leads every other.
fn pairs(services: &[&str], graph: &CallGraph) -> Vec<(usize, usize)> {
    let all = |l: usize| {
        (0..services.len())
            .filter(move |f| *f != l)
            .map(move |f| (l, f))
    };
    if graph.is_empty() {
        return (0..services.len()).flat_map(all).collect();
    }
    let known = graph.services();
    let index: BTreeMap<&str, usize> = services.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    let unknown: Vec<usize> = (0..services.len())
        .filter(|i| !known.contains(services[*i]))
        .collect();
    let mut out = Vec::new();
    for (l, leader) in services.iter().enumerate() {
        if !known.contains(leader) {
            out.extend(all(l));
            continue;
        }
        let reached = graph.downstream(leader, FOLLOWER_HOPS);
        let followers = reached.iter().filter_map(|f| index.get(f).copied());
        let mut followers: Vec<usize> = followers.chain(unknown.iter().copied()).collect();
        followers.sort_unstable();
        followers.dedup();
        out.extend(followers.into_iter().filter(|f| *f != l).map(|f| (l, f)));
    }
    out
}

/// The ratio `follow` kept to `lead` before `split_ms`, if it kept one, and how the
/// part from `split_ms` on kept it.
fn kept_ratio(lead: &Samples, follow: &Samples, split_ms: i64) -> Option<KeptRatio> {
    let points: Vec<(i64, f64, f64)> = lead
        .iter()
        .filter_map(|(t, a)| follow.get(t).map(|b| (*t, *a, *b)))
        .collect();
    let (history, incident): (Vec<(i64, f64, f64)>, Vec<_>) =
        points.into_iter().partition(|p| p.0 < split_ms);
    if incident.len() < MIN_BROKEN_POINTS {
        return None;
    }
    let mut ratios: Vec<f64> = history
        .iter()
        .filter(|p| p.1 > 0.0)
        .map(|p| p.2 / p.1)
        .collect();
    if ratios.len() < MIN_HISTORY_POINTS {
        return None;
    }
    let ratio = stats::median(&mut ratios);
    if ratio <= 0.0 {
        return None;
    }
    let mut distances: Vec<f64> = ratios.iter().map(|r| (r / ratio - 1.0).abs()).collect();
    let held = distances.iter().filter(|d| **d <= TOLERANCE).count();
    let spread = stats::median(&mut distances);
    if (held as f64) < MIN_HOLDING * ratios.len() as f64 {
        return None;
    }
    let usual = stats::median(&mut history.iter().map(|p| p.1).collect::<Vec<_>>());
    let breaks = |p: &&(i64, f64, f64)| {
        p.1 > 0.0 && p.1 >= BROKEN_BELOW * usual && p.2 < BROKEN_BELOW * ratio * p.1
    };
    let broken = incident.iter().filter(breaks).count();
    let broken_before = history.iter().filter(breaks).count();
    let share = broken as f64 / incident.len() as f64 - broken_before as f64 / history.len() as f64;
    Some(KeptRatio {
        ratio,
        spread,
        history: (ratios.len(), held),
        incident: (incident.len(), broken),
        share,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observations::Metric;

    const START: f64 = 1_700_000_000.0;

    /// 20 minutes of rates; the incident part starts at minute 14.
    fn obs(series: Vec<(&str, Vec<f64>)>) -> Observations {
        let metric = Metric::sampled("request_rate", START, 60.0, series);
        Observations {
            start: START,
            end: START + 1200.0,
            metrics: vec![metric],
            ..Observations::default()
        }
    }

    const SPLIT: f64 = START + 14.0 * 60.0;

    fn broken(obs: Observations) -> BTreeMap<String, TrafficBreak> {
        Rates::new(&obs, &CallGraph::default()).broken(SPLIT)
    }

    /// One confirmation per order, except minutes 15 to 17, when none is passed on.
    fn stopped(orders: &[f64]) -> Vec<f64> {
        orders
            .iter()
            .enumerate()
            .map(|(i, v)| if (15..18).contains(&i) { 0.0 } else { *v })
            .collect()
    }

    /// Orders a minute, wobbling as real traffic does.
    fn orders() -> Vec<f64> {
        (0..20)
            .map(|i| 0.4 + 0.1 * ((i * 7 % 5) as f64 - 2.0) / 2.0)
            .collect()
    }

    #[test]
    fn a_leader_that_stops_passing_requests_on_breaks_the_pair() {
        let checkout = orders();
        // One confirmation per order, until minute 15.
        let email = stopped(&checkout);
        let found = broken(obs(vec![("checkout", checkout), ("email", email)]));
        let b = &found["checkout"];
        assert_eq!(b.follower, "email");
        assert_eq!(b.signal.name, "request_rate");
        assert!((b.pair.ratio - 1.0).abs() < 1e-9, "{b:?}");
        assert_eq!(b.pair.incident, (6, 3));
        assert!((b.pair.share - 0.5).abs() < 1e-9, "{b:?}");
        // The follower leads nothing: its traffic fell, it did not stop any.
        assert!(!found.contains_key("email"), "{found:?}");
    }

    #[test]
    fn the_loss_is_pinned_where_the_traffic_stops_not_upstream() {
        // Steady traffic: the frontend sends one request in twenty to checkout
        // (give or take a few per cent), and every order checkout places reaches
        // email, until checkout stops.
        let checkout = orders();
        let frontend: Vec<f64> = checkout
            .iter()
            .enumerate()
            .map(|(i, v)| 20.0 * v * (1.0 + 0.01 * (i % 5) as f64))
            .collect();
        let email = stopped(&checkout);
        let found = broken(obs(vec![
            ("frontend", frontend),
            ("checkout", checkout),
            ("email", email),
        ]));
        assert_eq!(found["checkout"].follower, "email");
        assert!(!found.contains_key("frontend"), "{found:?}");
    }

    #[test]
    fn traffic_falling_at_the_leader_too_is_no_break() {
        let checkout: Vec<f64> = orders()
            .iter()
            .enumerate()
            .map(|(i, v)| if i >= 15 { v * 0.1 } else { *v })
            .collect();
        let email = checkout.clone();
        let found = broken(obs(vec![("checkout", checkout), ("email", email)]));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn services_whose_traffic_never_kept_a_ratio_make_no_pair() {
        let checkout = orders();
        // Unrelated traffic: from a tenth of checkout's to twice it.
        let ads: Vec<f64> = (0..20)
            .map(|i| {
                if i >= 15 {
                    0.0
                } else {
                    0.04 + 0.06 * (i % 12) as f64
                }
            })
            .collect();
        let found = broken(obs(vec![("checkout", checkout), ("ads", ads)]));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn along_a_call_graph_followers_are_a_few_calls_away_or_unknown_to_it() {
        let graph = CallGraph::from_edges(
            [("a", "b"), ("b", "c"), ("c", "d")].map(|(f, t)| (f.to_string(), t.to_string())),
        );
        // "x" has no edge: it may be called by anyone, and leads everyone.
        let services = ["a", "b", "c", "d", "x"];
        let mut found: Vec<(&str, &str)> = pairs(&services, &graph)
            .into_iter()
            .map(|(l, f)| (services[l], services[f]))
            .collect();
        found.sort_unstable();
        assert_eq!(
            found,
            [
                ("a", "b"),
                ("a", "c"),
                ("a", "x"),
                ("b", "c"),
                ("b", "d"),
                ("b", "x"),
                ("c", "d"),
                ("c", "x"),
                ("d", "x"),
                ("x", "a"),
                ("x", "b"),
                ("x", "c"),
                ("x", "d"),
            ]
        );
        // Without a graph, every ordered pair.
        assert_eq!(pairs(&services, &CallGraph::default()).len(), 20);
    }

    #[test]
    fn the_checkout_pair_breaks_along_the_call_graph_too() {
        let checkout = orders();
        let email = stopped(&checkout);
        let obs = obs(vec![("checkout", checkout), ("email", email)]);
        let graph = CallGraph::from_edges([("checkout".to_string(), "email".to_string())]);
        let found = Rates::new(&obs, &graph).broken(SPLIT);
        assert_eq!(found["checkout"].follower, "email");
    }

    #[test]
    fn a_pair_broken_as_often_before_keeps_no_ratio() {
        let checkout = orders();
        // Confirmations stop for two minutes in five, before and after the split.
        let email: Vec<f64> = checkout
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 5 == 0 || i % 5 == 1 { 0.0 } else { *v })
            .collect();
        let found = broken(obs(vec![("checkout", checkout), ("email", email)]));
        assert!(found.is_empty(), "{found:?}");
    }
}
