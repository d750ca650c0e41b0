//! Reading Broker and Trigger manifests (`eventing.knative.dev/v1`) from `knative/`:
//! the copy compiled into the binary, or another folder (`aegis dev --knative DIR`).
//! Other kinds (Services, SinkBindings, kustomizations) are skipped.

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

use super::delivery::Delivery;
use super::destination::Destination;
use super::filter::Filter;

/// The manifests under `knative/` at build time: (path relative to `knative/`, text).
pub const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/knative.rs"));

/// A Broker.
#[derive(Debug, Clone)]
pub struct BrokerManifest {
    /// `metadata.name`.
    pub name: String,
    /// The `eventing.knative.dev/broker.class` annotation, if any.
    pub class: Option<String>,
    /// `spec.delivery`: the default of its Triggers.
    pub delivery: Option<Delivery>,
}

/// A Trigger: which events (filter) go where (subscriber), and how (delivery).
#[derive(Debug, Clone)]
pub struct Trigger {
    /// `metadata.name`.
    pub name: String,
    /// `spec.broker`.
    pub broker: String,
    /// `spec.filters` when given, else `spec.filter.attributes` (else everything).
    pub filter: Filter,
    /// `spec.subscriber`.
    pub subscriber: Destination,
    /// `spec.delivery`, else the Broker's, else Knative's defaults.
    pub delivery: Delivery,
    /// Whether the manifest gave its own `delivery`.
    pub own_delivery: bool,
}

/// The Brokers and Triggers of a set of manifests.
#[derive(Debug, Clone)]
pub struct Manifests {
    /// Every Broker.
    pub brokers: Vec<BrokerManifest>,
    /// Every Trigger, in file order, with the Broker's delivery applied as a default.
    pub triggers: Vec<Trigger>,
}

/// Why the manifests cannot be used; names the file and the object.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not YAML.
    #[error("{file}: not valid YAML: {reason}")]
    Yaml {
        /// The file.
        file: String,
        /// The parser's message.
        reason: String,
    },
    /// An object is not a valid Broker or Trigger for the local broker.
    #[error("{file}: {kind} {name}: {problem}")]
    Invalid {
        /// The file.
        file: String,
        /// `Broker` or `Trigger`.
        kind: &'static str,
        /// The object's name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// There is no Broker at all.
    #[error("no Broker manifest found in {0}")]
    NoBroker(String),
}

impl Manifests {
    /// The manifests compiled into the binary.
    pub fn embedded() -> Result<Self, ManifestError> {
        Self::parse(
            EMBEDDED.iter().map(|(f, t)| (f.to_string(), t.to_string())),
            "the built-in knative/",
        )
    }

    /// Every `*.yaml`/`*.yml` under `dir`, recursively, in path order.
    pub fn from_dir(dir: &Path) -> Result<Self, ManifestError> {
        let mut files = Vec::new();
        collect(dir, dir, &mut files)?;
        files.sort();
        let mut texts = Vec::new();
        for (name, path) in files {
            let text = std::fs::read_to_string(&path)
                .map_err(|source| ManifestError::Read { path, source })?;
            texts.push((name, text));
        }
        Self::parse(texts, &dir.display().to_string())
    }

    /// Parses (file name, text) pairs; `origin` names the set in errors.
    pub fn parse(
        files: impl IntoIterator<Item = (String, String)>,
        origin: &str,
    ) -> Result<Self, ManifestError> {
        let mut brokers = Vec::new();
        let mut raw_triggers = Vec::new();
        for (file, text) in files {
            for doc in serde_yaml_ng::Deserializer::from_str(&text) {
                let value = <Value as serde::Deserialize>::deserialize(doc).map_err(|e| {
                    ManifestError::Yaml {
                        file: file.clone(),
                        reason: e.to_string(),
                    }
                })?;
                let api = value
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !api.starts_with("eventing.knative.dev/") {
                    continue;
                }
                match value.get("kind").and_then(Value::as_str) {
                    Some("Broker") => brokers.push(broker(&file, &value)?),
                    Some("Trigger") => raw_triggers.push((file.clone(), value)),
                    _ => {}
                }
            }
        }
        if brokers.is_empty() {
            return Err(ManifestError::NoBroker(origin.to_string()));
        }
        let triggers = raw_triggers
            .iter()
            .map(|(file, value)| trigger(file, value, &brokers))
            .collect::<Result<_, _>>()?;
        Ok(Self { brokers, triggers })
    }

    /// The Broker the local ingress stands for: `aegis` if declared, else the first.
    pub fn main_broker(&self) -> &BrokerManifest {
        self.brokers
            .iter()
            .find(|b| b.name == "aegis")
            .or_else(|| self.brokers.first())
            .expect("parse refuses manifests without a Broker")
    }

    /// The Triggers bound to `broker`.
    pub fn triggers_of<'a>(&'a self, broker: &'a str) -> impl Iterator<Item = &'a Trigger> + 'a {
        self.triggers.iter().filter(move |t| t.broker == broker)
    }
}

fn name_of(value: &Value) -> String {
    value
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>")
        .to_string()
}

fn broker(file: &str, value: &Value) -> Result<BrokerManifest, ManifestError> {
    let name = name_of(value);
    let invalid = |problem: String| ManifestError::Invalid {
        file: file.to_string(),
        kind: "Broker",
        name: name.clone(),
        problem,
    };
    let class = value
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get("eventing.knative.dev/broker.class"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let delivery = value
        .get("spec")
        .and_then(|s| s.get("delivery"))
        .map(Delivery::parse)
        .transpose()
        .map_err(invalid)?;
    Ok(BrokerManifest {
        name,
        class,
        delivery,
    })
}

fn trigger(
    file: &str,
    value: &Value,
    brokers: &[BrokerManifest],
) -> Result<Trigger, ManifestError> {
    let name = name_of(value);
    let invalid = |problem: String| ManifestError::Invalid {
        file: file.to_string(),
        kind: "Trigger",
        name: name.clone(),
        problem,
    };
    let spec = value
        .get("spec")
        .ok_or_else(|| invalid("spec is missing".into()))?;
    let broker = spec
        .get("broker")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("spec.broker is missing".into()))?
        .to_string();
    let Some(broker_manifest) = brokers.iter().find(|b| b.name == broker) else {
        return Err(invalid(format!(
            "spec.broker {broker:?} names no Broker in these manifests"
        )));
    };
    // As in Knative: when `filters` is non-empty, `filter` is ignored.
    let filter = match (spec.get("filters"), spec.get("filter")) {
        (Some(filters), _) if filters.as_sequence().is_some_and(|s| !s.is_empty()) => {
            Filter::from_filters(filters)
        }
        (_, Some(filter)) => match filter.get("attributes") {
            Some(attributes) => Filter::from_attributes(attributes),
            None => Ok(Filter::All(Vec::new())),
        },
        _ => Ok(Filter::All(Vec::new())),
    }
    .map_err(|e| invalid(e.to_string()))?;
    let subscriber = spec
        .get("subscriber")
        .ok_or_else(|| "spec.subscriber is missing".to_string())
        .and_then(|s| Destination::parse(s).map_err(|e| format!("spec.subscriber: {e}")))
        .map_err(invalid)?;
    let own = spec
        .get("delivery")
        .map(Delivery::parse)
        .transpose()
        .map_err(invalid)?;
    Ok(Trigger {
        name: name.clone(),
        broker,
        filter,
        subscriber,
        own_delivery: own.is_some(),
        delivery: own
            .or_else(|| broker_manifest.delivery.clone())
            .unwrap_or_default(),
    })
}

fn collect(
    root: &Path,
    dir: &Path,
    files: &mut Vec<(String, PathBuf)>,
) -> Result<(), ManifestError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ManifestError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| ManifestError::Read {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            files.push((name, path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &str = r#"
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: aegis
spec:
  delivery:
    retry: 2
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: t1
spec:
  broker: aegis
  filter:
    attributes:
      type: io.aegis.alert.group.received.v1
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: notifier
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: notifier
"#;

    fn parse(text: &str) -> Result<Manifests, ManifestError> {
        Manifests::parse([("set.yaml".to_string(), text.to_string())], "test")
    }

    #[test]
    fn brokers_and_triggers_are_read_and_broker_delivery_is_the_default() {
        let m = parse(SET).unwrap();
        assert_eq!(m.main_broker().name, "aegis");
        assert_eq!(m.triggers.len(), 1);
        let t = &m.triggers[0];
        assert_eq!(t.subscriber.function(), Some("notifier"));
        assert_eq!(t.delivery.retry, 2);
        assert!(!t.own_delivery);
    }

    #[test]
    fn cesql_trigger_fails_loading_with_its_name() {
        let text = SET.replace(
            "  filter:\n    attributes:\n      type: io.aegis.alert.group.received.v1\n",
            "  filters:\n    - cesql: \"type = 'x'\"\n",
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("Trigger t1") && err.contains("cesql"), "{err}");
        assert!(err.contains("not supported"), "{err}");
    }

    #[test]
    fn trigger_of_unknown_broker_is_refused() {
        let text = SET.replace("broker: aegis", "broker: other");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("names no Broker"), "{err}");
    }

    #[test]
    fn no_broker_is_refused() {
        assert!(matches!(
            parse("apiVersion: v1\nkind: ConfigMap\n"),
            Err(ManifestError::NoBroker(_))
        ));
    }
}
