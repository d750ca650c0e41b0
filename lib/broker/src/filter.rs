//! Trigger filters: the legacy `spec.filter.attributes` map and the `spec.filters`
//! dialects (`exact`, `prefix`, `suffix`, `all`, `any`, `not`), evaluated on the
//! event's context attributes and extensions as Knative Eventing does.

use cloudevents::{AttributesReader, Event};
use serde_yaml_ng::Value;

/// One filter expression. A Trigger's filters are ANDed into one [`Filter::All`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// The attribute exists and equals the value (case-sensitive).
    Exact(String, String),
    /// The attribute exists and starts with the value.
    Prefix(String, String),
    /// The attribute exists and ends with the value.
    Suffix(String, String),
    /// Every nested filter matches (an empty list matches everything).
    All(Vec<Filter>),
    /// At least one nested filter matches.
    Any(Vec<Filter>),
    /// The nested filter does not match.
    Not(Box<Filter>),
}

/// Why a filter in a manifest cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// A `cesql` expression: the local broker has no CloudEvents SQL engine, and routing
    /// differently from production would be worse than refusing.
    #[error(
        "cesql filters are not supported by the local broker (expression {0:?}); use exact, prefix, suffix, all, any or not"
    )]
    CesqlUnsupported(String),
    /// Anything else that is not a valid filter.
    #[error("invalid filter: {0}")]
    Invalid(String),
}

impl Filter {
    /// The legacy `spec.filter.attributes` map: exact matches, ANDed; an empty value
    /// matches any value (Knative's `TriggerAnyFilter`).
    pub fn from_attributes(attributes: &Value) -> Result<Self, FilterError> {
        let map = attributes
            .as_mapping()
            .ok_or_else(|| FilterError::Invalid("filter.attributes must be a map".into()))?;
        let mut all = Vec::new();
        for (k, v) in map {
            let (name, value) = key_value(k, v, "filter.attributes")?;
            if !value.is_empty() {
                all.push(Self::Exact(name, value));
            }
        }
        Ok(Self::All(all))
    }

    /// The `spec.filters` array, ANDed.
    pub fn from_filters(filters: &Value) -> Result<Self, FilterError> {
        list(filters).map(Self::All)
    }

    /// One filter expression: a map with exactly one dialect key.
    pub fn parse(expr: &Value) -> Result<Self, FilterError> {
        let map = expr
            .as_mapping()
            .ok_or_else(|| FilterError::Invalid("a filter must be a map".into()))?;
        if map.len() != 1 {
            return Err(FilterError::Invalid(format!(
                "a filter must have exactly one dialect key, found {}",
                map.len()
            )));
        }
        let (dialect, body) = map.iter().next().expect("the map has exactly one entry");
        let dialect = dialect
            .as_str()
            .ok_or_else(|| FilterError::Invalid("a dialect name must be a string".into()))?;
        match dialect {
            "exact" => single(body, dialect).map(|(k, v)| Self::Exact(k, v)),
            "prefix" => single(body, dialect).map(|(k, v)| Self::Prefix(k, v)),
            "suffix" => single(body, dialect).map(|(k, v)| Self::Suffix(k, v)),
            "all" => list(body).map(Self::All),
            "any" => list(body).map(Self::Any),
            "not" => Self::parse(body).map(|f| Self::Not(Box::new(f))),
            "cesql" => Err(FilterError::CesqlUnsupported(
                body.as_str().unwrap_or_default().to_string(),
            )),
            other => Err(FilterError::Invalid(format!(
                "unknown filter dialect {other:?} (expected exact, prefix, suffix, all, any, not or cesql)"
            ))),
        }
    }

    /// Whether `event` passes this filter.
    pub fn matches(&self, event: &Event) -> bool {
        match self {
            Self::Exact(name, value) => attribute(event, name).is_some_and(|a| a == *value),
            Self::Prefix(name, value) => {
                attribute(event, name).is_some_and(|a| a.starts_with(value.as_str()))
            }
            Self::Suffix(name, value) => {
                attribute(event, name).is_some_and(|a| a.ends_with(value.as_str()))
            }
            Self::All(all) => all.iter().all(|f| f.matches(event)),
            Self::Any(any) => any.iter().any(|f| f.matches(event)),
            Self::Not(inner) => !inner.matches(event),
        }
    }

    /// The event types this filter can let through, when it pins `type` exactly
    /// (used to check that every Trigger is reachable and that no reply loops).
    pub fn exact_type(&self) -> Option<&str> {
        match self {
            Self::Exact(name, value) if name == "type" => Some(value),
            Self::All(all) => all.iter().find_map(Self::exact_type),
            _ => None,
        }
    }
}

fn list(filters: &Value) -> Result<Vec<Filter>, FilterError> {
    filters
        .as_sequence()
        .ok_or_else(|| FilterError::Invalid("filters must be a list".into()))?
        .iter()
        .map(Filter::parse)
        .collect()
}

/// `exact`/`prefix`/`suffix` take a map of exactly one attribute, as Knative's webhook
/// requires.
fn single(body: &Value, dialect: &str) -> Result<(String, String), FilterError> {
    let map = body
        .as_mapping()
        .ok_or_else(|| FilterError::Invalid(format!("{dialect} must be a map")))?;
    if map.len() != 1 {
        return Err(FilterError::Invalid(format!(
            "{dialect} must name exactly one attribute, found {}",
            map.len()
        )));
    }
    let (k, v) = map.iter().next().expect("the map has exactly one entry");
    let (name, value) = key_value(k, v, dialect)?;
    if value.is_empty() {
        return Err(FilterError::Invalid(format!(
            "{dialect} value of {name:?} must not be empty"
        )));
    }
    Ok((name, value))
}

fn key_value(k: &Value, v: &Value, at: &str) -> Result<(String, String), FilterError> {
    let name = k
        .as_str()
        .ok_or_else(|| FilterError::Invalid(format!("{at}: attribute names must be strings")))?;
    let value = match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => {
            return Err(FilterError::Invalid(format!(
                "{at}: value of {name:?} must be a string"
            )));
        }
    };
    Ok((name.to_string(), value))
}

/// A context attribute or extension as a string, the way Knative compares them.
pub fn attribute(event: &Event, name: &str) -> Option<String> {
    match name {
        "specversion" => Some(event.specversion().to_string()),
        "id" => Some(event.id().to_string()),
        "type" => Some(event.ty().to_string()),
        "source" => Some(event.source().to_string()),
        "subject" => event.subject().map(str::to_string),
        "datacontenttype" => event.datacontenttype().map(str::to_string),
        "dataschema" => event.dataschema().map(|u| u.to_string()),
        "time" => event.time().map(|t| t.to_rfc3339()),
        _ => event.extension(name).map(|v| v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudevents::{EventBuilder, EventBuilderV10};

    fn event() -> Event {
        EventBuilderV10::new()
            .id("e1")
            .source("/aegis/notifier")
            .ty("io.aegis.analysis.requested.v1")
            .extension("aegisorigin", "feishu")
            .build()
            .unwrap()
    }

    fn yaml(s: &str) -> Value {
        serde_yaml_ng::from_str(s).unwrap()
    }

    fn filters(s: &str) -> Filter {
        Filter::from_filters(&yaml(s)).unwrap()
    }

    #[test]
    fn legacy_attributes_are_exact_and_anded_with_extensions() {
        let f = Filter::from_attributes(&yaml(
            "{type: io.aegis.analysis.requested.v1, aegisorigin: feishu}",
        ))
        .unwrap();
        assert!(f.matches(&event()));
        let f = Filter::from_attributes(&yaml(
            "{type: io.aegis.analysis.requested.v1, aegisorigin: alert}",
        ))
        .unwrap();
        assert!(!f.matches(&event()));
        // A missing attribute never matches an exact value.
        let f = Filter::from_attributes(&yaml("{aegisseverity: critical}")).unwrap();
        assert!(!f.matches(&event()));
    }

    #[test]
    fn legacy_empty_value_matches_any() {
        let f = Filter::from_attributes(&yaml("{type: '', source: /aegis/notifier}")).unwrap();
        assert!(f.matches(&event()));
    }

    #[test]
    fn exact_prefix_suffix() {
        assert!(filters("[{exact: {id: e1}}]").matches(&event()));
        assert!(!filters("[{exact: {id: e}}]").matches(&event()));
        assert!(filters("[{prefix: {type: io.aegis.analysis.}}]").matches(&event()));
        assert!(!filters("[{prefix: {type: io.aegis.alert.}}]").matches(&event()));
        assert!(filters("[{suffix: {source: /notifier}}]").matches(&event()));
        assert!(!filters("[{suffix: {source: /analyze}}]").matches(&event()));
        // Case-sensitive.
        assert!(!filters("[{exact: {aegisorigin: Feishu}}]").matches(&event()));
        // The top-level list is ANDed.
        assert!(!filters("[{exact: {id: e1}}, {exact: {aegisorigin: alert}}]").matches(&event()));
    }

    #[test]
    fn all_any_not() {
        assert!(
            filters("[{all: [{exact: {id: e1}}, {prefix: {type: io.aegis}}]}]").matches(&event())
        );
        assert!(!filters("[{all: [{exact: {id: e1}}, {prefix: {type: com.}}]}]").matches(&event()));
        assert!(
            filters("[{any: [{exact: {id: nope}}, {exact: {aegisorigin: feishu}}]}]")
                .matches(&event())
        );
        assert!(
            !filters("[{any: [{exact: {id: nope}}, {exact: {aegisorigin: alert}}]}]")
                .matches(&event())
        );
        assert!(filters("[{not: {exact: {aegisorigin: alert}}}]").matches(&event()));
        assert!(!filters("[{not: {exact: {aegisorigin: feishu}}}]").matches(&event()));
        assert!(!filters("[{any: []}]").matches(&event()));
        assert!(filters("[{all: []}]").matches(&event()));
    }

    #[test]
    fn cesql_is_reported_as_unsupported() {
        let err = Filter::from_filters(&yaml("[{cesql: \"type = 'x'\"}]")).unwrap_err();
        assert!(matches!(err, FilterError::CesqlUnsupported(_)));
        assert!(err.to_string().contains("not supported"), "{err}");
    }

    #[test]
    fn malformed_filters_are_refused() {
        for bad in [
            "[{exact: {id: a, type: b}}]",
            "[{exact: {id: a}, prefix: {id: b}}]",
            "[{regex: {id: a}}]",
            "[{prefix: {id: ''}}]",
            "{exact: {id: a}}",
        ] {
            assert!(Filter::from_filters(&yaml(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn exact_type_is_found() {
        let f = filters("[{exact: {type: t1}}, {exact: {aegisorigin: feishu}}]");
        assert_eq!(f.exact_type(), Some("t1"));
        assert_eq!(filters("[{prefix: {type: t}}]").exact_type(), None);
    }
}
