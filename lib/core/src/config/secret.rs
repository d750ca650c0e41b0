use std::fmt;

/// A secret value (API key, app secret, token). `Debug` and `Display` mask it, so it
/// cannot reach a log line, an error, a report or a prompt by accident; call
/// [`Secret::expose`] at the one place that must send it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `Bearer <value>` as an `Authorization` header value, marked sensitive (so HTTP
    /// libraries leave it out of their debug output); `None` when the value holds a
    /// character a header cannot.
    pub fn bearer(&self) -> Option<http::HeaderValue> {
        let mut value = http::HeaderValue::from_str(&format!("Bearer {}", self.0)).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** \"***\"");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn a_bearer_header_is_sensitive_and_refuses_what_a_header_cannot_hold() {
        let header = Secret::new("tok-1").bearer().unwrap();
        assert_eq!(header, "Bearer tok-1");
        assert!(header.is_sensitive());
        assert!(Secret::new("line\nbreak").bearer().is_none());
    }
}
