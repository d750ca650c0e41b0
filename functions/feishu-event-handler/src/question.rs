//! From a chat message to a question: mentions resolved, the model picked, `help`
//! recognised.

use aegis_feishu::event::Mention;

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

/// The usage reply.
pub fn usage(aliases: &[String]) -> String {
    let mut models = MODELS.join(", ");
    if !aliases.is_empty() {
        models = format!("{models}, {}", aliases.join(", "));
    }
    format!(
        "用法 Usage: @AegisBot [模型 model] [时间 time] 问题 question\n\
         模型 models: {models} (默认 default: the configured model)\n\
         时间 time: 最近30分钟, 过去2小时, 今天14:00以来, 昨晚23点到今天1点, last 2h, since 14:00, yesterday 23:00-01:00 (默认 default: 最近15分钟 last 15 minutes)\n\
         例 example: @AegisBot qwen 最近30分钟 checkout 为什么 5xx"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
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
