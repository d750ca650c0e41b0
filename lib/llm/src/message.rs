use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The question, observations in the text protocol, corrections.
    User,
    /// The model.
    Assistant,
    /// A native tool result.
    Tool,
}

/// One chat message in the OpenAI wire shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Its author.
    pub role: Role,
    /// Its text (`null` for an assistant turn made only of tool calls).
    pub content: Option<String>,
    /// Tool calls of an assistant turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::text(Role::System, text)
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::text(Role::User, text)
    }

    /// An assistant message with text only.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::text(Role::Assistant, text)
    }

    /// An assistant turn that called tools (with its visible text, if any).
    pub fn assistant_calls(text: Option<String>, calls: Vec<ToolCall>) -> Self {
        Self {
            role: Role::Assistant,
            content: text.filter(|t| !t.is_empty()),
            tool_calls: calls,
            tool_call_id: None,
        }
    }

    /// The result of tool call `id`.
    pub fn tool_result(id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            role: Role::Tool,
            content: Some(text.into()),
            tool_calls: Vec::new(),
            tool_call_id: Some(id.into()),
        }
    }

    fn text(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: Some(text.into()),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// Rough size in characters, for token estimates.
    pub fn chars(&self) -> usize {
        self.content.as_deref().map_or(0, str::len)
            + self
                .tool_calls
                .iter()
                .map(|c| c.name.len() + c.arguments.len() + 16)
                .sum::<usize>()
    }
}

/// A tool call the model asked for. `arguments` is the raw JSON text the model wrote,
/// which may be malformed: the caller decides what to do with it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The call's id, echoed in the tool result.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments as written by the model.
    pub arguments: String,
}

#[derive(Serialize, Deserialize)]
struct WireCall {
    #[serde(default)]
    id: String,
    #[serde(rename = "type", default = "function_type")]
    kind: String,
    function: WireFunction,
}

#[derive(Serialize, Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: String,
    #[serde(default)]
    arguments: serde_json::Value,
}

fn function_type() -> String {
    "function".into()
}

/// Some servers (older Ollama) send `arguments` as an object instead of a string.
pub(crate) fn arguments_text(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Serialize for ToolCall {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WireCall {
            id: self.id.clone(),
            kind: function_type(),
            function: WireFunction {
                name: self.name.clone(),
                arguments: serde_json::Value::String(self.arguments.clone()),
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ToolCall {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireCall::deserialize(d)?;
        let _ = w.kind;
        Ok(Self {
            id: w.id,
            name: w.function.name,
            arguments: arguments_text(w.function.arguments),
        })
    }
}

/// A tool offered to the model: its name, what it does, and a JSON schema of its
/// arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// Name the model calls it by.
    pub name: String,
    /// What it returns and when to use it.
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: serde_json::Value,
}

impl ToolSpec {
    /// The `tools[]` entry of a request.
    pub fn wire(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            }
        })
    }
}

/// Tokens a call spent, as the server reported them (or estimated when it did not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Prompt tokens.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Completion tokens.
    #[serde(default)]
    pub completion_tokens: u64,
}

impl TokenUsage {
    /// Prompt plus completion.
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// The model's answer to one request, reasoning already separated from the text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    /// Visible text, `<think>` blocks removed.
    pub content: String,
    /// Reasoning (`reasoning_content` and `<think>` blocks): never shown to users.
    pub reasoning: String,
    /// Tool calls, in order.
    pub tool_calls: Vec<ToolCall>,
    /// Tokens spent.
    pub usage: TokenUsage,
    /// Whether the server reported usage (otherwise `usage` is an estimate).
    pub usage_reported: bool,
    /// Why the model stopped (`stop`, `tool_calls`, `length`).
    pub finish_reason: Option<String>,
}

/// A piece of a streamed answer, as it arrives.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    /// Visible text.
    Content(String),
    /// Reasoning text.
    Reasoning(String),
}

/// Rough token count of `chars` characters (about 4 per token for English and JSON).
pub fn estimate_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_call_wire_shape_and_object_arguments() {
        let c = ToolCall {
            id: "c1".into(),
            name: "query".into(),
            arguments: "{\"q\":1}".into(),
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["type"], "function");
        assert_eq!(v["function"]["arguments"], "{\"q\":1}");
        let back: ToolCall = serde_json::from_value(
            serde_json::json!({"id":"c2","function":{"name":"q","arguments":{"a":1}}}),
        )
        .unwrap();
        assert_eq!(back.arguments, "{\"a\":1}");
    }
}
