//! `search_past_incidents`: the report store's past-incident search as a tool, for
//! the agent and the MCP server. Past reports whose evidence resembles a stored
//! report's, or that blamed the services the caller names, with what was found and
//! the feedback people gave.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use aegis_core::report::SimilarIncident;
use aegis_similar::{Fingerprint, Query};
use aegis_store::ReportStore;
use aegis_tools::Error;
use aegis_tools::catalog::{self, Tool};

/// The tool's name.
pub const NAME: &str = "search_past_incidents";

/// Incidents answered at most.
const MAX_LIMIT: usize = 10;

/// Arguments of `search_past_incidents`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PastArgs {
    /// Services suspected, most suspected first (e.g. the top candidates of
    /// `rank_root_causes`). Finds past incidents that blamed them.
    #[serde(default)]
    pub services: Vec<String>,
    /// A word the past incident's evidence must contain: a signal (`cpu`,
    /// `error_ratio`, `spans:network`) or a word of a log template. Optional.
    pub signal: Option<String>,
    /// Instead of services: the id of a stored report; finds the incidents whose
    /// evidence resembles its evidence.
    pub report_id: Option<String>,
    /// How many to return, 1-10. Default 3.
    pub limit: Option<usize>,
}

/// `search_past_incidents` over `store`, leaving out the report `exclude` (the one
/// being analysed).
pub fn tool(store: Arc<dyn ReportStore>, exclude: Option<String>) -> Arc<dyn Tool> {
    catalog::tool(
        NAME,
        "Search the stored reports of past incidents: those that blamed the given services \
         (most suspected first), optionally only those whose evidence names a signal or log \
         word, or those whose evidence resembles a stored report (report_id). Returns when \
         each happened, its top cause and summary, how alike it is, and the feedback people \
         gave it. A past incident that matches is a hint of a recurring fault, not proof.",
        move |a: PastArgs| {
            let store = store.clone();
            let exclude = exclude.clone();
            async move {
                let found = search(store.as_ref(), a, exclude.as_deref()).await?;
                Ok(render(&found))
            }
        },
    )
}

/// Runs the search `a` asks for.
pub async fn search(
    store: &dyn ReportStore,
    a: PastArgs,
    exclude: Option<&str>,
) -> Result<Vec<SimilarIncident>, Error> {
    let limit = a.limit.unwrap_or(aegis_similar::SHOWN);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::Invalid(format!(
            "limit must be 1 to {MAX_LIMIT}, not {limit}"
        )));
    }
    let unavailable = |e: aegis_store::Error| {
        tracing::warn!(error = %e, "past-incident search failed");
        Error::Tool {
            tool: NAME.into(),
            message: "the report store is unavailable; try again later".into(),
        }
    };
    let services: Vec<String> = a
        .services
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let signal = a
        .signal
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let (query, exclude) = match (a.report_id, services.is_empty()) {
        (Some(_), false) => {
            return Err(Error::Invalid(
                "give either services or report_id, not both".into(),
            ));
        }
        (Some(id), true) => {
            let report = store
                .get_report(&id)
                .await
                .map_err(unavailable)?
                .ok_or_else(|| Error::Invalid(format!("no stored report has the id {id:?}")))?;
            let exclude = Some(id);
            (Query::Like(Fingerprint::of(&report)), exclude)
        }
        (None, false) => (
            Query::Services { services, signal },
            exclude.map(String::from),
        ),
        (None, true) => {
            return Err(Error::Invalid(
                "name the suspected services (services: [\"checkout\"]) or a stored report (report_id)"
                    .into(),
            ));
        }
    };
    // A report id search compares whole fingerprints; a services search only asks
    // that they share a service, so any overlap counts.
    let min = match query {
        Query::Like(_) => aegis_similar::MIN_SIMILARITY,
        Query::Services { .. } => 0.0,
    };
    store
        .similar(&query, exclude.as_deref(), limit, min)
        .await
        .map_err(unavailable)
}

/// The model's view: one line per incident.
pub fn render(found: &[SimilarIncident]) -> String {
    if found.is_empty() {
        return "No stored past incident matches.".into();
    }
    let mut out = format!("{} past incidents, most alike first:\n", found.len());
    for p in found {
        out.push_str(&format!(
            "- {} report {} ({:.0}% alike), top cause {}: {}{}\n",
            p.at.format("%Y-%m-%d %H:%M UTC"),
            p.id,
            p.similarity * 100.0,
            p.top_service.as_deref().unwrap_or("none"),
            p.summary.trim(),
            p.feedback
                .as_deref()
                .map_or_else(String::new, |f| format!(" Feedback: {f}."))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_core::report::{Direction, Moved, Report, RootCause, TimeRange};

    fn incident(id: &str, service: &str) -> Report {
        Report {
            summary: format!("{service} is slow"),
            ranked_root_causes: vec![RootCause::new(1, service, 0.7)],
            moved: vec![Moved {
                service: service.into(),
                signal: "metric:cpu_seconds_rate".into(),
                direction: Direction::Up,
            }],
            ..Report::new(id, TimeRange::last(chrono::Utc::now(), 15))
        }
    }

    async fn store() -> Arc<dyn ReportStore> {
        let store = aegis_store::Memory::default();
        for (id, service) in [("a", "cart"), ("b", "cart"), ("c", "payment")] {
            store
                .put_report(
                    &incident(id, service),
                    aegis_view::views(&incident(id, service)),
                )
                .await
                .expect("put");
        }
        Arc::new(store)
    }

    #[tokio::test]
    async fn finds_by_services_and_by_report() {
        let t = tool(store().await, None);
        let out = t
            .call(serde_json::json!({"services": ["cart"]}))
            .await
            .expect("call");
        assert!(out.starts_with("2 past incidents"), "{out}");
        assert!(
            out.contains("top cause cart") && !out.contains("payment"),
            "{out}"
        );
        let out = t
            .call(serde_json::json!({"report_id": "a"}))
            .await
            .expect("call");
        assert!(
            out.contains("report b (100% alike)") && !out.contains("report a "),
            "{out}"
        );
        let out = t
            .call(serde_json::json!({"services": ["cart"], "signal": "memory"}))
            .await
            .expect("call");
        assert_eq!(out, "No stored past incident matches.");
    }

    #[tokio::test]
    async fn bad_arguments_say_what_is_wrong() {
        let t = tool(store().await, None);
        for (args, says) in [
            (serde_json::json!({}), "name the suspected services"),
            (
                serde_json::json!({"services": ["a"], "report_id": "a"}),
                "not both",
            ),
            (serde_json::json!({"report_id": "nope"}), "no stored report"),
            (
                serde_json::json!({"services": ["a"], "limit": 0}),
                "limit must be 1 to 10",
            ),
            (serde_json::json!({"service": "a"}), "unknown field"),
        ] {
            let e = t.call(args.clone()).await.expect_err("refused").to_string();
            assert!(e.contains(says), "{args}: {e}");
        }
    }
}
