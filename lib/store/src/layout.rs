//! The keys and content types of everything the store keeps (docs/store.md, "Layout"):
//! the one place that names them, for every backend.

use chrono::{DateTime, Utc};

use super::key;

/// Content type of the JSON objects: reports, index lines, dead letters.
pub const JSON: &str = "application/json; charset=utf-8";
/// Content type of a report's Markdown rendering.
pub const MARKDOWN: &str = "text/markdown; charset=utf-8";
/// Content type of a report's page.
pub const HTML: &str = "text/html; charset=utf-8";
/// Content type of card ids and markers.
pub const TEXT: &str = "text/plain; charset=utf-8";

/// The folder of the listing lines, newest first.
pub const INDEX: &str = "index/";
/// The folder of the past-incident entries, one per report.
pub const SIMILAR: &str = "similar/";
/// The folder of the dead letters, newest first.
pub const DEAD_LETTERS: &str = "dead-letters/";

/// The folder of the incidents as they stand, newest first.
pub const INCIDENTS: &str = "incidents/";

/// Every folder of the layout, which the folder store makes when it opens.
pub const FOLDERS: [&str; 9] = [
    "reports",
    "index",
    "similar",
    "cards",
    "markers",
    "dead-letters",
    "incidents",
    "incident-log",
    "incident-state",
];

/// `reports/<id>.json`: the report.
pub fn report_json(id: &str) -> String {
    format!("reports/{}.json", key::object_name(id))
}

/// `reports/<id>.md`: the report as Markdown.
pub fn report_markdown(id: &str) -> String {
    format!("reports/{}.md", key::object_name(id))
}

/// `reports/<id>.html`: the report's page (charts, call graph, tool calls).
pub fn report_page(id: &str) -> String {
    format!("reports/{}.html", key::object_name(id))
}

/// `similar/<id>.json`: the report's past-incident entry (its fingerprint).
pub fn similar_entry(id: &str) -> String {
    format!("{SIMILAR}{}.json", key::object_name(id))
}

/// `index/<reverse time>-<id>`: the listing line of the report `id` stored at `at`.
pub fn index_line(at: DateTime<Utc>, id: &str) -> String {
    format!("{INDEX}{}", key::index_name(at, id))
}

/// `cards/<alert event id>`: the Feishu message id of the alert's card.
pub fn card(alert_event_id: &str) -> String {
    format!("cards/{}", key::object_name(alert_event_id))
}

/// `markers/<key>`: an idempotency marker.
pub fn marker(marker: &str) -> String {
    format!("markers/{}", key::object_name(marker))
}

/// `dead-letters/<reverse time>-<event id>.json`: the dead letter `id` received at `at`.
pub fn dead_letter(at: DateTime<Utc>, id: &str) -> String {
    format!("{DEAD_LETTERS}{}.json", key::index_name(at, id))
}

/// `incident-log/<seq, 20 digits>`: entry `seq` of the incident decisions' log.
pub fn incident_entry(seq: u64) -> String {
    format!("incident-log/{seq:020}")
}

/// `incident-state/head.json`: the incidents as of some entry of the log.
pub const INCIDENT_HEAD: &str = "incident-state/head.json";

/// `incident-state/thread-<message id>`: the incident whose thread starts at a message.
pub fn incident_thread(message_id: &str) -> String {
    format!("incident-state/thread-{}", key::object_name(message_id))
}

/// `incidents/<reverse opened time>-<id>.json`: the incident `id` opened at `at`.
pub fn incident(at: DateTime<Utc>, id: &str) -> String {
    format!("{INCIDENTS}{}.json", key::index_name(at, id))
}
