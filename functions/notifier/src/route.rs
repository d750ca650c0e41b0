use aegis_core::alert::Notification;
use aegis_feishu::Config;

/// The chat an alert card goes to: the first route whose label matches the group's
/// common labels or any of its alerts, else the default chat.
pub fn chat_for<'a>(n: &Notification, config: &'a Config) -> Option<&'a str> {
    config
        .chat_routes
        .iter()
        .find(|r| {
            n.common_labels.get(&r.label) == Some(&r.value)
                || n.alerts
                    .iter()
                    .any(|a| a.labels.get(&r.label) == Some(&r.value))
        })
        .map(|r| r.chat_id.as_str())
        .or(config.default_chat_id.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_feishu::ChatRoute;

    #[test]
    fn first_matching_route_wins_else_default() {
        let mut config =
            aegis_feishu::Config::from_env(&aegis_core::config::Env::new(&|_| None)).unwrap();
        config.default_chat_id = Some("oc_default".into());
        config.chat_routes = vec![
            ChatRoute {
                label: "team".into(),
                value: "pay".into(),
                chat_id: "oc_pay".into(),
            },
            ChatRoute {
                label: "namespace".into(),
                value: "shop".into(),
                chat_id: "oc_shop".into(),
            },
        ];
        let mut n = crate::alert_card::tests::group(1, "firing");
        assert_eq!(chat_for(&n, &config), Some("oc_shop"));
        n.alerts[0].labels.insert("team".into(), "pay".into());
        assert_eq!(chat_for(&n, &config), Some("oc_pay"));
        n.alerts[0].labels.clear();
        assert_eq!(chat_for(&n, &config), Some("oc_default"));
    }
}
