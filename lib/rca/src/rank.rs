//! From per-service evidence to ranked candidates with probabilities: combine the
//! sources, discount callers whose symptoms a callee explains, calibrate.

use std::collections::BTreeMap;

use super::catalog::Kind;
use super::change::{CLEAR_SHIFT, ServiceChange};
use super::chronic;
use super::echo;
use super::graph::CallGraph;
use super::invariants;
use super::observations::Observations;
use super::onset;
use super::resolution;
use super::settings::{Onset, Settings};
use super::signals::{self, MetricOptions};
use super::stats;
use super::traffic;
use super::window;

/// One ranked service.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The service.
    pub service: String,
    /// Combined evidence after the call-graph discount.
    pub score: f64,
    /// Probability that it is the root cause.
    pub probability: f64,
    /// The evidence.
    pub change: ServiceChange,
    /// The anomalous callee that explains part of its symptoms, if any.
    pub explained_by: Option<String>,
    /// The node of its requests from untraced clients (X-Ray's `<name>_client`)
    /// when that departed more than it did and its score is taken for the
    /// service's own ([`Settings::client_view_merge`]).
    pub seen_by: Option<String>,
}

/// The ranking of one range.
#[derive(Debug, Clone)]
pub struct Ranking {
    /// Candidates, most likely first (every service with any evidence).
    pub candidates: Vec<Candidate>,
    /// Probability left for "none of these" (nothing stands out, or something unseen).
    pub unknown: f64,
    /// Where the incident part of the range was taken to begin, unix seconds.
    pub incident_start: f64,
    /// Services whose latency rose with the first candidate's, with nothing to tell
    /// which of them is the origin and which its echoes (metrics only, no call
    /// graph): their probability is shared evenly. Empty when the ranking can tell.
    pub origin_unresolved: Vec<String>,
}

impl Ranking {
    /// The candidate for `service`, if it has any evidence.
    pub fn candidate(&self, service: &str) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.service == service)
    }
}

const LOG_WEIGHT: f64 = 1.0;
const TRACE_WEIGHT: f64 = 0.5;
const MENTION_WEIGHT: f64 = 1.0;
const DRIFT_WEIGHT: f64 = 2.0;
const INVARIANT_WEIGHT: f64 = 1.5;
/// A traffic invariant it leads that broke ([`traffic`]): on the dev cases 1 to 3
/// all put the two checkout faults that show nowhere else in the top 3, 2 and more
/// also first; 2 weighs it as a drifted log mix, the other evidence of a changed
/// code path.
const TRAFFIC_INVARIANT_WEIGHT: f64 = 2.0;

/// How far either side of the estimated incident start the evidence is also read.
/// The start is a guess (the range's last third, or an alert's time less a lead), and
/// what a log or span comparison shows moves with it: half a minute too early puts
/// healthy minutes in the incident part, too late puts the fault's first minute in
/// the baseline. Averaging the scores over the guess and half a minute either side
/// costs one case of 52 on the dev datasets' own ranges (whose guess is exact) and
/// wins 4 to 5 where the fault sits elsewhere in the range (docs/evaluation-history.md,
/// "Ranges cut elsewhere").
const START_UNCERTAINTY_SECONDS: f64 = 30.0;

/// Ranks every service in `obs` with the default [`Settings`].
pub fn rank(obs: &Observations) -> Ranking {
    rank_with(obs, &Settings::default())
}

/// Ranks every service in `obs`: the ranking at the estimated incident start, its
/// scores averaged with those half a minute either side
/// (half a minute). The evidence shown is the estimate's own.
pub fn rank_with(obs: &Observations, settings: &Settings) -> Ranking {
    // The metrics at their own resolution (see `resolution`); the rest as fetched.
    let thinned;
    let (obs, step) = match resolution::native(obs) {
        (Some(metrics), step) => {
            thinned = Observations {
                metrics,
                ..obs.clone()
            };
            (&thinned, step)
        }
        (None, step) => (obs, step),
    };
    let dropped;
    let obs = if settings.logs && settings.traces {
        obs
    } else {
        dropped = Observations {
            logs: if settings.logs {
                obs.logs.clone()
            } else {
                Vec::new()
            },
            spans: if settings.traces {
                obs.spans.clone()
            } else {
                Vec::new()
            },
            ..obs.clone()
        };
        &dropped
    };
    // Only when a setting asks for it and no alert says when the incident began.
    let wanted =
        settings.onset == Onset::ChangePoint || settings.metric_onset == Onset::ChangePoint;
    let change_point = (wanted && obs.onset_hint.is_none())
        .then(|| onset::change_point(&obs.metrics, obs.start, obs.end, step))
        .flatten();
    let guess = match (settings.onset, change_point) {
        (Onset::ChangePoint, Some(t)) => t,
        _ => window::incident_start(obs),
    };
    let metric_onset = match (settings.metric_onset, change_point) {
        (Onset::ChangePoint, Some(t)) => t,
        _ => guess,
    };
    let graph = if settings.call_graph {
        CallGraph::of(obs)
    } else {
        CallGraph::default()
    };
    let context = Context {
        obs,
        settings,
        step,
        requests: requests_per_sample(obs, step),
        templates: signals::templates(obs),
        namer: signals::Namer::new(obs),
        rates: traffic::Rates::new(obs, &graph),
        client_views: if settings.client_view_merge {
            client_views(&graph)
        } else {
            BTreeMap::new()
        },
        graph,
        spans: signals::SpanTree::new(obs),
        // At the estimated start only: half a minute either side moves nothing
        // at the long history's 5-minute step.
        ordinary: (settings.chronic && !obs.ordinary.is_empty())
            .then(|| chronic::ordinary_shares(&obs.ordinary, &obs.metrics, guess, obs.end)),
        metric_lead: metric_onset - guess,
    };
    // Kept inside the bounds the guess keeps (the guaranteed baseline, the last
    // minute): a side that would cross one is read at the bound.
    let earliest = (obs.start + window::BASELINE_SECONDS).min(guess);
    let latest = (obs.end - 60.0).max(guess);
    let others: Vec<f64> = [-START_UNCERTAINTY_SECONDS, START_UNCERTAINTY_SECONDS]
        .into_iter()
        .map(|d| (guess + d).clamp(earliest, latest))
        .collect();
    // The three are independent and CPU-bound: one thread each.
    let (central, around) = std::thread::scope(|scope| {
        let around: Vec<_> = others
            .iter()
            .map(|split| scope.spawn(|| candidates_at(&context, *split)))
            .collect();
        let central = candidates_at(&context, guess);
        let around: Vec<Vec<Candidate>> = around
            .into_iter()
            .map(|h| h.join().expect("ranking thread panicked"))
            .collect();
        (central, around)
    });
    let mut candidates = average(central, around);
    sort(&mut candidates);
    let unknown = calibrate(&mut candidates, settings);
    let origin_unresolved = if context.graph.is_empty() {
        spread_unresolved_origin(&mut candidates, HOLD_SECONDS.max(step))
    } else {
        Vec::new()
    };
    Ranking {
        candidates,
        unknown,
        incident_start: guess,
        origin_unresolved,
    }
}

/// Evidence other than metrics below which a candidate's case rests on its metrics.
const OTHER_EVIDENCE_FLOOR: f64 = 0.1;

/// When the latency of a caller of the origin begins rising with it, at least this
/// share of the first candidate's score keeps it a contender for the origin.
const UNRESOLVED_SHARE: f64 = 0.5;

/// The onset of `c`'s latency rise when that is its whole case: its strongest metric
/// departure is a latency one (its own, its calls', or its callers' view of it), clear,
/// and nothing but metrics speaks for it.
fn latency_led(c: &Candidate) -> Option<f64> {
    let ch = &c.change;
    let other = ch.logs.as_ref().map_or(0.0, |l| l.score())
        + ch.drift.as_ref().map_or(0.0, |d| d.score())
        + ch.traces.as_ref().map_or(0.0, |t| t.score())
        + ch.mentions.as_ref().map_or(0.0, |m| m.score())
        + ch.invariant.as_ref().map_or(0.0, |i| i.score())
        + ch.traffic.as_ref().map_or(0.0, |t| t.score());
    let strongest = ch
        .metrics
        .iter()
        .max_by(|a, b| a.score().total_cmp(&b.score()))?;
    let latency = matches!(
        strongest.signal.kind,
        Kind::Latency | Kind::ClientLatency | Kind::CallerLatency
    );
    (latency && strongest.score() >= CLEAR_SHIFT && other < OTHER_EVIDENCE_FLOOR)
        .then_some(strongest.shift.onset)
}

/// With no call graph, a latency fault slows the origin and every caller up its
/// chain in the same sample or the next, and metrics alone cannot say which is which:
/// the deepest rise is not known, and an echo can rise more than its origin (a
/// caller that retries). So when the first candidate's case is a latency rise alone,
/// the leading candidates whose latency rise alone began within `window` seconds of
/// it and that score at least [`UNRESOLVED_SHARE`] of it share their probability
/// evenly; their order is kept. Returns them, first candidate first (empty when it does not apply).
fn spread_unresolved_origin(candidates: &mut [Candidate], window: f64) -> Vec<String> {
    let Some(top) = candidates.first() else {
        return Vec::new();
    };
    let (Some(began), top_score) = (latency_led(top), top.score) else {
        return Vec::new();
    };
    // The leading run only, so the probabilities still fall down the order.
    let members: Vec<usize> = candidates
        .iter()
        .enumerate()
        .take_while(|(_, c)| {
            c.score >= UNRESOLVED_SHARE * top_score
                && latency_led(c).is_some_and(|t| (t - began).abs() <= window)
        })
        .map(|(i, _)| i)
        .collect();
    if members.len() < 2 {
        return Vec::new();
    }
    let shared = members
        .iter()
        .map(|i| candidates[*i].probability)
        .sum::<f64>()
        / members.len() as f64;
    for i in &members {
        candidates[*i].probability = shared;
    }
    members
        .iter()
        .map(|i| candidates[*i].service.clone())
        .collect()
}

/// `central`, each candidate's score averaged over it and `around` (a service missing
/// from one of them scores 0 there); a candidate's evidence is the first one found,
/// `central`'s when it has it.
fn average(central: Vec<Candidate>, around: Vec<Vec<Candidate>>) -> Vec<Candidate> {
    let n = 1 + around.len();
    let mut by_service: BTreeMap<String, (f64, Candidate)> = BTreeMap::new();
    for candidates in std::iter::once(central).chain(around) {
        for c in candidates {
            by_service
                .entry(c.service.clone())
                .or_insert_with(|| (0.0, c.clone()))
                .0 += c.score;
        }
    }
    by_service
        .into_values()
        .map(|(sum, mut c)| {
            c.score = sum / n as f64;
            c
        })
        .collect()
}

fn sort(candidates: &mut [Candidate]) {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.service.cmp(&b.service)));
}

/// What every ranking of one range shares.
struct Context<'a> {
    obs: &'a Observations,
    settings: &'a Settings,
    /// The metrics' own resolution, seconds.
    step: f64,
    /// Requests each metric sample summarises, per service that has a request rate.
    requests: BTreeMap<String, f64>,
    /// The log lines grouped once for every source and incident start.
    templates: signals::LogLines,
    /// The services a log line can name, for the mentions.
    namer: signals::Namer,
    rates: traffic::Rates<'a>,
    /// The call graph, empty when [`Settings::call_graph`] is off.
    graph: CallGraph,
    /// Per service, its X-Ray client nodes ([`client_views`]), empty when
    /// [`Settings::client_view_merge`] is off.
    client_views: BTreeMap<String, Vec<String>>,
    /// The spans' parent-child links.
    spans: signals::SpanTree,
    /// Per (signal, service), how ordinary the incident's departure is
    /// (`chronic`), when [`Settings::chronic`] and the long history allow.
    ordinary: Option<BTreeMap<(String, String), f64>>,
    /// How far the metrics' own onset is after the incident start.
    metric_lead: f64,
}

/// The requests per metric sample of every service with a traffic signal: the median
/// over the range of its largest request rate, times the step.
fn requests_per_sample(obs: &Observations, step: f64) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for metric in obs
        .metrics
        .iter()
        .filter(|m| m.signal.kind == Kind::Traffic)
    {
        for (service, points) in &metric.series {
            let mut inside: Vec<f64> = points
                .iter()
                .filter(|(t, v)| (obs.start..=obs.end).contains(t) && v.is_finite())
                .map(|p| p.1)
                .collect();
            if inside.is_empty() {
                continue;
            }
            let n = stats::median(&mut inside) * step;
            let e = out.entry(service.clone()).or_default();
            *e = e.max(n);
        }
    }
    out
}

/// Whether a service-map node is what its callers measured of another rather than a
/// service's own numbers: AWS X-Ray names the remote end of a call it could not
/// trace `<host>_remote` and the calling side of a client `<name>_client`, and draws
/// the AWS resources a traced service calls through the AWS SDK (a DynamoDB table,
/// an S3 bucket, an SQS queue, SNS, SSM, ...) and the SQL databases it queries as
/// nodes of their own, `<name>_<type>`, inferred from the caller's subsegments
/// (any AWS type but the compute that traces itself). Their latency and errors are another service's seen
/// from outside (a caller slow to send or read its calls slows them too), so they
/// weigh [`Settings::client_view_weight`] as candidates and as callees.
pub fn is_client_view(service: &str) -> bool {
    service.ends_with("_remote") || service.ends_with("_client") || is_inferred_resource(service)
}

/// What `service` weighs as a candidate and as a callee:
/// [`Settings::client_view_weight`] for a caller's view of another
/// ([`is_client_view`]), else 1.
pub(crate) fn view_weight(service: &str, settings: &Settings) -> f64 {
    if is_client_view(service) {
        settings.client_view_weight
    } else {
        1.0
    }
}

/// Whether an X-Ray service-map node `<name>_<type>` is a resource inferred from
/// its caller's subsegments: a SQL database, or an AWS type other than the compute
/// that runs an X-Ray SDK or traces itself (ECS, EC2, EKS, Elastic Beanstalk, Lambda,
/// App Runner, API Gateway stages, AppSync and Step Functions state machines).
fn is_inferred_resource(service: &str) -> bool {
    const TRACED: [&str; 9] = [
        "AWS::ECS::",
        "AWS::EC2::",
        "AWS::EKS::",
        "AWS::ElasticBeanstalk::",
        "AWS::Lambda",
        "AWS::AppRunner::",
        "AWS::ApiGateway::",
        "AWS::AppSync::",
        "AWS::StepFunctions::StateMachine",
    ];
    let Some((_, kind)) = service.rsplit_once('_') else {
        return false;
    };
    kind == "Database::SQL"
        || (kind.starts_with("AWS::") && !TRACED.iter().any(|t| kind.starts_with(t)))
}

/// Every service's candidate, scored with the incident part starting at `split`
/// (neither sorted nor calibrated).
fn candidates_at(context: &Context, split: f64) -> Vec<Candidate> {
    let Context {
        obs,
        settings,
        templates,
        rates,
        graph,
        client_views,
        ..
    } = context;
    let metrics = signals::metric_changes(obs, &metric_options(context, split));
    let mut logs = signals::log_changes(obs, templates, split, settings.chronic_logs);
    let traces = signals::trace_changes(obs, &context.spans, split, settings.span_counts);
    let mentions = signals::mentions(obs, templates, &context.namer, split, &mut logs);
    let drift = signals::log_drift(
        obs,
        templates,
        split,
        settings.chronic_logs,
        settings.drift_counts,
    );
    let invariants = invariants::broken(
        obs,
        templates,
        split,
        settings.chronic_logs,
        settings.invariant_minutes,
    );
    let traffic = if settings.traffic_invariants {
        rates.broken(split)
    } else {
        BTreeMap::new()
    };

    let mut changes: BTreeMap<String, ServiceChange> = BTreeMap::new();
    for (service, m) in metrics {
        changes.entry(service).or_default().metrics = m;
    }
    for (service, l) in logs {
        changes.entry(service).or_default().logs = Some(l);
    }
    for (service, t) in traces {
        changes.entry(service).or_default().traces = Some(t);
    }
    for (service, m) in mentions {
        changes.entry(service).or_default().mentions = Some(m);
    }
    for (service, d) in drift {
        changes.entry(service).or_default().drift = Some(d);
    }
    for (service, i) in invariants {
        changes.entry(service).or_default().invariant = Some(i);
    }
    for (service, t) in traffic {
        changes.entry(service).or_default().traffic = Some(t);
    }
    if !settings.network_delay {
        for t in changes.values_mut().filter_map(|c| c.traces.as_mut()) {
            t.network = 0.0;
        }
    }
    if settings.latency_origin {
        echo::mark_echoes(&mut changes, graph, settings);
    }
    let raw: BTreeMap<&str, f64> = changes
        .iter()
        .map(|(s, c)| (s.as_str(), combined(c, settings, c.metric_score())))
        .collect();
    // What of a callee's score its callers would show: not its traffic.
    let passed_up: BTreeMap<&str, f64> = changes
        .iter()
        .map(|(s, c)| {
            (
                s.as_str(),
                combined(c, settings, c.propagating_metric_score()),
            )
        })
        .collect();
    let view = |service: &str| view_weight(service, settings);

    let earliest = changes
        .values()
        .filter_map(ServiceChange::onset)
        .min_by(f64::total_cmp);

    changes
        .iter()
        .map(|(service, change)| {
            // The stronger of its own evidence and that of its requests from
            // untraced clients, which it measured itself; unless its latency is a
            // callee's echo, which theirs is too.
            let (own, seen_by) = client_views
                .get(service.as_str())
                .filter(|_| change.latency_echo.is_none())
                .into_iter()
                .flatten()
                .filter_map(|v| Some((*raw.get(v.as_str())?, Some(v.clone()))))
                .fold((raw[service.as_str()], None), |best, v| {
                    if v.0 > best.0 { v } else { best }
                });
            let worst_callee = graph
                .callees(service)
                .filter_map(|c| passed_up.get(c).map(|s| (c, *s * view(c))))
                .max_by(|a, b| a.1.total_cmp(&b.1));

            let mut score = own;
            let mut explained_by = None;
            // A code path of its own that stopped half way (its logs, or the calls
            // its requests make) is neither a callee's echo nor a reported failure
            // of another: it is added after both discounts (and takes nothing off
            // its callers). Inside them the log invariants did worse on every layout
            // of the dev cases.
            let broken = INVARIANT_WEIGHT * change.invariant.as_ref().map_or(0.0, |i| i.score())
                + TRAFFIC_INVARIANT_WEIGHT * change.traffic.as_ref().map_or(0.0, |t| t.score());
            if let Some((callee, s)) = worst_callee {
                score -= settings.callee_discount * s.min(own);
                if s >= 0.5 * own && s > 0.3 {
                    explained_by = Some(callee.to_string());
                }
            }
            if explained_by.is_none() {
                explained_by = change
                    .logs
                    .as_ref()
                    .and_then(|l| l.blame.as_ref())
                    .filter(|b| b.share >= 0.5)
                    .map(|b| b.service.clone());
            }
            // The earliest shift is a hint: a cause moves before its effects.
            if let (Some(first), Some(mine)) = (earliest, change.onset())
                && mine <= first + 60.0
            {
                score += 0.1;
            }
            Candidate {
                service: service.clone(),
                score: (score + broken) * view(service),
                probability: 0.0,
                change: change.clone(),
                explained_by,
                seen_by,
            }
        })
        .collect()
}

/// Per service, the X-Ray `<name>_client` nodes whose one callee it is. X-Ray draws
/// the requests a traced service receives from callers it cannot trace (users, a
/// load generator) as a client node calling it, and the edge's latency and errors
/// come from the service's own segments: the node's departures are that service's,
/// over part of its requests, and often clearer than over all of them.
fn client_views(graph: &CallGraph) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (from, to) in graph.edges() {
        if from.ends_with("_client") && graph.callees(from).nth(1).is_none() {
            out.entry(to.to_string())
                .or_default()
                .push(from.to_string());
        }
    }
    out
}

/// How the metric departures are measured with the incident part at `split`.
fn metric_options<'a>(context: &'a Context, split: f64) -> MetricOptions<'a> {
    MetricOptions {
        from: context.obs.start + window::BASELINE_SECONDS,
        hold: resolution::samples(HOLD_SECONDS, context.step),
        // Less one sample: a sample stamped less than a step before the incident part
        // may sum up a period that reaches into it (CloudWatch stamps a period with
        // its start), and taken as baseline it hides the very rise it holds.
        baseline_until: context
            .settings
            .baseline_level
            .then_some(split + context.metric_lead - context.step),
        requests: context.settings.count_noise.then_some(&context.requests),
        ordinary: context.ordinary.as_ref(),
        sole_weight: context.settings.sole_signal_weight,
    }
}

/// How long a metric departure must last: two samples a minute apart (a lone sample
/// of a sparse series jumps by itself), or one sample of a coarser series.
const HOLD_SECONDS: f64 = 120.0;

/// The evidence of all sources in one number.
///
/// What a service logs counts less by the share of its new errors that name another
/// service: that share is the named service's evidence (its mentions), not its own
/// ("No instances available for X" says which callee failed), and the lines it
/// stopped writing are that failure's too. Its own metrics and spans still count
/// fully. `metrics` is the metric part to count.
fn combined(c: &ServiceChange, settings: &Settings, metrics: f64) -> f64 {
    // A network delay in front of the service, from its callers' spans and from
    // both sides' latency metrics.
    let network = if settings.network_delay {
        c.network_from_metrics().min(3.0) + c.traces.as_ref().map_or(0.0, |t| t.network_score())
    } else {
        0.0
    };
    let blames = c
        .logs
        .as_ref()
        .and_then(|l| l.blame.as_ref())
        .map_or(0.0, |b| b.share);
    let logged = LOG_WEIGHT * c.logs.as_ref().map_or(0.0, |l| l.score())
        + DRIFT_WEIGHT * c.drift.as_ref().map_or(0.0, |d| d.score());
    settings.metric_weight * metrics
        + (1.0 - blames) * logged
        + TRACE_WEIGHT * c.traces.as_ref().map_or(0.0, |t| t.own_score())
        + settings.network_weight * network
        + MENTION_WEIGHT * c.mentions.as_ref().map_or(0.0, |m| m.score())
}

/// Probabilities from the scores ([`probabilities`]). Returns the mass left on
/// "unknown".
fn calibrate(candidates: &mut [Candidate], settings: &Settings) -> f64 {
    let scores: Vec<f64> = candidates.iter().map(|c| c.score).collect();
    let (p, unknown) = probabilities(&scores, settings);
    for (c, p) in candidates.iter_mut().zip(p) {
        c.probability = p;
    }
    unknown
}

/// The score below which scores are calibrated as they are rather than relative to
/// the top one: half a clear departure of one signal.
const SCALE_FLOOR: f64 = 0.5;

/// Probabilities from candidates' scores, each taken as a share of the top score (or
/// of `SCALE_FLOOR` (0.5) when the top is below it): each weighs `exp(share / T) - 1`, so
/// no evidence weighs nothing, and an "unknown" pseudo-candidate weighs as a
/// candidate of [`Settings::unknown_score`] would, once per candidate's square root
/// (at least 3): weak or flat evidence leaves most of the mass on "unknown", one
/// clear lead takes most of it. Returns each candidate's probability, in order, and
/// the mass left on "unknown".
pub fn probabilities(scores: &[f64], settings: &Settings) -> (Vec<f64>, f64) {
    // Relative to the top score: a system whose evidence is all metrics scores a
    // tenth of one with logs and spans, and the same temperature made the first flat
    // and the second overconfident. Scores below the floor stay on its scale, so
    // weak evidence still leaves the mass on "unknown".
    let scale = scores.iter().copied().fold(SCALE_FLOOR, f64::max);
    let (unknown_score, temperature) = (settings.unknown_score / scale, settings.temperature);
    let top = scores
        .iter()
        .map(|s| s / scale)
        .fold(unknown_score, f64::max);
    let weight = |s: f64| {
        let s = s.max(0.0) / scale;
        ((s - top) / temperature).exp() - (-top / temperature).exp()
    };
    let unknown_weight = weight(settings.unknown_score) * (scores.len().max(3) as f64).sqrt();
    let total: f64 = scores.iter().map(|s| weight(*s)).sum::<f64>() + unknown_weight;
    (
        scores.iter().map(|s| weight(*s) / total).collect(),
        unknown_weight / total,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(scores: &[(&str, f64)], split: f64) -> Vec<Candidate> {
        scores
            .iter()
            .map(|(service, score)| Candidate {
                service: service.to_string(),
                score: *score,
                probability: 0.0,
                change: ServiceChange::default(),
                explained_by: Some(format!("seen at {split}")),
                seen_by: None,
            })
            .collect()
    }

    #[test]
    fn scores_are_averaged_over_the_starts_and_the_estimate_keeps_its_evidence() {
        let central = candidates(&[("sudden", 2.4), ("steady", 1.5)], 600.0);
        // Half a minute either side, "sudden" shows nothing: its change is an
        // artefact of where the incident part starts.
        let around = vec![
            candidates(&[("steady", 1.5)], 570.0),
            candidates(&[("steady", 1.2), ("late", 0.9)], 630.0),
        ];
        let mut averaged = average(central, around);
        sort(&mut averaged);
        let scores: Vec<(&str, f64)> = averaged
            .iter()
            .map(|c| (c.service.as_str(), (c.score * 100.0).round() / 100.0))
            .collect();
        assert_eq!(scores, [("steady", 1.4), ("sudden", 0.8), ("late", 0.3)]);
        assert_eq!(averaged[0].explained_by.as_deref(), Some("seen at 600"));
        assert_eq!(averaged[2].explained_by.as_deref(), Some("seen at 630"));
    }
}
