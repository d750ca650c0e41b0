//! The range's two parts: the baseline, and the incident part whose start is
//! estimated here; every signal compares the second with the first.

use crate::observations::Observations;

/// The part of the range always taken as baseline: the fault starts at least this
/// long after the range start (the incident datasets promise 5 minutes; an alert's
/// default 15-minute range has it too).
pub const BASELINE_SECONDS: f64 = 300.0;

/// The part of the range's baseline just before the incident part that the log
/// comparison leaves out: the incident start is an estimate, and a fault often shows
/// in the logs a little before the alert or the question says (on the dev datasets
/// about a minute before the recorded fault start), so that minute would make the
/// baseline look like the incident.
pub(crate) const GUARD_SECONDS: f64 = 60.0;

/// How long before an alert fires its fault is taken to have begun: alerting rules
/// usually wait a minute or more (`for:`) before firing, after a scrape or two.
pub const ALERT_LEAD_SECONDS: f64 = 120.0;

/// Where the incident part begins. With an onset hint (the alert that asked for
/// the analysis fired at a known time), [`ALERT_LEAD_SECONDS`] before it; else the
/// last third of the range: a question or an alert comes while the incident is on,
/// so its range ends near the present and the change sits late in it. Never inside
/// the guaranteed baseline, never in the last minute. (Estimating the onset from the
/// median onset of the strongest metric shifts was tried and did worse: the tail of
/// an earlier incident in the same range dominates it.)
///
/// When the logs and spans end before that part begins (a source that kept only
/// some minutes, a collector that stopped), the same rule is applied to the part of
/// the range they cover instead: an incident part with nothing in it cannot show
/// anything. Not when they ended longer before it than it lasts: what they cover
/// is then an earlier time (a recording that kept only the minutes around an
/// earlier incident, logs that stopped long before the question), whose changes
/// are not this incident's, and the logs and spans are left with nothing to show.
pub fn incident_start(obs: &Observations) -> f64 {
    let split = usual_start(obs);
    match covered(obs) {
        Some((first, last))
            if last <= split && last - first >= 120.0 && !long_before(obs, split, last) =>
        {
            guess(obs, first, last)
                .min(last - 60.0)
                .max(first + (last - first) / 3.0)
        }
        _ => split,
    }
}

/// When the logs and spans ended longer before the incident part than it lasts,
/// the time the last of them was written: they show nothing of the incident (a
/// pipeline that stopped, a recording of an earlier time), which the report says.
pub(crate) fn ended_long_before(obs: &Observations) -> Option<f64> {
    let (_, last) = covered(obs)?;
    long_before(obs, usual_start(obs), last).then_some(last)
}

/// Whether `last` is longer before the incident part beginning at `split` than
/// that part lasts.
fn long_before(obs: &Observations, split: f64, last: f64) -> bool {
    split - last > obs.end - split
}

/// The incident start by the range alone (an alert's start, else its last third),
/// inside its bounds.
fn usual_start(obs: &Observations) -> f64 {
    guess(obs, obs.start, obs.end)
        .min(obs.end - 60.0)
        .max(obs.start + BASELINE_SECONDS)
}

/// The incident start of `[from, to]`: [`ALERT_LEAD_SECONDS`] before the alert's
/// start if one gave it, else the last third.
fn guess(obs: &Observations, from: f64, to: f64) -> f64 {
    obs.onset_hint
        .map_or(to - (to - from) / 3.0, |hint| hint - ALERT_LEAD_SECONDS)
}

/// The first and last log line or span inside the range, if any. Metrics are left
/// out: a range query repeats a series' last sample for minutes after it stopped.
fn covered(obs: &Observations) -> Option<(f64, f64)> {
    let times = obs
        .logs
        .iter()
        .map(|l| l.time)
        .chain(obs.spans.iter().map(|s| s.start))
        .filter(|t| (obs.start..=obs.end).contains(t));
    times.fold(None, |acc, t| match acc {
        None => Some((t, t)),
        Some((a, b)) => Some((f64::min(a, t), f64::max(b, t))),
    })
}
