//! The message catalog: one Fluent bundle per language, built once per process from the
//! `.ftl` files compiled into the binary.
//!
//! Why Fluent (`fluent-bundle`): plurals and selectors are in the message, not in the
//! code ("1 alert" / "3 alerts", none in Chinese), a translator edits plain `.ftl`
//! files, and the concurrent bundle is shared by every request without a lock.
//! `fluent-templates` would add a macro layer and file-system loading Aegis does not need.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

use crate::lang::{ALL, Lang};

/// The catalog's files: (language, file name, text). One folder per locale under
/// `lib/i18n/locales`; every file exists in every locale.
pub const FILES: &[(Lang, &str, &str)] = &[
    (
        Lang::En,
        "agent.ftl",
        include_str!("../locales/en/agent.ftl"),
    ),
    (
        Lang::En,
        "alerts.ftl",
        include_str!("../locales/en/alerts.ftl"),
    ),
    (Lang::En, "chat.ftl", include_str!("../locales/en/chat.ftl")),
    (
        Lang::En,
        "common.ftl",
        include_str!("../locales/en/common.ftl"),
    ),
    (
        Lang::En,
        "engine.ftl",
        include_str!("../locales/en/engine.ftl"),
    ),
    (Lang::En, "page.ftl", include_str!("../locales/en/page.ftl")),
    (
        Lang::En,
        "report.ftl",
        include_str!("../locales/en/report.ftl"),
    ),
    (
        Lang::En,
        "tools.ftl",
        include_str!("../locales/en/tools.ftl"),
    ),
    (
        Lang::ZhCn,
        "agent.ftl",
        include_str!("../locales/zh-CN/agent.ftl"),
    ),
    (
        Lang::ZhCn,
        "alerts.ftl",
        include_str!("../locales/zh-CN/alerts.ftl"),
    ),
    (
        Lang::ZhCn,
        "chat.ftl",
        include_str!("../locales/zh-CN/chat.ftl"),
    ),
    (
        Lang::ZhCn,
        "common.ftl",
        include_str!("../locales/zh-CN/common.ftl"),
    ),
    (
        Lang::ZhCn,
        "engine.ftl",
        include_str!("../locales/zh-CN/engine.ftl"),
    ),
    (
        Lang::ZhCn,
        "page.ftl",
        include_str!("../locales/zh-CN/page.ftl"),
    ),
    (
        Lang::ZhCn,
        "report.ftl",
        include_str!("../locales/zh-CN/report.ftl"),
    ),
    (
        Lang::ZhCn,
        "tools.ftl",
        include_str!("../locales/zh-CN/tools.ftl"),
    ),
];

/// The bundles, in [`ALL`]'s order.
static BUNDLES: LazyLock<Vec<FluentBundle<FluentResource>>> =
    LazyLock::new(|| ALL.iter().map(|&lang| bundle(lang)).collect());

fn bundle(lang: Lang) -> FluentBundle<FluentResource> {
    let id: unic_langid::LanguageIdentifier = match lang.tag().parse() {
        Ok(id) => id,
        Err(_) => unreachable!("every Lang tag is a valid language identifier"),
    };
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Texts go to Feishu cards, Markdown and HTML, not to a bidirectional renderer:
    // Unicode isolation marks around arguments would show up as stray characters.
    bundle.set_use_isolating(false);
    for &(_, name, text) in FILES.iter().filter(|(l, _, _)| *l == lang) {
        // The files are compiled in and checked by this crate's tests; a syntax error
        // keeps the messages that did parse.
        let resource = FluentResource::try_new(text.to_string()).unwrap_or_else(|(r, _)| r);
        if let Err(errors) = bundle.add_resource(resource) {
            debug_assert!(errors.is_empty(), "{} {name}: {errors:?}", lang.tag());
        }
    }
    bundle
}

fn bundle_of(lang: Lang) -> &'static FluentBundle<FluentResource> {
    let index = ALL.iter().position(|&l| l == lang).unwrap_or(0);
    &BUNDLES[index]
}

/// The message `id` in `lang` with `args` put in. A message missing in `lang` falls back
/// to English, and one missing in both gives its id (the catalog's tests make both
/// impossible for the ids the code names). Use the [`t!`](crate::t) macro rather than
/// calling this directly: its literal ids are what the tests check.
pub fn text(lang: Lang, id: &str, args: Option<&FluentArgs>) -> String {
    for bundle in [bundle_of(lang), bundle_of(Lang::En)] {
        if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            return bundle
                .format_pattern(pattern, args, &mut errors)
                .into_owned();
        }
    }
    id.to_string()
}

/// Every message a language's files define: its id and its fixed text, the pieces
/// between its arguments (every variant of a selector included).
pub fn messages(lang: Lang) -> Vec<(String, Vec<String>)> {
    use fluent_syntax::ast;
    fn walk(pattern: &ast::Pattern<&str>, out: &mut Vec<String>) {
        for element in &pattern.elements {
            match element {
                ast::PatternElement::TextElement { value } => out.push(value.to_string()),
                ast::PatternElement::Placeable {
                    expression: ast::Expression::Select { variants, .. },
                } => variants.iter().for_each(|v| walk(&v.value, out)),
                ast::PatternElement::Placeable { .. } => {}
            }
        }
    }
    let mut out = Vec::new();
    for &(_, _, text) in FILES.iter().filter(|(l, _, _)| *l == lang) {
        // A file that does not parse keeps what did (the tests name the error).
        let resource = fluent_syntax::parser::parse(text).unwrap_or_else(|(r, _)| r);
        for entry in resource.body {
            if let ast::Entry::Message(m) = entry {
                let mut texts = Vec::new();
                if let Some(value) = &m.value {
                    walk(value, &mut texts);
                }
                out.push((m.id.name.to_string(), texts));
            }
        }
    }
    out.sort();
    out
}

/// Every message id a language's files define.
pub fn ids(lang: Lang) -> Vec<String> {
    messages(lang).into_iter().map(|(id, _)| id).collect()
}
