//! The catalog's own checks: both locales define the same messages, every file parses,
//! every id the code names exists and every message is named somewhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use fluent_bundle::FluentResource;

use crate::{ALL, FILES, Lang, ids};

#[test]
fn every_file_parses_and_exists_in_every_locale() {
    for &(lang, name, text) in FILES {
        if let Err((_, errors)) = FluentResource::try_new(text.to_string()) {
            panic!("{}/{name}: {errors:?}", lang.tag());
        }
        for other in ALL {
            assert!(
                FILES.iter().any(|&(l, n, _)| l == other && n == name),
                "{name} is in {} but not in {}",
                lang.tag(),
                other.tag()
            );
        }
    }
}

#[test]
fn both_locales_define_the_same_message_ids() {
    let en: BTreeSet<String> = ids(Lang::En).into_iter().collect();
    let zh: BTreeSet<String> = ids(Lang::ZhCn).into_iter().collect();
    let only_en: Vec<_> = en.difference(&zh).collect();
    let only_zh: Vec<_> = zh.difference(&en).collect();
    assert!(
        only_en.is_empty() && only_zh.is_empty(),
        "only in en: {only_en:?}; only in zh-CN: {only_zh:?}"
    );
    assert_eq!(en.len(), ids(Lang::En).len(), "an id is defined twice");
}

/// The workspace's Rust sources (lib, functions, tests), this crate's tests excepted.
fn sources() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = ["lib", "functions", "tests"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != "target") {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("i18n/src/tests.rs")
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                out.push((path, text));
            }
        }
    }
    out
}

/// The ids named by `t!(lang, "id" ...)` calls in `text`.
fn named_ids(text: &str) -> Vec<String> {
    let call = regex::Regex::new(r#"\bt!\(\s*[^"]*?,\s*"([^"]*)""#).expect("regex");
    call.captures_iter(text).map(|c| c[1].to_string()).collect()
}

#[test]
fn every_id_the_code_names_exists_and_every_message_is_named() {
    let defined: BTreeSet<String> = ids(Lang::En).into_iter().collect();
    let mut named = BTreeSet::new();
    let mut missing = Vec::new();
    for (path, text) in sources() {
        for id in named_ids(&text) {
            if !defined.contains(&id) {
                missing.push(format!("{}: {id}", path.display()));
            }
            named.insert(id);
        }
    }
    assert!(missing.is_empty(), "ids no .ftl file defines: {missing:?}");
    let unused: Vec<_> = defined.difference(&named).collect();
    assert!(unused.is_empty(), "messages no code names: {unused:?}");
}

#[test]
fn the_id_scanner_reads_calls_with_and_without_arguments() {
    let code = r#"t!(lang, "a-b"); t!(self.lang(), "c", n = 1); t!(
        Lang::En,
        "d-e",
        x = "y"
    ); not_t!(lang, "z")"#;
    assert_eq!(named_ids(code), ["a-b", "c", "d-e"]);
}

#[test]
fn plurals_and_arguments_follow_the_locale() {
    let alerts = |lang, groups| {
        t!(
            lang,
            "incident-alerts",
            firing = 2,
            resolved = 0,
            groups = groups
        )
    };
    assert_eq!(
        alerts(Lang::En, 1),
        "alerts: 2 firing · 0 resolved · 1 alert group"
    );
    assert_eq!(
        alerts(Lang::En, 3),
        "alerts: 2 firing · 0 resolved · 3 alert groups"
    );
    assert_eq!(
        alerts(Lang::ZhCn, 3),
        "告警：2 条告警中 · 0 条已恢复 · 3 个告警分组"
    );
}
