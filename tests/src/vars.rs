//! Variables standing for the process environment in tests, and the functions built
//! from them alone, as `aegis serve <function>` builds and serves one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aegis_core::config::{Env, Error, Lookup};
use aegis_runtime::Context;

/// A map of variables read instead of the process environment.
#[derive(Debug, Clone, Default)]
pub struct Vars(HashMap<String, String>);

impl Vars {
    /// The variables `pairs`.
    pub fn of(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// Sets `name` to `value`.
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.0.insert(name.to_string(), value.into());
        self
    }

    /// The variables as a process's [`Lookup`].
    pub fn lookup(&self) -> Lookup {
        let vars = self.0.clone();
        Arc::new(move |name| vars.get(name).cloned())
    }

    /// A part of the configuration read from these variables; panics when invalid.
    pub fn read<T>(&self, part: impl FnOnce(&Env) -> Result<T, Error>) -> T {
        part(&Env::new(&|name| self.0.get(name).cloned())).expect("test configuration is valid")
    }

    /// What an analyzer is built from, read from these variables.
    pub fn settings(&self) -> aegis_analysis::Settings {
        self.read(aegis_analysis::Settings::from_env)
    }

    /// The context of a function process reading these variables.
    pub fn context(&self) -> Context {
        Context::from_lookup(self.lookup()).expect("test configuration is valid")
    }
}

/// The function `name` built from `ctx` alone, with the host's layers, as `aegis serve`
/// runs it.
pub async fn mount_alone(name: &str, ctx: &Context) -> axum::Router {
    let function = aegis_cli::functions::build(name, ctx)
        .await
        .unwrap_or_else(|| panic!("{name} is not a function"))
        .unwrap_or_else(|e| panic!("{name} does not build: {e}"));
    aegis_runtime::mount(function, ctx)
}

/// The function `name` built from `ctx` alone and served on a free port of 127.0.0.1;
/// its base URL (`http://127.0.0.1:<port>`).
pub async fn serve_alone(name: &str, ctx: &Context) -> String {
    let app = mount_alone(name, ctx).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let url = format!("http://{}", listener.local_addr().expect("bound address"));
    tokio::spawn(aegis_runtime::serve_on(
        listener,
        app,
        Duration::from_secs(1),
        Duration::from_secs(10),
    ));
    url
}
