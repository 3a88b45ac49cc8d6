//! `pictor demo --json`: the embedded network renders, verifies and settles a job, and prints one JSON
//! summary whose numbers add up.

use std::process::Command;

#[test]
fn the_demo_renders_verifies_settles_and_prints_its_summary() {
    let out = tempfile::tempdir().expect("temp");
    let run = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args([
            "demo",
            "--frames",
            "1-3",
            "--width",
            "192",
            "--height",
            "108",
            "--samples",
            "16",
            "--json",
            "--out",
        ])
        .arg(out.path())
        .output()
        .expect("pictor demo runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8(run.stdout).expect("utf-8");
    assert_eq!(
        stdout.lines().count(),
        1,
        "one JSON object on stdout: {stdout}"
    );
    let summary: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    for key in [
        "job_id",
        "frames",
        "accepted",
        "rejected",
        "quote",
        "charged",
        "refunded",
        "workers",
        "checker_earned",
        "ledger_ok",
        "wall_ms",
        "out",
    ] {
        assert!(summary.get(key).is_some(), "missing {key}: {summary}");
    }
    assert_eq!(summary["frames"], 3);
    assert_eq!(summary["accepted"], 3);
    assert_eq!(summary["ledger_ok"], true);
    let micros = |v: &serde_json::Value| v.as_u64().expect("integer micro-credits");
    let workers: u64 = summary["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .map(|w| micros(&w["earned"]))
        .sum();
    assert_eq!(
        micros(&summary["charged"]),
        workers + micros(&summary["checker_earned"]) + micros(&summary["network_fees"]),
        "the creator's charge is exactly what workers, checker and network got: {summary}"
    );
    for frame in 1..=3 {
        assert!(
            out.path().join(format!("frame_{frame:04}.exr")).is_file(),
            "frame {frame} written"
        );
    }
}
