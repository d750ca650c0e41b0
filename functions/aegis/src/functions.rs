//! Every function of Aegis, by name, and the original service's public paths: what
//! `aegis serve <function>` runs alone and `aegis dev` mounts together.

use aegis_runtime::{BuildError, Context, Function};

/// Every function's name, in the order `aegis dev` mounts them.
pub const NAMES: &[&str] = &[
    webhook_receiver::NAME,
    notifier::NAME,
    analyze::NAME,
    analyze_stream::NAME,
    feishu_event_handler::NAME,
    feishu_bridge::NAME,
    dead_letter::NAME,
];

/// Builds the function `name` from `ctx`; `None` for a name that is none of
/// [`NAMES`].
pub async fn build(name: &str, ctx: &Context) -> Option<Result<Function, BuildError>> {
    Some(match name {
        webhook_receiver::NAME => webhook_receiver::build(ctx).await,
        notifier::NAME => notifier::build(ctx).await,
        analyze::NAME => analyze::build(ctx).await,
        analyze_stream::NAME => analyze_stream::build(ctx).await,
        feishu_event_handler::NAME => feishu_event_handler::build(ctx).await,
        feishu_bridge::NAME => feishu_bridge::build(ctx).await,
        dead_letter::NAME => dead_letter::build(ctx).await,
        _ => return None,
    })
}

/// The original service's public paths, and the function each belongs to. In
/// `aegis dev` they work as they are; every function is also under `/fn/<name>/`.
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("/alertmanager/webhook", webhook_receiver::NAME),
    ("/api/ops/analyze", analyze::NAME),
    ("/api/ops/analyze/stream", analyze_stream::NAME),
    ("/api/ops/analyses", analyze::NAME),
    ("/api/ops/analyses/{id}", analyze::NAME),
    ("/api/ops/dead-letters", analyze::NAME),
    ("/api/ops/incidents", analyze::NAME),
    ("/api/ops/incidents/{id}", analyze::NAME),
    ("/api/openapi.json", analyze::NAME),
    ("/feishu/events", feishu_event_handler::NAME),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_name_builds_and_no_other() {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().display().to_string();
        let ctx = Context::for_test_with(&[("AEGIS_DATA_DIR", &dir)]);
        for name in NAMES {
            let function = build(name, &ctx).await.expect("known").unwrap();
            assert_eq!(function.name, *name);
        }
        assert!(build("no-such-function", &ctx).await.is_none());
    }
}
