//! Alertmanager notifications: the webhook v4 model, validation, and the alert policy.

mod config;
mod invalid;
mod notification;
#[cfg(test)]
pub(crate) mod proptests;
mod severity;

pub use config::Config;
pub use invalid::{Invalid, SUPPORTED_VERSION};
pub use notification::{Alert, Notification, Status};
pub use severity::Severity;
