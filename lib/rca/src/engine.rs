//! The engine's entry point: fetch through the tools, rank, and write the report
//! ([`crate::report`]).

use std::time::Instant;

use super::collect::{self, Limits};
use super::input::Input;
use super::observations::Observations;
use super::report;
use aegis_core::report::{Report, Step, Trace, Usage};
use aegis_tools::Clients;

/// The statistical engine. Cheap to build; holds only its limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Engine {
    /// How the fetching is bounded.
    pub limits: Limits,
}

impl Engine {
    /// Fetches the range through `tools`, ranks the services and writes the report.
    /// Never fails: a source that is down is listed in `degraded`.
    pub async fn analyze(&self, input: &Input, tools: &Clients) -> Report {
        let started = Instant::now();
        let (obs, steps) = self.observe(input, tools).await;
        // Ranking is CPU work (about a second on a large range): off the async
        // workers, so other requests of the process are not held up meanwhile.
        let ranked = input.clone();
        let mut report = tokio::task::spawn_blocking(move || report(&ranked, &obs))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        report.trace = Trace { steps };
        report.usage = Usage {
            tool_calls: report.trace.steps.len() as u64,
            ..Usage::default()
        };
        report.duration_ms = started.elapsed().as_millis() as u64;
        report
    }
}

impl Engine {
    /// Fetches what [`Engine::analyze`] ranks, with one step per source.
    pub async fn observe(&self, input: &Input, tools: &Clients) -> (Observations, Vec<Step>) {
        // A firing alert says when the incident began showing; a resolved one's
        // start is as good (it fired then).
        let onset_hint = input.alert.as_ref().and_then(|a| a.earliest_start());
        let collected = collect::collect(
            tools,
            &input.catalog,
            (input.time_range.start, input.time_range.end),
            onset_hint,
            self.limits,
            input.language,
        )
        .await;
        let mut obs = collected.observations;
        obs.graph.extend(input.graph.iter().cloned());
        (obs, collected.steps)
    }
}
