use serde::{Deserialize, Serialize};

/// How bad an alert is, from its `severity` label. Alerting rules spell it in many
/// ways; the common spellings fold into five ranks so "the highest in a group" means
/// something and cards get the right colour.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No `severity` label, or one not recognised.
    None,
    /// `info`, `low`, `notice`.
    Info,
    /// `warning`, `warn`, `medium`, `minor`.
    Warning,
    /// `error`, `high`, `major`.
    Error,
    /// `critical`, `fatal`, `emergency`, `page`, `p1`.
    Critical,
}

impl Severity {
    /// The rank of a `severity` label value (case-insensitive).
    pub fn parse(label: &str) -> Self {
        match label.trim().to_ascii_lowercase().as_str() {
            "critical" | "fatal" | "emergency" | "page" | "p1" => Self::Critical,
            "error" | "high" | "major" | "p2" => Self::Error,
            "warning" | "warn" | "medium" | "minor" | "p3" => Self::Warning,
            "info" | "low" | "notice" | "p4" => Self::Info,
            _ => Self::None,
        }
    }

    /// The canonical name, as in the `aegisseverity` extension.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
        }
    }

    /// The word a person reads on a card, in `lang`.
    pub fn word(self, lang: aegis_i18n::Lang) -> String {
        use aegis_i18n::t;
        match self {
            Self::None => t!(lang, "severity-none"),
            Self::Info => t!(lang, "severity-info"),
            Self::Warning => t!(lang, "severity-warning"),
            Self::Error => t!(lang, "severity-error"),
            Self::Critical => t!(lang, "severity-critical"),
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_fold_and_order() {
        assert_eq!(Severity::parse("CRITICAL"), Severity::Critical);
        assert_eq!(Severity::parse("warn"), Severity::Warning);
        assert_eq!(Severity::parse("whatever"), Severity::None);
        assert!(Severity::Critical > Severity::Error);
        assert!(Severity::Warning > Severity::Info);
    }
}
