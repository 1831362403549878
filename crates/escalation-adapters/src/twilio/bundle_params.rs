//! The `bundle` parameter of a call about several incidents: the other attempts the call
//! is about, beside the execution's own `escalation_id`, `sys_id` and `attempt`, as
//! `<escalation_id>:<sys_id>:<attempt>` entries joined by `;` (empty for an ordinary call).

use escalation_core::bundle::{BundledCall, Member};
use escalation_core::model::{EscalationId, SysId};

/// The parameter's name (the flow reads it as `flow.data.bundle`).
pub const BUNDLE_PARAMETER: &str = "bundle";

/// The parameter's value for the other incidents of a call.
pub fn encode(others: &[BundledCall]) -> String {
    others
        .iter()
        .map(|b| format!("{}:{}:{}", b.escalation_id, b.incident.sys_id, b.attempt))
        .collect::<Vec<_>>()
        .join(";")
}

/// The members the parameter names. An entry that does not read as one is left out with
/// a warning naming it: the rest of the call's members are still applied.
pub fn decode(value: &str) -> Vec<Member> {
    value
        .split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .filter_map(|entry| {
            let member = parse(entry);
            if member.is_none() {
                tracing::warn!(entry = %entry.chars().take(120).collect::<String>(),
                    "a bundle entry of the call's parameters is not <escalation_id>:<sys_id>:<attempt>; left out");
            }
            member
        })
        .collect()
}

fn parse(entry: &str) -> Option<Member> {
    let mut parts = entry.rsplitn(3, ':');
    let attempt: u32 = parts.next()?.parse().ok().filter(|a| *a > 0)?;
    let sys_id = SysId::parse(parts.next()?).ok()?;
    let escalation_id = parts.next().filter(|e| !e.is_empty())?;
    Some(Member {
        sys_id,
        escalation_id: EscalationId::new(escalation_id),
        attempt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use escalation_core::model::Incident;

    fn other(n: u8, attempt: u32) -> BundledCall {
        BundledCall {
            escalation_id: EscalationId::new(format!("esc-{n}")),
            incident: Incident {
                sys_id: SysId::parse(&format!("{n:032x}")).unwrap(),
                number: format!("INC00{n}"),
                short_description: "db down".into(),
                priority: "1".into(),
                assignment_group: None,
                assignment_group_name: Some("Database".into()),
            },
            attempt,
        }
    }

    #[test]
    fn the_other_members_read_back_as_they_were_written() {
        let others = [other(2, 1), other(3, 4)];
        let value = encode(&others);
        assert_eq!(
            value,
            format!("esc-2:{:032x}:1;esc-3:{:032x}:4", 2, 3),
            "compact and in order"
        );
        let members: Vec<Member> = others.iter().map(BundledCall::member).collect();
        assert_eq!(decode(&value), members);
        assert_eq!(decode(""), Vec::<Member>::new(), "an ordinary call");
    }

    #[test]
    fn a_malformed_entry_is_left_out_and_the_rest_is_kept() {
        let good = encode(&[other(2, 1)]);
        let value = format!("garbage;esc-9:not-a-sys-id:1;esc-8:{:032x}:0;{good}", 8);
        assert_eq!(decode(&value), vec![other(2, 1).member()]);
    }

    #[test]
    fn a_bundle_call_says_all_its_incidents_and_its_context_names_every_member() {
        use crate::twilio::contract::{ExecutionContext, PARAMETERS, parameters};
        use escalation_core::model::{E164, Person};
        use escalation_core::ports::CallRequest;
        let own = other(1, 2);
        let call = CallRequest {
            escalation_id: own.escalation_id.clone(),
            incident: own.incident.clone(),
            attempt: own.attempt,
            person: Person {
                name: "Alice".into(),
                phone: E164::parse("+15550100001").unwrap(),
                role: None,
                sn_user: None,
                language: None,
                ring_timeout_secs: None,
                redials: None,
                escalation_step: false,
                sms_when_unanswered: false,
                ring_step: None,
            },
            ring_timeout_secs: 25,
            attempt_started_at: 0,
            bundle: vec![other(2, 1), other(3, 1)],
        };
        let params = parameters(&call);
        for name in PARAMETERS {
            assert!(params.get(name).is_some(), "{name} is always present");
        }
        let details = params["say_details"].as_str().unwrap();
        assert!(
            details.contains("You have 3 new priority 1 incidents for the Database team"),
            "{details}"
        );
        let ctx = ExecutionContext(serde_json::json!({ "flow": { "data": params } }));
        let read = ctx.params().expect("our parameters");
        assert_eq!(read.attempt, 2);
        assert_eq!(
            read.bundle,
            vec![other(2, 1).member(), other(3, 1).member()]
        );
        assert!(
            read.is_for(&EscalationId::new("esc-3"), 1),
            "a member's attempt is this call's"
        );
        assert!(!read.is_for(&EscalationId::new("esc-3"), 2));
    }
}
