//! `demo --html FILE` in a real browser: the demo binary plays a scenario (in-process, on
//! moto), writes the page, and Debian's headless Chromium renders it. The rendered DOM has a
//! lane per person called and one for ServiceNow, a bar per call inside its lane, the key
//! presses and the time to accept, and the page fetched nothing. A screenshot is kept as an
//! artifact (`$ARTIFACTS_DIR`, default target/artifacts/).

use std::path::PathBuf;
use std::process::Command;

fn chromium() -> PathBuf {
    let found = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "no Chromium: this test renders the timeline page in headless Chromium. Install \
             Debian's package (`apt-get install chromium`; scripts/test.sh does) or set CHROMIUM"
        )
    })
}

/// Runs headless Chromium on `page` with `args`; returns stdout.
fn headless(page: &std::path::Path, args: &[&str]) -> String {
    let profile = tempdir("chromium-profile");
    let out = Command::new("timeout")
        .arg("90")
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("ARTIFACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/artifacts"
            ))
        });
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

#[test]
fn the_timeline_page_renders_lanes_bars_and_labels_in_chromium() {
    assert!(
        std::env::var_os("MOTO_ENDPOINT").is_some(),
        "MOTO_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto server"
    );
    let page = tempdir("timeline").join("escalate.html");
    let demo = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["escalate", "--in-process", "--html"])
        .arg(&page)
        .output()
        .expect("demo runs");
    assert!(
        demo.status.success(),
        "the demo failed:\n{}\n{}",
        String::from_utf8_lossy(&demo.stdout),
        String::from_utf8_lossy(&demo.stderr)
    );
    let html = std::fs::read_to_string(&page).expect("the page was written");
    // Nothing to fetch, and a policy that would refuse it anyway.
    for needle in ["http://", "https://", " src=", "@import", "url("] {
        assert!(!html.contains(needle), "the page refers to {needle}");
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));

    let dom = headless(&page, &["--dump-dom", "--virtual-time-budget=2000"]);
    let rendered = dom
        .split("data-rendered=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|v| v.replace("&quot;", "\""))
        .unwrap_or_else(|| panic!("the page's layout check did not run:\n{dom}"));
    let layout: serde_json::Value = serde_json::from_str(&rendered).expect("layout JSON");
    // Alice (pressed 3), Carol (accepted), and ServiceNow.
    assert_eq!(layout["lanes"], 3, "{layout}");
    assert_eq!(layout["bars"], 2, "one bar per call: {layout}");
    assert_eq!(layout["outside"], 0, "every bar inside its lane: {layout}");
    assert_eq!(
        layout["resources"], 0,
        "the page fetched something: {layout}"
    );
    for label in [
        "Alice Agent",
        "Carol Manager",
        "ServiceNow",
        "pressed 3 · escalated",
        "pressed 1 · accepted",
        "time to accept",
        "accepted by Carol Manager",
        "INC0010003",
    ] {
        assert!(dom.contains(label), "the rendered page lacks {label:?}");
    }
    assert!(dom.contains("class=\"bar accepted\"") && dom.contains("class=\"bar escalated\""));
    assert!(dom.contains("<b class=\"key\">3</b>") && dom.contains("<b class=\"key\">1</b>"));

    let shot = artifacts().join("timeline-escalate.png");
    let _ = std::fs::remove_file(&shot);
    headless(
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,900",
        ],
    );
    let png = std::fs::read(&shot).expect("the screenshot was saved");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        png.len() > 20_000,
        "the screenshot looks empty ({} bytes)",
        png.len()
    );
    println!("screenshot: {}", shot.display());
}
