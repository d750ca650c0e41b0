//! rca flow: `aegis eval` on a few cases of a dev dataset, metrics in a real
//! Prometheus, logs and traces from the replay, every case scored. Accuracy is
//! reported, not asserted: it is measured in docs/evaluation.md.

use std::path::PathBuf;

fn dev_dataset() -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/eval/dev/nezha-ob-2022-08-22");
    assert!(
        dir.join("dataset.json").is_file(),
        "the dev dataset is missing at {}: the evaluation datasets live in ../shared/eval/dev",
        dir.display()
    );
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_scores_every_case_of_a_subset() {
    assert!(
        aegis::rca::eval::prometheus_available(),
        "prometheus and promtool must be on the PATH (Debian: apt-get install prometheus; \
         or run scripts/install-peers)"
    );
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("scores.json");
    aegis::rca::eval::run(&[dev_dataset()], Some(&json), Some(3))
        .await
        .unwrap();

    let scores: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(scores["overall"]["cases"], 3);
    for field in ["ac1", "ac3", "ac5", "avg5"] {
        let v = scores["overall"][field].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{field} = {v}");
    }
    let dataset = &scores["datasets"]["nezha-ob-2022-08-22"];
    assert_eq!(dataset["cases"], 3);
    assert!(dataset["faults"].as_object().is_some_and(|f| !f.is_empty()));
    let cases = scores["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        assert!(c["id"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(c["truth"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(c["ms"].as_u64().is_some());
        // The engine ranks something for every case: these incidents are not quiet.
        assert!(c["ranked"].as_array().is_some_and(|r| !r.is_empty()), "{c}");
    }
    eprintln!(
        "rca subset: AC@1 {} AC@3 {}",
        scores["overall"]["ac1"], scores["overall"]["ac3"]
    );
}
