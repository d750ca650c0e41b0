//! Telling whether a text meant for a Chinese reader still holds English sentences.

use std::sync::LazyLock;

/// Three or more Latin words in a row (letters only, two or more each, separated by
/// spaces): the shape of an English phrase. Identifiers (`ts-order-service`,
/// `http_requests_total`), units, numbers and single words do not match.
static RUN: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"\b[A-Za-z]{2,}(?:[ \t]+[A-Za-z]{2,}){2,}\b").unwrap_or_else(|e| {
        unreachable!("the pattern is a valid regex: {e}");
    })
});

/// The English phrases in `text`: what a person reading a Chinese card would find
/// untranslated. Service, signal and metric names are single tokens and never match.
pub fn english_phrases(text: &str) -> Vec<&str> {
    RUN.find_iter(text).map(|m| m.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_phrases_are_found_and_names_are_not() {
        assert_eq!(
            english_phrases(
                "最可能的根因：ts-order-service（概率 80%）, changing from about 05:43"
            ),
            ["changing from about"]
        );
        assert!(
            english_phrases(
                "cpu_seconds_rate 0.10 cores -> 0.90 cores · 检查 checkout 的 p99 latency"
            )
            .is_empty()
        );
        assert!(english_phrases("模型 statistical · 4.2 s · 编号 rca-1").is_empty());
    }
}
