//! template.yaml's alarms watch what the functions write, and every function's concurrency
//! is reserved.

#[path = "support/repo.rs"]
mod repo;
use repo::read;

/// The alarms watch the metrics the functions write, under the dimension they write them
/// with, and every function has its concurrency reserved (unless switched off).
#[test]
fn the_template_alarms_on_every_page_that_did_not_happen() {
    let template = read("template.yaml");
    let (service, value) = escalation_adapters::emf::SERVICE;
    for (alarm, namespace, metric) in [
        ("EscalationsExhaustedAlarm", "PhoneEscalation", "Exhausted"),
        ("DialFailuresAlarm", "PhoneEscalation", "DialFailures"),
        (
            "ServiceNowUpdateFailuresAlarm",
            "PhoneEscalation",
            "ServiceNowErrors",
        ),
        (
            "AssignmentNotAppliedAlarm",
            "PhoneEscalation",
            "AssignmentNotApplied",
        ),
        (
            "UnreadableEscalationsAlarm",
            "PhoneEscalation",
            "UnreadableEscalations",
        ),
        ("HeartbeatMissingAlarm", "PhoneEscalation", "Heartbeats"),
        ("CanaryFailedAlarm", "PhoneEscalation", "CanaryFailed"),
        ("TriggerServerErrorsAlarm", "AWS/Lambda", "Url5xxCount"),
        ("EscalationSweeperErrorsAlarm", "AWS/Lambda", "Errors"),
        (
            "SnUpdatesDlqAlarm",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
        ),
        (
            "DialDlqAlarm",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
        ),
        ("FlowEventsIteratorAgeAlarm", "AWS/Lambda", "IteratorAge"),
    ] {
        let (_, rest) = template
            .split_once(&format!("\n  {alarm}:\n"))
            .unwrap_or_else(|| panic!("template.yaml has no {alarm}"));
        let body = rest.split("\n\n").next().unwrap_or(rest);
        assert!(body.contains("Type: AWS::CloudWatch::Alarm"), "{alarm}");
        assert!(
            body.contains(&format!("Namespace: {namespace}")),
            "{alarm}: {body}"
        );
        assert!(
            body.contains(&format!("MetricName: {metric}")),
            "{alarm}: {body}"
        );
        assert!(
            body.contains("AlarmActions: !If [HasAlarmTopic"),
            "{alarm} notifies"
        );
        if namespace == "PhoneEscalation" {
            assert!(
                body.contains(&format!("- Name: {service}\n          Value: {value}")),
                "{alarm} watches the product-wide dimension the functions write: {body}"
            );
        }
    }
    assert!(
        template.contains("TreatMissingData: breaching"),
        "a missing heartbeat alarms"
    );
    assert_eq!(
        template
            .matches("ReservedConcurrentExecutions: !If [ReservesConcurrency,")
            .count(),
        7,
        "every function's concurrency is reserved"
    );
}

/// Every function has an alarm on its invocation errors, so a function that keeps failing
/// (a bad secret, a broken deploy) is seen even when no page was due.
#[test]
fn every_function_has_an_errors_alarm() {
    let template = read("template.yaml");
    let lines: Vec<&str> = template.lines().collect();
    let functions: Vec<&str> = lines
        .windows(2)
        .filter(|w| w[1].trim_end() == "    Type: AWS::Serverless::Function")
        .filter_map(|w| w[0].strip_prefix("  ")?.strip_suffix(':'))
        .collect();
    assert!(
        functions.len() >= 7,
        "found the template's functions: {functions:?}"
    );
    for function in functions {
        let watched = template.split("\n\n").any(|block| {
            block.contains("Type: AWS::CloudWatch::Alarm")
                && block.contains("MetricName: Errors")
                && block.contains(&format!("Value: !Ref {function}\n"))
        });
        assert!(watched, "no Errors alarm watches {function}");
    }
}
