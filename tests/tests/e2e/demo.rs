//! `aegis demo --once`: the shipped incident through the real webhook path, the
//! analysis and the result card, with nothing else installed.

use std::time::Duration;

use aegis_tests::process::{aegis_bin, free_port};

/// The demo's incident and its known root cause (the binary never reads truth.jsonl).
fn truth() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../functions/aegis/demo/incident/truth.jsonl"
    );
    let line = std::fs::read_to_string(path).expect("the shipped incident has a truth file");
    let truth: serde_json::Value =
        serde_json::from_str(line.lines().next().expect("one case")).expect("JSON");
    truth["service"].as_str().expect("a service").to_string()
}

/// The services of the "Result" section's ranked lines (`  1. <service> (p=...)`).
fn ranked(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("Result ("))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let (rank, rest) = l.trim().split_once(". ")?;
            rank.parse::<u32>().ok()?;
            Some(rest.split_whitespace().next()?.to_string())
        })
        .collect()
}

/// The cards the console Feishu printed (`── Feishu (console) ...` to `──`).
fn console_cards(stdout: &str) -> Vec<String> {
    let mut cards = Vec::new();
    let mut current: Option<String> = None;
    for line in stdout.lines() {
        match (&mut current, line) {
            (None, l) if l.starts_with("── Feishu (console)") => current = Some(String::new()),
            (Some(card), "──") => {
                cards.push(std::mem::take(card));
                current = None;
            }
            (Some(card), l) => {
                card.push_str(l);
                card.push('\n');
            }
            (None, _) => {}
        }
    }
    cards
}

/// `aegis demo --once` in its own temp dir (to see that it leaves nothing behind in
/// it), with `vars`; its stdout.
async fn demo_once(tmp: &std::path::Path, vars: &[(&str, &str)]) -> String {
    let port = free_port().unwrap().to_string();
    let mut cmd = tokio::process::Command::new(aegis_bin().unwrap());
    // No model: the statistical engine, deterministic whatever the machine's settings.
    cmd.args(["demo", "--once", "--port", &port])
        .env("TMPDIR", tmp)
        .env_remove("AEGIS_DATA_DIR")
        .env("DEFAULT_MODEL", "")
        .env("AEGIS_LLM_BASE_URL", "")
        .envs(vars.iter().copied())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(240), cmd.output())
        .await
        .expect("the demo finishes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

#[tokio::test]
async fn demo_once_names_the_true_root_cause_in_the_top_3() {
    let tmp = tempfile::tempdir().unwrap();
    let stdout = demo_once(tmp.path(), &[]).await;
    // The journey is shown: the alert card, the analysis, the result card.
    assert!(stdout.contains("notifier posts the alert card"), "{stdout}");
    assert!(
        stdout.contains("notifier posts the result card"),
        "{stdout}"
    );
    assert!(stdout.contains("curl -s http://127.0.0.1:"), "{stdout}");
    let cards = console_cards(&stdout);
    assert!(
        cards.iter().any(|c| c.contains("[FIRING] ServiceDegraded")),
        "{cards:#?}"
    );
    assert!(
        cards.iter().any(|c| c.contains("Root-cause analysis: ")),
        "{cards:#?}"
    );
    let ranked = ranked(&stdout);
    assert!(!ranked.is_empty(), "no ranking in the output:\n{stdout}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "the demo left {left:?} behind");
    let truth = truth();
    assert!(
        ranked.iter().take(3).any(|s| *s == truth),
        "true root cause {truth} not in the top 3 {ranked:?}\n{stdout}"
    );
}

#[tokio::test]
async fn demo_once_in_chinese_prints_every_card_in_chinese() {
    let tmp = tempfile::tempdir().unwrap();
    let stdout = demo_once(tmp.path(), &[("AEGIS_LANGUAGE", "zh-CN")]).await;
    let cards = console_cards(&stdout);
    assert!(
        cards.len() >= 3,
        "alert card, result card, update: {cards:#?}"
    );
    assert!(
        cards[0].contains("[告警中] ServiceDegraded"),
        "{}",
        cards[0]
    );
    let result = cards
        .iter()
        .find(|c| c.contains("根因分析："))
        .unwrap_or_else(|| panic!("no Chinese result card: {cards:#?}"));
    for words in [
        "**结论**",
        "最可能的根因：",
        "概率",
        "**下一步**",
        "原因正确",
    ] {
        assert!(result.contains(words), "{words} missing from {result}");
    }
    for card in &cards {
        let english = aegis_i18n::untranslated(card);
        assert!(
            english.is_empty(),
            "English on a Chinese card: {english:?}\n{card}"
        );
    }
}

#[tokio::test]
async fn demo_on_a_port_in_use_fails_clearly() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = aegis_tests::process::run(&["demo", "--once", "--port", &port], &[])
        .await
        .unwrap();
    assert_ne!(out.code, Some(0), "a port in use must fail");
    assert!(
        out.stderr
            .contains(&format!("port {port} is already in use")),
        "{}",
        out.stderr
    );
}
