//! `aegis eval --study`: the "similar past incidents" a report shows, measured as a
//! new user would meet them. Each system's cases are taken in time order (the end of
//! their range, as a stored entry's `at`); for each, the store is the system's earlier
//! cases, fingerprinted from the engine's own reports (never the truth), and what is
//! shown is the most alike one that passes a [`Rule`]. A shown incident is right when
//! it had the same cause ([`same_cause`]).
//!
//! - **precision** = right shown / shown; **recall** = right shown / cases that had
//!   an earlier case of the same cause;
//! - **leave one system out**: for each system, the rule of a small grid ([`grid`])
//!   that does best on the *other* systems ([`utility`]), scored on it;
//! - the rule before issue 29 ([`BEFORE`]) and the production one
//!   ([`aegis_similar::RULE`]) on every system.

use std::collections::BTreeSet;

use serde::Serialize;

use super::CaseResult;
use aegis_similar::{Entry, Rule};

/// The rule before issue 29: every candidate at its rank weight, services and signals
/// alike, no gate, 15 % alike.
pub const BEFORE: Rule = Rule {
    top_only: false,
    service_weight: 1.0,
    same_top_service: false,
    min: 0.15,
};

/// What a wrong "seen before" costs against what a right one gains: 4 makes precision
/// 0.8 the break-even (4 right for 1 wrong adds nothing).
pub const WRONG_COST: f64 = 4.0;

/// Thresholds tried, 0.15 to 1 by 0.05, lowest first.
fn thresholds() -> Vec<f64> {
    (3..=20).map(|i| f64::from(i) / 20.0).collect()
}

/// The rules without their threshold that the leave-one-system-out choice tries.
pub fn grid() -> Vec<Rule> {
    let mut out = Vec::new();
    for same_top_service in [true, false] {
        for top_only in [true, false] {
            for service_weight in [0.0, 0.5, 1.0] {
                out.push(Rule {
                    top_only,
                    service_weight,
                    same_top_service,
                    min: 1.0,
                });
            }
        }
    }
    out
}

/// Whether two cases had the same cause: the same true service, and the same fault
/// type when both truths give one.
pub fn same_cause(a: &CaseResult, b: &CaseResult) -> bool {
    a.truth == b.truth && (a.fault.is_empty() || b.fault.is_empty() || a.fault == b.fault)
}

/// What one system's reports show under one rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Shown {
    /// The system.
    pub system: String,
    /// Its cases.
    pub cases: usize,
    /// Cases that had an earlier case of the same cause (recall's denominator).
    pub with_earlier: usize,
    /// Cases that showed a past incident.
    pub shown: usize,
    /// Of which of the same cause.
    pub right: usize,
    /// Cases without an earlier case of the same cause that showed one anyway.
    pub false_alarms: usize,
}

impl Shown {
    /// What `rule` shows for each of `cases` (one system's), the earlier ones as the
    /// store.
    pub fn of(system: &str, cases: &[&CaseResult], rule: &Rule) -> Self {
        let mut mine: Vec<&CaseResult> = cases.to_vec();
        mine.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
        let entries: Vec<Entry> = mine.iter().map(|c| entry(c)).collect();
        let mut out = Self {
            system: system.to_string(),
            cases: mine.len(),
            ..Self::default()
        };
        for (i, case) in mine.iter().enumerate() {
            let earlier = &mine[..i];
            let repeat = earlier.iter().any(|b| same_cause(case, b));
            out.with_earlier += usize::from(repeat);
            // The most alike, the newest among equals, as `closest` orders them.
            let best = entries[..i]
                .iter()
                .zip(earlier)
                .filter_map(|(e, b)| rule.score(&case.fingerprint, e).map(|s| (s, *b)))
                .filter(|(s, _)| *s >= rule.min)
                .fold(
                    None,
                    |best: Option<(f64, &CaseResult)>, (s, b)| match best {
                        Some((bs, _)) if bs > s => best,
                        _ => Some((s, b)),
                    },
                );
            if let Some((_, b)) = best {
                out.shown += 1;
                if same_cause(case, b) {
                    out.right += 1;
                } else if !repeat {
                    out.false_alarms += 1;
                }
            }
        }
        out
    }

    /// Right shown / shown; `None` when nothing was shown.
    pub fn precision(&self) -> Option<f64> {
        (self.shown > 0).then(|| self.right as f64 / self.shown as f64)
    }

    /// Right shown / cases with an earlier case of the same cause; `None` without any.
    pub fn recall(&self) -> Option<f64> {
        (self.with_earlier > 0).then(|| self.right as f64 / self.with_earlier as f64)
    }

    /// Right shown less [`WRONG_COST`] per wrong one.
    pub fn utility(&self) -> f64 {
        self.right as f64 - WRONG_COST * (self.shown - self.right) as f64
    }

    fn row(&self, label: &str) -> String {
        let ratio = |x: Option<f64>| x.map_or_else(|| "-".to_string(), |x| format!("{x:.2}"));
        format!(
            "{:<22} {:<34} {:>5} {:>7} {:>5} {:>5} {:>9} {:>5}/{:<2}\n",
            self.system,
            label,
            self.cases,
            self.with_earlier,
            ratio(self.precision()),
            ratio(self.recall()),
            self.shown,
            self.false_alarms,
            self.cases - self.with_earlier
        )
    }
}

/// The entry the store would keep of `case`'s report.
fn entry(case: &CaseResult) -> Entry {
    Entry {
        id: case.id.clone(),
        at: case.at,
        summary: String::new(),
        top_service: case.ranked.first().cloned(),
        fingerprint: case.fingerprint.clone(),
        feedback: None,
    }
}

/// Right shown less [`WRONG_COST`] per wrong one, summed over `systems`.
pub fn utility(systems: &[Shown]) -> f64 {
    systems.iter().map(Shown::utility).sum()
}

/// One held-out system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldOut {
    /// The rule the other systems chose; `None` when none did better there than
    /// showing nothing.
    pub rule: Option<Rule>,
    /// What it shows on the held-out system.
    pub shown: Shown,
}

/// The study's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarStudy {
    /// Per system, under [`BEFORE`].
    pub before: Vec<Shown>,
    /// Per system, under [`aegis_similar::RULE`].
    pub production: Vec<Shown>,
    /// Leave one system out (two systems at least).
    pub held_out: Vec<HeldOut>,
    /// The rule chosen on every system together.
    pub chosen_on_all: Option<Rule>,
}

impl SimilarStudy {
    /// The study over `cases` (of any systems).
    pub fn of(cases: &[CaseResult]) -> Self {
        let systems: BTreeSet<&str> = cases.iter().map(|c| c.system.as_str()).collect();
        let of_system =
            |s: &str| -> Vec<&CaseResult> { cases.iter().filter(|c| c.system == s).collect() };
        let under = |rule: &Rule| -> Vec<Shown> {
            systems
                .iter()
                .map(|&s| Shown::of(s, &of_system(s), rule))
                .collect()
        };
        let choose_on = |training: &[&str]| -> Option<Rule> {
            let cases: Vec<(&str, Vec<&CaseResult>)> =
                training.iter().map(|&s| (s, of_system(s))).collect();
            choose(|rule| {
                cases
                    .iter()
                    .map(|(s, mine)| Shown::of(s, mine, rule))
                    .collect()
            })
        };
        let mut held_out = Vec::new();
        if systems.len() >= 2 {
            for &held in &systems {
                let training: Vec<&str> = systems.iter().copied().filter(|&s| s != held).collect();
                let rule = choose_on(&training);
                let shown = rule.map_or_else(
                    || Shown::of(held, &of_system(held), &NOTHING),
                    |r| Shown::of(held, &of_system(held), &r),
                );
                held_out.push(HeldOut { rule, shown });
            }
        }
        let all: Vec<&str> = systems.iter().copied().collect();
        Self {
            before: under(&BEFORE),
            production: under(&aegis_similar::RULE),
            held_out,
            chosen_on_all: choose_on(&all),
        }
    }

    /// The lines `aegis eval --study` prints.
    pub fn table(&self) -> String {
        let mut out = format!(
            "\nsimilar past incidents shown (each system in time order, its earlier cases as the store)\n\
             {:<22} {:<34} {:>5} {:>7} {:>5} {:>5} {:>9} {:>8}\n",
            "system", "rule", "cases", "repeats", "P", "R", "shown", "wrong/no repeat"
        );
        for s in &self.before {
            out.push_str(&s.row("before (issue 29)"));
        }
        for s in &self.production {
            out.push_str(&s.row(&format!("production: {}", describe(&aegis_similar::RULE))));
        }
        for h in &self.held_out {
            let label = h.rule.map_or_else(
                || "held out: nothing shown".to_string(),
                |r| format!("held out: {}", describe(&r)),
            );
            out.push_str(&h.shown.row(&label));
        }
        out.push_str(&format!(
            "chosen on every system: {}\n",
            self.chosen_on_all
                .map_or_else(|| "show nothing".to_string(), |r| describe(&r))
        ));
        out
    }
}

/// A rule that shows nothing.
const NOTHING: Rule = Rule {
    top_only: true,
    service_weight: 0.0,
    same_top_service: true,
    min: f64::INFINITY,
};

/// A rule in a few words: `top`/`all` candidates, service weight, `gate` when the top
/// service must match, and the threshold.
pub fn describe(rule: &Rule) -> String {
    format!(
        "{} sw {} {}>= {:.2}",
        if rule.top_only { "top" } else { "all" },
        rule.service_weight,
        if rule.same_top_service { "gate " } else { "" },
        rule.min
    )
}

/// The rule of [`grid`] and `thresholds` with the most [`utility`] on what
/// `measure` returns, `None` when none beats showing nothing. Among rules of equal
/// utility, the one whose utility holds over the most consecutive thresholds (the
/// widest margin), then the first in the grid; its threshold is the middle of that
/// run.
pub fn choose(measure: impl Fn(&Rule) -> Vec<Shown>) -> Option<Rule> {
    let ts = thresholds();
    let mut best: Option<(f64, usize, Rule)> = None;
    for base in grid() {
        let utilities: Vec<f64> = ts
            .iter()
            .map(|&min| utility(&measure(&Rule { min, ..base })))
            .collect();
        let top = utilities.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // The longest run of thresholds at the top utility.
        let (mut run, mut start, mut longest) = (0, 0, (0, 0));
        for (i, u) in utilities.iter().enumerate() {
            if *u == top {
                if run == 0 {
                    start = i;
                }
                run += 1;
                if run > longest.1 {
                    longest = (start, run);
                }
            } else {
                run = 0;
            }
        }
        let rule = Rule {
            min: ts[longest.0 + (longest.1 - 1) / 2],
            ..base
        };
        let better = best
            .as_ref()
            .is_none_or(|(u, r, _)| top > *u || (top == *u && longest.1 > *r));
        if better {
            best = Some((top, longest.1, rule));
        }
    }
    best.filter(|(u, _, _)| *u > 0.0).map(|(_, _, r)| r)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use aegis_similar::Fingerprint;

    /// A case of system `s` at minute `minute` whose report blamed `top` with `signals`
    /// moving up in it, and whose truth is `truth`/`fault`.
    fn case(
        s: &str,
        minute: u32,
        truth: &str,
        fault: &str,
        top: &str,
        signals: &[&str],
    ) -> CaseResult {
        let mut fingerprint = Fingerprint::of_services(&[top.to_string(), "other".to_string()]);
        for signal in signals {
            fingerprint
                .features
                .insert(format!("{top} {signal} up"), 1.0);
        }
        CaseResult {
            id: format!("{s}-{minute}"),
            truth: truth.into(),
            ranked: vec![top.into(), "other".into()],
            ms: 0,
            dataset: s.into(),
            fault: fault.into(),
            fingerprint,
            system: s.into(),
            at: Utc
                .with_ymd_and_hms(2026, 1, 1, 0, minute, 0)
                .single()
                .expect("valid"),
        }
    }

    #[test]
    fn same_cause_is_the_service_and_the_fault_when_both_are_known() {
        let a = case("s", 1, "cart", "cpu", "cart", &[]);
        assert!(same_cause(&a, &case("s", 2, "cart", "cpu", "x", &[])));
        assert!(!same_cause(&a, &case("s", 2, "cart", "delay", "cart", &[])));
        assert!(!same_cause(&a, &case("s", 2, "pay", "cpu", "cart", &[])));
        assert!(same_cause(&a, &case("s", 2, "cart", "", "cart", &[])));
    }

    #[test]
    fn only_earlier_cases_are_the_store_and_precision_and_recall_count_what_is_shown() {
        let rule = Rule {
            min: 0.5,
            ..aegis_similar::RULE
        };
        // Given out of order: the measure sorts by time.
        let cases = [
            case("s", 3, "cart", "delay", "cart", &["metric:cpu"]),
            case("s", 1, "cart", "cpu", "cart", &["metric:cpu"]),
            case("s", 2, "cart", "cpu", "cart", &["metric:cpu"]),
            case("s", 4, "pay", "cpu", "pay", &["metric:cpu"]),
        ];
        let refs: Vec<&CaseResult> = cases.iter().collect();
        let s = Shown::of("s", &refs, &rule);
        // Minute 2 shows minute 1 (right); minute 3 shows minute 2 (wrong: another
        // fault); minute 1 has no store; minute 4's top service is new.
        assert_eq!((s.cases, s.with_earlier, s.shown, s.right), (4, 1, 2, 1));
        assert_eq!(s.false_alarms, 1);
        assert_eq!(s.precision(), Some(0.5));
        assert_eq!(s.recall(), Some(1.0));
        assert_eq!(s.utility(), 1.0 - WRONG_COST);
    }

    #[test]
    fn nothing_shown_has_no_precision_and_no_repeat_no_recall() {
        let cases = [case("s", 1, "a", "cpu", "a", &["metric:cpu"])];
        let refs: Vec<&CaseResult> = cases.iter().collect();
        let s = Shown::of("s", &refs, &BEFORE);
        assert_eq!((s.shown, s.precision(), s.recall()), (0, None, None));
    }

    #[test]
    fn the_held_out_system_is_scored_with_the_rule_the_others_chose() {
        // System "a": repeats with the same evidence, and another fault of the same
        // service with different evidence; "b": the same, on other services.
        let mut cases = Vec::new();
        for (s, svc) in [("a", "cart"), ("b", "pay")] {
            cases.push(case(
                s,
                1,
                svc,
                "cpu",
                svc,
                &["metric:cpu", "metric:latency"],
            ));
            cases.push(case(
                s,
                2,
                svc,
                "cpu",
                svc,
                &["metric:cpu", "metric:latency"],
            ));
            cases.push(case(
                s,
                3,
                svc,
                "error",
                svc,
                &["metric:errors", "metric:latency"],
            ));
        }
        let study = SimilarStudy::of(&cases);
        assert_eq!(study.held_out.len(), 2);
        for h in &study.held_out {
            let rule = h.rule.expect("a rule that shows the repeats");
            // The other fault shares one signal in three: below the chosen threshold.
            assert!(rule.min > 1.0 / 3.0, "{rule:?}");
            assert_eq!((h.shown.shown, h.shown.right), (1, 1), "{h:?}");
        }
        assert!(study.table().contains("held out: "));
    }

    #[test]
    fn when_every_rule_shows_more_wrong_than_right_nothing_is_chosen() {
        // Two faults on one service with the same evidence: every rule that shows the
        // second shows a wrong one.
        let cases = [
            case("s", 1, "cart", "cpu", "cart", &["metric:cpu"]),
            case("s", 2, "cart", "delay", "cart", &["metric:cpu"]),
        ];
        let refs: Vec<&CaseResult> = cases.iter().collect();
        assert_eq!(choose(|rule| vec![Shown::of("s", &refs, rule)]), None);
    }
}
