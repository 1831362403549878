//! Text messages: an allowed sender's text opens an incident; refusals and dead ends each
//! answer with a text that says why.

use super::*;

#[tokio::test]
async fn a_text_from_an_allowed_sender_opens_an_incident() {
    let t = InboundStack::start(test_config()).await;
    t.stack.twilio.script(ALICE, vec![press("1")]);
    let msg = sid("SM", 20);
    let text = "Checkout is down for all EU customers since 09:40 <urgent> & rising";
    let r = t.post("/sms", &sms_params(&msg, ALICE, LINE, text)).await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/xml"));
    assert_eq!(
        r.texts("Message"),
        [
            "Thank you. Your report is incident INC0010001 for the Database team. The on-call team is being called now."
        ]
    );
    let p = &incident_posts(&t)[0];
    assert!(
        p["description"]
            .as_str()
            .unwrap()
            .contains(&format!("Message:\n{text}"))
    );
    assert_eq!(
        p["short_description"],
        format!("SMS from Alice Agent: {text}")
    );
    assert_eq!(p["caller_id"], user_sys_id("alice.agent"));
    assert_eq!(p["correlation_id"], msg.as_str());
    assert!(p.get("contact_type").is_none());
    let (sys_id, _) = created(&t, &msg).await.unwrap();
    assert_eq!(settled(&t, &sys_id).await, Status::Accepted);

    // Twilio redelivers the same message: same incident, no second one.
    let r = t.post("/sms", &sms_params(&msg, ALICE, LINE, text)).await;
    assert!(r.texts("Message")[0].contains("INC0010001"));
    assert_eq!(incident_posts(&t).len(), 1);
}

#[tokio::test]
async fn texts_from_unknown_senders_and_empty_texts_are_refused_with_a_reply() {
    let t = InboundStack::start(test_config()).await;
    let r = t
        .post(
            "/sms",
            &sms_params(&sid("SM", 21), "+15550199999", LINE, "let me in"),
        )
        .await;
    assert_eq!(
        r.texts("Message"),
        [
            "The IT escalation line only accepts reports from registered staff. Your message was not recorded. If you need help, please contact the service desk."
        ]
    );
    let r = t
        .post(
            "/sms",
            &sms_params(&sid("SM", 22), "SomeBrand", LINE, "promo"),
        )
        .await;
    assert!(r.texts("Message")[0].contains("only accepts reports from registered staff"));
    let r = t
        .post("/sms", &sms_params(&sid("SM", 23), ALICE, LINE, "   "))
        .await;
    assert!(r.texts("Message")[0].starts_with("Your message was empty."));
    let r = t
        .post(
            "/sms",
            &sms_params(&sid("SM", 24), ALICE, PIN_LINE, "db down"),
        )
        .await;
    assert!(r.texts("Message")[0].contains("does not take reports by text message"));
    assert!(incident_posts(&t).is_empty());
    assert!(t.stack.twilio.requests().is_empty());
}

#[tokio::test]
async fn texts_that_cannot_be_filed_say_why() {
    let t = InboundStack::start(test_config()).await;
    let said = |r: &Reply| r.texts("Message").join(" ");

    // A number this line is not configured for.
    let r = t
        .post(
            "/sms",
            &sms_params(&sid("SM", 30), ALICE, "+15550107777", "db down"),
        )
        .await;
    assert_eq!(said(&r), "This number does not take incident reports.");

    // No usable MessageSid.
    let r = t
        .post("/sms", &sms_params("not-a-sid", ALICE, LINE, "db down"))
        .await;
    assert!(said(&r).contains("could not be processed"), "{}", r.body);

    // A sender not on the roster while ServiceNow cannot be asked who it is.
    t.stack.sn.inject(down("GET", "/table/sys_user", 503));
    let r = t
        .post(
            "/sms",
            &sms_params(&sid("SM", 31), "+15550100042", LINE, "db down"),
        )
        .await;
    assert!(
        said(&r).contains("your number cannot be checked right now"),
        "{}",
        r.body
    );
    t.stack.sn.clear_faults();

    // ServiceNow refuses to create the incident.
    t.stack.sn.inject(down("POST", "/table/incident", 500));
    let r = t
        .post("/sms", &sms_params(&sid("SM", 32), ALICE, LINE, "db down"))
        .await;
    assert!(
        said(&r).contains("the incident could not be created"),
        "{}",
        r.body
    );
    t.stack.sn.clear_faults();
    assert!(created(&t, &sid("SM", 32)).await.is_none());
    assert!(t.stack.twilio.executions().is_empty(), "nobody was called");

    // The incident is filed but Twilio refuses every call: the sender is told to call the
    // service desk as well, and the incident exists.
    t.stack.twilio.inject(down("POST", "/Executions", 500));
    let msg = sid("SM", 33);
    let r = t
        .post("/sms", &sms_params(&msg, ALICE, LINE, "db down"))
        .await;
    assert!(
        said(&r).contains(
            "The automatic call-out could not be started, so please also call the service desk."
        ),
        "{}",
        r.body
    );
    assert!(
        said(&r).contains("Your report is incident INC"),
        "{}",
        r.body
    );
    assert!(created(&t, &msg).await.is_some());
}

#[tokio::test]
async fn a_text_for_a_team_that_does_not_escalate_is_filed_without_calls() {
    let mut config = test_config();
    config["numbers"][0]["sms"]["group"] = 2.into(); // Network: P5
    let t = InboundStack::start(config).await;
    let msg = sid("SM", 34);
    let r = t
        .post(
            "/sms",
            &sms_params(&msg, ALICE, LINE, "wifi slow on floor 3"),
        )
        .await;
    assert_eq!(
        r.texts("Message"),
        [
            "Thank you. Your report is incident INC0010001 for the Network team. The team will pick it up."
        ]
    );
    let (sys_id, _) = created(&t, &msg).await.expect("incident");
    assert!(t.stack.escalation(&sys_id).await.is_none(), "no escalation");
    assert!(t.stack.twilio.executions().is_empty(), "no calls");
}
