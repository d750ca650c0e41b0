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

/// The fixed words of every English message (the text between its arguments), split
/// at line ends, kept when two words or more: what Aegis itself writes in English.
static ENGLISH_FRAGMENTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut out: Vec<String> = crate::messages(crate::Lang::En)
        .into_iter()
        .flat_map(|(_, texts)| texts)
        .flat_map(|text| {
            text.lines()
                .map(str::trim)
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|line| {
            line.split_whitespace()
                .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
                .count()
                >= 2
        })
        .collect();
    out.sort();
    out.dedup();
    out
});

/// The English sentences of Aegis's own catalog found in `text`: on a Chinese card or
/// page there must be none, whatever English the data itself carries (alert
/// annotations, log lines, queries).
pub fn untranslated(text: &str) -> Vec<&'static str> {
    ENGLISH_FRAGMENTS
        .iter()
        .filter(|f| text.contains(f.as_str()))
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lang, t};

    #[test]
    fn untranslated_finds_the_catalog_s_english_and_not_the_data_s() {
        let en = t!(Lang::En, "rca-next-read", service = "cart");
        assert_eq!(untranslated(&en).len(), 1, "{en}: {:?}", untranslated(&en));
        let zh = t!(Lang::ZhCn, "rca-next-read", service = "cart");
        assert!(untranslated(&zh).is_empty(), "{zh}");
        assert!(untranslated("日志：[1x] WARN Order status Not allowed to Pay").is_empty());
    }

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
