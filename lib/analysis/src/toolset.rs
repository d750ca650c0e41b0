use aegis_llm::ToolSpec;

/// The read-only tools the agent may call. The agent sees only this, so tests and
/// benchmarks can give it tools of their own; the analyzer gives it the registry of
/// Prometheus, Loki and Jaeger tools built from `tools::Config`.
#[async_trait::async_trait]
pub trait ToolSet: Send + Sync {
    /// The tools offered to the model.
    fn specs(&self) -> Vec<ToolSpec>;

    /// Calls `name` with `args`; `Ok` is the compact text the model reads, `Err` says
    /// what went wrong (also shown to the model, so it can correct itself).
    async fn call(&self, name: &str, args: serde_json::Value) -> Result<String, String>;
}

/// No tools: the agent can only reason over the question and the engine's ranking.
#[derive(Debug, Default)]
pub struct NoTools;

#[async_trait::async_trait]
impl ToolSet for NoTools {
    fn specs(&self) -> Vec<ToolSpec> {
        Vec::new()
    }

    async fn call(&self, name: &str, _args: serde_json::Value) -> Result<String, String> {
        Err(format!("no tool {name} is configured"))
    }
}

/// The registry of Prometheus, Loki and Jaeger tools is a tool set as is.
#[async_trait::async_trait]
impl ToolSet for aegis_tools::Catalog {
    fn specs(&self) -> Vec<ToolSpec> {
        self.iter()
            .map(|t| ToolSpec {
                name: t.name().to_string(),
                description: t.description().to_string(),
                parameters: t.parameters(),
            })
            .collect()
    }

    async fn call(&self, name: &str, args: serde_json::Value) -> Result<String, String> {
        aegis_tools::Catalog::call(self, name, args)
            .await
            .map_err(|e| e.to_string())
    }
}
