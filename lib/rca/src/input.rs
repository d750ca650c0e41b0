//! What the engine is asked to analyse.

use aegis_core::alert::Notification;
use aegis_core::report::{Clock, TimeRange};
use aegis_i18n::Lang;

use crate::catalog::SignalCatalog;

/// What to analyse.
#[derive(Debug, Clone)]
pub struct Input {
    /// The range; the fault is assumed to start at least 5 minutes into it.
    pub time_range: TimeRange,
    /// The question or symptom, shown in the summary.
    pub symptom: Option<String>,
    /// The alert group that caused the analysis, if any.
    pub alert: Option<Notification>,
    /// The signals to read.
    pub catalog: SignalCatalog,
    /// Known caller -> callee edges besides those traces show (a dataset's `graph`).
    pub graph: Vec<(String, String)>,
    /// The zone the report's text gives times in.
    pub clock: Clock,
    /// The language the report's text is written in.
    pub language: Lang,
}

impl Input {
    /// An input for `time_range` with `catalog` and nothing else.
    pub fn new(time_range: TimeRange, catalog: SignalCatalog) -> Self {
        Self {
            time_range,
            symptom: None,
            alert: None,
            catalog,
            graph: Vec::new(),
            clock: Clock::default(),
            language: Lang::En,
        }
    }
}
