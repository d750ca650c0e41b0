//! `aegis eval --study`: how the engine's figures should be read. Every case is ranked
//! once per [`Variant`] from the same fetched telemetry, and then:
//!
//! - **leave one system out**: for each system, the settings of a small grid that score
//!   best on the *other* systems (mean of (AC@1 + AC@3) / 2 per system), and the
//!   temperature and "unknown" score that fit them best (likelihood of the true
//!   cause), scored on the held-out one: what a new user's cluster would see;
//! - **ablation**: each component of the method switched off alone, per system;
//! - **calibration**: a reliability table of the default settings' top probability.
//!
//! Each system's chance level (1 / number of its services) is shown beside its AC@1.

use std::collections::BTreeSet;

use serde::Serialize;

use aegis_rca::{Observations, Onset, Settings};

/// One way of ranking.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    /// Its name in the tables.
    pub name: String,
    /// Whether the leave-one-system-out choice may pick it.
    pub grid: bool,
    /// The settings.
    pub settings: Settings,
}

/// The variants ranked for every case: the default first, then the rest of the grid,
/// then the ablations.
pub fn variants() -> Vec<Variant> {
    let default = Settings::default();
    let mut out = vec![Variant {
        name: "default".into(),
        grid: true,
        settings: default,
    }];
    for callee_discount in [0.25, 0.5, 0.75] {
        for metric_weight in [0.5, 1.0] {
            let settings = Settings {
                callee_discount,
                metric_weight,
                ..default
            };
            if settings != default {
                out.push(Variant {
                    name: format!(
                        "callee discount {callee_discount}, metric weight {metric_weight}"
                    ),
                    grid: true,
                    settings,
                });
            }
        }
    }
    let ablations = [
        (
            "onset: last third, not change points",
            Settings {
                metric_onset: Onset::LastThird,
                ..default
            },
        ),
        (
            "onset: change points for every source",
            Settings {
                onset: Onset::ChangePoint,
                ..default
            },
        ),
        (
            "metric level over the whole range",
            Settings {
                baseline_level: false,
                ..default
            },
        ),
        (
            "no request-count noise floor",
            Settings {
                count_noise: false,
                ..default
            },
        ),
        (
            "client-view nodes not down-weighted",
            Settings {
                client_view_weight: 1.0,
                ..default
            },
        ),
        (
            "a client node's departures not its service's",
            Settings {
                client_view_merge: false,
                ..default
            },
        ),
        (
            "a signal only one service exports counted in full",
            Settings {
                sole_signal_weight: 1.0,
                ..default
            },
        ),
        (
            "no callee discount",
            Settings {
                callee_discount: 0.0,
                ..default
            },
        ),
        (
            "no call graph",
            Settings {
                call_graph: false,
                ..default
            },
        ),
        (
            "no traffic invariants",
            Settings {
                traffic_invariants: false,
                ..default
            },
        ),
        (
            "no network delay (spans, callers' vs own latency)",
            Settings {
                network_delay: false,
                ..default
            },
        ),
        (
            "network delay weighed as other span evidence (0.5)",
            Settings {
                network_weight: 0.5,
                ..default
            },
        ),
        (
            "no travelling-latency origin",
            Settings {
                latency_origin: false,
                ..default
            },
        ),
        (
            "no chronic-suspect null",
            Settings {
                chronic: false,
                ..default
            },
        ),
        (
            "no chronic null for logs (drift, invariants, warnings, mix)",
            Settings {
                chronic_logs: false,
                ..default
            },
        ),
        (
            "log drift of any line count (no chance test)",
            Settings {
                drift_counts: false,
                ..default
            },
        ),
        (
            "span evidence of any span count (no chance test)",
            Settings {
                span_counts: false,
                ..default
            },
        ),
        (
            "log invariants held in any number of minutes (no chance test)",
            Settings {
                invariant_minutes: false,
                ..default
            },
        ),
        (
            "no logs",
            Settings {
                logs: false,
                ..default
            },
        ),
        (
            "no traces",
            Settings {
                traces: false,
                ..default
            },
        ),
    ];
    out.extend(ablations.into_iter().map(|(name, settings)| Variant {
        name: name.into(),
        grid: false,
        settings,
    }));
    out
}

/// Temperatures and "unknown" scores the calibration is chosen from.
const TEMPERATURES: [f64; 8] = [0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7];
const UNKNOWN_SCORES: [f64; 6] = [0.02, 0.05, 0.1, 0.2, 0.4, 0.8];

/// One case ranked under every variant.
#[derive(Debug, Clone)]
pub struct CaseRuns {
    /// The system the case's dataset recorded.
    pub system: String,
    /// How many services that system has.
    pub services: usize,
    /// The true cause.
    pub truth: String,
    /// The fault type.
    pub fault: String,
    /// Per variant (in [`variants`] order), every candidate's service and score, best
    /// first.
    pub runs: Vec<Vec<(String, f64)>>,
}

/// Ranks `obs` under every variant.
pub fn runs(obs: &Observations, variants: &[Variant]) -> Vec<Vec<(String, f64)>> {
    variants
        .iter()
        .map(|v| {
            aegis_rca::rank_with(obs, &v.settings)
                .candidates
                .into_iter()
                .map(|c| (c.service, c.score))
                .collect()
        })
        .collect()
}

impl CaseRuns {
    fn rank(&self, variant: usize) -> Option<usize> {
        self.runs[variant]
            .iter()
            .position(|(s, _)| *s == self.truth)
            .map(|i| i + 1)
    }

    /// Top probability, the truth's probability and "unknown" under `variant`
    /// calibrated by `(temperature, unknown score)`.
    fn probabilities(&self, variant: usize, calibration: (f64, f64)) -> (f64, f64, f64) {
        let scores: Vec<f64> = self.runs[variant].iter().map(|(_, s)| *s).collect();
        let settings = Settings {
            temperature: calibration.0,
            unknown_score: calibration.1,
            ..Settings::default()
        };
        let (p, unknown) = aegis_rca::probabilities(&scores, &settings);
        let truth = self.runs[variant]
            .iter()
            .position(|(s, _)| *s == self.truth)
            .map_or(unknown / 10.0, |i| p[i]);
        (p.first().copied().unwrap_or(0.0), truth, unknown)
    }
}

/// AC@1 and AC@3 of `cases` under `variant`.
fn accuracy<'a>(
    cases: impl IntoIterator<Item = &'a CaseRuns>,
    variant: usize,
) -> (f64, f64, usize) {
    let ranks: Vec<Option<usize>> = cases.into_iter().map(|c| c.rank(variant)).collect();
    let n = ranks.len().max(1) as f64;
    let at = |k| ranks.iter().filter(|r| r.is_some_and(|r| r <= k)).count() as f64 / n;
    (at(1), at(3), ranks.len())
}

/// The study's tables.
#[derive(Debug, Clone, Serialize)]
pub struct Study {
    /// Per system: cases, chance level, and the default settings' AC@1 / AC@3.
    pub systems: Vec<SystemRow>,
    /// Per system and fault type, the default settings' AC@1 / AC@3.
    pub faults: Vec<FaultRow>,
    /// Leave one system out, one row per held-out system (two systems at least).
    pub leave_one_out: Vec<HeldOut>,
    /// AC@1 / AC@3 per variant and system.
    pub ablation: Vec<AblationRow>,
    /// The default settings' reliability table.
    pub reliability: Vec<Bin>,
    /// Mean top probability and AC@1 over every case, default settings.
    pub mean_top_probability: f64,
    /// AC@1 over every case, default settings.
    pub ac1: f64,
    /// Every calibration of the grid on every case, default ranking: `(temperature,
    /// unknown score, mean ln p(truth), mean top probability)`.
    pub calibrations: Vec<(f64, f64, f64, f64)>,
}

/// One system under the default settings.
#[derive(Debug, Clone, Serialize)]
pub struct SystemRow {
    /// The system.
    pub system: String,
    /// Its cases.
    pub cases: usize,
    /// 1 / its number of services.
    pub chance: f64,
    /// AC@1.
    pub ac1: f64,
    /// AC@3.
    pub ac3: f64,
}

/// One fault type of one system under the default settings.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRow {
    /// The system.
    pub system: String,
    /// The fault type.
    pub fault: String,
    /// Its cases.
    pub cases: usize,
    /// AC@1.
    pub ac1: f64,
    /// AC@3.
    pub ac3: f64,
}

/// One held-out system.
#[derive(Debug, Clone, Serialize)]
pub struct HeldOut {
    /// The system scored.
    pub system: String,
    /// The grid variant the other systems chose.
    pub chosen: String,
    /// The temperature and "unknown" score the other systems fitted.
    pub calibration: (f64, f64),
    /// Its cases.
    pub cases: usize,
    /// Chance level.
    pub chance: f64,
    /// AC@1 on it.
    pub ac1: f64,
    /// AC@3 on it.
    pub ac3: f64,
    /// Mean top probability on it.
    pub mean_top_probability: f64,
}

/// One variant's scores per system.
#[derive(Debug, Clone, Serialize)]
pub struct AblationRow {
    /// The variant.
    pub variant: String,
    /// `(system, AC@1, AC@3)`.
    pub systems: Vec<(String, f64, f64)>,
}

/// One bin of the reliability table.
#[derive(Debug, Clone, Serialize)]
pub struct Bin {
    /// Lower and upper bound of the top probability.
    pub range: (f64, f64),
    /// Cases in it.
    pub cases: usize,
    /// Their mean top probability.
    pub mean_top_probability: f64,
    /// How often the top candidate was right.
    pub ac1: f64,
    /// Their mean "unknown" share.
    pub mean_unknown: f64,
}

impl Study {
    /// The tables from every case's runs.
    pub fn of(cases: &[CaseRuns], variants: &[Variant]) -> Self {
        let systems: BTreeSet<&str> = cases.iter().map(|c| c.system.as_str()).collect();
        let of_system =
            |s: &str| -> Vec<&CaseRuns> { cases.iter().filter(|c| c.system == s).collect() };
        let chance = |s: &str| {
            let n: Vec<f64> = of_system(s)
                .into_iter()
                .map(|c| 1.0 / c.services.max(1) as f64)
                .collect();
            n.iter().sum::<f64>() / n.len().max(1) as f64
        };
        let system_rows = systems
            .iter()
            .map(|s| {
                let (ac1, ac3, n) = accuracy(of_system(s), 0);
                SystemRow {
                    system: s.to_string(),
                    cases: n,
                    chance: chance(s),
                    ac1,
                    ac3,
                }
            })
            .collect();
        let faults = systems
            .iter()
            .flat_map(|s| {
                let mine = of_system(s);
                let types: BTreeSet<&str> = mine.iter().map(|c| c.fault.as_str()).collect();
                types
                    .into_iter()
                    .map(|f| {
                        let (ac1, ac3, cases) =
                            accuracy(mine.iter().copied().filter(|c| c.fault == f), 0);
                        FaultRow {
                            system: s.to_string(),
                            fault: f.to_string(),
                            cases,
                            ac1,
                            ac3,
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let defaults = Settings::default();
        let mut leave_one_out = Vec::new();
        if systems.len() >= 2 {
            for held in &systems {
                let training: Vec<&str> = systems.iter().copied().filter(|s| s != held).collect();
                // Each training system counts alike, whatever its number of cases.
                let merit = |v: usize| {
                    training
                        .iter()
                        .map(|s| {
                            let (a1, a3, _) = accuracy(of_system(s), v);
                            (a1 + a3) / 2.0
                        })
                        .sum::<f64>()
                };
                let chosen = (0..variants.len())
                    .filter(|v| variants[*v].grid)
                    .fold(None, |best: Option<(usize, f64)>, v| {
                        let m = merit(v);
                        match best {
                            Some((_, b)) if b >= m - 1e-9 => best,
                            _ => Some((v, m)),
                        }
                    })
                    .map_or(0, |(v, _)| v);
                let likelihood = |cal: (f64, f64)| {
                    training
                        .iter()
                        .map(|s| {
                            let l: Vec<f64> = of_system(s)
                                .into_iter()
                                .map(|c| c.probabilities(chosen, cal).1.max(1e-6).ln())
                                .collect();
                            l.iter().sum::<f64>() / l.len().max(1) as f64
                        })
                        .sum::<f64>()
                };
                let calibration = TEMPERATURES
                    .iter()
                    .flat_map(|t| UNKNOWN_SCORES.iter().map(move |u| (*t, *u)))
                    .fold(None, |best: Option<((f64, f64), f64)>, cal| {
                        let l = likelihood(cal);
                        match best {
                            Some((_, b)) if b >= l => best,
                            _ => Some((cal, l)),
                        }
                    })
                    .map_or((defaults.temperature, defaults.unknown_score), |(c, _)| c);
                let (ac1, ac3, n) = accuracy(of_system(held), chosen);
                let tops: Vec<f64> = of_system(held)
                    .into_iter()
                    .map(|c| c.probabilities(chosen, calibration).0)
                    .collect();
                leave_one_out.push(HeldOut {
                    system: held.to_string(),
                    chosen: variants[chosen].name.clone(),
                    calibration,
                    cases: n,
                    chance: chance(held),
                    ac1,
                    ac3,
                    mean_top_probability: tops.iter().sum::<f64>() / tops.len().max(1) as f64,
                });
            }
        }
        let ablation = variants
            .iter()
            .enumerate()
            .map(|(v, variant)| AblationRow {
                variant: variant.name.clone(),
                systems: systems
                    .iter()
                    .map(|s| {
                        let (a1, a3, _) = accuracy(of_system(s), v);
                        (s.to_string(), a1, a3)
                    })
                    .collect(),
            })
            .collect();
        let calibration = (defaults.temperature, defaults.unknown_score);
        let probs: Vec<(f64, bool, f64)> = cases
            .iter()
            .map(|c| {
                let (top, _, unknown) = c.probabilities(0, calibration);
                (top, c.rank(0) == Some(1), unknown)
            })
            .collect();
        let reliability = (0..5)
            .map(|i| {
                let (lo, hi) = (i as f64 * 0.2, (i + 1) as f64 * 0.2);
                let inside: Vec<&(f64, bool, f64)> = probs
                    .iter()
                    .filter(|(p, _, _)| *p >= lo && (*p < hi || (i == 4 && *p <= hi)))
                    .collect();
                let n = inside.len().max(1) as f64;
                Bin {
                    range: (lo, hi),
                    cases: inside.len(),
                    mean_top_probability: inside.iter().map(|p| p.0).sum::<f64>() / n,
                    ac1: inside.iter().filter(|p| p.1).count() as f64 / n,
                    mean_unknown: inside.iter().map(|p| p.2).sum::<f64>() / n,
                }
            })
            .collect();
        let n = probs.len().max(1) as f64;
        let calibrations = TEMPERATURES
            .iter()
            .flat_map(|t| UNKNOWN_SCORES.iter().map(move |u| (*t, *u)))
            .map(|cal| {
                let p: Vec<(f64, f64, f64)> =
                    cases.iter().map(|c| c.probabilities(0, cal)).collect();
                let n = p.len().max(1) as f64;
                (
                    cal.0,
                    cal.1,
                    p.iter().map(|x| x.1.max(1e-6).ln()).sum::<f64>() / n,
                    p.iter().map(|x| x.0).sum::<f64>() / n,
                )
            })
            .collect();
        Self {
            calibrations,
            systems: system_rows,
            faults,
            leave_one_out,
            ablation,
            reliability,
            mean_top_probability: probs.iter().map(|p| p.0).sum::<f64>() / n,
            ac1: probs.iter().filter(|p| p.1).count() as f64 / n,
        }
    }

    /// The tables as text.
    pub fn table(&self) -> String {
        let mut out = String::from("\nsystem                 cases  chance   AC@1   AC@3\n");
        for s in &self.systems {
            out.push_str(&format!(
                "{:<22} {:>5} {:>7.3} {:>6.3} {:>6.3}\n",
                s.system, s.cases, s.chance, s.ac1, s.ac3
            ));
        }
        out.push_str("\nper fault type (default settings)\nsystem                 fault             cases   AC@1   AC@3\n");
        for f in &self.faults {
            out.push_str(&format!(
                "{:<22} {:<16} {:>6} {:>6.3} {:>6.3}\n",
                f.system, f.fault, f.cases, f.ac1, f.ac3
            ));
        }
        if !self.leave_one_out.is_empty() {
            out.push_str("\nleave one system out (settings chosen on the others)\n");
            out.push_str(
                "held out               cases  chance   AC@1   AC@3  top p   T    u    chosen\n",
            );
            for h in &self.leave_one_out {
                out.push_str(&format!(
                    "{:<22} {:>5} {:>7.3} {:>6.3} {:>6.3} {:>6.3} {:>4} {:>4}  {}\n",
                    h.system,
                    h.cases,
                    h.chance,
                    h.ac1,
                    h.ac3,
                    h.mean_top_probability,
                    h.calibration.0,
                    h.calibration.1,
                    h.chosen
                ));
            }
        }
        out.push_str("\nablation (AC@1 / AC@3 per system)\n");
        let systems: Vec<&str> = self.systems.iter().map(|s| s.system.as_str()).collect();
        let width = self
            .ablation
            .iter()
            .map(|r| r.variant.len())
            .max()
            .unwrap_or(0);
        out.push_str(&format!("{:<width$}", "variant"));
        for s in &systems {
            out.push_str(&format!(" {s:>17}"));
        }
        out.push('\n');
        for row in &self.ablation {
            out.push_str(&format!("{:<width$}", row.variant));
            for (_, a1, a3) in &row.systems {
                out.push_str(&format!(" {:>17}", format!("{a1:.3} / {a3:.3}")));
            }
            out.push('\n');
        }
        out.push_str(
            "\nreliability (default settings)\ntop p       cases  mean top p   AC@1  unknown\n",
        );
        for b in &self.reliability {
            out.push_str(&format!(
                "[{:.1}, {:.1}{} {:>5} {:>11.3} {:>6.3} {:>8.3}\n",
                b.range.0,
                b.range.1,
                if b.range.1 >= 1.0 { "]" } else { ")" },
                b.cases,
                b.mean_top_probability,
                b.ac1,
                b.mean_unknown
            ));
        }
        out.push_str(&format!(
            "all: mean top p {:.3}, AC@1 {:.3}\n",
            self.mean_top_probability, self.ac1
        ));
        out.push_str("\ncalibrations (T, u: mean ln p(truth), mean top p)\n");
        for (t, u, l, p) in &self.calibrations {
            out.push_str(&format!("{t:>4} {u:>4}: {l:>7.3} {p:>6.3}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(system: &str, truth: &str, runs: Vec<Vec<(&str, f64)>>) -> CaseRuns {
        CaseRuns {
            system: system.into(),
            services: 4,
            truth: truth.into(),
            fault: "delay".into(),
            runs: runs
                .into_iter()
                .map(|r| r.into_iter().map(|(s, x)| (s.to_string(), x)).collect())
                .collect(),
        }
    }

    fn two_variants() -> Vec<Variant> {
        let mut v = variants();
        v.truncate(2);
        v
    }

    #[test]
    fn the_held_out_system_is_scored_with_what_the_others_chose() {
        let variants = two_variants();
        // Variant 1 is right on systems a and b, variant 0 only on c.
        let cases = vec![
            case(
                "a",
                "x",
                vec![vec![("y", 2.0), ("x", 1.0)], vec![("x", 2.0), ("y", 1.0)]],
            ),
            case(
                "b",
                "x",
                vec![vec![("y", 2.0), ("x", 1.0)], vec![("x", 2.0), ("y", 1.0)]],
            ),
            case(
                "c",
                "x",
                vec![vec![("x", 2.0), ("y", 1.0)], vec![("y", 2.0), ("x", 1.0)]],
            ),
        ];
        let study = Study::of(&cases, &variants);
        let systems: Vec<&str> = study.systems.iter().map(|s| s.system.as_str()).collect();
        assert_eq!(systems, ["a", "b", "c"]);
        let held = |s: &str| study.leave_one_out.iter().find(|h| h.system == s).unwrap();
        // Held out c: a and b choose variant 1, which misses c.
        assert_eq!(held("c").chosen, variants[1].name);
        assert_eq!(held("c").ac1, 0.0);
        // Held out a: b prefers 1 and c prefers 0, a tie: the default (first) wins.
        assert_eq!(held("a").chosen, variants[0].name);
        assert_eq!(held("a").ac1, 0.0);
        assert_eq!(study.systems[2].ac1, 1.0);
        assert_eq!(study.systems[0].chance, 0.25);
        // One fault type a system here, scored under the default (variant 0).
        let faults: Vec<(&str, f64)> = study
            .faults
            .iter()
            .map(|f| (f.system.as_str(), f.ac1))
            .collect();
        assert_eq!(faults, [("a", 0.0), ("b", 0.0), ("c", 1.0)]);
    }

    #[test]
    fn reliability_bins_count_every_case_once() {
        let variants = two_variants();
        let cases: Vec<CaseRuns> = (0..10)
            .map(|i| {
                let lead = i as f64 * 0.5;
                let run = vec![("x", lead), ("y", 0.1)];
                case(
                    "a",
                    if i % 2 == 0 { "x" } else { "y" },
                    vec![run.clone(), run],
                )
            })
            .collect();
        let study = Study::of(&cases, &variants);
        assert_eq!(study.reliability.iter().map(|b| b.cases).sum::<usize>(), 10);
        assert!(
            study.leave_one_out.is_empty(),
            "one system has nothing to hold out"
        );
        // Larger leads go with larger top probabilities.
        let filled: Vec<&Bin> = study.reliability.iter().filter(|b| b.cases > 0).collect();
        assert!(
            filled.first().unwrap().mean_top_probability
                < filled.last().unwrap().mean_top_probability
        );
    }
}
