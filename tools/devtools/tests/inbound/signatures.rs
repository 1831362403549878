//! Who may post to the line: Twilio's signature over the URL it called (the function URL,
//! or `PUBLIC_BASE_URL`), and the call state every step after the first needs.

use super::*;

#[tokio::test]
async fn forged_or_missing_signatures_are_refused_and_nothing_happens() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 1);
    let params = call_params(&call, ALICE, LINE, &[]);
    let pairs = kit::pairs(&params);
    let body = kit::form_body(&params);
    let url = format!("{BASE}/voice");
    let good = twilio_webhook::sign(AUTH_TOKEN, &url, &pairs);
    let form = kit::FORM;

    let cases: Vec<(&str, Value)> = vec![
        (
            "no header",
            InboundStack::event(&url, "POST", &body, form, None),
        ),
        (
            "empty header",
            InboundStack::event(&url, "POST", &body, form, Some("")),
        ),
        (
            "other token",
            InboundStack::event(
                &url,
                "POST",
                &body,
                form,
                Some(&twilio_webhook::sign("not-the-token", &url, &pairs)),
            ),
        ),
        (
            "tampered parameter",
            InboundStack::event(
                &url,
                "POST",
                &body.replace("inbound", "outbound-api"),
                form,
                Some(&good),
            ),
        ),
        (
            "signed for another path",
            InboundStack::event(&format!("{BASE}/sms"), "POST", &body, form, Some(&good)),
        ),
        (
            "query added",
            InboundStack::event(
                &format!("{url}?a=roster&w=Mallory"),
                "POST",
                &body,
                form,
                Some(&good),
            ),
        ),
        (
            "garbage",
            InboundStack::event(&url, "POST", &body, form, Some("bm90IGEgc2lnbmF0dXJl")),
        ),
        ("JSON body with a wrong bodySHA256", {
            let json = r#"{"CallSid":"CA1"}"#;
            let u = format!("{url}?bodySHA256={}", twilio_webhook::sha256_hex(b"other"));
            let sig = twilio_webhook::sign(AUTH_TOKEN, &u, &[]);
            InboundStack::event(&u, "POST", json, "application/json", Some(&sig))
        }),
    ];
    for (name, event) in cases {
        let r = t.send(&event).await;
        assert_eq!(r.status, 403, "{name}: {}", r.body);
        assert_eq!(r.body, "forbidden", "{name}");
    }
    // SMS too.
    let sms = sms_params("SM0123456789abcdef0123456789abcdef", ALICE, LINE, "db down");
    let r = t
        .send(&kit::twilio_webhook("wrong", &format!("{BASE}/sms"), &sms).event())
        .await;
    assert_eq!(r.status, 403);

    assert!(t.stack.sn.requests().is_empty(), "ServiceNow was called");
    assert!(t.stack.twilio.requests().is_empty(), "Twilio was called");

    // The same request, correctly signed, is answered; so is one signed with :443.
    let r = t
        .send(&InboundStack::event(&url, "POST", &body, form, Some(&good)))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.content_type.starts_with("text/xml"));
    let with_port = twilio_webhook::sign(AUTH_TOKEN, &url.replace(".aws/", ".aws:443/"), &pairs);
    let r = t
        .send(&InboundStack::event(
            &url,
            "POST",
            &body,
            form,
            Some(&with_port),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Function URLs may hand the form body over base64-encoded: same bytes, same check.
    let mut b64 = InboundStack::event(&url, "POST", &body, form, Some(&good));
    b64["body"] = Value::String(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        body.as_bytes(),
    ));
    b64["isBase64Encoded"] = Value::Bool(true);
    let r = t.send(&b64).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.has("Gather"));

    // A correctly signed JSON body (bodySHA256) passes the check; these webhooks take forms.
    let json = r#"{"CallSid":"CA1"}"#;
    let u = format!(
        "{url}?bodySHA256={}",
        twilio_webhook::sha256_hex(json.as_bytes())
    );
    let sig = twilio_webhook::sign(AUTH_TOKEN, &u, &[]);
    let r = t
        .send(&InboundStack::event(
            &u,
            "POST",
            json,
            "application/json",
            Some(&sig),
        ))
        .await;
    assert_eq!(r.status, 415, "{}", r.body);

    // Signed GET: 405; unknown path: 404.
    let r = t
        .send(&InboundStack::event(
            &url,
            "GET",
            "",
            form,
            Some(&twilio_webhook::sign(AUTH_TOKEN, &url, &[])),
        ))
        .await;
    assert_eq!(r.status, 405);
    let r = t.post("/voice/nope", &params).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn public_base_url_is_what_gets_signed_and_handed_out() {
    let t = InboundStack::start(test_config()).await;
    let base = "https://esc.example.com/inbound";
    let inbound = escalation_inbound::Inbound {
        public_base_url: Some(base.to_string()),
        ..t.inbound()
    };
    let call = sid("CA", 25);
    let params = call_params(&call, ALICE, LINE, &[]);
    let body = kit::form_body(&params);
    // The function URL sees its own host and path, whatever URL Twilio signed.
    let answer = async |signed_for: &str| {
        let sig = twilio_webhook::sign(AUTH_TOKEN, signed_for, &kit::pairs(&params));
        let event = InboundStack::event(
            &format!("{BASE}/voice"),
            "POST",
            &body,
            kit::FORM,
            Some(&sig),
        );
        let req = lambda_http::request::from_str(&event.to_string()).unwrap();
        let resp = escalation_lambda::handlers::inbound::handle(&inbound, req)
            .await
            .unwrap();
        let xml = String::from_utf8_lossy(resp.body().as_ref()).into_owned();
        (resp.status(), xml)
    };
    // Twilio called the custom domain.
    let (status, xml) = answer(&format!("{base}/voice")).await;
    assert_eq!(status, 200);
    assert!(
        xml.contains(&format!("action=\"{base}/voice/menu?")),
        "{xml}"
    );
    // Signed for the function URL instead: refused.
    let (status, _) = answer(&format!("{BASE}/voice")).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_step_reached_without_its_call_state_ends_politely() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 34);
    // Signed, but not a URL this line handed out: no admitted caller in the state.
    for step in ["/voice/menu", "/voice/confirm", "/voice/dialed"] {
        let r = t
            .post(step, &call_params(&call, ALICE, LINE, &[("Digits", "1")]))
            .await;
        assert_eq!(r.status, 200, "{step}");
        assert!(
            r.said().contains(
                "Sorry, something went wrong and this call cannot continue. Please call again."
            ),
            "{step}: {}",
            r.body
        );
        assert_hangs_up(&r);
    }
    // An admitted caller whose confirmation carries no recording.
    let record = choose(&t, &call, ALICE, "1", "1").await;
    let confirm_url = record.action().replace("/voice/recorded", "/voice/confirm");
    let r = t
        .post(
            &confirm_url,
            &call_params(&call, ALICE, LINE, &[("Digits", "1")]),
        )
        .await;
    assert!(r.said().contains("something went wrong"), "{}", r.body);
    assert!(incident_posts(&t).is_empty());
}
