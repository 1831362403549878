//! `escalation-admin twilio canary-twiml`: the canary's answering application as Twilio
//! would run it: well-formed TwiML of documented verbs only, a greeting before any key, key 1
//! sent after the flow has had time to start reading, and the same document docs/DEPLOY.md
//! tells people to paste.

#[path = "support/repo.rs"]
mod repo;

fn run() -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_escalation-admin"))
        .args(["twilio", "canary-twiml"])
        .env_remove("TWILIO_ACCOUNT_SID")
        .env_remove("TWILIO_AUTH_TOKEN")
        .output()
        .expect("run escalation-admin");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_canary_twiml_greets_then_presses_1_with_documented_verbs_only() {
    let twiml = run();
    let doc = roxmltree::Document::parse(&twiml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "Response");
    let mut elapsed = 0u32;
    let mut spoke_at = None;
    let mut presses = Vec::new();
    for verb in root.children().filter(|n| n.is_element()) {
        match verb.tag_name().name() {
            "Say" => {
                assert!(verb.text().is_some_and(|t| !t.trim().is_empty()));
                spoke_at.get_or_insert(elapsed);
            }
            "Pause" => {
                let length: u32 = verb
                    .attribute("length")
                    .and_then(|l| l.parse().ok())
                    .expect("<Pause length> in whole seconds");
                assert!((1..=60).contains(&length), "{length}");
                elapsed += length;
            }
            "Play" => {
                let digits = verb.attribute("digits").expect("<Play digits>");
                assert!(
                    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == 'w'),
                    "Play digits takes DTMF digits and w (half a second): {digits:?}"
                );
                assert!(verb.text().is_none(), "no media URL, only tones");
                presses.push((elapsed, digits.replace('w', "")));
            }
            other => panic!("not a verb the canary needs: <{other}>"),
        }
    }
    assert_eq!(
        spoke_at,
        Some(0),
        "a greeting first, for answering-machine detection"
    );
    assert!(
        presses.len() >= 2,
        "a second 1 covers a slow start: {presses:?}"
    );
    assert!(presses.iter().all(|(_, keys)| keys == "1"), "{presses:?}");
    assert!(
        presses[0].0 >= 5,
        "the flow is reading before the first 1: {presses:?}"
    );
    assert!(
        elapsed >= presses.last().unwrap().0 + 15,
        "the call stays up while the flow confirms the accept"
    );
}

#[test]
fn deploy_md_shows_exactly_what_the_command_prints() {
    let deploy = repo::read("docs/DEPLOY.md");
    let section = &deploy[deploy.find("### The canary").expect("the canary section")..];
    let start = section.find("```xml\n").expect("the TwiML block") + "```xml\n".len();
    let block = &section[start..start + section[start..].find("```").unwrap()];
    assert_eq!(block, run(), "docs/DEPLOY.md's TwiML and the command agree");
    assert!(section.contains("escalation-admin twilio canary-twiml"));
}
