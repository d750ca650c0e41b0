//! The report page in a real browser: the demo's report, rendered by headless
//! Chromium from the file the store wrote, loads without errors, fetches nothing and
//! draws its charts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aegis_tests::process::{aegis_bin, free_port};

/// Debian's Chromium (scripts/install-peers installs it).
fn chromium() -> PathBuf {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("chromium is not installed; run scripts/install-peers")
}

/// Chromium headless on `page` with `extra` arguments; its stdout and stderr.
async fn headless(page: &Path, profile: &Path, extra: &[&str]) -> (Vec<u8>, String) {
    let mut cmd = tokio::process::Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1000,1600",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(format!("file://{}", page.display()))
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("chromium finishes")
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_demo_report_page_loads_in_chromium_and_draws_its_charts() {
    let port = free_port().unwrap().to_string();
    // The demo keeps its reports only in AEGIS_DATA_DIR.
    let data = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(240),
        tokio::process::Command::new(aegis_bin().unwrap())
            .args(["demo", "--once", "--port", &port])
            .env("AEGIS_DATA_DIR", data.path())
            .env("DEFAULT_MODEL", "")
            .env("AEGIS_LLM_BASE_URL", "")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the demo finishes")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: PathBuf = stdout
        .lines()
        .skip_while(|l| !l.starts_with("The report page"))
        .nth(1)
        .map(|l| PathBuf::from(l.trim()))
        .unwrap_or_else(|| panic!("no page path printed:\n{stdout}"));
    assert!(page.exists(), "{} was not written", page.display());

    let profile = tempfile::tempdir().unwrap();
    let (dom, log) = headless(&page, profile.path(), &["--dump-dom"]).await;
    let dom = String::from_utf8_lossy(&dom);
    assert!(dom.contains("Ranked root causes"), "{dom}");
    let charts = dom.matches("<figure class=\"chart\">").count();
    assert!(charts >= 1, "no chart in the page:\n{dom}");
    assert!(
        dom.contains("<polyline") || dom.contains("<path"),
        "charts have lines"
    );
    assert!(
        dom.contains("aria-label=\"call graph\""),
        "the call graph is drawn"
    );
    for bad in ["Uncaught", "ERR_", "Failed to load"] {
        assert!(!log.contains(bad), "the page logged {bad}:\n{log}");
    }

    let shot_dir = tempfile::tempdir().unwrap();
    let shot = shot_dir.path().join("page.png");
    headless(
        &page,
        profile.path(),
        &[&format!("--screenshot={}", shot.display())],
    )
    .await;
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&shot).expect("a screenshot"),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let line = aegis_view::chart::LINE;
    let drawn = buf[..info.buffer_size()]
        .chunks(channels)
        .filter(|p| {
            let near = |a: u8, b: u8| a.abs_diff(b) <= 24;
            near(p[0], line.0) && near(p[1], line.1) && near(p[2], line.2)
        })
        .count();
    assert!(
        drawn > 200,
        "{drawn} pixels of the series colour in the screenshot: the charts were not drawn"
    );
}
