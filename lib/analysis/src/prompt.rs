//! What the model is told: its read-only role, the rules against invention, the
//! answer schema, and the case (question, absolute range, alert group, the engine's
//! ranking as a starting hypothesis).

use super::validate::ANSWER_SCHEMA;
use aegis_core::report::Report;
use aegis_core::request::Request;
use aegis_i18n::Lang;

/// The system prompt, asking for an answer in `lang` (the request's language; the
/// prompt itself is English, for the model). `tools_section` is the text protocol's tool
/// list for models without native tools (empty otherwise: the tools travel in the
/// request).
pub fn system(tools_section: &str, lang: Lang) -> String {
    let language = language_name(lang);
    format!(
        "You are Aegis, a read-only operations assistant for Kubernetes. You investigate \
incidents by reading metrics (Prometheus), logs (Loki) and traces (Jaeger) through the \
tools you are given. You cannot and must not change anything: only read.\n\n\
Rules:\n\
- Every metric name, label value, log line, trace and number in your answer must come \
from a tool result in this conversation. Never invent metrics, labels or log lines.\n\
- When data is missing, a tool fails or returns nothing, say so in the summary instead \
of guessing, and lower your probabilities.\n\
- Query only inside the time range given. Call independent tools in the same turn. \
Never repeat a call with the same arguments: its result is already above.\n\
- Each tool result starts with [step N]; cite that N as the evidence's step.\n\
- The statistical ranking below is a starting hypothesis, not a conclusion: confirm or \
refute it with the tools.\n\n\
When you are done, answer with one JSON object and no other text, of this shape:\n\
{ANSWER_SCHEMA}\n\
Probabilities are over mutually exclusive hypotheses: each in [0, 1], their sum at \
most 1 (the rest means unknown). Ranks are 1, 2, 3... in order of decreasing \
probability. Every root cause needs at least one evidence item citing the step of a \
successful tool call. An empty ranked_root_causes is a valid answer when the data shows \
nothing.\n\
Write the summary, every description, key_indicators and next_actions in {language}: \
the people reading them asked in it. Keep service, metric, label and log names, \
queries, numbers and units exactly as the data has them.\n{tools_section}"
    )
}

/// How the system prompt names `lang` to the model.
fn language_name(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "English",
        Lang::ZhCn => "Simplified Chinese (简体中文)",
    }
}

/// The first user message, the case, from whole to most compact, for a model whose context cannot hold the
/// whole: the alert group's JSON and the engine's candidates shortened step by step.
pub fn cases(request: &Request, tz: chrono_tz::Tz, hypothesis: &Report) -> Vec<String> {
    DETAIL
        .iter()
        .map(|d| case_at(request, tz, hypothesis, d))
        .collect()
}

/// How much of the case a version carries.
struct Detail {
    /// Characters of the alert group's JSON.
    alert_chars: usize,
    /// Candidates of the engine's ranking.
    candidates: usize,
    /// Characters of each candidate's description.
    description_chars: usize,
}

const DETAIL: [Detail; 4] = [
    Detail {
        alert_chars: 4_000,
        candidates: 5,
        description_chars: usize::MAX,
    },
    Detail {
        alert_chars: 1_500,
        candidates: 5,
        description_chars: 240,
    },
    Detail {
        alert_chars: 600,
        candidates: 3,
        description_chars: 160,
    },
    Detail {
        alert_chars: 0,
        candidates: 3,
        description_chars: 100,
    },
];

fn case_at(request: &Request, tz: chrono_tz::Tz, hypothesis: &Report, detail: &Detail) -> String {
    let range = request.time_range;
    let mut out = format!(
        "Question: {}\n\nTime range (absolute): {} to {} (UTC), i.e. {} to {} ({tz}). \
Unix seconds: start={} end={}.\n",
        request.description.trim(),
        range.start.to_rfc3339(),
        range.end.to_rfc3339(),
        range.start.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S"),
        range.end.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S"),
        range.start.timestamp(),
        range.end.timestamp(),
    );
    if let Some(alert) = &request.alert
        && detail.alert_chars > 0
    {
        let alerts = serde_json::to_string(alert).unwrap_or_default();
        let alerts: String = alerts.chars().take(detail.alert_chars).collect();
        out.push_str(&format!(
            "\nAlert group that triggered this analysis (JSON):\n{alerts}\n"
        ));
    }
    out.push_str("\nStatistical engine's ranking (starting hypothesis):\n");
    if detail.description_chars == usize::MAX {
        out.push_str(&ranking(hypothesis, false));
    } else {
        let mut short = hypothesis.clone();
        short.ranked_root_causes.truncate(detail.candidates);
        for c in &mut short.ranked_root_causes {
            if c.description.chars().count() > detail.description_chars {
                c.description = c
                    .description
                    .chars()
                    .take(detail.description_chars)
                    .collect();
                c.description.push('…');
                // What the cut description no longer lists.
                c.key_indicators.truncate(2);
            }
        }
        out.push_str(&ranking(&short, false));
    }
    out
}

/// The engine's candidates, one line each (`1. svc (p=0.62): ... [indicators]`),
/// `- none (why)` when there are none; with `evidence`, each candidate's queries and
/// representative log lines follow on indented lines (the `rank_root_causes` tool).
pub fn ranking(report: &Report, evidence: bool) -> String {
    let mut out = String::new();
    if report.ranked_root_causes.is_empty() {
        out.push_str("- none");
        if !report.degraded.is_empty() {
            out.push_str(&format!(" ({})", report.degraded.join("; ")));
        }
        out.push('\n');
    }
    for c in report.ranked_root_causes.iter().take(5) {
        out.push_str(&format!(
            "{}. {} (p={:.2}): {}",
            c.rank, c.service, c.probability, c.description
        ));
        // The engine's descriptions already list the indicators; a model's may not.
        let shown = c
            .key_indicators
            .iter()
            .all(|k| c.description.contains(k.as_str()));
        if !shown {
            out.push_str(&format!(" [{}]", c.key_indicators.join("; ")));
        }
        out.push('\n');
        if evidence {
            for e in &c.evidence {
                out.push_str(&format!("   {} `{}`: {}\n", e.source, e.query, e.summary));
            }
            for line in c.key_logs.iter().take(3) {
                let line: String = line.chars().take(240).collect();
                out.push_str(&format!("   log: {line}\n"));
            }
        }
    }
    out
}

/// Asks for a corrected final answer.
pub fn repair(problems: &[String]) -> String {
    format!(
        "Your final answer is invalid:\n- {}\nAnswer again with the corrected JSON object only. \
Cite only steps that exist and succeeded; drop candidates you cannot support.",
        problems.join("\n- ")
    )
}
