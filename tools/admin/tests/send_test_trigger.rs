//! scripts/send_test_trigger.sh signs its request the way the trigger checks it: the request
//! that reaches a local HTTP listener verifies with escalation_adapters::signing and parses as a
//! trigger body. Needs bash, openssl and curl (present on developer machines and in CI).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use escalation_adapters::signing::SigningKey;
use escalation_lambda::handlers::trigger::parse_body;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/send_test_trigger.sh")
}

fn key_b64() -> String {
    STANDARD.encode((0u8..32).map(|i| i ^ 0x5a).collect::<Vec<u8>>())
}

fn run(args: &[&str], key: Option<&str>) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(script()).args(args).env_remove("TRIGGER_HMAC_KEY");
    if let Some(k) = key {
        cmd.env("TRIGGER_HMAC_KEY", k);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("could not run bash scripts/send_test_trigger.sh: {e}"))
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// One HTTP request: (request line, headers lower-cased, body).
type Captured = (String, Vec<(String, String)>, Vec<u8>);

/// Accepts one connection, answers 202, returns what arrived.
fn serve_once(listener: TcpListener) -> std::thread::JoinHandle<Captured> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut request_line = String::new();
        reader.read_line(&mut request_line).expect("request line");
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        let answer = br#"{"escalation_id":"ESC-0123456789ab","status":"ACTIVE"}"#;
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            answer.len()
        )
        .expect("write");
        stream.write_all(answer).expect("write body");
        (request_line.trim_end().to_owned(), headers, body)
    })
}

#[test]
fn the_request_on_the_wire_verifies_and_parses() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let server = serve_once(listener);
    let out = run(
        &[
            "--number",
            "INC0020001",
            "--priority",
            "2",
            "--short-description",
            "Disk \"full\" on db1 \\ urgent",
            &url,
        ],
        Some(&key_b64()),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("HTTP 202"), "{stdout}");
    assert!(stderr.contains("escalation started"), "{stderr}");

    let (request_line, headers, body) = server.join().expect("server thread");
    assert_eq!(request_line, "POST / HTTP/1.1");
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("content-type"), Some("application/json"));
    let key = SigningKey::from_base64(&key_b64()).expect("key");
    let ts = key
        .verify(
            header("x-signature-timestamp"),
            header("x-signature"),
            &body,
            now_secs(),
        )
        .expect("the trigger accepts the script's signature");
    assert!((now_secs() - ts).abs() < 60);
    let incident = parse_body("application/json", &body).expect("a trigger body");
    assert_eq!(incident.number, "INC0020001");
    assert_eq!(incident.priority, "2");
    assert_eq!(incident.short_description, "Disk \"full\" on db1 \\ urgent");
    assert_eq!(incident.sys_id.as_str().len(), 32);
}

#[test]
fn dry_run_prints_a_request_that_verifies() {
    let out = run(
        &[
            "--dry-run",
            "--sys-id",
            &"ab".repeat(16),
            "https://example.invalid/",
        ],
        Some(&key_b64()),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    let body = text.lines().last().expect("body line");
    let key = SigningKey::from_base64(&key_b64()).expect("key");
    key.verify(
        Some(value("X-Signature-Timestamp")),
        Some(value("X-Signature")),
        body.as_bytes(),
        now_secs(),
    )
    .expect("verifies");
    assert_eq!(
        parse_body("application/json", body.as_bytes())
            .expect("parses")
            .sys_id,
        "ab".repeat(16)
    );
}

#[test]
fn usage_errors_say_what_is_wrong() {
    let cases: &[(&[&str], Option<&str>, &str)] = &[
        (&[], Some("a2V5"), "missing TRIGGER_URL"),
        (&["https://x/"], None, "TRIGGER_HMAC_KEY"),
        (
            &["--priority", "7", "https://x/"],
            Some("a2V5"),
            "--priority",
        ),
        (
            &["--sys-id", "nope", "https://x/"],
            Some("a2V5"),
            "--sys-id",
        ),
        (&["https://x/"], Some("c2hvcnQ="), "at least 16 bytes"),
        (&["https://x/"], Some("FILL_ME"), "FILL_ME"),
        (
            &["--bogus", "https://x/"],
            Some("a2V5"),
            "unknown option --bogus",
        ),
        (&["ftp://x/"], Some("a2V5"), "http(s) URL"),
    ];
    for (args, key, expected) in cases {
        let out = run(args, *key);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in {stderr}"
        );
    }
}
