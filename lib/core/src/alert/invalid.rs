use super::{Notification, Status};

/// Why a notification cannot be accepted: the field at fault (as a JSON path, e.g.
/// `alerts[2].startsAt`) and what is wrong with it. Shown to the caller as a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct Invalid {
    /// The field, in the notification's JSON spelling.
    pub field: String,
    /// What is wrong and what is expected.
    pub problem: String,
}

impl Invalid {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Alertmanager's webhook payload version this code understands.
pub const SUPPORTED_VERSION: &str = "4";

impl Notification {
    /// Checks what serde cannot: the version, non-empty identities, at least one
    /// alert, and real start times (Alertmanager's zero time `0001-01-01` only ever
    /// stands for "not resolved yet" in `endsAt`).
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.version != SUPPORTED_VERSION {
            return Err(Invalid::new(
                "version",
                format!(
                    "unsupported webhook payload version {:?}; expected \"{SUPPORTED_VERSION}\"",
                    self.version
                ),
            ));
        }
        if self.group_key.trim().is_empty() {
            return Err(Invalid::new("groupKey", "must not be empty"));
        }
        if self.alerts.is_empty() {
            return Err(Invalid::new("alerts", "must hold at least one alert"));
        }
        for (i, alert) in self.alerts.iter().enumerate() {
            if super::notification::is_zero_time(alert.starts_at) {
                return Err(Invalid::new(
                    format!("alerts[{i}].startsAt"),
                    "must be a real time, not the zero time",
                ));
            }
            if alert.status == Status::Resolved && alert.resolved_at().is_none() {
                return Err(Invalid::new(
                    format!("alerts[{i}].endsAt"),
                    "a resolved alert needs its end time",
                ));
            }
            if let Some(ends) = alert.resolved_at()
                && ends < alert.starts_at
            {
                return Err(Invalid::new(
                    format!("alerts[{i}].endsAt"),
                    "ends before it starts",
                ));
            }
        }
        Ok(())
    }
}
