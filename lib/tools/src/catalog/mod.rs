//! The tools the LLM calls: each has a name, a description written for a model, a
//! JSON schema of its arguments derived with `schemars`, and returns compact text.
//!
//! [`catalog`] gathers the tools of the configured backends; other modules add their
//! own with [`Catalog::add`] and [`tool`] (the agent adds the root-cause engine).

mod args;
mod jaeger;
mod loki;
mod prometheus;

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::{Clients, Error};

pub use args::Window;

/// One tool the model can call.
#[async_trait::async_trait]
pub trait Tool: Send + Sync {
    /// Its name, as the model calls it (`prometheus_range`).
    fn name(&self) -> &str;
    /// What it does and when to use it, written for a model.
    fn description(&self) -> &str;
    /// The JSON schema of its arguments (an object schema).
    fn parameters(&self) -> serde_json::Value;
    /// Runs it on `args` (a JSON object) and returns compact text for the model.
    async fn call(&self, args: serde_json::Value) -> Result<String, Error>;
}

/// A tool from a name, a description, a typed argument struct and an async function;
/// the schema is derived from `A` and the JSON arguments are parsed into it.
pub fn tool<A, F, Fut>(
    name: &'static str,
    description: impl Into<std::borrow::Cow<'static, str>>,
    run: F,
) -> Arc<dyn Tool>
where
    A: DeserializeOwned + JsonSchema + Send + 'static,
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<String, Error>> + Send + 'static,
{
    Arc::new(Typed {
        name,
        description: description.into(),
        run,
        args: PhantomData,
    })
}

struct Typed<A, F> {
    name: &'static str,
    description: std::borrow::Cow<'static, str>,
    run: F,
    args: PhantomData<fn(A)>,
}

#[async_trait::async_trait]
impl<A, F, Fut> Tool for Typed<A, F>
where
    A: DeserializeOwned + JsonSchema + Send + 'static,
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<String, Error>> + Send + 'static,
{
    fn name(&self) -> &str {
        self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn parameters(&self) -> serde_json::Value {
        schema_of::<A>()
    }

    async fn call(&self, args: serde_json::Value) -> Result<String, Error> {
        // Models often send `null` or nothing for a tool without arguments.
        let args = if args.is_null() {
            serde_json::json!({})
        } else {
            args
        };
        let args: A = serde_json::from_value(args).map_err(|e| {
            Error::Invalid(format!(
                "arguments of {}: {e}; expected {}",
                self.name,
                schema_of::<A>()
            ))
        })?;
        (self.run)(args).await
    }
}

/// The argument schema of `A`: inline (no `$defs`), without `$schema`, as tool-calling
/// APIs expect.
pub fn schema_of<A: JsonSchema>() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<A>();
    let mut value = schema.to_value();
    if let Some(object) = value.as_object_mut() {
        object.remove("$schema");
        object.remove("title");
    }
    value
}

/// A set of tools, looked up by name.
#[derive(Clone, Default)]
pub struct Catalog {
    tools: Vec<Arc<dyn Tool>>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Catalog {
    /// Adds `tool`, replacing one of the same name.
    pub fn add(&mut self, tool: Arc<dyn Tool>) {
        self.tools.retain(|t| t.name() != tool.name());
        self.tools.push(tool);
    }

    /// The tool called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools.iter().find(|t| t.name() == name)
    }

    /// Every tool, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Tool>> {
        self.tools.iter()
    }

    /// Every tool's name.
    pub fn names(&self) -> Vec<&str> {
        self.tools.iter().map(|t| t.name()).collect()
    }

    /// How many tools.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// Calls the tool `name`; an unknown name is [`Error::Invalid`] listing the known ones.
    pub async fn call(&self, name: &str, args: serde_json::Value) -> Result<String, Error> {
        match self.get(name) {
            Some(tool) => tool.call(args).await,
            None => Err(Error::Invalid(format!(
                "no tool named {name:?}; the tools are: {}",
                self.names().join(", ")
            ))),
        }
    }

    /// The tools in the OpenAI `tools` format:
    /// `{"type": "function", "function": {name, description, parameters}}`.
    pub fn specs(&self) -> Vec<serde_json::Value> {
        self.tools
            .iter()
            .map(|t| {
                serde_json::json!({
                    "type": "function",
                    "function": {
                        "name": t.name(),
                        "description": t.description(),
                        "parameters": t.parameters(),
                    }
                })
            })
            .collect()
    }
}

/// The tools of every configured backend; `start`/`end` left out by the model default
/// to the last 15 minutes at call time.
pub fn catalog(tools: &Clients) -> Catalog {
    catalog_for(tools, Window::Trailing(chrono::Duration::minutes(15)))
}

/// The tools of every configured backend, with `window` as the default time range
/// (an analysis passes its request's range).
pub fn catalog_for(tools: &Clients, window: Window) -> Catalog {
    let mut catalog = Catalog::default();
    if let Ok(client) = tools.prometheus() {
        prometheus::add(&mut catalog, client, window);
    }
    if let Ok(client) = tools.loki() {
        loki::add(&mut catalog, client, window);
    }
    if let Ok(client) = tools.jaeger() {
        jaeger::add(&mut catalog, client, window);
    }
    catalog
}

/// A fixed window, for [`catalog_for`].
pub fn window(start: DateTime<Utc>, end: DateTime<Utc>) -> Window {
    Window::Fixed { start, end }
}
