//! `escalation-admin test-call +E164 [--language de-DE]`: one real call through the Studio
//! flow, so that a person hears the prompts in their language and confirms their number
//! works. The call carries the same prompts as an escalation call (the incident is a test
//! incident, `TEST0000001`) but none of an escalation's identifiers, so the Lambdas ignore
//! its end and nothing is written to ServiceNow. Phone numbers are masked in the output.

use std::io::Write;
use std::time::{Duration, Instant};

use escalation_adapters::twilio::contract::{self, ExecutionContext};
use escalation_core::model::{E164, EscalationId, Incident, Person, SysId};
use escalation_core::ports::CallRequest;
use escalation_core::prompts::{self, Locale};
use serde_json::Value;

use crate::api::Twilio;
use crate::deploy::AdminError;

/// The incident number a test call reads out.
pub const TEST_NUMBER: &str = "TEST0000001";

/// One test call, its inputs checked.
#[derive(Debug)]
pub struct TestCall {
    pub to: E164,
    pub from: E164,
    pub flow_sid: String,
    pub locale: &'static Locale,
    /// How long to wait for the call to end (0: do not wait).
    pub wait: Duration,
}

impl TestCall {
    /// Checks the flags: numbers in E.164, a Studio flow SID, a language the calls speak.
    pub fn parse(
        to: &str,
        from: &str,
        flow_sid: &str,
        language: Option<&str>,
        wait: Duration,
    ) -> Result<TestCall, AdminError> {
        let number = |flag: &str, value: &str| {
            E164::parse(value).map_err(|e| {
                AdminError::Usage(format!(
                    "{flag}: {e} (give the number as +<country><number>)"
                ))
            })
        };
        let to = number("the number to call", to)?;
        let from = number("--from", from)?;
        let b = flow_sid.as_bytes();
        if !(b.len() == 34 && b.starts_with(b"FW") && b[2..].iter().all(u8::is_ascii_hexdigit)) {
            return Err(AdminError::Usage(format!(
                "--flow-sid {flow_sid:?} is not a Studio flow SID (FW and 32 hex digits)"
            )));
        }
        let locale = match language {
            None => prompts::locale(None),
            Some(l) => prompts::find(l).ok_or_else(|| {
                AdminError::Usage(format!(
                    "--language {l:?}: the calls do not speak it (they speak {})",
                    prompts::LOCALES
                        .iter()
                        .map(|l| l.tag)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
        };
        Ok(TestCall {
            to,
            from,
            flow_sid: flow_sid.to_owned(),
            locale,
            wait,
        })
    }

    /// The execution's `Parameters`: an escalation call's prompts for the test incident,
    /// without `escalation_id`, `sys_id` and `attempt` (the Lambdas ignore such a call).
    pub fn parameters(&self) -> Value {
        let request = CallRequest {
            escalation_id: EscalationId::new("test-call"),
            incident: Incident {
                sys_id: SysId::parse("00000000000000000000000000000000").expect("a sys_id"),
                number: TEST_NUMBER.into(),
                short_description: self.locale.texts.test_call.into(),
                priority: "5".into(),
                assignment_group: None,
                assignment_group_name: None,
            },
            attempt: 1,
            person: Person {
                name: "test call".into(),
                phone: self.to.clone(),
                role: None,
                sn_user: None,
                language: Some(self.locale.tag.into()),
                ring_timeout_secs: None,
                redials: None,
                escalation_step: false,
                sms_when_unanswered: false,
                ring_step: None,
            },
            ring_timeout_secs: 30,
            attempt_started_at: 0,
            bundle: Vec::new(),
        };
        let mut params = contract::parameters(&request);
        if let Value::Object(map) = &mut params {
            for key in ["escalation_id", "sys_id", "attempt"] {
                map.remove(key);
            }
        }
        params
    }
}

/// Places the call, then (unless `wait` is 0) waits for it to end and says what the person
/// did. Returns the execution SID.
pub async fn place(
    tw: &Twilio,
    call: &TestCall,
    out: &mut dyn Write,
) -> Result<String, AdminError> {
    let executions = tw.studio_url(&format!("/v2/Flows/{}/Executions", call.flow_sid));
    let form = [
        ("To", call.to.as_str().to_owned()),
        ("From", call.from.as_str().to_owned()),
        ("Parameters", call.parameters().to_string()),
    ];
    let created = tw.post("start the test call", &executions, &form).await?;
    let sid = created["sid"].as_str().unwrap_or_default().to_owned();
    writeln!(
        out,
        "calling {} from {} in {} (voice {}): execution {sid}",
        call.to.masked(),
        call.from.masked(),
        call.locale.tag,
        call.locale.voice
    )?;
    if call.wait.is_zero() {
        return Ok(sid);
    }
    let url = format!("{executions}/{sid}");
    let deadline = Instant::now() + call.wait;
    loop {
        let execution = tw.get("follow the test call", &url).await?;
        if execution["status"] != "active" {
            break;
        }
        if Instant::now() >= deadline {
            writeln!(
                out,
                "the call has not ended after {} s; see execution {sid} in the Twilio console",
                call.wait.as_secs()
            )?;
            return Ok(sid);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let context = tw
        .get("read the test call", &format!("{url}/Context"))
        .await?;
    let outcome = ExecutionContext(context["context"].clone()).outcome();
    writeln!(out, "the call ended: {}", outcome.describe())?;
    Ok(sid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOW: &str = "FW0123456789abcdef0123456789abcdef";

    #[test]
    fn bad_flags_are_named() {
        let err = |to: &str, from: &str, flow: &str, language: Option<&str>| {
            TestCall::parse(to, from, flow, language, Duration::ZERO)
                .expect_err("refused")
                .to_string()
        };
        assert!(err("5550100", "+15550109999", FLOW, None).contains("the number to call"));
        assert!(err("+15550100001", "x", FLOW, None).contains("--from"));
        assert!(err("+15550100001", "+15550109999", "FW1", None).contains("--flow-sid"));
        let e = err("+15550100001", "+15550109999", FLOW, Some("fr-FR"));
        assert!(e.contains("en-US, en-GB, de-DE"), "{e}");
    }

    #[test]
    fn the_call_carries_the_prompts_but_no_escalation() {
        let call = TestCall::parse(
            "+15550100001",
            "+15550109999",
            FLOW,
            Some("de-DE"),
            Duration::ZERO,
        )
        .expect("valid");
        let p = call.parameters();
        assert_eq!(p["language"], "de-DE");
        assert!(
            p["say_details"]
                .as_str()
                .is_some_and(|d| d.contains("T E S T, 0 0 0 0 0 0 1") && d.contains("Testanruf")),
            "{p}"
        );
        assert!(p.get("escalation_id").is_none() && p.get("sys_id").is_none());
        assert_eq!(
            ExecutionContext(serde_json::json!({"flow": {"data": p}})).params(),
            None
        );
    }
}
