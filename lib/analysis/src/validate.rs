//! Checks the model's final answer before it becomes a report: the schema, the
//! probabilities, the ranks, that every piece of evidence points at a tool call
//! that really happened and succeeded, and that it is written in the language asked.

use serde::Deserialize;
use serde_json::{Value, json};

use aegis_core::report::{Evidence, RootCause, Step};
use aegis_i18n::Lang;

/// The JSON schema of the final answer, as shown to the model.
pub const ANSWER_SCHEMA: &str = r#"{
  "summary": "one paragraph: what is wrong, how sure you are, and what data was missing",
  "ranked_root_causes": [
    {
      "rank": 1,
      "service": "the service blamed, exactly as named in the data",
      "probability": 0.6,
      "description": "what is wrong with it",
      "key_indicators": ["the signals that stand out, with numbers from the tool results"],
      "key_logs": ["log lines or templates copied from the tool results"],
      "evidence": [
        {"step": 2, "source": "prometheus|loki|jaeger", "query": "the exact query of that step", "summary": "what it shows"}
      ]
    }
  ],
  "next_actions": ["read-only checks the on-call engineer should do next"]
}"#;

/// The answer's JSON schema for `response_format` `json_schema`: the shape of
/// [`ANSWER_SCHEMA`], every property required and none other (OpenAI's strict mode),
/// evidence steps limited to `ok_steps` (the successful calls so far) and strings and
/// lists bounded, so that a grammar-constrained small model cannot cite a step that
/// never ran or ramble until `max_tokens` cuts the JSON. Without a successful step no
/// candidate can be supported, so the schema admits none.
pub fn answer_schema(ok_steps: &[u32]) -> Value {
    let text = |max: u32| json!({"type": "string", "maxLength": max});
    let list = |max: u32| json!({"type": "array", "items": text(160), "maxItems": max});
    let step = if ok_steps.is_empty() {
        json!({"type": "integer"})
    } else {
        json!({"type": "integer", "enum": ok_steps})
    };
    let evidence = json!({
        "type": "object",
        "properties": {
            "step": step,
            "source": {"type": "string", "enum": ["prometheus", "loki", "jaeger"]},
            "query": text(300),
            "summary": text(160),
        },
        "required": ["step", "source", "query", "summary"],
        "additionalProperties": false,
    });
    let cause = json!({
        "type": "object",
        "properties": {
            "rank": {"type": "integer", "minimum": 1},
            "service": text(100),
            "probability": {"type": "number", "minimum": 0, "maximum": 1},
            "description": text(240),
            "key_indicators": list(2),
            "key_logs": list(2),
            "evidence": {"type": "array", "items": evidence, "minItems": 1, "maxItems": 2},
        },
        "required": ["rank", "service", "probability", "description", "key_indicators", "key_logs", "evidence"],
        "additionalProperties": false,
    });
    let max_causes = if ok_steps.is_empty() { 0 } else { 3 };
    json!({
        "type": "object",
        "properties": {
            "summary": text(400),
            "ranked_root_causes": {"type": "array", "items": cause, "maxItems": max_causes},
            "next_actions": list(3),
        },
        "required": ["summary", "ranked_root_causes", "next_actions"],
        "additionalProperties": false,
    })
}

/// A final answer that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The summary.
    pub summary: String,
    /// Candidates, sorted by rank.
    pub ranked_root_causes: Vec<RootCause>,
    /// Next actions.
    pub next_actions: Vec<String>,
}

#[derive(Deserialize)]
struct RawAnswer {
    summary: String,
    ranked_root_causes: Vec<RawCause>,
    #[serde(default)]
    next_actions: Vec<String>,
}

#[derive(Deserialize)]
struct RawCause {
    rank: u32,
    service: String,
    probability: f64,
    #[serde(default)]
    description: String,
    #[serde(default)]
    key_indicators: Vec<String>,
    #[serde(default)]
    key_logs: Vec<String>,
    #[serde(default)]
    evidence: Vec<RawEvidence>,
}

#[derive(Deserialize)]
struct RawEvidence {
    #[serde(default)]
    step: Option<u32>,
    #[serde(default)]
    source: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    summary: String,
}

/// The calls made so far, for evidence checks: each step and whether it succeeded.
pub struct Calls<'a> {
    /// The steps, in order (index = position + 1).
    pub steps: &'a [Step],
    /// Whether each step succeeded.
    pub ok: &'a [bool],
}

/// Validates `value` (the answer object, `{"final_answer": ...}` already unwrapped),
/// whose text must be written in `lang`; on failure, every problem found, in words the
/// model can act on.
pub fn validate(value: Value, calls: &Calls<'_>, lang: Lang) -> Result<Answer, Vec<String>> {
    let raw: RawAnswer = serde_json::from_value(value)
        .map_err(|e| vec![format!("the answer does not match the schema: {e}")])?;
    let mut problems = Vec::new();
    if raw.summary.trim().is_empty() {
        problems.push("summary is empty".to_string());
    } else if let Some(problem) = wrong_language(&raw.summary, lang) {
        problems.push(problem);
    }
    let mut causes = Vec::new();
    let mut total = 0.0;
    for c in raw.ranked_root_causes {
        let who = format!("root cause rank {} ({})", c.rank, c.service);
        if c.service.trim().is_empty() {
            problems.push(format!("{who}: service is empty"));
        }
        if !(0.0..=1.0).contains(&c.probability) {
            problems.push(format!(
                "{who}: probability {} is outside [0, 1]",
                c.probability
            ));
        } else {
            total += c.probability;
        }
        if c.evidence.is_empty() {
            problems.push(format!(
                "{who}: no evidence; cite the step of a tool call that shows it, or drop the candidate"
            ));
        }
        let mut evidence = Vec::new();
        for e in c.evidence {
            match evidence_step(&e, calls) {
                Ok(step) => {
                    let query = if e.query.trim().is_empty() {
                        query_of(&step.tool_input)
                    } else {
                        e.query
                    };
                    evidence.push(Evidence {
                        source: if e.source.trim().is_empty() {
                            source_of(&step.tool, &query)
                        } else {
                            e.source
                        },
                        query,
                        summary: e.summary,
                        chart: None,
                    })
                }
                Err(p) => problems.push(format!("{who}: {p}")),
            }
        }
        causes.push(RootCause {
            rank: c.rank,
            service: c.service,
            probability: c.probability,
            description: c.description,
            key_indicators: c.key_indicators,
            key_logs: c.key_logs,
            evidence,
        });
    }
    if total > 1.0 + 1e-6 {
        problems.push(format!(
            "probabilities sum to {total:.3}; hypotheses are mutually exclusive, so the sum must be at most 1"
        ));
    }
    causes.sort_by_key(|c| c.rank);
    let ranks_ok = causes
        .iter()
        .enumerate()
        .all(|(i, c)| c.rank as usize == i + 1);
    if !ranks_ok {
        problems.push("ranks must be 1, 2, 3, ... without gaps or repeats".to_string());
    } else if causes
        .windows(2)
        .any(|w| w[1].probability > w[0].probability + 1e-9)
    {
        problems.push("a lower rank has a higher probability than a higher rank".to_string());
    }
    if problems.is_empty() {
        Ok(Answer {
            summary: raw.summary,
            ranked_root_causes: causes,
            next_actions: raw.next_actions,
        })
    } else {
        Err(problems)
    }
}

/// Why `summary` is not in `lang`, or `None` when it is: a Chinese answer must be
/// Chinese ([`Lang::of_text`]), an English one must not be. The summary is what a
/// person reads first; service, metric and log names are Latin in both languages.
fn wrong_language(summary: &str, lang: Lang) -> Option<String> {
    if Lang::of_text(summary) == lang {
        return None;
    }
    Some(match lang {
        Lang::ZhCn => "the summary is not written in Simplified Chinese: answer again in Chinese \
(简体中文), the summary, every description, key_indicators and next_actions, keeping service, \
metric and log names, queries and numbers as they are"
            .to_string(),
        Lang::En => "the summary is written in Chinese: answer again in English, the summary, \
every description, key_indicators and next_actions"
            .to_string(),
    })
}

/// The step an evidence item points at: its `step` number, else the step whose
/// arguments contain its query.
fn evidence_step<'a>(e: &RawEvidence, calls: &Calls<'a>) -> Result<&'a Step, String> {
    let found = match e.step {
        Some(n) => calls
            .steps
            .get((n as usize).wrapping_sub(1))
            .map(|s| (n as usize, s))
            .ok_or_else(|| format!("evidence cites step {n}, but no tool call has that number"))?,
        None => {
            let q = e.query.trim();
            if q.is_empty() {
                return Err("evidence has neither a step nor a query".into());
            }
            calls
                .steps
                .iter()
                .enumerate()
                .find(|(_, s)| mentions(&s.tool_input, q))
                .map(|(i, s)| (i + 1, s))
                .ok_or_else(|| format!("evidence query {q:?} was never run by a tool call"))?
        }
    };
    let (n, step) = found;
    if !calls.ok.get(n - 1).copied().unwrap_or(false) {
        return Err(format!("evidence cites step {n}, which failed"));
    }
    Ok(step)
}

/// Whether a string in the arguments is the query (whitespace aside).
fn mentions(input: &Value, query: &str) -> bool {
    let squash = |s: &str| s.split_whitespace().collect::<String>();
    let want = squash(query);
    match input {
        Value::String(s) => squash(s) == want,
        Value::Object(m) => m.values().any(|v| mentions(v, query)),
        Value::Array(a) => a.iter().any(|v| mentions(v, query)),
        _ => false,
    }
}

/// The backend a piece of evidence comes from: the tool's, or for a tool that reads
/// all three (the engine's `rank_root_causes`) the one whose query language `query`
/// is in, as the engine writes them: a Jaeger search (`GET /api/traces?...`), LogQL
/// (a stream selector first), PromQL.
fn source_of(tool: &str, query: &str) -> String {
    let t = tool.to_ascii_lowercase();
    for s in ["prometheus", "loki", "jaeger"] {
        if t.contains(s) {
            return s.to_string();
        }
    }
    if t.contains("metric") || t.contains("promql") {
        return "prometheus".into();
    } else if t.contains("log") {
        return "loki".into();
    } else if t.contains("trace") || t.contains("span") {
        return "jaeger".into();
    }
    let q = query.trim();
    if q.contains("/api/traces") {
        "jaeger".into()
    } else if q.starts_with('{') && serde_json::from_str::<Value>(q).is_err() {
        // A stream selector, not the JSON of a tool's input.
        "loki".into()
    } else if !q.is_empty() && promql_parser::parser::parse(q).is_ok() {
        "prometheus".into()
    } else {
        tool.to_string()
    }
}

fn query_of(input: &Value) -> String {
    for key in ["query", "promql", "logql", "expr", "service"] {
        if let Some(Value::String(q)) = input.get(key) {
            return q.clone();
        }
    }
    input.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_schema_admits_only_successful_steps_and_no_candidate_without_one() {
        let none = answer_schema(&[]);
        assert_eq!(none["properties"]["ranked_root_causes"]["maxItems"], 0);
        let some = answer_schema(&[2, 5]);
        let cause = &some["properties"]["ranked_root_causes"]["items"];
        assert_eq!(
            cause["properties"]["evidence"]["items"]["properties"]["step"]["enum"],
            json!([2, 5])
        );
        assert_eq!(cause["properties"]["evidence"]["minItems"], 1);
        assert_eq!(some["additionalProperties"], false);
    }
    use serde_json::json;

    fn steps() -> (Vec<Step>, Vec<bool>) {
        let s = |i, q: &str| Step {
            index: i,
            tool: "query_metrics".into(),
            tool_input: json!({"query": q}),
            observation: String::new(),
            log: String::new(),
        };
        (
            vec![s(1, "rate(errors[5m])"), s(2, "up")],
            vec![true, false],
        )
    }

    fn cause(rank: u32, p: f64, evidence: Value) -> Value {
        json!({"rank": rank, "service": "cart", "probability": p, "description": "d", "evidence": evidence})
    }

    #[test]
    fn valid_answer_fills_evidence_from_the_step() {
        let (s, ok) = steps();
        let a = validate(
            json!({"summary": "s", "ranked_root_causes": [cause(1, 0.7, json!([{"step": 1, "summary": "up"}]))]}),
            &Calls { steps: &s, ok: &ok },
            Lang::En,
        )
        .unwrap();
        assert_eq!(
            a.ranked_root_causes[0].evidence[0].query,
            "rate(errors[5m])"
        );
        assert_eq!(a.ranked_root_causes[0].evidence[0].source, "prometheus");
    }

    #[test]
    fn evidence_cited_from_the_engine_is_sourced_by_its_query() {
        let step = |i| Step {
            index: i,
            tool: "rank_root_causes".into(),
            tool_input: json!({}),
            observation: String::new(),
            log: String::new(),
        };
        let s = vec![step(1), step(2), step(3), step(4)];
        let ok = vec![true; 4];
        let a = validate(
            json!({"summary": "s", "ranked_root_causes": [cause(1, 0.7, json!([
                {"step": 1, "query": "sum by (service) (rate(container_cpu_usage_seconds_total[2m]))"},
                {"step": 2, "query": "{app=\"cart\"} |~ \"(?i)error\""},
                {"step": 3, "query": "GET /api/traces?service=cart&limit=10"},
                {"step": 4, "summary": "no query cited"},
            ]))]}),
            &Calls { steps: &s, ok: &ok },
            Lang::En,
        )
        .unwrap();
        let sources: Vec<&str> = a.ranked_root_causes[0]
            .evidence
            .iter()
            .map(|e| e.source.as_str())
            .collect();
        assert_eq!(
            sources,
            ["prometheus", "loki", "jaeger", "rank_root_causes"]
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let (s, ok) = steps();
        let errs = validate(
            json!({"summary": "", "ranked_root_causes": [
                cause(1, 0.7, json!([{"step": 9}])),
                cause(3, 0.8, json!([{"step": 2}])),
                cause(4, 1.5, json!([{"query": "made_up_metric"}])),
                cause(5, 0.1, json!([])),
            ]}),
            &Calls { steps: &s, ok: &ok },
            Lang::En,
        )
        .unwrap_err()
        .join("\n");
        for want in [
            "summary is empty",
            "step 9",
            "step 2, which failed",
            "outside [0, 1]",
            "never run",
            "no evidence",
            "sum to",
            "ranks must be",
        ] {
            assert!(errs.contains(want), "missing {want:?} in {errs}");
        }
    }

    #[test]
    fn evidence_by_query_and_probability_order() {
        let (s, ok) = steps();
        let calls = Calls { steps: &s, ok: &ok };
        let good = json!({"summary": "s", "ranked_root_causes": [
            cause(1, 0.5, json!([{"query": "rate(errors[5m])"}])),
            cause(2, 0.2, json!([{"step": 1}])),
        ]});
        assert!(validate(good, &calls, Lang::En).is_ok());
        let inverted = json!({"summary": "s", "ranked_root_causes": [
            cause(1, 0.2, json!([{"step": 1}])),
            cause(2, 0.5, json!([{"step": 1}])),
        ]});
        assert!(
            validate(inverted, &calls, Lang::En).unwrap_err()[0].contains("higher probability")
        );
        assert!(validate(json!({"summary": 3}), &calls, Lang::En).is_err());
    }

    #[test]
    fn the_summary_must_be_in_the_language_asked() {
        let (s, ok) = steps();
        let calls = Calls { steps: &s, ok: &ok };
        let answer = |summary: &str| json!({"summary": summary, "ranked_root_causes": []});
        let english = "cart is out of memory since 10:02";
        let chinese = "cart 自 10:02 起内存耗尽";
        assert!(validate(answer(english), &calls, Lang::En).is_ok());
        assert!(validate(answer(chinese), &calls, Lang::ZhCn).is_ok());
        let wrong = validate(answer(english), &calls, Lang::ZhCn).unwrap_err();
        assert!(wrong[0].contains("answer again in Chinese"), "{wrong:?}");
        let wrong = validate(answer(chinese), &calls, Lang::En).unwrap_err();
        assert!(wrong[0].contains("answer again in English"), "{wrong:?}");
    }
}
