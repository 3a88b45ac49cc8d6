//! `pictor plan` end to end: the real binary, its JSON contract and its refusals.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::process::Command;

fn pictor(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(args)
        .output()
        .expect("the pictor binary runs")
}

fn plan_json(args: &[&str]) -> Value {
    let output = pictor(args);
    assert!(
        output.status.success(),
        "pictor {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert_eq!(
        stdout.lines().count(),
        1,
        "--json prints one object: {stdout}"
    );
    serde_json::from_str(&stdout).expect("valid JSON")
}

const KEYS: [&str; 11] = [
    "strategy",
    "tasks",
    "workers",
    "makespan",
    "makespan_lower_bound",
    "makespan_ratio",
    "cost",
    "cost_lower_bound",
    "cost_ratio",
    "deadline_met",
    "plan_ms",
];

#[test]
fn fastest_finish_at_scale_prints_the_contract() {
    let report = plan_json(&[
        "plan",
        "--tasks",
        "100000",
        "--workers",
        "10000",
        "--strategy",
        "fastest-finish",
        "--json",
    ]);
    for key in KEYS {
        assert!(report.get(key).is_some(), "missing {key}: {report}");
    }
    assert_eq!(report["strategy"], "fastest-finish");
    assert_eq!(report["tasks"], 100_000);
    assert_eq!(report["workers"], 10_000);
    let makespan = report["makespan"].as_f64().expect("number");
    let bound = report["makespan_lower_bound"].as_f64().expect("number");
    assert!(
        bound > 0.0 && makespan >= bound,
        "a bound never beats a plan"
    );
    assert!(report["makespan_ratio"].as_f64().expect("ratio") <= 1.06);
    assert_eq!(report["deadline_met"], true);
    assert!(
        report["cost"].as_u64().expect("µcr") >= report["cost_lower_bound"].as_u64().expect("µcr")
    );
}

#[test]
fn replayed_cost_under_deadline_is_close_to_the_lp_bound() {
    let report = plan_json(&[
        "plan",
        "--tasks",
        "250",
        "--workers",
        "50",
        "--strategy",
        "cost-under-deadline",
        "--replay",
        "--deadline-factor",
        "2",
        "--json",
    ]);
    let ratio = report["cost_ratio"].as_f64().expect("ratio");
    assert!((1.0..=1.03).contains(&ratio), "cost ratio {ratio}");
    assert_eq!(report["deadline_met"], true);
}

#[test]
fn etc_file_is_planned_with_batch_min_min_against_its_lp_bound() {
    let dir = std::env::temp_dir().join(format!("pictor-plan-etc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("etc.json");
    std::fs::write(&path, r#"{"etc": [[4, 8], [3, 9], [6, 2], [5, 5]]}"#).expect("write");
    let report = plan_json(&[
        "plan",
        "--etc",
        path.to_str().expect("utf-8 path"),
        "--json",
    ]);
    assert_eq!(report["strategy"], "batch-min-min");
    assert_eq!(report["tasks"], 4);
    assert_eq!(report["workers"], 2);
    let makespan = report["makespan"].as_f64().expect("number");
    let bound = report["makespan_lower_bound"].as_f64().expect("number");
    // Optimum: {0,1} on machine 0 (7), {2,3} on machine 1 (7); the LP bound is at most that.
    assert!((makespan - 7.0).abs() < 1e-9, "makespan {makespan}");
    assert!(bound <= makespan + 1e-9 && bound > 0.0);
    assert!(report["cost"].is_null());

    std::fs::write(&path, r#"{"etc": [[1, 2], [3]]}"#).expect("write");
    let output = pictor(&["plan", "--etc", path.to_str().expect("utf-8 path")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("etc[1]"), "error names the row: {stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_fails_with_one_line() {
    for args in [
        vec!["plan", "--tasks", "0", "--workers", "5"],
        vec![
            "plan",
            "--tasks",
            "10",
            "--workers",
            "5",
            "--strategy",
            "random",
        ],
        vec![
            "plan",
            "--tasks",
            "10",
            "--workers",
            "5",
            "--deadline-factor",
            "0.5",
        ],
        vec!["plan", "--workers", "5"],
        vec!["plan", "--etc", "/nonexistent/etc.json"],
    ] {
        let output = pictor(&args);
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(output.stdout.is_empty(), "nothing on stdout for {args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with("pictor: "), "{stderr}");
    }
}
