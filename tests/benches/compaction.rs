//! Compaction benchmark: 100,000 log lines into templates, 1,000 series x 300 points
//! into per-series summaries, 2,000 traces into per-operation statistics.
//!
//! `cargo bench -p aegis-tests --bench compaction` (optimised), or quicker to build,
//! `cargo test -p aegis-tests --bench compaction` (the dev profile). Figures and the
//! command used are in docs/benchmarks.md, section "Tools". Prints, per case, the
//! input size, the median and best time of several runs, and the output's tokens
//! (the estimate the budget uses, and OpenAI's cl100k_base for reference).

#[path = "../tests/e2e/tools/incident.rs"]
mod incident;

use std::time::{Duration, Instant};

use aegis_tools::Capped;
use aegis_tools::compact::{self, BUDGET, tokens};
use chrono::DateTime;

fn measure(name: &str, runs: usize, mut f: impl FnMut() -> String) {
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut out = String::new();
    for _ in 0..runs {
        let began = Instant::now();
        out = std::hint::black_box(f());
        times.push(began.elapsed());
    }
    times.sort();
    let cl100k = tiktoken_rs::cl100k_base()
        .expect("cl100k_base ships with the crate")
        .encode_with_special_tokens(&out)
        .len();
    println!(
        "{name:<40} median {:>8.1} ms  best {:>8.1} ms  output {:>5} tokens (estimate), {cl100k:>5} (cl100k)",
        times[runs / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        tokens::estimate(&out)
    );
}

fn main() {
    let start = DateTime::from_timestamp(incident::START, 0).expect("valid start");
    let end = DateTime::from_timestamp(incident::START + incident::LENGTH, 0).expect("valid end");

    let logs = incident::log_streams(100_000, 50);
    measure("logs: 100,000 lines, 50 streams", 5, || {
        compact::logs::render(
            "{namespace=\"shop\"}",
            start,
            end,
            &logs,
            "app",
            usize::MAX,
            BUDGET,
        )
    });

    let capped = incident::log_streams(2_000, 50);
    measure("logs: 2,000 lines (the default line cap)", 5, || {
        compact::logs::render(
            "{namespace=\"shop\"}",
            start,
            end,
            &capped,
            "app",
            2_000,
            BUDGET,
        )
    });

    let series = Capped::new(incident::series(1_000, 300), usize::MAX);
    measure("series: 1,000 x 300 points", 5, || {
        compact::series::range("x", start, end, 3.0, &series, BUDGET)
    });

    let traces = incident::traces(2_000, 50);
    measure("traces: 2,000 traces, 50 services", 5, || {
        compact::traces::render("all", &traces, usize::MAX, BUDGET)
    });
}
