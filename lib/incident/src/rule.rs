//! Which alert groups belong together: the grouping rule and its configuration.

use std::collections::BTreeSet;
use std::time::Duration;

use aegis_core::alert::Notification;
use aegis_core::config::{Env, Error};
use aegis_core::incident::Incident;
use aegis_core::labels::service_of;

/// When an alert group joins an open incident (`AEGIS_INCIDENT_WINDOW`,
/// `AEGIS_INCIDENT_RELATE`, `AEGIS_SERVICE_GRAPH`; docs/configuration.md).
///
/// A group joins an incident of the same chat whose last firing group arrived at most
/// `window` before it, when both are in the same namespace (or either names none) and
/// one of the enabled relations holds; of several such incidents, the one that fired
/// last. A group of an incident stays in it (its resolution, its repeats) whatever the
/// rule says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// How long after its last firing group an incident still takes related groups;
    /// zero makes every group its own incident.
    pub window: Duration,
    /// The relations that join.
    pub relate: Relate,
    /// Calls known ahead of any analysis, `(caller, callee)`.
    pub graph: BTreeSet<(String, String)>,
}

/// The relations a group can have to an incident (`AEGIS_INCIDENT_RELATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Relate {
    /// A service in common.
    pub service: bool,
    /// A service calling, or called by, one of the incident's.
    pub graph: bool,
    /// A service the incident's analyses ranked first or second.
    pub candidate: bool,
    /// Any group of the same namespace.
    pub namespace: bool,
}

impl Default for Rule {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(30 * 60),
            relate: Relate {
                service: true,
                graph: true,
                candidate: true,
                namespace: false,
            },
            graph: BTreeSet::new(),
        }
    }
}

impl Rule {
    /// Reads the rule; a relation or a call that cannot be read is an error naming it.
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        let mut rule = Self::default();
        if let Some(window) = env.duration("AEGIS_INCIDENT_WINDOW")? {
            rule.window = window;
        }
        if env.string("AEGIS_INCIDENT_RELATE").is_some() {
            rule.relate = Relate::default();
            for word in env.list("AEGIS_INCIDENT_RELATE") {
                match word.as_str() {
                    "service" => rule.relate.service = true,
                    "graph" => rule.relate.graph = true,
                    "candidate" => rule.relate.candidate = true,
                    "namespace" => rule.relate.namespace = true,
                    other => {
                        return Err(Error::new(
                            "AEGIS_INCIDENT_RELATE",
                            format!(
                                "{other:?} is not a relation (service, graph, candidate, namespace)"
                            ),
                        ));
                    }
                }
            }
        }
        for pair in env.list("AEGIS_SERVICE_GRAPH") {
            let call = pair
                .split_once('>')
                .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                .filter(|(a, b)| !a.is_empty() && !b.is_empty());
            let Some(call) = call else {
                return Err(Error::new(
                    "AEGIS_SERVICE_GRAPH",
                    format!("{pair:?} is not a call: write caller>callee"),
                ));
            };
            rule.graph.insert(call);
        }
        Ok(rule)
    }

    /// Whether the group `n` relates to `incident` (the window aside).
    pub fn relates(&self, incident: &Incident, n: &Notification) -> bool {
        let services: BTreeSet<&str> = n
            .alerts
            .iter()
            .filter_map(|a| service_of(&a.labels))
            .collect();
        let namespaces: BTreeSet<&str> = n
            .alerts
            .iter()
            .filter_map(|a| a.labels.get("namespace"))
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        let shared_namespace = namespaces
            .iter()
            .any(|ns| incident.namespaces.contains(*ns));
        if !namespaces.is_empty() && !incident.namespaces.is_empty() && !shared_namespace {
            return false;
        }
        if self.relate.namespace && shared_namespace {
            return true;
        }
        let known = |s: &str| incident.services.contains(s);
        if self.relate.service && services.iter().any(|s| known(s)) {
            return true;
        }
        if self.relate.candidate && services.iter().any(|s| incident.candidates.contains(*s)) {
            return true;
        }
        if self.relate.graph {
            let calls = self.graph.iter().chain(incident.calls.iter());
            for (caller, callee) in calls {
                let (caller, callee) = (caller.as_str(), callee.as_str());
                if (services.contains(caller) && known(callee))
                    || (services.contains(callee) && known(caller))
                {
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn group(namespace: &str, service: &str) -> Notification {
        serde_json::from_value(serde_json::json!({
            "version": "4", "groupKey": format!("{{}}:{service}"), "status": "firing", "receiver": "aegis",
            "alerts": [{
                "status": "firing",
                "labels": {"alertname": "Errors", "namespace": namespace, "service": service},
                "startsAt": "2026-12-07T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": service,
            }],
        }))
        .unwrap()
    }

    fn incident_of(n: &Notification) -> Incident {
        let mut incident = Incident::new("inc".into(), Utc::now(), None);
        incident.absorb(n, Utc::now());
        incident
    }

    fn env(vars: &[(&str, &str)]) -> Result<Rule, Error> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        Rule::from_env(&Env::new(&lookup))
    }

    #[test]
    fn a_shared_service_in_the_same_namespace_relates() {
        let rule = Rule::default();
        let incident = incident_of(&group("shop", "cart"));
        assert!(rule.relates(&incident, &group("shop", "cart")));
        assert!(!rule.relates(&incident, &group("shop", "payment")));
        assert!(
            !rule.relates(&incident, &group("bank", "cart")),
            "another namespace's cart is another service"
        );
    }

    #[test]
    fn neighbours_in_the_configured_or_analysed_call_graph_relate() {
        let rule = env(&[("AEGIS_SERVICE_GRAPH", "frontend>cart, cart>redis")]).unwrap();
        let mut incident = incident_of(&group("shop", "cart"));
        assert!(rule.relates(&incident, &group("shop", "redis")), "callee");
        assert!(
            rule.relates(&incident, &group("shop", "frontend")),
            "caller"
        );
        assert!(!rule.relates(&incident, &group("shop", "payment")));
        incident.calls.insert(("checkout".into(), "payment".into()));
        incident.services.insert("checkout".into());
        assert!(
            rule.relates(&incident, &group("shop", "payment")),
            "a call an analysis saw"
        );
    }

    #[test]
    fn a_candidate_of_the_incident_s_analysis_relates() {
        let rule = Rule::default();
        let mut incident = incident_of(&group("shop", "frontend"));
        assert!(!rule.relates(&incident, &group("shop", "db")));
        incident.candidates.insert("db".into());
        assert!(rule.relates(&incident, &group("shop", "db")));
    }

    #[test]
    fn relations_are_configurable_and_checked() {
        let rule = env(&[("AEGIS_INCIDENT_RELATE", "namespace")]).unwrap();
        let incident = incident_of(&group("shop", "cart"));
        assert!(rule.relates(&incident, &group("shop", "anything")));
        let rule = env(&[("AEGIS_INCIDENT_RELATE", "graph")]).unwrap();
        assert!(
            !rule.relates(&incident, &group("shop", "cart")),
            "service relation turned off"
        );
        let bad = env(&[("AEGIS_INCIDENT_RELATE", "service,vibes")]).unwrap_err();
        assert!(bad.to_string().contains("AEGIS_INCIDENT_RELATE"), "{bad}");
        let bad = env(&[("AEGIS_SERVICE_GRAPH", "a-b")]).unwrap_err();
        assert!(bad.to_string().contains("caller>callee"), "{bad}");
        let rule = env(&[("AEGIS_INCIDENT_WINDOW", "0")]).unwrap();
        assert_eq!(rule.window, Duration::ZERO);
    }
}
