//! Alertmanager notifications: the webhook v4 model, validation, and the alert policy.

mod config;
mod notification;

pub use config::Config;
pub use notification::{Alert, Notification, Status};
