//! Endpoint discovery of the long connection (`POST /callback/ws/endpoint`) and the
//! `ClientConfig` the server sends there and in pongs.

use serde::{Deserialize, Serialize};

/// The discovery path, under the open-platform base URL.
pub const ENDPOINT_PATH: &str = "/callback/ws/endpoint";
/// `code`: success.
pub const CODE_OK: i64 = 0;
/// `code`: the server is busy; retry.
pub const CODE_BUSY: i64 = 1;
/// `code`: an internal server error; retry.
pub const CODE_INTERNAL: i64 = 1_000_040_343;
/// Handshake auth code (with status 514): too many connections for the app.
pub const AUTH_EXCEED_CONN_LIMIT: i64 = 1_000_040_350;
/// Handshake response header: the status.
pub const HANDSHAKE_STATUS: &str = "handshake-status";
/// Handshake response header: the message.
pub const HANDSHAKE_MSG: &str = "handshake-msg";
/// Handshake response header: the auth error code.
pub const HANDSHAKE_AUTH_ERRCODE: &str = "handshake-autherrcode";

/// The request body: the app's credentials.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointRequest {
    /// App ID.
    #[serde(rename = "AppID")]
    pub app_id: String,
    /// App Secret.
    #[serde(rename = "AppSecret")]
    pub app_secret: String,
}

/// The response envelope.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EndpointResponse {
    /// 0 on success.
    #[serde(default)]
    pub code: i64,
    /// A message for people.
    #[serde(default)]
    pub msg: String,
    /// The connection URL and client settings, on success.
    #[serde(default)]
    pub data: Option<Endpoint>,
}

/// Where to connect and how to behave.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Endpoint {
    /// The `wss://` URL; it carries secrets in its query, never log it unredacted.
    #[serde(rename = "URL", default)]
    pub url: String,
    /// Client settings.
    #[serde(rename = "ClientConfig", default)]
    pub client_config: Option<ClientConfig>,
}

/// Client settings, in seconds; each absent field keeps its current value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientConfig {
    /// Reconnect attempts; negative means forever.
    #[serde(
        rename = "ReconnectCount",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reconnect_count: Option<i64>,
    /// Wait between reconnect attempts.
    #[serde(
        rename = "ReconnectInterval",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reconnect_interval: Option<u64>,
    /// Upper bound of the random wait before the first reconnect attempt.
    #[serde(
        rename = "ReconnectNonce",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reconnect_nonce: Option<u64>,
    /// Wait between pings.
    #[serde(
        rename = "PingInterval",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ping_interval: Option<u64>,
}

/// The URL with the secrets in its query (`access_key`, `ticket`) masked, for logs.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return "<unparseable url>".to_string();
    };
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if matches!(k.as_ref(), "access_key" | "ticket") {
                "***".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if pairs.is_empty() {
        return url.to_string();
    }
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

/// A query parameter of the connection URL (`device_id`, `service_id`).
pub fn url_param(raw: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_in_the_url() {
        let raw = "wss://msg.feishu.cn/ws/v2?fpid=493&aid=552564&device_id=d1&access_key=SECRETKEY&service_id=33&ticket=TICKET1";
        let shown = redact_url(raw);
        assert!(
            !shown.contains("SECRETKEY") && !shown.contains("TICKET1"),
            "{shown}"
        );
        assert!(shown.contains("device_id=d1") && shown.contains("service_id=33"));
        assert_eq!(url_param(raw, "service_id").as_deref(), Some("33"));
    }

    #[test]
    fn client_config_reads_the_server_names() {
        let c: ClientConfig = serde_json::from_str(
            r#"{"ReconnectCount":-1,"ReconnectInterval":120,"ReconnectNonce":30,"PingInterval":5}"#,
        )
        .unwrap();
        assert_eq!(c.reconnect_count, Some(-1));
        assert_eq!(c.ping_interval, Some(5));
        let partial: ClientConfig = serde_json::from_str(r#"{"PingInterval":2}"#).unwrap();
        assert_eq!(partial.reconnect_interval, None);
    }
}
