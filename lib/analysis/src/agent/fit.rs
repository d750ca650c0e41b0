//! Fitting every prompt in the model's context: the system prompt and the case at the
//! state's level, older tool outputs compacted, then the case and the tool list
//! shortened level by level.

use super::*;

impl Agent<'_> {
    /// Writes the system prompt and the case at the state's level: 0 whole; 1 tool
    /// descriptions cut to their first sentence and the case's next version; 2 and 3
    /// tools without parameter descriptions and the most compact case.
    pub(super) fn first_prompt(&self, st: &mut State) {
        let specs = compact_specs(self.tools.specs(), st.level);
        let tools_section = if self.native() {
            String::new()
        } else {
            format!("\n{}", text_protocol::instructions(&specs))
        };
        let case = st
            .cases
            .get(st.level.min(st.cases.len().saturating_sub(1)))
            .cloned()
            .unwrap_or_default();
        let system = Message::system(prompt::system(&tools_section, self.language));
        let user = Message::user(case);
        if st.messages.len() >= 2 {
            st.messages[0] = system;
            st.messages[1] = user;
        } else {
            st.messages = vec![system, user];
        }
        st.specs = specs;
    }

    /// The prompt's size in estimated tokens (characters / 4): the messages and, with
    /// native tools, their schemas, which travel in the request too.
    pub(super) fn raw_size(&self, st: &State, offered: &[llm::ToolSpec]) -> u64 {
        let tools: usize = offered.iter().map(|t| t.wire().to_string().len()).sum();
        llm::estimate_tokens(st.messages.iter().map(Message::chars).sum::<usize>() + tools)
    }

    /// Fits the prompt in the context: older tool outputs compacted first, then the
    /// first prompt made more compact, level by level. Returns whether it fits.
    pub(super) fn fit(&self, st: &mut State, offered_final: bool) -> bool {
        let Some(window) = st.window else {
            if self.limits.compaction {
                compact(&mut st.messages, self.limits.context_tokens);
            }
            return true;
        };
        let budget = window.saturating_sub(self.limits.reserve(window));
        loop {
            let target = (budget as f64 / st.scale) as u64;
            let target = if self.limits.compaction {
                target.min(self.limits.context_tokens)
            } else {
                target
            };
            compact(&mut st.messages, target);
            let offered = if offered_final || !self.native() {
                &[][..]
            } else {
                &st.specs[..]
            };
            if self.raw_size(st, offered) <= target {
                return true;
            }
            if st.level + 1 >= LEVELS {
                return false;
            }
            st.level += 1;
            tracing::info!(
                level = st.level,
                window,
                "prompt too large for the model's context; compacting the case and the tool list"
            );
            self.first_prompt(st);
        }
    }
}

/// The tools as offered at a prompt `level`: whole at 0; from 1 each description cut
/// to its first sentence (at most 160 characters); from 2 the parameters' own
/// descriptions dropped too (names, types and required stay).
pub(super) fn compact_specs(mut specs: Vec<llm::ToolSpec>, level: usize) -> Vec<llm::ToolSpec> {
    if level == 0 {
        return specs;
    }
    for spec in &mut specs {
        let first = spec
            .description
            .split_inclusive(". ")
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        spec.description = first.chars().take(160).collect();
        if level >= 2 {
            strip_descriptions(&mut spec.parameters);
        }
    }
    specs
}

pub(super) fn strip_descriptions(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.remove("description");
            map.remove("examples");
            for v in map.values_mut() {
                strip_descriptions(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

/// Replaces older tool outputs with a one-line stub until the estimated prompt fits
/// `context_tokens` (the latest turn's outputs are kept whole).
pub(super) fn compact(messages: &mut [Message], context_tokens: u64) {
    let size = |m: &[Message]| llm::estimate_tokens(m.iter().map(Message::chars).sum());
    if size(messages) <= context_tokens {
        return;
    }
    // Outputs after the last assistant message belong to the latest turn.
    let last_assistant = messages
        .iter()
        .rposition(|m| m.role == Role::Assistant)
        .unwrap_or(0);
    for i in 0..last_assistant {
        if size(messages) <= context_tokens * 6 / 10 {
            break;
        }
        let m = &mut messages[i];
        let is_output = m.role == Role::Tool
            || (m.role == Role::User
                && m.content
                    .as_deref()
                    .is_some_and(|c| c.starts_with("Observation: ")));
        let Some(content) = m.content.as_mut() else {
            continue;
        };
        if !is_output || content.contains("(compacted:") || content.len() < 400 {
            continue;
        }
        let head: String = content.chars().take(200).collect();
        let stub = format!(
            "{head} ... (compacted: {} characters dropped to save context)",
            content.len().saturating_sub(head.len())
        );
        *content = stub;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compaction_keeps_latest_outputs_and_prefixes() {
        let big = "x".repeat(8_000);
        let mut messages = vec![
            Message::system("s"),
            Message::user("q"),
            Message::assistant_calls(None, vec![]),
            Message::tool_result("a", format!("[step 1] {big}")),
            Message::assistant_calls(None, vec![]),
            Message::tool_result("b", format!("[step 2] {big}")),
        ];
        compact(&mut messages, 2_000);
        let first = messages[3].content.as_deref().unwrap();
        assert!(
            first.starts_with("[step 1] ") && first.contains("(compacted:"),
            "{first}"
        );
        assert!(messages[5].content.as_deref().unwrap().len() > 8_000);
    }

    #[test]
    fn compact_specs_shorten_descriptions_then_drop_parameter_descriptions() {
        let spec = llm::ToolSpec {
            name: "prometheus_range".into(),
            description: "Runs a PromQL range query. Use it for trends. It returns series.".into(),
            parameters: serde_json::json!({"type": "object", "properties": {
                "query": {"type": "string", "description": "PromQL"}}, "required": ["query"]}),
        };
        let whole = compact_specs(vec![spec.clone()], 0);
        assert_eq!(whole[0], spec);
        let short = compact_specs(vec![spec.clone()], 1);
        assert_eq!(short[0].description, "Runs a PromQL range query.");
        assert_eq!(short[0].parameters, spec.parameters);
        let bare = compact_specs(vec![spec], 2);
        assert_eq!(
            bare[0].parameters,
            serde_json::json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]})
        );
    }
}
