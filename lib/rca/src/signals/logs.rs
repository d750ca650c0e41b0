//! Error logs: templates that surge or appear in the incident part, measured against
//! each service's own line rate, and the change in the mix of what a service logs.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::drift::MIN_HISTORY_MINUTES;
use crate::null;
use crate::observations::Observations;
use crate::stats;
use crate::template;
use crate::window::GUARD_SECONDS;
use aegis_tools::logline::{self, Severity};

/// Weight of a change in the mix of a service's log templates.
const LOG_MIX_WEIGHT: f64 = 1.0;

/// Lines each part needs before its template mix is compared.
const MIN_LINES_FOR_MIX: usize = 5;

/// What a service's error logs show.
#[derive(Debug, Clone, Default)]
pub struct LogChange {
    /// Rise of error and warning templates, in per-minute rate units scaled by the
    /// baseline's Poisson noise, summed over templates.
    pub surge: f64,
    /// Error or warning templates that the baseline part does not have.
    pub new_templates: usize,
    /// Error and warning lines in the incident part.
    pub incident_errors: usize,
    /// Error and warning lines in the baseline part.
    pub baseline_errors: usize,
    /// The templates that rose most: (template, count in the incident part, a line).
    pub top: Vec<(String, usize, String)>,
    /// Every template that rose: (its rise, the template's id in `signals::LogLines`).
    pub rising: Vec<(f64, u32)>,
    /// How much the mix of all its templates (any level) changed: the symmetric
    /// Kullback-Leibler divergence of the two parts' template frequencies. A service
    /// whose code path changed logs different lines, errors or not.
    pub mix_shift: f64,
    /// Whether its rising errors name other services; set by [`crate::Mentions`]'s search (`signals::mentions`).
    pub blame: Option<Blame>,
    /// The share of ordinary windows of its log history (as many minutes as the
    /// incident part) whose warnings and errors rose as far above the rest of the
    /// history (`crate::null`): a service whose warnings come and go with every
    /// batch is a chronic suspect. `None` with too little history, or nothing rising.
    pub ordinary: Option<f64>,
    /// The same for [`Self::mix_shift`]: the share of ordinary windows whose mix
    /// departed as far from the rest of the history (a service whose mix swings with
    /// every change of the load). `None` with too little history, or no shift.
    pub mix_ordinary: Option<f64>,
}

impl LogChange {
    /// Its weight as evidence: the rise of its warnings and errors and the change of
    /// its mix, each less the share of ordinary windows that departed as far.
    pub fn score(&self) -> f64 {
        let errors = (self.surge / 5.0).min(2.0) + 0.3 * (self.new_templates.min(3) as f64);
        errors * (1.0 - self.ordinary.unwrap_or(0.0))
            + LOG_MIX_WEIGHT * self.mix_shift.min(2.0) * (1.0 - self.mix_ordinary.unwrap_or(0.0))
    }
}

/// A service's rising errors that name another service ("No instances available for
/// ts-payment-service"): a service that reports a callee's failure is its victim,
/// not its cause.
#[derive(Debug, Clone, PartialEq)]
pub struct Blame {
    /// Share of the rise of its error templates whose lines name another service.
    pub share: f64,
    /// The service they name most.
    pub service: String,
}

/// The log lines of a range read once per ranking, for each of its incident starts
/// and every log source ([`log_changes`], [`crate::signals::log_drift`],
/// [`crate::invariants::broken`]): each line's template as a small id, and each
/// service's lines. A large range has hundreds of thousands of lines; grouping and
/// hashing them by their texts again for every source and start cost more than the
/// comparisons themselves.
#[derive(Debug, Clone, Default)]
pub struct LogLines {
    /// Template texts by id, in the order of their texts (so ids sort as texts do).
    pub templates: Vec<String>,
    /// Per line of [`Observations::logs`], its template id.
    pub template_of: Vec<u32>,
    /// Per template id, the severity of its first line (a template keeps its line's
    /// level word).
    pub severity: Vec<Severity>,
    /// Each service that logged, by name, with the indices of its lines in
    /// [`Observations::logs`] (in their order).
    pub by_service: Vec<(String, Vec<usize>)>,
}

impl LogLines {
    /// The template text of id `t`.
    pub fn text(&self, t: u32) -> &str {
        &self.templates[t as usize]
    }
}

/// Every log line's template ([`template::template`]) and every service's lines:
/// computed once for [`log_changes`], [`crate::signals::log_drift`] and
/// [`crate::invariants::broken`].
pub fn templates(obs: &Observations) -> LogLines {
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut first_severity: Vec<Severity> = Vec::new();
    let mut template_of: Vec<u32> = obs
        .logs
        .iter()
        .map(|l| {
            let t = template::template(&l.line);
            let next = ids.len() as u32;
            *ids.entry(t).or_insert_with(|| {
                first_severity.push(logline::severity(&l.line));
                next
            })
        })
        .collect();
    let mut texts: Vec<(String, u32)> = ids.into_iter().collect();
    texts.sort();
    let mut sorted_id = vec![0u32; texts.len()];
    for (rank, (_, id)) in texts.iter().enumerate() {
        sorted_id[*id as usize] = rank as u32;
    }
    for t in &mut template_of {
        *t = sorted_id[*t as usize];
    }
    let mut severity = vec![Severity::Info; texts.len()];
    for (id, s) in first_severity.into_iter().enumerate() {
        severity[sorted_id[id] as usize] = s;
    }
    let mut by_service: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, l) in obs.logs.iter().enumerate() {
        by_service.entry(l.service.as_str()).or_default().push(i);
    }
    LogLines {
        templates: texts.into_iter().map(|(t, _)| t).collect(),
        template_of,
        severity,
        by_service: by_service
            .into_iter()
            .map(|(s, lines)| (s.to_string(), lines))
            .collect(),
    }
}

/// Log changes per service, splitting the range at `split`: error and warning
/// templates that rose, and how much the mix of all templates changed. `lines` are
/// the range's lines grouped once ([`templates`]). With `with_null`, the rise and the
/// mix shift are also weighed against the service's own ordinary windows
/// ([`LogChange::ordinary`], [`LogChange::mix_ordinary`]).
pub fn log_changes(
    obs: &Observations,
    lines: &LogLines,
    split: f64,
    with_null: bool,
) -> BTreeMap<String, LogChange> {
    /// Per template: (count, severity, one line).
    type Counts<'a> = HashMap<u32, (usize, Severity, &'a str)>;
    // The history before the range is for [`log_drift`]; here the range's own
    // baseline part, less the guard before the split, is compared with its incident
    // part. When the guard holds most of the baseline (a source that kept only the
    // minutes around the incident), it stays in: a baseline of a few seconds would
    // make every line look new or surging.
    let guard_from = split - GUARD_SECONDS;
    let (mut before_guard, mut in_guard) = (0usize, 0usize);
    for l in &obs.logs {
        before_guard += usize::from((obs.start..guard_from).contains(&l.time));
        in_guard += usize::from((guard_from..split).contains(&l.time));
    }
    let guard_from = if 2 * before_guard >= in_guard.max(1) {
        guard_from
    } else {
        split
    };
    // Which part a line is in (`None`: before the range, or in the guard), and its
    // minute of the range.
    let part = |time: f64| {
        (time >= obs.start && !(guard_from..split).contains(&time)).then(|| {
            (
                usize::from(time >= split),
                ((time - obs.start) / 60.0).floor() as i64,
            )
        })
    };
    // Minutes that have any line at all: sources that only kept some minutes must not
    // read as silence.
    let mut minutes = [HashSet::new(), HashSet::new()];
    for l in &obs.logs {
        if let Some((k, minute)) = part(l.time) {
            minutes[k].insert(minute);
        }
    }
    if minutes[0].is_empty() {
        // No line at all before the incident part (a collector that started late, a
        // store that kept only the last minutes): every template would look new and
        // surging against a silence nobody recorded. Nothing can be compared.
        return BTreeMap::new();
    }
    let base_min = minutes[0].len() as f64;
    let incident_min = minutes[1].len().max(1) as f64;
    let mut out = BTreeMap::new();
    for (service, indices) in &lines.by_service {
        let mut sides: [Counts; 2] = Default::default();
        // Per error template, its count in each baseline minute.
        let mut error_minutes: HashMap<u32, HashMap<i64, usize>> = HashMap::new();
        for &i in indices {
            let l = &obs.logs[i];
            let Some((k, minute)) = part(l.time) else {
                continue;
            };
            let t = lines.template_of[i];
            let entry = sides[k]
                .entry(t)
                .or_insert_with(|| (0, lines.severity[t as usize], l.line.as_str()));
            entry.0 += 1;
            if k == 0 && entry.1 != Severity::Info {
                *error_minutes
                    .entry(t)
                    .or_default()
                    .entry(minute)
                    .or_default() += 1;
            }
        }
        let [before, after] = &sides;
        if after.is_empty() && before.is_empty() {
            continue;
        }
        let is_error = |c: &(usize, Severity, &str)| c.1 != Severity::Info;
        let mut change = LogChange {
            baseline_errors: before.values().filter(|c| is_error(c)).map(|c| c.0).sum(),
            mix_shift: mix_shift(&plain(before), &plain(after)),
            ..LogChange::default()
        };
        let mut rises = Vec::new();
        // Errors are expected to rise and fall with everything the service logs: a
        // burst of requests writes more of its usual warnings without anything being
        // wrong. The baseline's rate is scaled by the change of its line rate, when
        // both parts have enough lines to tell.
        let count = |side: &Counts| side.values().map(|c| c.0).sum::<usize>();
        let (n0, n1) = (count(before), count(after));
        let volume = if n0 >= MIN_LINES_FOR_MIX && n1 >= MIN_LINES_FOR_MIX {
            (n1 as f64 / incident_min) / (n0 as f64 / base_min)
        } else {
            1.0
        };
        for (tpl, c) in after.iter().filter(|(_, c)| is_error(c)) {
            let (count, example) = (c.0, c.2);
            change.incident_errors += count;
            let was = before.get(tpl).map_or(0, |v| v.0);
            if was == 0 {
                change.new_templates += 1;
            }
            // Its usual rate: the lower of the baseline's mean and its median minute.
            // The same fault minutes earlier (faults recur) fills a few baseline
            // minutes with these errors and raises the mean, not the median of
            // minutes that mostly had none.
            let usual = error_minutes.get(tpl).map_or(0.0, |per_minute| {
                (was as f64 / base_min).min(median_minute(per_minute, &minutes[0]))
            });
            let (r0, r1) = (volume * usual, count as f64 / incident_min);
            let rise = (r1 - r0) / (r0 + 1.0).sqrt();
            if rise > 0.0 {
                change.surge += rise;
                rises.push((rise, *tpl, count, example.to_string()));
            }
        }
        // By rise, then by template (the order of texts), as the texts were sorted.
        rises.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        change.rising = rises.iter().map(|r| (r.0, r.1)).collect();
        change.top = rises
            .into_iter()
            .take(3)
            .map(|(_, t, c, e)| (lines.text(t).to_string(), c, e))
            .collect();
        if with_null && (!change.rising.is_empty() || change.mix_shift > 0.0) {
            let (errors, mix) = ordinary_shares(obs, lines, indices, split);
            change.ordinary = errors.filter(|_| !change.rising.is_empty());
            change.mix_ordinary = mix.filter(|_| change.mix_shift > 0.0);
        }
        if change.incident_errors > 0 || change.mix_shift > 0.0 {
            out.insert(service.to_string(), change);
        }
    }
    out
}

/// [`LogChange::ordinary`] and [`LogChange::mix_ordinary`] of the service whose lines
/// are `indices`: its lines per minute before `split` (the history before the range
/// and the baseline) are the ordinary windows, each measured against the rest of the
/// history as the incident part is against all of it ([`error_rise`], [`mix_shift`]).
fn ordinary_shares(
    obs: &Observations,
    lines: &LogLines,
    indices: &[usize],
    split: f64,
) -> (Option<f64>, Option<f64>) {
    let errors: HashSet<u32> = indices
        .iter()
        .map(|&i| lines.template_of[i])
        .filter(|&t| lines.severity[t as usize] != Severity::Info)
        .collect();
    let (minutes, incident) = null::around(
        indices
            .iter()
            .map(|&i| (obs.logs[i].time, lines.template_of[i])),
        split,
    );
    let history: Vec<&null::Counts> = minutes.iter().collect();
    let length = null::incident_minutes(indices.iter().map(|&i| obs.logs[i].time), split);
    // A part that rose over the range's baseline but not over the history (errors
    // back at their usual rate after a quiet spell) departs no further than any
    // ordinary window: all of them count as far.
    let share = |measure: &dyn Fn(&[&null::Counts], &null::Counts) -> f64| {
        let now = measure(&history, &incident);
        null::ordinary_share(&history, length, now, MIN_HISTORY_MINUTES, measure)
    };
    (
        share(&|rest, pooled| error_rise(rest, pooled, length, &errors)),
        share(&|rest, pooled| mix_shift(&null::pooled(rest), pooled)),
    )
}

/// A part's template counts without their severity and example line.
fn plain(side: &HashMap<u32, (usize, Severity, &str)>) -> null::Counts {
    side.iter().map(|(t, c)| (*t, c.0)).collect()
}

/// How far the warning and error templates (`errors`) of a part (`pooled` over
/// `length` minutes) rose above their usual minute in `rest`, in that minute's
/// Poisson noise, summed over templates: the surge of [`log_changes`], measured the
/// same way for the incident part and for each ordinary window of the history.
fn error_rise(
    rest: &[&null::Counts],
    pooled: &null::Counts,
    length: usize,
    errors: &HashSet<u32>,
) -> f64 {
    let mut per_minute = Vec::with_capacity(rest.len());
    let mut sum = 0.0;
    for (t, count) in pooled.iter().filter(|(t, _)| errors.contains(*t)) {
        per_minute.clear();
        per_minute.extend(rest.iter().map(|m| m.get(t).copied().unwrap_or(0) as f64));
        let usual = stats::median(&mut per_minute);
        let now = *count as f64 / length as f64;
        sum += ((now - usual) / (usual + 1.0).sqrt()).max(0.0);
    }
    sum
}

/// The median of a template's count per minute over `minutes` (the minutes with any
/// line: a minute the source did not keep is not a minute without the template).
fn median_minute(per_minute: &HashMap<i64, usize>, minutes: &HashSet<i64>) -> f64 {
    let mut counts: Vec<f64> = minutes
        .iter()
        .map(|m| per_minute.get(m).copied().unwrap_or(0) as f64)
        .collect();
    stats::median(&mut counts)
}

/// Symmetric KL divergence of two template histograms, with add-½ smoothing so a
/// template seen on one side only counts but cannot be infinite, less what chance
/// alone gives two samples of their sizes; 0 when either side has too few lines to
/// say.
fn mix_shift(before: &null::Counts, after: &null::Counts) -> f64 {
    let n0: usize = before.values().sum();
    let n1: usize = after.values().sum();
    if n0 < MIN_LINES_FOR_MIX || n1 < MIN_LINES_FOR_MIX {
        return 0.0;
    }
    let keys: HashSet<u32> = before.keys().chain(after.keys()).copied().collect();
    let k = keys.len() as f64;
    let divergence: f64 = keys
        .iter()
        .map(|t| {
            let p = (before.get(t).copied().unwrap_or(0) as f64 + 0.5) / (n0 as f64 + 0.5 * k);
            let q = (after.get(t).copied().unwrap_or(0) as f64 + 0.5) / (n1 as f64 + 0.5 * k);
            (q - p) * (q / p).ln()
        })
        .sum();
    // Two samples of one mix differ by chance: their divergence is about
    // (k - 1)(1/n0 + 1/n1) on average (it is a chi-square with k - 1 degrees of
    // freedom over the effective sample size), large for a few lines of many templates.
    (divergence - (k - 1.0) * (1.0 / n0 as f64 + 1.0 / n1 as f64)).max(0.0)
}
