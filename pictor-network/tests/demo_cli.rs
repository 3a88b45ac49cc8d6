//! `pictor demo --json`: the embedded network renders, verifies and settles a job, and prints one JSON
//! summary whose numbers add up.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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

#[test]
fn worker_benchmark_reports_the_speed_used_for_pricing() {
    let run = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(["worker", "benchmark", "--json"])
        .output()
        .expect("pictor worker benchmark runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).expect("one JSON object");
    assert_eq!(report["renderer"], "builtin");
    let speed = report["speed_millis"].as_u64().expect("speed_millis");
    let render_ms = report["render_ms"].as_u64().expect("render_ms");
    assert!(speed > 0 && render_ms > 0, "{report}");
    // speed‰ = reference throughput share: 320×180×32 samples·px over the reference 1.1 M per second.
    let expected = (320.0 * 180.0 * 32.0 / 1.1e6) / (render_ms as f64 / 1000.0) * 1000.0;
    assert!(
        (speed as f64 - expected).abs() <= expected * 0.05 + 1.0,
        "speed {speed}‰ matches the timed render ({expected:.0}‰): {report}"
    );
}

#[test]
fn the_shipped_demo_scene_is_the_built_in_one() {
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/scenes/demo/scene.toml"),
    )
    .expect("examples/scenes/demo/scene.toml");
    assert_eq!(
        shipped,
        pictor_render::builtin::scene::demo_scene_toml(),
        "regenerate examples/scenes/demo/scene.toml from pictor_render::builtin::scene::demo_scene_toml()"
    );
}

/// `pictor demo --keep-open`: after its job the network keeps serving the web app, with the
/// creator's key in a file, until Ctrl-C (SIGINT), which stops it cleanly.
#[test]
fn the_demo_kept_open_serves_its_network_to_the_web_app_until_ctrl_c() {
    use std::io::{BufRead, BufReader, Read, Write};
    let out = tempfile::tempdir().expect("temp");
    let mut demo = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args([
            "demo",
            "--frames",
            "1-2",
            "--width",
            "64",
            "--height",
            "36",
            "--samples",
            "4",
            "--json",
            "--keep-open",
            "--out",
        ])
        .arg(out.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("pictor demo runs");
    let mut said = BufReader::new(demo.stderr.take().expect("stderr"));
    let mut line = String::new();
    while !line.contains("Pictor Cloud: open ") {
        line.clear();
        let read = said.read_line(&mut line).expect("stderr");
        assert!(read > 0, "the demo ended without keeping its network open");
    }
    let url = line
        .split("open ")
        .nth(1)
        .and_then(|rest| rest.split('/').take(3).collect::<Vec<_>>().join("/").into())
        .expect("a URL");
    let key_file = line
        .split("key in ")
        .nth(1)
        .and_then(|rest| rest.split(" (").next())
        .expect("a key file");
    let key = std::fs::read_to_string(key_file).expect("the creator's key");
    assert!(key.trim().starts_with("pk_"));
    // The web app answers on that address: the Explorer shows the finished job's two tasks.
    let address = url.trim_start_matches("http://");
    let mut http = std::net::TcpStream::connect(address).expect("connect");
    write!(
        http,
        "GET /explorer HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut page = String::new();
    http.read_to_string(&mut page).expect("answer");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("completed") && page.contains("2 / 2"),
        "{page}"
    );
    // Ctrl-C stops it, successfully.
    let interrupted = Command::new("kill")
        .args(["-INT", &demo.id().to_string()])
        .status()
        .expect("kill");
    assert!(interrupted.success());
    let status = demo.wait().expect("the demo stops");
    assert!(status.success(), "{status:?}");
}
