//! infra/twilio/escalation-flow.json does what the product promises: a REST-triggered
//! execution calls the agent with answering-machine detection, reads the incident out in the
//! person's language and gathers one key (* repeats, 9 the full description), confirms the
//! choice aloud, and ends. Only report_decision calls out (the key, at once), and its failure
//! confirms as before. (What a person hears, walked through the
//! Twilio fake, is tested in tools/devtools/tests/what_the_agent_hears.rs.)

use std::path::PathBuf;

use serde_json::Value;

fn shipped() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/twilio/escalation-flow.json");
    escalation_admin::flow::load(&path).expect("the shipped flow loads and keeps the contract")
}

fn state<'a>(flow: &'a Value, name: &str) -> &'a Value {
    flow["states"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no state {name}"))
}

fn next<'a>(s: &'a Value, event: &str) -> Option<&'a str> {
    s["transitions"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["event"] == event))
        .and_then(|t| t["next"].as_str())
}

#[test]
fn widget_names_are_the_ones_the_lambdas_read() {
    assert_eq!(
        escalation_admin::flow::CALL_WIDGET,
        escalation_adapters::twilio::contract::CALL_WIDGET
    );
    assert_eq!(
        escalation_admin::flow::GATHER_WIDGET,
        escalation_adapters::twilio::contract::GATHER_WIDGET
    );
}

#[test]
fn rest_trigger_call_with_amd_gather_one_digit_confirm_end() {
    let flow = shipped();
    let trigger = state(
        &flow,
        flow["initial_state"].as_str().expect("initial_state"),
    );
    assert_eq!(trigger["type"], "trigger");
    // Only the REST API starts it.
    for event in [
        "incomingMessage",
        "incomingCall",
        "incomingConversationMessage",
    ] {
        assert_eq!(next(trigger, event), None, "{event} must not start a call");
    }
    assert_eq!(next(trigger, "incomingRequest"), Some("call_agent"));

    let call = state(&flow, "call_agent");
    assert_eq!(call["type"], "make-outgoing-call-v2");
    assert_eq!(call["properties"]["to"], "{{contact.channel.address}}");
    assert_eq!(call["properties"]["from"], "{{flow.channel.address}}");
    assert_eq!(call["properties"]["machine_detection"], "Enable");
    // The switch, not the mode, turns detection on (without it there is no AnsweredBy).
    assert_eq!(call["properties"]["detect_answering_machine"], true);
    // Equal to the template's RingTimeoutSeconds default (RING_TIMEOUT_SECS).
    assert_eq!(call["properties"]["timeout"], 30);
    for event in ["busy", "noAnswer", "failed"] {
        assert_eq!(next(call, event), None, "{event} ends the execution");
    }

    // A machine hangs up; a human hears the incident.
    let answered = state(&flow, next(call, "answered").expect("answered"));
    assert_eq!(answered["type"], "split-based-on");
    assert_eq!(next(answered, "noMatch"), Some("set_heading_details"));
    let matches: Vec<&Value> = answered["transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .filter(|t| t["event"] == "match")
        .collect();
    assert!(!matches.is_empty());
    for m in matches {
        assert!(m["next"].is_null(), "a machine must not reach the gather");
        assert!(
            m["conditions"][0]["arguments"][0]
                .as_str()
                .is_some_and(|a| a.contains("call_agent.AnsweredBy"))
        );
    }

    // The details first (set as the heading), then the choices, in the person's language.
    let heading = state(&flow, next(answered, "noMatch").expect("a human goes on"));
    assert_eq!(heading["type"], "set-variables");
    assert_eq!(
        heading["properties"]["variables"][0]["value"],
        "{{flow.data.say_details}}"
    );
    assert_eq!(next(heading, "next"), Some("gather_digit"));
    let gather = state(&flow, "gather_digit");
    assert_eq!(gather["type"], "gather-input-on-call");
    assert_eq!(gather["properties"]["number_of_digits"], 1);
    assert_eq!(
        gather["properties"]["say"],
        "{{flow.variables.heading}} {{flow.data.say_menu}}"
    );
    for s in flow["states"].as_array().expect("states") {
        if matches!(
            s["type"].as_str(),
            Some("say-play" | "gather-input-on-call")
        ) {
            assert_eq!(
                s["properties"]["language"], "{{flow.data.language}}",
                "{}",
                s["name"]
            );
            assert_eq!(
                s["properties"]["voice"], "{{flow.data.voice}}",
                "{}",
                s["name"]
            );
            let say = s["properties"]["say"].as_str().expect("say");
            let reported =
                s["name"] == "say_decision" && say == "{{widgets.report_decision.parsed.say}}";
            assert!(
                reported || say.contains("{{flow.data.say_"),
                "{} says {say}",
                s["name"]
            );
        }
    }
    assert_eq!(next(gather, "timeout"), None);
    // An agent who says "one" is asked to use the keypad and hears the gather again.
    let keypad = state(&flow, next(gather, "speech").expect("speech goes on"));
    assert_eq!(keypad["properties"]["say"], "{{flow.data.say_use_keypad}}");
    assert_eq!(next(keypad, "audioComplete"), Some("gather_digit"));

    // 1 and 3 are confirmed aloud and end the call; 2 first asks why; * and 9 set the heading and ask again;
    // another key is called invalid and asked again.
    let route = state(&flow, next(gather, "keypress").expect("keypress"));
    assert_eq!(route["type"], "split-based-on");
    let mut branches = Vec::new();
    for t in route["transitions"].as_array().expect("transitions") {
        let target = state(&flow, t["next"].as_str().expect("every branch goes on"));
        let key = if t["event"] == "match" {
            assert_eq!(
                t["conditions"][0]["arguments"][0],
                "{{widgets.gather_digit.Digits}}"
            );
            t["conditions"][0]["value"]
                .as_str()
                .expect("key")
                .to_owned()
        } else {
            "other".to_owned()
        };
        let said = target["properties"]["say"].as_str().unwrap_or_default();
        let set = target["properties"]["variables"][0]["value"]
            .as_str()
            .unwrap_or_default();
        branches.push((
            key,
            target["type"].as_str().unwrap_or_default().to_owned(),
            format!("{said}{set}"),
            next(target, "audioComplete")
                .or(next(target, "next"))
                .map(str::to_owned),
        ));
    }
    let say = |k: &str, text: &str, then: Option<&str>| {
        (
            k.to_owned(),
            "say-play".to_owned(),
            text.to_owned(),
            then.map(str::to_owned),
        )
    };
    let set = |k: &str, text: &str| {
        (
            k.to_owned(),
            "set-variables".to_owned(),
            text.to_owned(),
            Some("gather_digit".to_owned()),
        )
    };
    assert_eq!(
        branches,
        [
            say("other", "{{flow.data.say_invalid}}", Some("gather_digit")),
            (
                "1".to_owned(),
                "split-based-on".to_owned(),
                String::new(),
                None
            ),
            (
                "2".to_owned(),
                "gather-input-on-call".to_owned(),
                "{{flow.data.say_reason}}".to_owned(),
                None
            ),
            say("3", "{{flow.data.say_escalated}}", None),
            set("*", "{{flow.data.say_details}}"),
            set("9", "{{flow.data.say_full}}"),
        ]
    );

    // After a 2 the person is asked why (one optional key, read back by the Lambdas from
    // gather_reason's Digits); whatever happens, the pass is confirmed and the call ends.
    let reason = state(&flow, escalation_adapters::twilio::contract::REASON_WIDGET);
    assert_eq!(reason["type"], "gather-input-on-call");
    assert_eq!(reason["properties"]["number_of_digits"], 1);
    for event in ["keypress", "speech", "timeout"] {
        assert_eq!(next(reason, event), Some("check_live"), "{event}");
    }
    // 1, or 2 and its reason: reported at once when the call carries the decision URL
    // (its answer read aloud), else, or when the request fails, confirmed as before.
    let live = state(&flow, "check_live");
    assert_eq!(live["transitions"][1]["next"], "report_decision");
    assert_eq!(live["transitions"][2]["next"], "say_accepted");
    assert_eq!(next(live, "noMatch"), Some("say_passed"));
    let report = state(&flow, "report_decision");
    assert_eq!(report["properties"]["url"], "{{flow.data.decision_url}}");
    assert_eq!(report["properties"]["add_twilio_auth"], false);
    assert_eq!(next(report, "success"), Some("say_decision"));
    let fallback = state(&flow, next(report, "failed").expect("a failure goes on"));
    assert_eq!(fallback["transitions"][1]["next"], "say_accepted");
    assert_eq!(next(fallback, "noMatch"), Some("say_passed"));
    let passed = state(&flow, "say_passed");
    assert_eq!(passed["properties"]["say"], "{{flow.data.say_passed}}");
    assert_eq!(next(passed, "audioComplete"), None);

    // After the accept, a call that carries a bridge URL offers key 4 once; a 4 hands the
    // call to that URL (TwiML Redirect, timeout 0: the execution ends at once, so the accept
    // is read as before) and voice-inbound opens the bridge. A call without the URL, or any
    // other answer, ends as before. An accept the decision endpoint answered reaches the
    // same offer: its answer's outcome "assigned" is routed there; any other answer (a
    // pass, already accepted by someone else, no longer needed) ends the call.
    assert_eq!(
        next(state(&flow, "say_accepted"), "audioComplete"),
        Some("check_bridge")
    );
    let routed = state(
        &flow,
        next(state(&flow, "say_decision"), "audioComplete").expect("the answer is routed"),
    );
    assert_eq!(routed["type"], "split-based-on");
    assert_eq!(next(routed, "noMatch"), None);
    let assigned = &routed["transitions"].as_array().expect("transitions")[1];
    assert_eq!(assigned["next"], "check_bridge");
    assert_eq!(
        assigned["conditions"][0]["arguments"][0],
        "{{widgets.report_decision.parsed.outcome}}"
    );
    assert_eq!(assigned["conditions"][0]["type"], "equal_to");
    assert_eq!(assigned["conditions"][0]["value"], "assigned");
    let offers = flow["states"]
        .as_array()
        .expect("states")
        .iter()
        .filter(|s| s["properties"]["say"] == "{{flow.data.say_bridge_offer}}")
        .count();
    assert_eq!(
        offers, 1,
        "one offer widget, reached from both accept paths"
    );
    let check = state(&flow, "check_bridge");
    assert_eq!(check["type"], "split-based-on");
    assert_eq!(next(check, "noMatch"), None);
    let on = &check["transitions"].as_array().expect("transitions")[1];
    assert_eq!(on["next"], "gather_bridge");
    assert_eq!(on["conditions"][0]["type"], "is_not_blank");
    assert_eq!(
        on["conditions"][0]["arguments"][0],
        "{{flow.data.bridge_url}}"
    );
    let offer = state(&flow, "gather_bridge");
    assert_eq!(offer["type"], "gather-input-on-call");
    assert_eq!(offer["properties"]["say"], "{{flow.data.say_bridge_offer}}");
    assert_eq!(offer["properties"]["number_of_digits"], 1);
    assert_eq!(offer["properties"]["loop"], 1);
    assert_eq!(next(offer, "speech"), None);
    assert_eq!(next(offer, "timeout"), None);
    let route = state(&flow, next(offer, "keypress").expect("a key is routed"));
    assert_eq!(next(route, "noMatch"), None);
    let four = &route["transitions"].as_array().expect("transitions")[1];
    assert_eq!(four["conditions"][0]["value"], "4");
    let open = state(&flow, four["next"].as_str().expect("4 goes on"));
    assert_eq!(open["type"], "add-twiml-redirect");
    assert_eq!(open["properties"]["url"], "{{flow.data.bridge_url}}");
    assert_eq!(open["properties"]["method"], "POST");
    assert_eq!(open["properties"]["timeout"], "0");
    for event in ["return", "timeout", "fail"] {
        assert_eq!(next(open, event), None, "{event} ends the execution");
    }

    // Nothing else calls out: the Lambdas read the outcome from the execution context.
    for s in flow["states"].as_array().expect("states") {
        let t = s["type"].as_str().unwrap_or_default();
        assert!(
            t != "run-function" && (t != "make-http-request" || s["name"] == "report_decision"),
            "{} is a {t}",
            s["name"]
        );
    }
}
