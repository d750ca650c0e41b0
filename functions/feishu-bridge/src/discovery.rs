//! Endpoint discovery: `POST {base}/callback/ws/endpoint` with the app's credentials
//! returns a fresh connection URL and the client settings.

use std::time::Duration;

use aegis_core::config::Secret;
use aegis_feishu::endpoint::{
    CODE_BUSY, CODE_INTERNAL, CODE_OK, ENDPOINT_PATH, Endpoint, EndpointRequest, EndpointResponse,
};

/// How long one discovery request may take.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// Why a connection attempt failed, sorted by whether another attempt can help.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConnectError {
    /// The server is busy or failing, or the network is: try again later.
    #[error("{0}")]
    Retry(String),
    /// Bad credentials, forbidden, too many connections: retrying cannot help.
    #[error("{0}")]
    Fatal(String),
}

/// Asks for a connection URL.
pub async fn discover(
    http: &reqwest::Client,
    base_url: &url::Url,
    app_id: &str,
    app_secret: &Secret,
) -> Result<Endpoint, ConnectError> {
    let url = base_url
        .join(ENDPOINT_PATH)
        .map_err(|e| ConnectError::Fatal(format!("bad FEISHU_BASE_URL: {e}")))?;
    let body = EndpointRequest {
        app_id: app_id.to_string(),
        app_secret: app_secret.expose().to_string(),
    };
    let res = http
        .post(url)
        .header("locale", "zh")
        .timeout(TIMEOUT)
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            let why = aegis_core::outgoing::describe(&e);
            ConnectError::Retry(format!("endpoint discovery failed: {why}"))
        })?;
    let status = res.status();
    if !status.is_success() {
        // The SDKs treat any non-200 as a server error.
        return Err(ConnectError::Retry(format!(
            "endpoint discovery answered HTTP {status}"
        )));
    }
    let parsed: EndpointResponse = res.json().await.map_err(|_| {
        ConnectError::Retry("endpoint discovery answered something that is not its JSON".into())
    })?;
    match parsed.code {
        CODE_OK => {}
        CODE_BUSY | CODE_INTERNAL => {
            return Err(ConnectError::Retry(format!(
                "endpoint discovery: server error {}: {}",
                parsed.code, parsed.msg
            )));
        }
        code => {
            return Err(ConnectError::Fatal(format!(
                "endpoint discovery refused the app (code {code}: {}); check FEISHU_APP_ID and FEISHU_APP_SECRET",
                parsed.msg
            )));
        }
    }
    match parsed.data {
        Some(endpoint) if !endpoint.url.is_empty() => Ok(endpoint),
        _ => Err(ConnectError::Retry(
            "endpoint discovery returned no URL".into(),
        )),
    }
}
