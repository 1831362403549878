//! `BENCH_STORM_HTML`: the bench's storm (a small one, on moto) writes its calls as one
//! self-contained timeline page, a lane per person called, each call a bar coloured by how it
//! ended, under a headline with what the storm came to.

use std::process::Command;

#[test]
fn a_small_storm_writes_its_timeline_page() {
    let moto = std::env::var("MOTO_ENDPOINT").expect(
        "MOTO_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto server",
    );
    let page = std::env::temp_dir().join(format!("storm-{}.html", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_escalation-bench"))
        .env("MOTO_ENDPOINT", moto)
        .env("BENCH_PHASES", "storm")
        .env("BENCH_SCALE", "0.008") // 8 incidents within a second
        .env("BENCH_STORM_AGENTS", "3")
        .env("BENCH_STORM_ANSWER_MS", "50")
        .env("BENCH_STORM_TIMEOUT_SECS", "60")
        .env("BENCH_WRITE", "0")
        .env("BENCH_STORM_HTML", &page)
        .output()
        .expect("the bench runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the storm failed:\n{stderr}");
    let html = std::fs::read_to_string(&page).expect("the page was written");
    let _ = std::fs::remove_file(&page);
    assert!(
        html.contains("8 incidents within 1 s, 3 agents: 8 accepted"),
        "{html}"
    );
    assert!(html.contains("0 lost, 0 duplicate dials"), "{html}");
    assert!(html.contains("outcome as promised"), "{html}");
    // Everyone starts with the first agent; the others are called only while it is busy.
    assert!(html.contains("title=\"Agent 00\""), "no lane for Agent 00");
    let lanes = html.matches("data-lane=\"person\"").count();
    assert!((1..=5).contains(&lanes), "{lanes} person lanes");
    assert_eq!(html.matches("data-lane=\"servicenow\"").count(), 1);
    let bars = html.matches("<div class=\"bar ").count();
    let accepted = html.matches("<div class=\"bar accepted\"").count();
    assert_eq!(accepted, 8, "one accepted call per incident");
    assert!(bars >= accepted, "{bars} bars");
    for needle in ["http://", "https://", " src=", "url("] {
        assert!(!html.contains(needle), "the page refers to {needle}");
    }
}
