//! The text protocol for models without reliable native tool calling: the tools are
//! described in the system prompt, and the model answers each turn with exactly one
//! JSON object, `{"action": "<tool>", "action_input": {...}}` or
//! `{"final_answer": {...}}`. Parsing is lenient (code fences, text around the
//! object); anything else is answered with a correction.

use serde_json::Value;

use super::ToolSpec;

/// What the model asked for in one turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Call a tool.
    Tool {
        /// The tool's name.
        name: String,
        /// Its arguments.
        input: Value,
    },
    /// The final answer.
    Final(Value),
}

/// The system-prompt section teaching the protocol and listing the tools.
pub fn instructions(tools: &[ToolSpec]) -> String {
    let mut out = String::from(
        "You cannot call functions natively. To use a tool, answer with exactly one JSON object and nothing else:\n\
         {\"action\": \"<tool name>\", \"action_input\": {<arguments>}}\n\
         You will get the tool's result in the next message, starting with \"Observation:\". \
         One action per turn. When you are done, answer with exactly one JSON object:\n\
         {\"final_answer\": <the report object>}\n\nTools:\n",
    );
    for t in tools {
        out.push_str(&format!(
            "- {}: {}\n  arguments schema: {}\n",
            t.name, t.description, t.parameters
        ));
    }
    out
}

/// The JSON schema of one tool action, `{"action": <a tool's name>, "action_input":
/// <that tool's arguments>}` (one alternative per tool), for `response_format` where a
/// turn must call a tool: a grammar-constrained model then writes a call that exists,
/// with arguments of the right shape, and stops.
pub fn action_schema(tools: &[ToolSpec]) -> Value {
    let alternatives: Vec<Value> = tools
        .iter()
        .map(|t| {
            let input = if t.parameters.is_object() {
                t.parameters.clone()
            } else {
                serde_json::json!({"type": "object"})
            };
            serde_json::json!({
                "type": "object",
                "properties": {
                    "action": {"type": "string", "enum": [t.name]},
                    "action_input": input,
                },
                "required": ["action", "action_input"],
                "additionalProperties": false,
            })
        })
        .collect();
    serde_json::json!({"anyOf": alternatives})
}

/// The correction sent when a turn is not one valid action.
pub fn correction(problem: &str) -> String {
    format!(
        "Your last answer could not be used: {problem}. Answer with exactly one JSON object: \
         {{\"action\": \"<tool name>\", \"action_input\": {{...}}}} to call a tool, or \
         {{\"final_answer\": {{...}}}} when you are done. No other text."
    )
}

/// Reads one action from a model's turn.
pub fn parse(text: &str) -> Result<Action, String> {
    let value = extract_json(text).ok_or_else(|| "it contains no JSON object".to_string())?;
    let Value::Object(mut obj) = value else {
        return Err("the JSON is not an object".into());
    };
    if let Some(answer) = obj.remove("final_answer") {
        return Ok(Action::Final(answer));
    }
    let Some(action) = obj.remove("action") else {
        return Err("the object has neither \"action\" nor \"final_answer\"".into());
    };
    let Value::String(name) = action else {
        return Err("\"action\" must be a tool name (a string)".into());
    };
    if name.eq_ignore_ascii_case("final answer") || name.eq_ignore_ascii_case("final_answer") {
        let input = obj.remove("action_input").unwrap_or(Value::Null);
        return Ok(Action::Final(input));
    }
    let input = match obj.remove("action_input") {
        None | Some(Value::Null) => Value::Object(Default::default()),
        // Some models double-encode the arguments as a JSON string.
        Some(Value::String(s)) => serde_json::from_str(&s)
            .map_err(|_| "\"action_input\" must be a JSON object".to_string())?,
        Some(v) => v,
    };
    if !input.is_object() {
        return Err("\"action_input\" must be a JSON object".into());
    }
    Ok(Action::Tool { name, input })
}

/// The first JSON object in `text`: the whole text, a fenced block, or the first
/// balanced `{...}` that parses.
pub fn extract_json(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(trimmed) {
        return Some(v);
    }
    let mut rest = text;
    while let Some(at) = rest.find('{') {
        let candidate = &rest[at..];
        if let Some(end) = balanced_end(candidate)
            && let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(&candidate[..end])
        {
            return Some(v);
        }
        rest = &candidate[1..];
    }
    None
}

/// Byte length of the balanced `{...}` at the start of `s`, honouring strings.
fn balanced_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn action_in_fence_with_text_around() {
        let text = "I will check the CPU.\n```json\n{\"action\": \"query_metrics\", \"action_input\": {\"q\": \"up{job=\\\"x\\\"}\"}}\n```\nThanks";
        assert_eq!(
            parse(text).unwrap(),
            Action::Tool {
                name: "query_metrics".into(),
                input: json!({"q": "up{job=\"x\"}"})
            }
        );
    }

    #[test]
    fn final_answer_and_stringified_input() {
        assert_eq!(
            parse("{\"final_answer\": {\"summary\": \"s\"}}").unwrap(),
            Action::Final(json!({"summary": "s"}))
        );
        assert_eq!(
            parse("{\"action\": \"t\", \"action_input\": \"{\\\"a\\\": 1}\"}").unwrap(),
            Action::Tool {
                name: "t".into(),
                input: json!({"a": 1})
            }
        );
    }

    #[test]
    fn invalid_turns_say_why() {
        assert!(parse("no json here").unwrap_err().contains("no JSON"));
        assert!(parse("{\"thought\": 1}").unwrap_err().contains("action"));
        assert!(parse("{\"action\": 3}").unwrap_err().contains("tool name"));
    }
}
