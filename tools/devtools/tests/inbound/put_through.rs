//! Put through (menu 2): the team's people called in turn with a whisper that needs a key,
//! the incident for the call, voicemail when nobody takes it.

use super::*;
use escalation_devtools::stack::StackOptions;
use serde_json::json;

#[tokio::test]
async fn put_through_connects_the_first_person_who_takes_the_call() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 15);
    let dial = put_through(&t, &call, ALICE, "1").await;
    assert!(
        dial.said()
            .contains("Putting you through to the Database team. Calling Bob Agent. Please hold."),
        "{}",
        dial.body
    );
    assert_eq!(dial.texts("Number"), [BOB]);
    assert_eq!(dial.attrs("Dial", "timeout"), ["15"]);
    assert_eq!(dial.attrs("Dial", "callerId"), [LINE]);
    let whisper_url = dial.attrs("Number", "url")[0].clone();
    assert!(whisper_url.starts_with(&format!("{BASE}/voice/whisper?")));

    // Bob's leg: the announcement gathers a key, so voicemail cannot take the call.
    let leg = sid("CA", 1500);
    let whisper_params = leg_params(&leg, &call, BOB);
    let whisper = t.post(&whisper_url, &whisper_params).await;
    assert!(
        whisper.said().contains("This is the IT escalation line. Alice Agent is calling for the Database team. Press any key to take the call."),
        "{}",
        whisper.body
    );
    assert_eq!(whisper.attrs("Gather", "timeout"), ["6"]);
    assert!(whisper.said().contains("No key was pressed"));
    assert_hangs_up(&whisper);

    let mut key_params = whisper_params.clone();
    key_params.push(("Digits", "5"));
    let connect = t.post(&whisper.action(), &key_params).await;
    assert_eq!(
        connect.said(),
        "Connecting you now. Incident I N C, 0 0 1 0 0 0 1 is open for this call."
    );
    assert!(
        !connect.has("Hangup"),
        "ending the whisper document connects the call"
    );

    // The incident for the call: assigned to Bob, in progress, not escalated.
    let p = &incident_posts(&t)[0];
    assert_eq!(p["assigned_to"], user_sys_id("bob.agent"));
    assert_eq!(p["state"], "2");
    assert_eq!(p["caller_id"], user_sys_id("alice.agent"));
    assert_eq!(p["correlation_id"], call.as_str());
    assert_eq!(
        p["short_description"],
        "Phone call from Alice Agent put through to Bob Agent (Database)"
    );
    assert_no_full_numbers(&p.to_string());
    let (sys_id, _) = created(&t, &call).await.unwrap();
    assert!(
        t.stack.escalation(&sys_id).await.is_none(),
        "someone is already on it: no escalation"
    );

    // The call ends: the caller hears goodbye; the incident notes how long it lasted.
    let ended = bridged_call_ended(&t, &dial, &call, &leg, "95").await;
    assert_eq!(ended.said(), "The call has ended. Goodbye.");
    let notes = t.stack.sn.work_notes(&sys_id);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("Alice Agent was put through to Bob Agent (+1******0002)")),
        "{notes:#?}"
    );
    assert!(
        notes.iter().any(
            |n| n.contains("The call between Alice Agent and Bob Agent ended after 1 min 35 s")
        ),
        "{notes:#?}"
    );
    assert_eq!(incident_posts(&t).len(), 1);
    assert!(t.stack.twilio.executions().is_empty(), "no Studio calls");
}

#[tokio::test]
async fn put_through_moves_on_and_ends_in_voicemail() {
    let t = InboundStack::start(test_config()).await;
    t.stack.twilio.script(ALICE, vec![press("1")]);
    let call = sid("CA", 16);
    let bob = put_through(&t, &call, ALICE, "1").await;
    assert_eq!(bob.texts("Number"), [BOB]);

    let carol = answer(
        &t,
        &bob,
        &call,
        ALICE,
        &[("DialCallStatus", "no-answer"), ("DialBridged", "false")],
    )
    .await;
    assert!(
        carol
            .said()
            .contains("Bob Agent did not answer. Calling Carol Manager. Please hold."),
        "{}",
        carol.body
    );
    assert_eq!(carol.texts("Number"), [CAROL]);

    // Carol's phone answered but nobody pressed a key (a voicemail box): not connected.
    let vm = answer(
        &t,
        &carol,
        &call,
        ALICE,
        &[
            ("DialCallStatus", "completed"),
            ("DialCallDuration", "12"),
            ("DialBridged", "false"),
        ],
    )
    .await;
    let said = vm.said();
    assert!(
        said.contains("Carol Manager did not take the call."),
        "{said}"
    );
    assert!(
        said.contains("Nobody on call could be reached. Please leave a message after the tone"),
        "{said}"
    );
    assert!(vm.has("Record"));
    assert!(incident_posts(&t).is_empty());

    let rec = sid("RE", 16);
    let confirm = recorded(&t, &vm, &call, ALICE, &rec, "18", None).await;
    let done = answer(&t, &confirm, &call, ALICE, &[("Digits", "1")]).await;
    assert!(
        done.said()
            .contains("The on-call team is being called now."),
        "{}",
        done.body
    );
    let p = &incident_posts(&t)[0];
    assert_eq!(
        p["short_description"],
        "Phone message from Alice Agent for Database (nobody answered)"
    );
    assert!(
        p["description"]
            .as_str()
            .unwrap()
            .contains("nobody answered (tried: Bob Agent, Carol Manager)"),
        "{}",
        p["description"]
    );
    let (sys_id, _) = created(&t, &call).await.unwrap();
    assert_eq!(settled(&t, &sys_id).await, Status::Accepted);
}

#[tokio::test]
async fn put_through_never_calls_the_caller_and_stops_at_max_people() {
    let t = InboundStack::start(test_config()).await;
    // Bob calls for the Database team (Bob, Carol): only Carol is called.
    let call = sid("CA", 17);
    let dial = put_through(&t, &call, BOB, "1").await;
    assert_eq!(dial.texts("Number"), [CAROL]);
    let vm = answer(&t, &dial, &call, BOB, &[("DialCallStatus", "busy")]).await;
    assert!(
        vm.said()
            .contains("Carol Manager is busy. Nobody on call could be reached."),
        "{}",
        vm.body
    );

    // Network (no people: whoever is on call, here the roster file's lineup; max_people 2):
    // Alice, Bob, then voicemail without Carol.
    let call = sid("CA", 18);
    let first = put_through(&t, &call, CAROL, "2").await;
    assert_eq!(first.texts("Number"), [ALICE]);
    let second = answer(&t, &first, &call, CAROL, &[("DialCallStatus", "failed")]).await;
    assert!(second.said().contains("Alice Agent could not be reached."));
    assert_eq!(second.texts("Number"), [BOB]);
    let vm = answer(
        &t,
        &second,
        &call,
        CAROL,
        &[("DialCallStatus", "no-answer")],
    )
    .await;
    assert!(
        vm.has("Record") && vm.said().contains("Nobody on call could be reached"),
        "{}",
        vm.body
    );
}

#[tokio::test]
async fn caller_hanging_up_during_put_through_files_nothing() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 19);
    let dial = put_through(&t, &call, ALICE, "1").await;
    let r = answer(
        &t,
        &dial,
        &call,
        ALICE,
        &[("DialCallStatus", "canceled"), ("CallStatus", "completed")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(!r.has("Say") && !r.has("Dial"), "{}", r.body);
    assert!(incident_posts(&t).is_empty());
}

#[tokio::test]
async fn put_through_without_a_key_or_without_servicenow_still_explains_itself() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 35);
    let dial = put_through(&t, &call, ALICE, "1").await;
    let whisper_url = dial.attrs("Number", "url")[0].clone();
    let leg = sid("CA", 3500);
    let leg_params = leg_params(&leg, &call, BOB);
    let whisper = t.post(&whisper_url, &leg_params).await;

    // The gather's action with no digit (a machine, or Bob said nothing): not taken.
    let mut silent = leg_params.clone();
    silent.push(("Digits", ""));
    let r = t.post(&whisper.action(), &silent).await;
    assert_eq!(r.said(), "No key was pressed. Goodbye.");
    assert_hangs_up(&r);
    assert!(
        incident_posts(&t).is_empty(),
        "nothing filed for a call not taken"
    );

    // Bob presses a key while ServiceNow refuses new incidents: he is connected anyway and
    // told to record the call himself.
    t.stack.sn.inject(down("POST", "/table/incident", 500));
    let mut key = leg_params.clone();
    key.push(("Digits", "1"));
    let r = t.post(&whisper.action(), &key).await;
    assert_eq!(
        r.said(),
        "Connecting you now. The incident could not be created automatically, so please record this call in ServiceNow."
    );
    assert!(!r.has("Hangup"), "the call is still connected");
    // The call ends; the caller hears goodbye even though there is no incident to note it on.
    let ended = bridged_call_ended(&t, &dial, &call, &leg, "40").await;
    assert_eq!(ended.said(), "The call has ended. Goodbye.");
    assert!(created(&t, &call).await.is_none());
}

#[tokio::test]
async fn a_team_without_people_is_put_through_to_whoever_the_policies_put_on_call_now() {
    let t = InboundStack::start_with(
        test_config(),
        StackOptions {
            env: vec![("POLICY_CACHE_SECS", "0".into())],
            ..StackOptions::default()
        },
    )
    .await;
    let ana = "+14155550101";
    let ben = "+14155550102";
    let policies = |first: &str| {
        json!({
            "people": {
                "ana": {"name": "Ana Ortiz", "phone": ana, "sn_user": "ana.ortiz"},
                "ben": {"name": "Ben Okafor", "phone": ben, "sn_user": "ben.okafor"}
            },
            "groups": {"Network": {"steps": [{"person": first}, {"person": "ben", "escalation": true}]}}
        })
    };
    t.stack.import_policies(&policies("ana")).await.unwrap();
    let call = sid("CA", 41);
    let dial = put_through(&t, &call, ALICE, "2").await;
    assert!(
        dial.said()
            .contains("Putting you through to the Network team. Calling Ana Ortiz."),
        "{}",
        dial.body
    );
    assert_eq!(dial.texts("Number"), [ana]);
    let next = answer(&t, &dial, &call, ALICE, &[("DialCallStatus", "no-answer")]).await;
    assert_eq!(
        next.texts("Number"),
        [ben],
        "then the policy's next person: {}",
        next.body
    );

    // The team's policy changes while the line runs: the next caller reaches Ben first.
    t.stack.import_policies(&policies("ben")).await.unwrap();
    let call = sid("CA", 42);
    let dial = put_through(&t, &call, ALICE, "2").await;
    assert_eq!(dial.texts("Number"), [ben], "{}", dial.body);
    // Ben is both steps: he is called once, then voicemail.
    let vm = answer(&t, &dial, &call, ALICE, &[("DialCallStatus", "busy")]).await;
    assert!(
        vm.has("Record")
            && vm
                .said()
                .contains("Ben Okafor is busy. Nobody on call could be reached."),
        "{}",
        vm.body
    );
}
