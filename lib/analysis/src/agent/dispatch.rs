//! Tool dispatch: each requested call checked (a known tool, valid arguments, not a
//! repeat), the checked ones run in parallel, their outputs redacted, compacted and
//! truncated before the model sees them.

use super::*;

impl Agent<'_> {
    /// Checks a requested call; `Err` is the message the model gets instead of a
    /// result (unknown tool, bad arguments, a repeat).
    pub(super) fn plan(
        &self,
        st: &mut State,
        name: &str,
        args: Result<Value, String>,
        specs: &[llm::ToolSpec],
        log: &str,
    ) -> Result<Planned, String> {
        if !specs.iter().any(|s| s.name == name) {
            let known: Vec<_> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "Error: there is no tool named {name:?}. Available tools: {}.",
                known.join(", ")
            ));
        }
        let args = args.map_err(|e| {
            format!(
                "Error: the arguments of {name} are not a valid JSON object ({e}). Call it again \
                 with arguments matching its schema."
            )
        })?;
        // serde_json's map is ordered, so equal arguments serialise equally.
        let key = format!("{name}\u{0}{args}");
        if let Some(step) = st.seen.get(&key) {
            return Err(format!(
                "Refused: {name} was already called with these exact arguments (step {step}); \
                 its result is above. Use it, or call with different arguments."
            ));
        }
        let step = st.steps.len() as u32 + 1;
        st.seen.insert(key, step);
        st.steps.push(Step {
            index: step,
            tool: name.to_string(),
            tool_input: args.clone(),
            observation: String::new(),
            log: log.trim().to_string(),
        });
        st.ok.push(false);
        self.progress.emit(ProgressEvent::AgentAction {
            step,
            tool: name.to_string(),
            tool_input: args.clone(),
        });
        Ok(Planned {
            step,
            name: name.to_string(),
            args,
        })
    }

    /// Runs planned calls in parallel; returns the model's view of each result, in
    /// order.
    pub(super) async fn execute(
        &self,
        st: &mut State,
        planned: Vec<Planned>,
        deadline: Deadline,
    ) -> Result<Vec<String>, Stop> {
        let runs = planned.iter().map(|p| async move {
            self.progress.emit(ProgressEvent::ToolStart {
                step: p.step,
                tool: p.name.clone(),
            });
            let started = Instant::now();
            let result = self.tools.call(&p.name, p.args.clone()).await;
            let duration_ms = started.elapsed().as_millis() as u64;
            self.progress.emit(ProgressEvent::ToolEnd {
                step: p.step,
                tool: p.name.clone(),
                duration_ms,
                ok: result.is_ok(),
            });
            result
        });
        let results = tokio::time::timeout_at(deadline, futures::future::join_all(runs))
            .await
            .map_err(|_| Stop::WallClock)?;
        let mut out = Vec::new();
        for (p, result) in planned.iter().zip(results) {
            let ok = result.is_ok();
            let raw = match result {
                Ok(text) if text.trim().is_empty() => "(no data)".to_string(),
                Ok(text) => text,
                Err(e) => format!("error: {e}"),
            };
            let observation = truncate(
                &self.redactor.redact(&raw),
                self.limits.max_observation_chars,
            );
            let idx = p.step as usize - 1;
            st.steps[idx].observation = observation.clone();
            st.ok[idx] = ok;
            st.usage.tool_calls += 1;
            self.progress.emit(ProgressEvent::AgentObservation {
                step: p.step,
                observation: observation.clone(),
            });
            out.push(format!("[step {}] {observation}", p.step));
        }
        Ok(out)
    }
}

/// A call's arguments: a JSON object; empty text means no arguments.
pub(super) fn parse_arguments(raw: &str) -> Result<Value, String> {
    if raw.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("expected a JSON object".into()),
        Err(e) => Err(e.to_string()),
    }
}

pub(super) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}\n... (truncated: {} more characters; narrow the query to see them)",
        &text[..cut],
        text.len() - cut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        assert!(parse_arguments("").unwrap().is_object());
        assert!(parse_arguments("{\"a\":").is_err());
        assert!(parse_arguments("[1]").is_err());
    }
}
