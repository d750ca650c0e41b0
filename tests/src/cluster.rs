//! A cluster in miniature: each function a separate `aegis serve <function>` process
//! (some in several replicas), and between them the Broker of `aegis-broker` routing
//! by the project's own Knative manifests, as the Knative Broker would. The functions
//! publish to the relay's `/broker` (their `K_SINK`); the Broker delivers to
//! `/fn/<function>/`, which the relay forwards to the function's replicas in turn.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aegis_broker::{Broker, Manifests, PublishError};
use aegis_core::events::AnyEvent;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};

use crate::process::Aegis;

/// The running functions and the Broker between them.
pub struct Cluster {
    /// The Broker (its hops, `wait_idle`).
    pub broker: Broker,
    /// `http://127.0.0.1:<port>`: the relay.
    pub base: String,
    /// Each function's replicas.
    pub functions: HashMap<String, Vec<Aegis>>,
}

#[derive(Clone)]
struct Relay {
    broker: Broker,
    replicas: Arc<HashMap<String, Vec<String>>>,
    next: Arc<AtomicUsize>,
    client: reqwest::Client,
}

impl Cluster {
    /// Starts `replicas` of each function of `functions` with the variables `env`
    /// (and `K_SINK` pointing at the Broker), and the Broker.
    pub async fn start(functions: &[(&str, usize)], env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let sink = format!("{base}/broker");
        let mut vars: Vec<(&str, &str)> = env.to_vec();
        vars.push(("K_SINK", &sink));
        let mut running = HashMap::new();
        let mut replicas = HashMap::new();
        for (name, count) in functions {
            let mut started = Vec::new();
            for _ in 0..*count {
                started.push(Aegis::spawn(&["serve", name], &vars).await?);
            }
            replicas.insert(
                name.to_string(),
                started.iter().map(|a| a.url("")).collect::<Vec<_>>(),
            );
            running.insert(name.to_string(), started);
        }
        let broker = Broker::new(&Manifests::embedded()?, base.parse()?);
        let relay = Relay {
            broker: broker.clone(),
            replicas: Arc::new(replicas),
            next: Arc::new(AtomicUsize::new(0)),
            client: reqwest::Client::builder().no_proxy().build()?,
        };
        let app = Router::new()
            .route("/broker", post(ingress))
            .route("/fn/{name}/", any(forward_root))
            .route("/fn/{name}/{*rest}", any(forward))
            .with_state(relay);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self {
            broker,
            base,
            functions: running,
        })
    }

    /// The first replica of `function`.
    pub fn replica(&self, function: &str) -> &Aegis {
        &self.functions[function][0]
    }
}

async fn ingress(State(relay): State<Relay>, AnyEvent(event): AnyEvent) -> Response {
    match relay.broker.publish(event).await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e @ PublishError::TtlExhausted { .. }) => {
            (StatusCode::BAD_REQUEST, e.to_string()).into_response()
        }
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

async fn forward_root(
    state: State<Relay>,
    Path(name): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    relay(state, name, String::new(), method, headers, body).await
}

async fn forward(
    state: State<Relay>,
    Path((name, rest)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    relay(state, name, rest, method, headers, body).await
}

/// Forwards one delivery to the next replica of `name`, as a Service would.
async fn relay(
    State(relay): State<Relay>,
    name: String,
    rest: String,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(replicas) = relay.replicas.get(&name).filter(|r| !r.is_empty()) else {
        return (StatusCode::NOT_FOUND, format!("no function {name}")).into_response();
    };
    let target = &replicas[relay.next.fetch_add(1, Ordering::Relaxed) % replicas.len()];
    let mut req = relay
        .client
        .request(method, format!("{target}/{rest}"))
        .body(body);
    for (k, v) in &headers {
        if k != axum::http::header::HOST && k != axum::http::header::CONTENT_LENGTH {
            req = req.header(k, v);
        }
    }
    match req.send().await {
        Ok(res) => {
            let status = res.status();
            let headers = res.headers().clone();
            let body = res.bytes().await.unwrap_or_default();
            let mut out = (status, body).into_response();
            for (k, v) in &headers {
                if k != axum::http::header::CONTENT_LENGTH
                    && k != axum::http::header::TRANSFER_ENCODING
                {
                    out.headers_mut().insert(k, v.clone());
                }
            }
            out
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
