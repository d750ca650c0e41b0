//! From a chat message to a question: mentions resolved, the model picked, `help`
//! recognised.

use aegis_feishu::event::Mention;
use aegis_i18n::{Lang, t};

/// Models a question may name first (any case).
pub const MODELS: [&str; 4] = ["qwen", "glm", "deepseek", "doubao"];

/// Whether the message mentions the bot. Without a known bot (no Feishu app
/// configured, as in `aegis dev` with the console) any mention counts.
pub fn mentions_bot(mentions: &[Mention], bot_open_id: Option<&str>) -> bool {
    match bot_open_id {
        Some(bot) => mentions
            .iter()
            .any(|m| m.id.open_id.as_deref() == Some(bot)),
        None => !mentions.is_empty(),
    }
}

/// The text with the bot's mention placeholders removed and every other one replaced
/// by `@name`; `@_all` becomes `@all`.
pub fn resolve_mentions(text: &str, mentions: &[Mention], bot_open_id: Option<&str>) -> String {
    let mut sorted: Vec<&Mention> = mentions.iter().filter(|m| !m.key.is_empty()).collect();
    // `@_user_10` before `@_user_1`, so a shorter key never eats a longer one.
    sorted.sort_by_key(|m| std::cmp::Reverse(m.key.len()));
    let mut out = text.to_string();
    for m in sorted {
        let is_bot = match bot_open_id {
            Some(bot) => m.id.open_id.as_deref() == Some(bot),
            None => true,
        };
        let with = if is_bot {
            String::new()
        } else {
            format!("@{}", m.name)
        };
        out = out.replace(&m.key, &with);
    }
    out.replace("@_all", "@all")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the text asks for the usage (`help`, `/help`, `帮助`, `?`), or is empty.
pub fn is_help(text: &str) -> bool {
    let t = text.trim().trim_start_matches('/').to_lowercase();
    matches!(
        t.as_str(),
        "" | "help" | "帮助" | "使用帮助" | "?" | "？" | "h"
    )
}

/// Splits a leading model name off: one of [`MODELS`] or a configured alias, any
/// case, optionally in brackets, followed by a space, a colon or the end.
pub fn split_model<'a>(text: &'a str, aliases: &[String]) -> (Option<String>, &'a str) {
    let text = text.trim_start();
    let end = text
        .find(|c: char| c.is_whitespace() || ":：,，".contains(c))
        .unwrap_or(text.len());
    let token = text[..end].trim_start_matches('[').trim_end_matches(']');
    let lower = token.to_lowercase();
    let known =
        MODELS.iter().any(|m| *m == lower) || aliases.iter().any(|a| a.to_lowercase() == lower);
    if token.is_empty() || !known {
        return (None, text);
    }
    let rest = text[end..].trim_start_matches(|c: char| c.is_whitespace() || ":：,，".contains(c));
    (Some(lower), rest)
}

/// The usage reply, in `lang`.
pub fn usage(aliases: &[String], lang: Lang) -> String {
    let mut models = MODELS.join(", ");
    if !aliases.is_empty() {
        models = format!("{models}, {}", aliases.join(", "));
    }
    t!(lang, "chat-usage", models = models)
}

/// The language a question is written in, or `None` when it has no words to tell
/// by (empty, only `?` or numbers).
pub fn language(text: &str) -> Option<Lang> {
    text.chars()
        .any(|c| c.is_ascii_alphabetic() || aegis_i18n::is_han(c))
        .then(|| Lang::of_text(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_is_answered_in_its_own_language_and_a_wordless_one_in_none() {
        assert_eq!(language("最近30分钟 checkout 为什么 5xx"), Some(Lang::ZhCn));
        assert_eq!(language("why is checkout slow"), Some(Lang::En));
        assert_eq!(language(" ？ "), None);
        assert_eq!(language("30"), None);
    }

    #[test]
    fn the_usage_is_in_the_asked_language() {
        let en = usage(&["kimi".into()], Lang::En);
        assert!(
            en.starts_with("Usage: @AegisBot") && en.contains("kimi"),
            "{en}"
        );
        let zh = usage(&[], Lang::ZhCn);
        assert!(
            zh.starts_with("用法：@AegisBot") && !zh.contains("Usage"),
            "{zh}"
        );
    }
    use aegis_feishu::event::UserId;

    fn mention(key: &str, open_id: &str, name: &str) -> Mention {
        Mention {
            key: key.into(),
            id: UserId {
                open_id: Some(open_id.into()),
                ..UserId::default()
            },
            name: name.into(),
        }
    }

    #[test]
    fn bot_mention_is_dropped_and_others_named() {
        let ms = vec![
            mention("@_user_1", "ou_bot", "AegisBot"),
            mention("@_user_10", "ou_alice", "Alice"),
        ];
        assert!(mentions_bot(&ms, Some("ou_bot")));
        assert!(!mentions_bot(&ms[1..], Some("ou_bot")));
        assert_eq!(
            resolve_mentions("@_user_1 ask @_user_10 and @_all why", &ms, Some("ou_bot")),
            "ask @Alice and @all why"
        );
    }

    #[test]
    fn leading_model_is_picked_in_any_case_or_by_alias() {
        let aliases = vec!["Kimi".to_string()];
        assert_eq!(
            split_model("QWEN 最近30分钟 checkout", &aliases),
            (Some("qwen".into()), "最近30分钟 checkout")
        );
        assert_eq!(
            split_model("[glm]: why", &aliases),
            (Some("glm".into()), "why")
        );
        assert_eq!(
            split_model("kimi why", &aliases),
            (Some("kimi".into()), "why")
        );
        assert_eq!(split_model("qwenny why", &aliases), (None, "qwenny why"));
        assert_eq!(
            split_model("deepseek", &aliases),
            (Some("deepseek".into()), "")
        );
    }

    #[test]
    fn help_words_are_recognised() {
        for t in ["help", "/help", "帮助", " HELP ", ""] {
            assert!(is_help(t), "{t}");
        }
        assert!(!is_help("help me with checkout"));
    }
}
