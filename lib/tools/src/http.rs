//! The one HTTP layer every tool client goes through. It can only express `GET` and a
//! form `POST`, and it refuses, before anything is sent, every request whose method and
//! path are not one of the read-only query endpoints of its backend: the tools are
//! read-only by construction, not by convention.

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::config::{Auth, Backend};
use super::error::{Api, Error};
use aegis_core::redact::Redactor;

/// The two request shapes the query APIs need; no other method can be expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET` with the parameters in the query string.
    Get,
    /// `POST` with an `application/x-www-form-urlencoded` body (Prometheus only, for long
    /// queries).
    PostForm,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::PostForm => "POST",
        }
    }
}

/// One request to a backend, relative to its base URL.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET` or form `POST`.
    pub method: Method,
    /// Path segments below the base URL, e.g. `["api", "v1", "query"]`; each one is
    /// percent-encoded as a single segment, so a label or service name cannot add a path.
    pub segments: Vec<String>,
    /// Query-string (GET) or form (POST) parameters.
    pub params: Vec<(String, String)>,
}

impl Request {
    /// A `GET` of `segments` with `params`.
    pub fn get<S: AsRef<str>>(segments: &[S], params: Vec<(String, String)>) -> Self {
        Self {
            method: Method::Get,
            segments: segments.iter().map(|s| s.as_ref().to_string()).collect(),
            params,
        }
    }

    /// A form `POST` of `segments` with `params`.
    pub fn post_form<S: AsRef<str>>(segments: &[S], params: Vec<(String, String)>) -> Self {
        Self {
            method: Method::PostForm,
            ..Self::get(segments, params)
        }
    }

    fn path(&self) -> String {
        format!("/{}", self.segments.join("/"))
    }
}

// `*` matches one non-empty segment (a label name, a service, a trace id).
const PROMETHEUS_GET: &[&[&str]] = &[
    &["api", "v1", "query"],
    &["api", "v1", "query_range"],
    &["api", "v1", "labels"],
    &["api", "v1", "label", "*", "values"],
    &["api", "v1", "series"],
    &["api", "v1", "metadata"],
    &["api", "v1", "alerts"],
    &["api", "v1", "rules"],
];
// Prometheus documents POST (form) for these read endpoints, for queries too long for a URL.
const PROMETHEUS_POST_FORM: &[&[&str]] = &[
    &["api", "v1", "query"],
    &["api", "v1", "query_range"],
    &["api", "v1", "series"],
    &["api", "v1", "labels"],
];
const LOKI_GET: &[&[&str]] = &[
    &["loki", "api", "v1", "query_range"],
    &["loki", "api", "v1", "labels"],
    &["loki", "api", "v1", "label", "*", "values"],
    &["loki", "api", "v1", "series"],
];
const JAEGER_GET: &[&[&str]] = &[
    &["api", "services"],
    &["api", "services", "*", "operations"],
    &["api", "traces"],
    &["api", "traces", "*"],
    &["api", "dependencies"],
];

/// Whether `request` is one of `api`'s read-only query endpoints.
pub fn allowed(api: Api, request: &Request) -> bool {
    let patterns: &[&[&str]] = match (api, request.method) {
        (Api::Prometheus, Method::Get) => PROMETHEUS_GET,
        (Api::Prometheus, Method::PostForm) => PROMETHEUS_POST_FORM,
        (Api::Loki, Method::Get) => LOKI_GET,
        (Api::Jaeger, Method::Get) => JAEGER_GET,
        (Api::Loki | Api::Jaeger, Method::PostForm) => &[],
    };
    patterns.iter().any(|pattern| {
        pattern.len() == request.segments.len()
            && pattern
                .iter()
                .zip(&request.segments)
                .all(|(p, s)| match *p {
                    "*" => !s.is_empty() && s != "." && s != "..",
                    p => p == s,
                })
    })
}

/// A client of one backend: its base URL, credentials and bounds, over the process's
/// one connection pool ([`client`], taken when a request is made: building it reads
/// the platform's CA certificates, which a cold start that only answers a health
/// check should not wait for).
#[derive(Debug, Clone)]
pub struct Http {
    api: Api,
    base: url::Url,
    auth: Option<Auth>,
    headers: Vec<(&'static str, String)>,
    timeout: Duration,
    max_bytes: u64,
    /// What every error is cleaned of: a backend (or a proxy before it) may answer
    /// with the `Authorization` it received.
    redactor: Redactor,
}

/// The `reqwest` client behind every backend: the process's one
/// ([`aegis_core::http_client`]; no redirects, a redirect could lead anywhere).
pub fn client() -> Result<reqwest::Client, Error> {
    aegis_core::http_client().map_err(Error::Invalid)
}

impl Http {
    /// A client of `api` at `backend`, with a call timeout and a cap on bytes read;
    /// its errors are cleaned of `backend`'s credentials.
    pub fn new(api: Api, backend: &Backend, timeout: Duration, max_bytes: u64) -> Self {
        Self {
            api,
            base: backend.url.clone(),
            auth: backend.auth.clone(),
            headers: Vec::new(),
            timeout,
            max_bytes,
            redactor: backend.redact(Redactor::default()),
        }
    }

    /// Cleans its errors of what `redactor` masks too (every configured secret:
    /// [`crate::Config::redactor`]).
    pub fn with_redactor(mut self, redactor: &Redactor) -> Self {
        self.redactor = match &self.auth {
            None => redactor.clone(),
            Some(Auth::Bearer(token)) => redactor.with([token.expose().to_string()]),
            Some(Auth::Basic { user, password }) => redactor.with_basic(user, password.expose()),
        };
        self
    }

    /// `e` cleaned of every secret this client knows of; every error that holds a
    /// backend's text leaves a client through here.
    pub fn redact(&self, e: Error) -> Error {
        e.redacted(&self.redactor)
    }

    /// The `data` of a Prometheus-style answer ([`unwrap_envelope`]), its errors
    /// cleaned of secrets.
    pub(crate) fn envelope<T: serde::de::DeserializeOwned>(&self, body: &[u8]) -> Result<T, Error> {
        unwrap_envelope(self.api, body).map_err(|e| self.redact(e))
    }

    /// Adds a header sent with every request (Loki's `X-Scope-OrgID`).
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The backend this client talks to.
    pub fn api(&self) -> Api {
        self.api
    }

    /// The per-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` if it is allowlisted and returns the body of a 2xx answer, read
    /// up to the byte cap, all within the timeout. Anything else is a structured error.
    pub async fn send(&self, request: &Request) -> Result<Bytes, Error> {
        if !allowed(self.api, request) {
            return Err(Error::Refused {
                api: self.api,
                method: request.method.as_str(),
                path: request.path(),
            });
        }
        // One retry after a transport failure: every allowlisted request is a read, and
        // a pooled keep-alive connection the peer closed (or, in tests, one whose
        // runtime ended) fails the first request on it without the request being served.
        let attempts = async {
            match self.exchange(self.build(request)?).await {
                Err(Error::Unreachable { .. }) => self.exchange(self.build(request)?).await,
                other => other,
            }
        };
        match tokio::time::timeout(self.timeout, attempts).await {
            Ok(result) => result.map_err(|e| self.redact(e)),
            Err(_) => Err(Error::Timeout {
                api: self.api,
                after: self.timeout,
            }),
        }
    }

    fn build(&self, request: &Request) -> Result<reqwest::RequestBuilder, Error> {
        let mut url = self.base.clone();
        url.set_fragment(None);
        {
            let mut path = url.path_segments_mut().map_err(|()| {
                Error::Invalid(format!("{} base URL cannot take a path", self.api))
            })?;
            path.pop_if_empty().extend(&request.segments);
        }
        let client = client()?;
        let builder = match request.method {
            Method::Get => {
                if !request.params.is_empty() {
                    url.query_pairs_mut().extend_pairs(&request.params);
                }
                client.get(url)
            }
            Method::PostForm => {
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&request.params)
                    .finish();
                client
                    .post(url)
                    .header(
                        http::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body)
            }
        };
        let mut builder = builder
            .header(http::header::ACCEPT, "application/json")
            .timeout(self.timeout);
        for (name, value) in &self.headers {
            builder = builder.header(*name, value);
        }
        builder = match &self.auth {
            None => builder,
            Some(Auth::Bearer(token)) => builder.bearer_auth(token.expose()),
            Some(Auth::Basic { user, password }) => {
                builder.basic_auth(user, Some(password.expose()))
            }
        };
        Ok(builder)
    }

    async fn exchange(&self, builder: reqwest::RequestBuilder) -> Result<Bytes, Error> {
        let mut response = builder.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        if !status.is_success() {
            // Error bodies are short; read a little so the backend's message reaches the model.
            let body = self.read(&mut response, 64 << 10).await.unwrap_or_default();
            return Err(Error::Backend {
                api: self.api,
                status: status.as_u16(),
                message: error_message(self.api, status, &body, &self.redactor),
            });
        }
        if response
            .content_length()
            .is_some_and(|len| len > self.max_bytes)
        {
            return Err(self.too_large());
        }
        self.read(&mut response, self.max_bytes).await
    }

    /// Streams the body, stopping with [`Error::TooLarge`] as soon as it passes `cap`.
    async fn read(&self, response: &mut reqwest::Response, cap: u64) -> Result<Bytes, Error> {
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(self.too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    fn too_large(&self) -> Error {
        Error::TooLarge {
            api: self.api,
            limit: self.max_bytes,
        }
    }

    fn transport(&self, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            return Error::Timeout {
                api: self.api,
                after: self.timeout,
            };
        }
        if e.is_decode() || e.is_body() {
            return Error::Malformed {
                api: self.api,
                detail: "the body could not be read".into(),
            };
        }
        // The innermost cause ("Connection refused") says most; the URL is left out.
        let e = e.without_url();
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            detail = s.to_string();
            source = s.source();
        }
        Error::Unreachable {
            api: self.api,
            detail,
        }
    }
}

/// The message of an error answer in the backend's own shape, secrets masked (before
/// shortening, so no part of one is left at the cut), shortened.
fn error_message(
    api: Api,
    status: reqwest::StatusCode,
    body: &[u8],
    redactor: &Redactor,
) -> String {
    #[derive(serde::Deserialize)]
    struct PromError {
        error: Option<String>,
        #[serde(rename = "errorType")]
        error_type: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct JaegerErrors {
        errors: Option<Vec<JaegerError>>,
    }
    #[derive(serde::Deserialize)]
    struct JaegerError {
        msg: Option<String>,
    }
    let structured = match api {
        Api::Prometheus | Api::Loki => {
            serde_json::from_slice::<PromError>(body)
                .ok()
                .and_then(|e| match (e.error_type, e.error) {
                    (Some(t), Some(m)) => Some(format!("{t}: {m}")),
                    (None, Some(m)) => Some(m),
                    _ => None,
                })
        }
        Api::Jaeger => serde_json::from_slice::<JaegerErrors>(body)
            .ok()
            .and_then(|e| e.errors)
            .map(|errors| {
                errors
                    .into_iter()
                    .filter_map(|e| e.msg)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .filter(|m| !m.is_empty()),
    };
    // Loki answers most errors as plain text.
    let text = structured.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    let text = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no message")
            .to_string()
    } else {
        text
    };
    crate::text::shorten(&redactor.redact(&text), 500)
}

/// The `data` of a Prometheus-style `{"status", "data", "error"}` answer (Prometheus
/// and Loki share it); `"status": "error"` becomes [`Error::Backend`], whatever its
/// `data` holds. The data is kept as raw JSON until the status is known, then read
/// straight into `T`, not through a `serde_json::Value` tree (see
/// `jaeger::Client::call`: a third of a case's time).
pub(crate) fn unwrap_envelope<T: serde::de::DeserializeOwned>(
    api: Api,
    body: &[u8],
) -> Result<T, Error> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        status: String,
        #[serde(default)]
        data: Option<Box<serde_json::value::RawValue>>,
        error: Option<String>,
    }
    let malformed = |e: serde_json::Error| Error::malformed(api, &e);
    let envelope: Envelope = serde_json::from_slice(body).map_err(malformed)?;
    if envelope.status != "success" {
        return Err(Error::Backend {
            api,
            status: 200,
            message: envelope
                .error
                .unwrap_or_else(|| format!("status {:?} without a message", envelope.status)),
        });
    }
    // Missing data reads as null: whatever `T` makes of it (`None`, or an error).
    let data = envelope.data.as_deref().map_or("null", |d| d.get());
    serde_json::from_str(data).map_err(malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_gives_its_data_or_the_backend_error() {
        let data: Vec<String> =
            unwrap_envelope(Api::Loki, br#"{"status":"success","data":["app","pod"]}"#).unwrap();
        assert_eq!(data, ["app", "pod"]);
        let none: Option<Vec<String>> =
            unwrap_envelope(Api::Loki, br#"{"status":"success","data":null}"#).unwrap();
        assert_eq!(none, None);
        let none: Option<Vec<String>> =
            unwrap_envelope(Api::Loki, br#"{"status":"success"}"#).unwrap();
        assert_eq!(none, None);
        // An error's data may hold anything: the error is what is reported.
        let err = unwrap_envelope::<Vec<String>>(
            Api::Prometheus,
            br#"{"status":"error","errorType":"bad_data","error":"parse error at char 4","data":{"partial":1}}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::Backend { message, .. } if message == "parse error at char 4"),
            "{err:?}"
        );
        let err =
            unwrap_envelope::<Vec<String>>(Api::Loki, br#"{"status":"success","data":{"a":1}}"#)
                .unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
    }

    #[test]
    fn query_endpoints_are_allowed() {
        let get = |s: &[&str]| Request::get(s, vec![]);
        assert!(allowed(
            Api::Prometheus,
            &get(&["api", "v1", "query_range"])
        ));
        assert!(allowed(
            Api::Prometheus,
            &get(&["api", "v1", "label", "job", "values"])
        ));
        assert!(allowed(
            Api::Prometheus,
            &Request::post_form(&["api", "v1", "query"], vec![])
        ));
        assert!(allowed(
            Api::Loki,
            &get(&["loki", "api", "v1", "query_range"])
        ));
        assert!(allowed(Api::Jaeger, &get(&["api", "traces", "abc123"])));
        assert!(allowed(
            Api::Jaeger,
            &get(&["api", "services", "frontend", "operations"])
        ));
    }

    #[test]
    fn everything_else_is_refused() {
        let get = |s: &[&str]| Request::get(s, vec![]);
        let post = |s: &[&str]| Request::post_form(s, vec![]);
        for (api, request) in [
            (
                Api::Prometheus,
                post(&["api", "v1", "admin", "tsdb", "delete_series"]),
            ),
            (
                Api::Prometheus,
                get(&["api", "v1", "admin", "tsdb", "snapshot"]),
            ),
            (Api::Prometheus, post(&["api", "v1", "metadata"])),
            (Api::Prometheus, get(&["-", "quit"])),
            (
                Api::Prometheus,
                get(&["api", "v1", "label", "..", "values"]),
            ),
            (Api::Prometheus, get(&["api", "v1", "label", "", "values"])),
            (Api::Prometheus, get(&["api", "v1", "query", "extra"])),
            (Api::Loki, post(&["loki", "api", "v1", "push"])),
            (Api::Loki, post(&["loki", "api", "v1", "query_range"])),
            (Api::Loki, get(&["loki", "api", "v1", "delete"])),
            (Api::Jaeger, get(&["api", "traces", ".."])),
            (Api::Jaeger, get(&["api", "v1", "query"])),
        ] {
            assert!(!allowed(api, &request), "{api} {request:?} must be refused");
        }
    }

    #[test]
    fn backend_messages_are_extracted() {
        let status = reqwest::StatusCode::BAD_REQUEST;
        let none = Redactor::default();
        let prom = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#;
        assert_eq!(
            error_message(Api::Prometheus, status, prom, &none),
            "bad_data: parse error at char 4"
        );
        assert_eq!(
            error_message(
                Api::Loki,
                status,
                b"parse error : unexpected IDENTIFIER\n",
                &none
            ),
            "parse error : unexpected IDENTIFIER"
        );
        let jaeger =
            br#"{"data":null,"errors":[{"code":400,"msg":"parameter 'service' is required"}]}"#;
        assert_eq!(
            error_message(Api::Jaeger, status, jaeger, &none),
            "parameter 'service' is required"
        );
        assert_eq!(error_message(Api::Loki, status, b"", &none), "Bad Request");
    }

    #[test]
    fn an_echoed_authorization_is_masked_before_the_message_is_cut() {
        let backend = Backend {
            url: url::Url::parse("http://prometheus:9090").unwrap(),
            auth: Some(Auth::Bearer(aegis_core::config::Secret::new(
                "tok-5678-abcd",
            ))),
        };
        let http = Http::new(Api::Prometheus, &backend, Duration::from_secs(1), 1 << 20);
        let body = format!("{}unauthorized: tok-5678-abcd", "x".repeat(480));
        let message = error_message(
            Api::Prometheus,
            reqwest::StatusCode::UNAUTHORIZED,
            body.as_bytes(),
            &http.redactor,
        );
        assert!(!message.contains("tok-5"), "{message}");
        let e = http.redact(Error::Malformed {
            api: Api::Prometheus,
            detail: "invalid type: string \"tok-5678-abcd\"".into(),
        });
        assert!(!e.to_string().contains("tok-5678-abcd"), "{e}");
    }

    #[tokio::test]
    async fn a_connection_dropped_before_the_answer_is_tried_once_more() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            // The first connection is closed after the request arrives, unanswered.
            let (mut first, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = first.read(&mut buf).await;
            drop(first);
            let (mut second, _) = listener.accept().await.unwrap();
            let _ = second.read(&mut buf).await;
            let body = r#"{"status":"success","data":["up"]}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            second.write_all(answer.as_bytes()).await.unwrap();
        });
        let backend = Backend {
            url: url::Url::parse(&format!("http://{addr}")).unwrap(),
            auth: None,
        };
        let http = Http::new(Api::Prometheus, &backend, Duration::from_secs(10), 1 << 20);
        let body = http
            .send(&Request::get(
                &["api", "v1", "label", "__name__", "values"],
                vec![],
            ))
            .await
            .expect("the second attempt is answered");
        assert!(body.starts_with(b"{\"status\":\"success\""));
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_backend_that_stays_down_is_still_reported_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let backend = Backend {
            url: url::Url::parse(&format!("http://{addr}")).unwrap(),
            auth: None,
        };
        let http = Http::new(Api::Prometheus, &backend, Duration::from_secs(10), 1 << 20);
        let e = http
            .send(&Request::get(
                &["api", "v1", "label", "__name__", "values"],
                vec![],
            ))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Unreachable { .. }), "{e}");
    }
}
