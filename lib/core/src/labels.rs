//! Which labels name a service: the engine reads series by them, incidents read
//! alerts by them.

use std::collections::BTreeMap;

/// Labels that name the service of a series or an alert, in order of preference.
pub const SERVICE_LABELS: &[&str] = &[
    "service",
    "service_name",
    "destination_workload",
    "app",
    "container",
    "job",
];

/// The service `labels` name, if any (the first of [`SERVICE_LABELS`] that is set).
pub fn service_of(labels: &BTreeMap<String, String>) -> Option<&str> {
    SERVICE_LABELS
        .iter()
        .find_map(|l| labels.get(*l))
        .map(String::as_str)
        .filter(|s| !s.is_empty())
}
