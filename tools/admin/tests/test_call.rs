//! `escalation-admin test-call` against the Twilio fake, which walks the shipped flow: the
//! person hears the prompts in the language asked for, what they pressed is reported, the
//! number is masked in the output, and bad input is refused with exit code 2.

#[path = "support/twilio.rs"]
mod twilio;

use escalation_fakes::{AgentStep, TwilioHandle};
use twilio::{ACCOUNT, KEY_SECRET, KEY_SID, fake};

const PERSON: &str = "+4930555010001";
const OURS: &str = "+15550109999";

async fn test_call(tw: &TwilioHandle, args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_escalation-admin"))
        .arg("test-call")
        .args(args)
        .env_clear()
        .env("TWILIO_ACCOUNT_SID", ACCOUNT)
        .env("TWILIO_API_KEY_SID", KEY_SID)
        .env("TWILIO_API_KEY_SECRET", KEY_SECRET)
        .env("TWILIO_STUDIO_BASE_URL", tw.base_url())
        .env("TWILIO_FLOW_SID", &tw.config().flow_sid)
        .env("TWILIO_FROM_NUMBER", OURS)
        .output()
        .await
        .expect("run escalation-admin");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_german_test_call_speaks_german_and_reports_the_key() {
    let tw = fake().await;
    tw.script(
        PERSON,
        vec![AgentStep::Keys {
            keys: "*1".into(),
            after_ms: 300,
        }],
    );
    let (code, stdout, stderr) = test_call(&tw, &[PERSON, "--language", "de-DE"]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("calling +4********0001 from +1******9999 in de-DE (voice Polly.Marlene)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the call ended: pressed 1 (accept)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(PERSON) && !stderr.contains(PERSON),
        "the number is masked"
    );

    let calls = tw.executions();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].to, PERSON);
    let heard: Vec<&str> = calls[0].heard.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(heard.len(), 3, "{heard:?}");
    assert!(
        heard[0].starts_with(
            "Dies ist ein dringender Alarm für den Incident T E S T, 0 0 0 0 0 0 1. \
             Priorität 5, Planung. Dies ist ein Testanruf der Telefon-Eskalation."
        ),
        "{}",
        heard[0]
    );
    assert_eq!(heard[0], heard[1], "* repeats everything");
    assert_eq!(
        heard[2],
        "Sie haben den Incident T E S T, 0 0 0 0 0 0 1 angenommen. Vielen Dank."
    );
    assert!(calls[0].heard.iter().all(|h| h.language == "de-DE"));
    assert!(
        calls[0].parameters.get("escalation_id").is_none(),
        "the Lambdas ignore a test call"
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_any_call() {
    let tw = fake().await;
    let (code, _, stderr) = test_call(&tw, &["0301234"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("the number to call"), "{stderr}");
    let (code, _, stderr) = test_call(&tw, &[PERSON, "--language", "xx-XX"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("the calls do not speak it"), "{stderr}");
    assert!(tw.executions().is_empty());
}
