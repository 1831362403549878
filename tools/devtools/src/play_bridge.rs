//! The `bridge` part of a scenario: once the escalations have ended, every call the flow
//! handed to the bridge (key 4 after an accept) is played as Twilio would: the agent's
//! call requests `/bridge/open`, the person called in through the Calls API answers
//! (`/bridge/whisper`) and presses their key, and the conference's status callbacks
//! follow (each delivered twice, as a redelivery would). The scenario then promises one
//! "bridge ended" work note per bridge.

use crate::inbound_support::{Reply, call_params};
use crate::play::Driver;
use crate::scenario::BridgePlay;
use crate::timeline::Timeline;

const ACCOUNT: &str = crate::inbound_support::ACCOUNT;

/// Plays the bridges; an error says what did not happen.
pub async fn play_bridges<D: Driver>(
    d: &D,
    bridge: &BridgePlay,
    tl: &mut Timeline,
    incidents: &[(String, String, u16)],
) -> Result<(), String> {
    let executions = d.twilio().executions();
    let handed: Vec<_> = executions
        .iter()
        .filter_map(|e| e.redirected_to.clone().map(|url| (e, url)))
        .collect();
    if handed.is_empty() {
        return Err(
            "no call was handed to the bridge (it needs BRIDGE_URL: run the scenario with --in-process)"
                .into(),
        );
    }
    for (n, (agent, url)) in handed.into_iter().enumerate() {
        let who = format!("{} (pressed 4)", masked(&agent.to));
        let params = call_params(&agent.call_sid, &agent.from, &agent.to, &[]);
        let open = d.webhook(&url, &params).await?;
        expect_ok(&open, "/bridge/open")?;
        tl.phone(&who, &open.said(), Some("waits in the conference"));
        let status = open
            .attrs("Conference", "statusCallback")
            .into_iter()
            .next()
            .ok_or("the bridge did not put the agent into a conference")?;
        let placed = d.twilio().calls();
        let callee = placed.get(n).ok_or("nobody was called into the bridge")?;
        let called = format!("{} (called in)", masked(&callee.to));
        let p = call_params(&callee.sid, &callee.from, &callee.to, &[]);
        let whisper = d.webhook(&callee.url, &p).await?;
        expect_ok(&whisper, "/bridge/whisper")?;
        let asked = whisper.texts("Say").into_iter().next().unwrap_or_default();
        tl.phone(&called, &asked, Some(&bridge.callee_key));
        let p = call_params(
            &callee.sid,
            &callee.from,
            &callee.to,
            &[("Digits", &bridge.callee_key)],
        );
        let joined = d.webhook(&whisper.action(), &p).await?;
        expect_ok(&joined, "/bridge/join")?;
        let callee_joins = joined.has("Conference");
        tl.phone(
            &called,
            &joined.said(),
            callee_joins.then_some("joins the conference"),
        );
        let conference = format!("CF{:032x}", 0xb71d_0000_u64 + n as u64);
        let ts = |s: u32| {
            let ms = escalation_adapters::clock::now_ms() + u64::from(s) * 1000;
            jiff::Timestamp::from_millisecond(ms as i64)
                .map(|t| {
                    jiff::fmt::rfc2822::to_string(&t.to_zoned(jiff::tz::TimeZone::UTC))
                        .unwrap_or_default()
                })
                .unwrap_or_default()
        };
        let mut events = vec![
            ("participant-join", agent.call_sid.as_str(), 0),
            ("conference-start", "", 0),
        ];
        if callee_joins {
            events.push((
                "participant-join",
                callee.sid.as_str(),
                bridge.join_after_secs,
            ));
            events.push(("participant-leave", callee.sid.as_str(), bridge.secs));
        }
        events.push(("participant-leave", agent.call_sid.as_str(), bridge.secs));
        events.push(("conference-end", "", bridge.secs));
        for _delivery in 0..2 {
            for (seq, (event, call, at)) in events.iter().enumerate() {
                let seq = (seq + 1).to_string();
                let stamp = ts(*at);
                let mut p = vec![
                    ("AccountSid", ACCOUNT),
                    ("ConferenceSid", conference.as_str()),
                    ("StatusCallbackEvent", *event),
                    ("SequenceNumber", seq.as_str()),
                    ("Timestamp", stamp.as_str()),
                ];
                if !call.is_empty() {
                    p.push(("CallSid", call));
                }
                expect_ok(&d.webhook(&status, &p).await?, "/bridge/status")?;
            }
        }
    }
    while d.pump().await? {}
    let calls = d.twilio().executions();
    for (sys_id, number, _) in incidents {
        let esc = d.escalation(sys_id).await?;
        tl.observe(number, sys_id, esc.as_ref(), d.sn(), &calls);
    }
    Ok(())
}

fn expect_ok(reply: &Reply, step: &str) -> Result<(), String> {
    if reply.status == 200 {
        Ok(())
    } else {
        Err(format!(
            "{step} answered HTTP {}: {}",
            reply.status, reply.body
        ))
    }
}

fn masked(phone: &str) -> String {
    escalation_core::model::E164::parse(phone).map_or_else(|_| phone.to_owned(), |p| p.masked())
}
