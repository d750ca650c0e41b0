//! `aegis dev`: every function in one process on one port, with the local broker.
//!
//! Each function keeps its own timeout; the original service's public paths route to
//! their function; every function is also under `/fn/<name>/`; `POST /broker` is the
//! broker ingress; the common layers (`/healthz`, `/metrics`, request ids, the body
//! limit) wrap the whole. Functions publish through the broker itself.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use aegis_broker::{Broker, Journal, Manifests, PublishError};
use aegis_core::config::{Env, Lookup, Secret};
use aegis_core::events::AnyEvent;
use aegis_runtime::{Context, ServeConfig};
use aegis_store::ReportStore;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::functions::{self, PUBLIC_ROUTES};

/// What `aegis dev` runs with.
pub struct DevOptions {
    /// Where the variables come from (the environment; tests pass a map).
    pub vars: Lookup,
    /// Broker and Trigger manifests from this folder instead of the built-in ones.
    pub knative: Option<PathBuf>,
    /// Where to listen; `None` binds [`DevOptions::host`] on `PORT`.
    pub listener: Option<TcpListener>,
    /// The address to bind when no listener is given: 127.0.0.1 by default, so a
    /// laptop's `aegis dev` is not reachable from the network unless asked.
    pub host: IpAddr,
}

impl DevOptions {
    /// Options reading `vars`, with the built-in manifests and the configured port.
    pub fn new(vars: Lookup) -> Self {
        Self {
            vars,
            knative: None,
            listener: None,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        }
    }

    /// Binds `host` instead of 127.0.0.1 (`0.0.0.0` to be reachable from containers,
    /// such as an Alertmanager in Docker, and other machines).
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// Reads manifests from `dir`.
    pub fn knative(mut self, dir: impl Into<PathBuf>) -> Self {
        self.knative = Some(dir.into());
        self
    }

    /// Serves on `listener` (bind port 0 in tests).
    pub fn listener(mut self, listener: TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }
}

/// A running `aegis dev`. Dropping it leaves the server running until the process
/// ends; call [`DevHandle::shutdown`] to stop it gracefully.
pub struct DevHandle {
    addr: SocketAddr,
    broker: Broker,
    context: Context,
    store: Arc<dyn ReportStore>,
    guarded: bool,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
}

impl DevHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The local broker: [`Broker::wait_idle`] waits for every delivery to finish,
    /// [`Broker::hops`] tells where each event went.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// The context every function was built from (serving settings, metrics).
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The report store every function shares.
    pub fn store(&self) -> &Arc<dyn ReportStore> {
        &self.store
    }

    /// What it exposes to whom, in one sentence (said at start-up).
    pub fn exposure(&self) -> String {
        exposure(self.addr, self.guarded)
    }

    /// Stops accepting, lets in-flight requests finish (within the shutdown grace),
    /// and returns when the server has stopped.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server.await.map_err(std::io::Error::other)?
    }
}

/// Why `aegis dev` could not start.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// The port could not be bound.
    #[error("cannot listen on port {port}: {source}")]
    Listen {
        /// The port.
        port: u16,
        /// Why.
        source: std::io::Error,
    },
    /// A variable is invalid.
    #[error(transparent)]
    Config(#[from] aegis_core::config::Error),
    /// The manifests cannot be used.
    #[error(transparent)]
    Manifests(#[from] aegis_broker::ManifestError),
    /// A function could not be built.
    #[error(transparent)]
    Build(#[from] aegis_runtime::BuildError),
    /// The store (or another shared resource) could not be opened.
    #[error("{0:#}")]
    Context(anyhow::Error),
}

/// Starts `aegis dev` in this process: binds, loads the manifests, builds every
/// function with the local broker as its sink, and serves in a background task.
pub async fn start_dev(opts: DevOptions) -> Result<DevHandle, DevError> {
    let DevOptions {
        vars,
        knative,
        listener,
        host,
    } = opts;
    let (serve, store_config, webhook_token) = {
        let env = Env::new(&*vars);
        (
            ServeConfig::from_env(&env)?,
            aegis_store::Config::from_env(&env)?,
            aegis_core::alert::Config::from_env(&env)?.webhook_token,
        )
    };
    let listener = match listener {
        Some(l) => l,
        None => {
            let port = serve.port;
            TcpListener::bind((host, port))
                .await
                .map_err(|source| DevError::Listen { port, source })?
        }
    };
    let addr = listener.local_addr().map_err(|source| DevError::Listen {
        port: serve.port,
        source,
    })?;
    let manifests = match &knative {
        Some(dir) => Manifests::from_dir(dir)?,
        None => Manifests::embedded()?,
    };
    let local = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let base = url::Url::parse(&format!("http://{local}/")).expect("an address makes a URL");
    // What the broker owes is kept beside the reports, so a crash loses no event it
    // acknowledged (docs/architecture.md, "Delivery guarantees").
    let journal = Journal::in_folder(store_config.data_dir.join("broker"))
        .await
        .map_err(|e| DevError::Context(e.into()))?;
    // The broker proves its deliveries came through it with a token of this process
    // alone: the webhook token never travels to a manifest's `uri` destinations.
    let internal = Secret::new(uuid::Uuid::new_v4().simple().to_string());
    let broker = Broker::durable(&manifests, base, journal).with_bearer(&internal);
    let gate = Gate::new(webhook_token, internal);
    // One store for every function of the process, opened here and handed to them.
    let store = aegis_store::open(&store_config)
        .await
        .map_err(DevError::Context)?;
    let context = Context::with_sink(vars, serve, Arc::new(broker.clone()));
    context.provide(store.clone()).await;
    let (app, grace) = app(&context, broker.clone(), gate.clone()).await?;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(aegis_runtime::serve_until(
        listener,
        app,
        grace,
        context.serve.header_read_timeout,
        async {
            let _ = stop_rx.await;
        },
    ));
    // Deliveries a crash cut short go out now that their subscribers are served.
    let resumed = broker
        .resume()
        .await
        .map_err(|e| DevError::Context(e.into()))?;
    if resumed > 0 {
        tracing::info!(resumed, "deliveries owed before the restart resumed");
    }
    tracing::info!(%addr, broker = %broker.name(), "aegis dev ready");
    tracing::info!("{}", exposure(addr, gate.guards()));
    Ok(DevHandle {
        addr,
        broker,
        context,
        store,
        guarded: gate.guards(),
        stop: Some(stop_tx),
        server,
    })
}

/// The whole `aegis dev` router (every function, the public paths, the broker
/// ingress behind `gate`, and the common layers) and its shutdown grace: long enough
/// for the longest of the functions' own timeouts.
pub async fn app(
    ctx: &Context,
    broker: Broker,
    gate: Gate,
) -> Result<(Router, std::time::Duration), aegis_runtime::BuildError> {
    let mut app = Router::new();
    let mut grace = ctx.serve.shutdown_grace;
    for name in functions::NAMES {
        let function = functions::build(name, ctx).await.ok_or_else(|| {
            aegis_runtime::BuildError::new("aegis", format!("no function {name}"))
        })??;
        grace = grace.max(aegis_runtime::shutdown_grace(&ctx.serve, &function));
        let routes = aegis_runtime::with_timeout(function);
        for (path, _) in PUBLIC_ROUTES.iter().filter(|(_, owner)| owner == name) {
            app = app.route_service(path, Unrouted(routes.clone()));
        }
        let guarded = Router::new()
            .fallback_service(routes)
            .layer(middleware::from_fn_with_state(gate.clone(), require_token));
        app = app.nest_service(&format!("/fn/{name}"), guarded);
    }
    let app = app.route(
        "/broker",
        post(ingress)
            .with_state(broker)
            .layer(middleware::from_fn_with_state(gate, require_token)),
    );
    let app = aegis_runtime::with_common_layers(app, &ctx.serve, &ctx.metrics);
    Ok((app, grace))
}

/// Who may post to the routes that inject events (`/broker`, `/fn/*`, the dead-letter
/// sink among them): with `AEGIS_WEBHOOK_TOKEN` set, a bearer of it or of the local
/// broker's own token; without one, anyone who can reach the port. Cheap to clone.
#[derive(Clone)]
pub struct Gate(Option<Arc<[Secret; 2]>>);

impl Gate {
    /// The gate of a process whose webhook token is `webhook` (if any) and whose broker
    /// delivers with `internal`.
    pub fn new(webhook: Option<Secret>, internal: Secret) -> Self {
        Self(webhook.map(|webhook| Arc::new([webhook, internal])))
    }

    /// Whether the gate asks for a token.
    pub fn guards(&self) -> bool {
        self.0.is_some()
    }
}

/// 401 for a request to a guarded route without a known bearer token.
async fn require_token(
    State(gate): State<Gate>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    if let Some(tokens) = &gate.0 {
        let [webhook, internal] = &**tokens;
        if !aegis_runtime::auth::bearer_matches(req.headers(), &[webhook, internal]) {
            return (
                StatusCode::UNAUTHORIZED,
                [(http::header::WWW_AUTHENTICATE, "Bearer")],
                axum::Json(serde_json::json!({
                    "error": "this route injects events: send Authorization: Bearer <AEGIS_WEBHOOK_TOKEN>"
                })),
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// What `aegis dev` at `addr` exposes, in one sentence for its start-up log.
fn exposure(addr: SocketAddr, guarded: bool) -> String {
    let reach = if addr.ip().is_loopback() {
        "this machine only"
    } else {
        "the network"
    };
    let doors = if guarded {
        "POST /broker and /fn/* require the webhook token (AEGIS_WEBHOOK_TOKEN)"
    } else {
        "POST /broker, /fn/* and the webhook accept events from anyone who can connect (set AEGIS_WEBHOOK_TOKEN to require a token)"
    };
    format!("listening on {addr}, reachable from {reach}; {doors}")
}

/// A function's router served under one of its own public paths.
///
/// axum adds the path parameters an outer route captured to those the inner router
/// captures again, so `Path<String>` in the function would see `{id}` twice and
/// answer 500. The function matches the whole path itself, so the request reaches
/// it without the outer route's extensions (no handler here reads any other; the
/// outer [`axum::extract::MatchedPath`] has already labelled the metrics).
#[derive(Clone)]
struct Unrouted(Router);

impl tower::Service<axum::extract::Request> for Unrouted {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = <Router as tower::Service<axum::extract::Request>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        tower::Service::<axum::extract::Request>::poll_ready(&mut self.0, cx)
    }

    fn call(&mut self, req: axum::extract::Request) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        parts.extensions = http::Extensions::new();
        self.0.call(axum::extract::Request::from_parts(parts, body))
    }
}

/// `POST /broker`: 202 once the broker holds the event durably; 400 with the reason
/// for a malformed CloudEvent (from [`AnyEvent`]) or an event with no hops left; 503
/// when the journal cannot be written (the event is not held; retry).
async fn ingress(State(broker): State<Broker>, AnyEvent(event): AnyEvent) -> Response {
    match broker.publish(event).await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e @ PublishError::TtlExhausted { .. }) => {
            (StatusCode::BAD_REQUEST, e.to_string()).into_response()
        }
        Err(e @ PublishError::Journal(_)) => {
            (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn it_binds_the_host_it_is_given() {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().display().to_string();
        let vars: Lookup = Arc::new(move |name| match name {
            "PORT" => Some("0".into()),
            "AEGIS_DATA_DIR" => Some(dir.clone()),
            _ => None,
        });
        let handle =
            start_dev(DevOptions::new(vars.clone()).host(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
                .await
                .unwrap();
        assert!(handle.addr().ip().is_unspecified(), "{}", handle.addr());
        let exposure = handle.exposure();
        assert!(
            exposure.contains("reachable from the network"),
            "{exposure}"
        );
        assert!(
            exposure.contains("from anyone who can connect"),
            "{exposure}"
        );
        let port = handle.addr().port();
        let health = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .unwrap();
        assert_eq!(health.status(), reqwest::StatusCode::OK);
        handle.shutdown().await.unwrap();

        let handle = start_dev(DevOptions::new(vars)).await.unwrap();
        assert_eq!(
            handle.addr().ip(),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            "the default"
        );
        assert!(handle.exposure().contains("this machine only"));
        handle.shutdown().await.unwrap();
    }
}
