//! The process's one outgoing HTTP client, and its failures in a few words.

use std::sync::OnceLock;
use std::time::Duration;

/// How long a connection may take to open, for every peer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client every outgoing call uses: rustls, no redirects (a redirect could
/// lead anywhere), `CONNECT_TIMEOUT`, Aegis's user agent; each request sets its own
/// overall timeout. Built once per process: building a `reqwest` client loads and
/// parses the platform's CA certificates (about 5 ms), and a function builds several
/// (tools, each model, Feishu, the event sink), which cost a cold start 15-25 ms.
/// Callers take it when they make a request, not when they are built, so a cold
/// start that only answers a health check never pays for it. Clones share the one
/// connection pool.
///
/// Fails only when the client cannot be built at all (no CA certificates on the
/// system), with the reason.
pub fn http_client() -> Result<reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(CONNECT_TIMEOUT)
                .user_agent(concat!("aegis/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))
        })
        .clone()
}

/// What went wrong with an outgoing request, without the URL (which may carry
/// credentials or tickets) and without upstream bodies: fit for logs, errors and
/// answers to callers.
pub fn describe(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_decode() || e.is_body() {
        "unreadable answer"
    } else {
        "request failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn it_never_follows_a_redirect_and_names_aegis() {
        use axum::http::{HeaderMap, StatusCode, header};
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(|headers: HeaderMap| async move {
                let agent = headers
                    .get(header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "http://example.invalid/")],
                    agent,
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let res = http_client().unwrap().get(&url).send().await.unwrap();
        assert_eq!(
            res.status(),
            reqwest::StatusCode::FOUND,
            "a redirect is answered, not followed"
        );
        assert!(res.text().await.unwrap().starts_with("aegis/"));
    }
}
