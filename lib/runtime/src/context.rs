use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use crate::ServeConfig;
use aegis_core::Metrics;
use aegis_core::config::{self, Env, Lookup};
use aegis_core::events::{EventSink, HttpSink, Unconfigured};

/// What every function is built from: the process's variables (each function reads
/// the part it uses), how the process serves, where events go, the metrics registry,
/// and the resources the functions of one process share. In `aegis dev` one context
/// serves every function, with the local broker as its sink.
#[derive(Clone)]
pub struct Context {
    vars: Lookup,
    /// Listening, limits and telemetry.
    pub serve: Arc<ServeConfig>,
    /// Where published events go.
    pub sink: Arc<dyn EventSink>,
    /// The metrics registry functions add their own metrics to.
    pub metrics: Metrics,
    shared: Shared,
}

impl Context {
    /// The context of a process reading `vars`: its serving settings, and the HTTP
    /// sink to `K_SINK` when one is set.
    pub fn from_lookup(vars: Lookup) -> Result<Self, config::Error> {
        let env = Env::new(&*vars);
        let serve = ServeConfig::from_env(&env)?;
        let events = aegis_core::events::Config::from_env(&env)?;
        let sink: Arc<dyn EventSink> = match HttpSink::from_config(&events) {
            Some(sink) => Arc::new(sink),
            None => Arc::new(Unconfigured),
        };
        Ok(Self::with_sink(vars, serve, sink))
    }

    /// A context publishing to `sink` (the local broker of `aegis dev`).
    pub fn with_sink(vars: Lookup, serve: ServeConfig, sink: Arc<dyn EventSink>) -> Self {
        Self {
            vars,
            serve: Arc::new(serve),
            sink,
            metrics: Metrics::default(),
            shared: Shared::default(),
        }
    }

    /// Reads `function`'s part of the configuration; a bad value is one line naming
    /// the variable.
    pub fn read<T>(
        &self,
        function: &'static str,
        part: impl FnOnce(&Env) -> Result<T, config::Error>,
    ) -> Result<T, BuildError> {
        part(&Env::new(&*self.vars)).map_err(|e| BuildError::new(function, e))
    }

    /// The resource of type `T` the functions of this process share (the report
    /// store), made by `init` for the first function that asks; later ones get a clone.
    /// `function` names the one asking when `init` fails.
    pub async fn shared<T, E, F, Fut>(
        &self,
        function: &'static str,
        init: F,
    ) -> Result<T, BuildError>
    where
        T: Clone + Send + Sync + 'static,
        E: std::fmt::Display,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut resources = self.shared.0.lock().await;
        if let Some(found) = resources
            .get(&TypeId::of::<T>())
            .and_then(|r| r.downcast_ref::<T>())
        {
            return Ok(found.clone());
        }
        let made = init()
            .await
            .map_err(|e| BuildError::new(function, format!("{e:#}")))?;
        resources.insert(TypeId::of::<T>(), Box::new(made.clone()));
        Ok(made)
    }

    /// Provides the shared resource of type `T` before any function is built (a host's
    /// own store, a test's in-memory one).
    pub async fn provide<T: Send + Sync + 'static>(&self, resource: T) {
        let mut resources = self.shared.0.lock().await;
        resources.insert(TypeId::of::<T>(), Box::new(resource));
    }

    /// A context for unit tests: the given variables only, no sink.
    pub fn for_test_with(vars: &[(&str, &str)]) -> Self {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup: Lookup = Arc::new(move |name| vars.get(name).cloned());
        let serve = ServeConfig::from_env(&Env::new(&*lookup)).expect("defaults are valid");
        Self::with_sink(lookup, serve, Arc::new(Unconfigured))
    }

    /// A context for unit tests: every default, no sink.
    pub fn for_test() -> Self {
        Self::for_test_with(&[])
    }
}

/// Resources shared by the functions of one process, one per type.
#[derive(Clone, Default)]
struct Shared(Arc<tokio::sync::Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>>);

/// A built function: its routes and how long one of its requests may take.
pub struct Function {
    /// Its name (`notifier`, `analyze`, ...), used in logs, metrics and `/fn/<name>/`.
    pub name: &'static str,
    /// Its routes, without `/healthz` and `/metrics` (the runtime adds those).
    pub router: Router,
    /// Longest time one request may take before 503.
    pub timeout: Duration,
}

/// Why a function could not be built (a bad variable, a store that cannot open, a bad
/// combination of settings); the process exits with this one line.
#[derive(Debug, thiserror::Error)]
#[error("{function} cannot start: {reason}")]
pub struct BuildError {
    /// The function.
    pub function: &'static str,
    /// What is missing or wrong.
    pub reason: String,
}

impl BuildError {
    /// An error building `function`.
    pub fn new(function: &'static str, reason: impl std::fmt::Display) -> Self {
        Self {
            function,
            reason: reason.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_shared_resource_is_made_once() {
        let ctx = Context::for_test();
        let first: Arc<String> = ctx
            .shared("test", || async {
                Ok::<_, String>(Arc::new("store".to_string()))
            })
            .await
            .unwrap();
        let second: Arc<String> = ctx
            .clone()
            .shared("test", || async {
                Ok::<_, String>(Arc::new("another".to_string()))
            })
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&first, &second));
    }

    #[tokio::test]
    async fn a_provided_resource_is_used() {
        let ctx = Context::for_test();
        ctx.provide(Arc::new(7_u32)).await;
        let got: Arc<u32> = ctx
            .shared("test", || async { Ok::<_, String>(Arc::new(0)) })
            .await
            .unwrap();
        assert_eq!(*got, 7);
    }

    #[test]
    fn a_function_reads_its_part() {
        let ctx = Context::for_test_with(&[("AEGIS_WEBHOOK_TOKEN", "t")]);
        let alert = ctx
            .read("test", aegis_core::alert::Config::from_env)
            .unwrap();
        assert_eq!(alert.webhook_token.unwrap().expose(), "t");
    }

    #[test]
    fn a_bad_serving_value_names_the_variable() {
        let vars: Lookup = Arc::new(|k| (k == "AEGIS_BODY_LIMIT").then(|| "lots".into()));
        let err = Context::from_lookup(vars).err().unwrap().to_string();
        assert!(err.contains("AEGIS_BODY_LIMIT"), "{err}");
    }
}
