//! A recording HTTP server on port 0: it keeps method, path, query, headers and body of
//! every request it receives and answers through a function given by the test.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Recorded {
    /// The decoded query (or form) parameters.
    pub fn params(&self) -> Vec<(String, String)> {
        let raw = if self.method == Method::POST {
            &self.body
        } else {
            &self.query
        };
        url::form_urlencoded::parse(raw.as_bytes())
            .into_owned()
            .collect()
    }

    /// The value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<String> {
        self.params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// What the server answers: status, content type and body.
pub type Answer = (StatusCode, &'static str, String);

type Respond = Arc<dyn Fn(&Recorded) -> Answer + Send + Sync>;

#[derive(Clone)]
struct AppState {
    log: Arc<Mutex<Vec<Recorded>>>,
    respond: Respond,
    delay: Duration,
}

/// A running recording server.
pub struct Recorder {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    /// Starts a server answering with `respond`.
    pub async fn start(respond: impl Fn(&Recorded) -> Answer + Send + Sync + 'static) -> Self {
        Self::start_slow(Duration::ZERO, respond).await
    }

    /// Starts a server that waits `delay` before answering.
    pub async fn start_slow(
        delay: Duration,
        respond: impl Fn(&Recorded) -> Answer + Send + Sync + 'static,
    ) -> Self {
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = AppState {
            log: log.clone(),
            respond: Arc::new(respond),
            delay,
        };
        let app = Router::new().fallback(record).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base: format!("http://{addr}"),
            log,
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().expect("lock").clone()
    }
}

async fn record(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        method,
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    state.log.lock().expect("lock").push(recorded.clone());
    if !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    let (status, content_type, body) = (state.respond)(&recorded);
    (status, [("content-type", content_type)], body).into_response()
}
