//! A Knative `Destination` (a subscriber or a dead letter sink): a `ref` to a Service,
//! a `uri`, or both (the `uri` then is a path relative to the ref's address).

use serde_yaml_ng::Value;

/// Where events are delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A Knative Service by name: in `aegis dev`, the function of that name, reached
    /// over HTTP at `/fn/<name>/` (plus `path`, when the manifest gives a relative uri).
    Ref {
        /// The Service (function) name.
        name: String,
        /// A path below the function's mount, from a relative `uri`.
        path: Option<String>,
    },
    /// An absolute URL.
    Uri(url::Url),
}

impl Destination {
    /// Reads a `subscriber` or `deadLetterSink` map.
    pub fn parse(spec: &Value) -> Result<Self, String> {
        let reference = spec.get("ref");
        let uri = spec.get("uri").and_then(Value::as_str);
        match (reference, uri) {
            (Some(r), uri) => {
                let kind = r.get("kind").and_then(Value::as_str).unwrap_or("Service");
                if kind != "Service" {
                    return Err(format!(
                        "ref.kind {kind:?} is not supported locally (only Knative Services, which map to functions)"
                    ));
                }
                let name = r
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("ref.name is missing")?;
                Ok(Self::Ref {
                    name: name.to_string(),
                    path: uri.map(str::to_string),
                })
            }
            (None, Some(uri)) => url::Url::parse(uri)
                .map(Self::Uri)
                .map_err(|e| format!("uri {uri:?} is not an absolute URL: {e}")),
            (None, None) => Err("needs a ref or a uri".into()),
        }
    }

    /// The URL this destination has when functions are served at `base`.
    pub fn url(&self, base: &url::Url) -> Result<url::Url, String> {
        match self {
            Self::Uri(url) => Ok(url.clone()),
            Self::Ref { name, path } => {
                let path = path.as_deref().unwrap_or("").trim_start_matches('/');
                base.join(&format!("fn/{name}/{path}"))
                    .map_err(|e| format!("cannot address function {name}: {e}"))
            }
        }
    }

    /// The function this destination names, if it is a ref.
    pub fn function(&self) -> Option<&str> {
        match self {
            Self::Ref { name, .. } => Some(name),
            Self::Uri(_) => None,
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ref { name, path: None } => write!(f, "ksvc/{name}"),
            Self::Ref {
                name,
                path: Some(p),
            } => write!(f, "ksvc/{name}{p}"),
            Self::Uri(url) => write!(f, "{url}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Destination, String> {
        Destination::parse(&serde_yaml_ng::from_str(s).unwrap())
    }

    #[test]
    fn refs_map_to_function_mounts() {
        let base = url::Url::parse("http://127.0.0.1:9/").unwrap();
        let d = parse("{ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: notifier}}")
            .unwrap();
        assert_eq!(
            d.url(&base).unwrap().as_str(),
            "http://127.0.0.1:9/fn/notifier/"
        );
        let d = parse("{ref: {kind: Service, name: analyze}, uri: /events}").unwrap();
        assert_eq!(
            d.url(&base).unwrap().as_str(),
            "http://127.0.0.1:9/fn/analyze/events"
        );
        let d = parse("{uri: 'http://example.test/x'}").unwrap();
        assert_eq!(d.url(&base).unwrap().as_str(), "http://example.test/x");
    }

    #[test]
    fn bad_destinations_are_refused() {
        assert!(parse("{}").is_err());
        assert!(parse("{uri: /relative}").is_err());
        assert!(parse("{ref: {kind: Broker, name: aegis}}").is_err());
        assert!(parse("{ref: {kind: Service}}").is_err());
    }
}
