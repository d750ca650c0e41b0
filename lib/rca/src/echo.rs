//! Latency that travels: which services' latency rise (or error rise) is another's
//! echo. In a latency fault every caller up the chain slows too, and the origin is the
//! deepest service whose latency rose while its callees' did not; a delay on the wire
//! in front of a callee slows its callers while its own latency stays; and a caller's
//! view of a host it could not trace slows, and fails, with the traced service behind
//! it.

use std::collections::BTreeMap;

use crate::change::{CLEAR_SHIFT, ServiceChange};
use crate::graph::CallGraph;
use crate::rank::{is_client_view, view_weight};
use crate::settings::Settings;

/// Share of a caller's latency rise a callee's must reach for the caller's to be
/// its echo: the share at which a callee is named as explaining a caller.
const LATENCY_ECHO_SHARE: f64 = 0.5;

/// A network delay in front of a callee (the log ratio of the time calls to it
/// spend outside its spans, or of its callers' view of its latency over its own)
/// from which its callers' latency rise is its echo: the time on the wire doubled.
const NETWORK_ECHO: f64 = std::f64::consts::LN_2;

/// Marks every service whose latency rise another's explains
/// ([`ServiceChange::latency_echo`]), each judged on the rises before any is marked,
/// so a whole chain of echoes is found at once: a callee's rise ([`Rises::callee`]),
/// else a network delay in front of a callee ([`Rises::wire`]), else, for a caller's
/// view of a host it could not trace, the traced service behind it
/// ([`Rises::behind`]). A caller's view of a host also fails with the service behind
/// it ([`ServiceChange::error_echo`]). Only a clear rise of its own can be an echo.
pub(crate) fn mark_echoes(
    changes: &mut BTreeMap<String, ServiceChange>,
    graph: &CallGraph,
    settings: &Settings,
) {
    let rises = Rises::new(changes, graph, settings);
    for (service, change) in changes.iter_mut() {
        if let Some((own, began)) = clear(rises.latency[service]) {
            change.latency_echo = rises
                .callee(service, own, began)
                .or_else(|| rises.wire(service))
                .or_else(|| rises.behind(service, began, &rises.latency))
                .map(str::to_string);
        }
        if let Some((_, began)) = clear(rises.errors[service]) {
            change.error_echo = rises
                .behind(service, began, &rises.errors)
                .map(str::to_string);
        }
    }
}

/// A rise and when it began, when it is clear.
fn clear((rise, began): (f64, Option<f64>)) -> Option<(f64, f64)> {
    began.filter(|_| rise >= CLEAR_SHIFT).map(|t| (rise, t))
}

/// What every service's rise was, before any echo is marked.
struct Rises<'a> {
    graph: &'a CallGraph,
    settings: &'a Settings,
    /// Per service, its latency rise and when the clear part of it began
    /// ([`ServiceChange::latency_rise`]).
    latency: BTreeMap<String, (f64, Option<f64>)>,
    /// Per service, its error rise, likewise ([`ServiceChange::error_rise`]).
    errors: BTreeMap<String, (f64, Option<f64>)>,
    /// Per service, the network delay in front of it, from spans or metrics.
    wire: BTreeMap<String, f64>,
}

impl<'a> Rises<'a> {
    fn new(
        changes: &BTreeMap<String, ServiceChange>,
        graph: &'a CallGraph,
        settings: &'a Settings,
    ) -> Self {
        Self {
            graph,
            settings,
            latency: changes
                .iter()
                .map(|(s, c)| (s.clone(), c.latency_rise()))
                .collect(),
            errors: changes
                .iter()
                .map(|(s, c)| (s.clone(), c.error_rise()))
                .collect(),
            wire: changes
                .iter()
                .map(|(s, c)| {
                    let spans = c.traces.as_ref().map_or(0.0, |t| t.network);
                    (s.clone(), spans.max(c.network_from_metrics()))
                })
                .collect(),
        }
    }

    /// The callee of `service` whose latency rose at least [`LATENCY_ECHO_SHARE`] of
    /// `own` and clearly, and began rising before `began`: an echo comes after its
    /// origin, never before, so a callee whose latency began rising later is not
    /// where the caller's came from. A callee weighs here as it does as a callee
    /// anywhere ([`view_weight`]).
    fn callee(&self, service: &str, own: f64, began: f64) -> Option<&'a str> {
        self.graph
            .callees(service)
            .filter_map(|c| {
                let (rise, onset) = self.latency.get(c)?;
                (onset.is_some_and(|t| t < began))
                    .then_some((c, rise * view_weight(c, self.settings)))
            })
            .filter(|(_, r)| *r >= CLEAR_SHIFT && *r >= LATENCY_ECHO_SHARE * own)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(c, _)| c)
    }

    /// The callee of `service` with a network delay in front of it
    /// ([`NETWORK_ECHO`], when [`Settings::network_delay`]): its callers wait on the
    /// wire, and their latency rises while its own does not. That needs no order in
    /// time: the delay is measured on the calls between them.
    fn wire(&self, service: &str) -> Option<&'a str> {
        if !self.settings.network_delay {
            return None;
        }
        self.graph
            .callees(service)
            .filter_map(|c| Some((c, *self.wire.get(c)?)))
            .filter(|(_, w)| *w >= NETWORK_ECHO)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(c, _)| c)
    }

    /// When `service` is a caller's view of a host it could not trace (X-Ray's
    /// `<load balancer>_remote`, which has no callees), the traced service behind
    /// it: a traced callee of the same callers whose own rise in `rises` (latency or
    /// errors) is clear and began no later than `began`. Not one that calls the host
    /// itself: that one's rise may be the host's echo. (PetShop's search load
    /// balancer was the runner-up in 14 of its 20 dev cases.)
    fn behind(
        &self,
        service: &str,
        began: f64,
        rises: &BTreeMap<String, (f64, Option<f64>)>,
    ) -> Option<&'a str> {
        if !is_client_view(service) {
            return None;
        }
        let calls_it = |t: &str| self.graph.callees(t).any(|c| c == service);
        self.graph
            .callers(service)
            .flat_map(|caller| self.graph.callees(caller))
            .filter(|t| *t != service && !is_client_view(t) && !calls_it(t))
            .filter_map(|t| {
                let (rise, onset) = clear(*rises.get(t)?)?;
                (onset <= began).then_some((t, rise))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(t, _)| t)
    }
}
