//! `escalation-admin policy …` through the binary: validate names every problem, import
//! stores the whole document or nothing (moto), show prints it, who says who is called in
//! order and from which source.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use std::process::Output;

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/examples/policies-two-teams.json"
);

fn admin(args: &[&str], table: Option<&str>) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_escalation-admin"));
    cmd.args(args).env_remove("ESCALATIONS_TABLE");
    if let Some(t) = table {
        let moto =
            std::env::var("MOTO_ENDPOINT").expect("MOTO_ENDPOINT (scripts/test.sh starts moto)");
        cmd.env("ESCALATIONS_TABLE", t)
            .env("AWS_ENDPOINT_URL", moto)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test");
    }
    cmd.output().expect("run escalation-admin")
}

fn out(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("policy-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

async fn table() -> String {
    let moto = std::env::var("MOTO_ENDPOINT").expect("MOTO_ENDPOINT (scripts/test.sh starts moto)");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .endpoint_url(moto)
        .load()
        .await;
    let name = format!("policies-{}-{}", std::process::id(), fastrand_suffix());
    aws_sdk_dynamodb::Client::new(&sdk)
        .create_table()
        .table_name(&name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table on moto");
    name
}

fn fastrand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_007
}

#[test]
fn validate_accepts_the_example_company_and_names_every_problem_of_a_bad_file() {
    let (code, stdout, _) = out(&admin(&["policy", "validate", EXAMPLE], None));
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("valid. 5 people; policies for Database, Network; a default policy"),
        "{stdout}"
    );

    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(EXAMPLE).unwrap()).unwrap();
    doc["groups"]["Database"]["steps"][0]["rotation"]["time_zone"] = "Europe/Berln".into();
    doc["people"]["erin"]["phone"] = "555-0105".into();
    doc["groups"]["Network"]["priorities"]["1"]["steps"] = serde_json::json!([]);
    let bad = write("bad.json", &doc.to_string());
    let (code, _, stderr) = out(&admin(&["policy", "validate", bad.to_str().unwrap()], None));
    assert_eq!(code, 1, "{stderr}");
    for expected in [
        "people.erin.phone: \"555-0105\" is not an E.164 phone number",
        "groups.Database.steps[0].rotation.time_zone: unknown time zone \"Europe/Berln\"",
        "groups.Network.priorities.1.steps: no steps",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/agent_list.json");
    let (code, _, stderr) = out(&admin(&["policy", "validate", sample], None));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("Alice Example, Bob Example, Carol Example"),
        "{stderr}"
    );
}

#[test]
fn who_from_a_file_lists_the_people_in_order_with_rotations_and_overrides() {
    let (code, stdout, stderr) = out(&admin(
        &[
            "policy",
            "who",
            "--group",
            "Database",
            "--at",
            "2026-12-01T03:00Z",
            "--file",
            EXAMPLE,
        ],
        None,
    ));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("source: policy file"), "{stdout}");
    let a = stdout.find("1. Ana Ortiz").expect(&stdout);
    let b = stdout.find("2. Ben Okafor").expect(&stdout);
    let d = stdout.find("3. Dan Wu").expect(&stdout);
    assert!(a < b && b < d, "{stdout}");
    // On 2 December Ben covers Ana's shift; he is then not called again as secondary.
    let (_, stdout, _) = out(&admin(
        &[
            "policy",
            "who",
            "--group",
            "database",
            "--at",
            "2026-12-02T10:00Z",
            "--file",
            EXAMPLE,
        ],
        None,
    ));
    assert!(
        stdout.contains("1. Ben Okafor +1******0102 (ServiceNow user ben.okafor) — override"),
        "{stdout}"
    );
    assert!(stdout.contains("2. Dan Wu"), "{stdout}");
    let (code, _, stderr) = out(&admin(
        &[
            "policy", "who", "--group", "Database", "--at", "tomorrow", "--file", EXAMPLE,
        ],
        None,
    ));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--at \"tomorrow\" is not an instant"),
        "{stderr}"
    );
}

#[tokio::test]
async fn import_stores_the_whole_document_or_nothing_and_show_and_who_read_it() {
    let table = table().await;
    let t = Some(table.as_str());
    let (code, _, stderr) = out(&admin(
        &[
            "policy",
            "who",
            "--group",
            "Network",
            "--at",
            "2026-12-01T03:00Z",
        ],
        t,
    ));
    assert_eq!(code, 1);
    assert!(stderr.contains("no policies are stored"), "{stderr}");

    let (code, stdout, stderr) = out(&admin(&["policy", "import", EXAMPLE], t));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("as version 1"), "{stdout}");

    let bad = write(
        "partial.json",
        &std::fs::read_to_string(EXAMPLE)
            .unwrap()
            .replace("\"dan\", \"escalation\"", "\"zed\", \"escalation\""),
    );
    let (code, _, stderr) = out(&admin(&["policy", "import", bad.to_str().unwrap()], t));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("nothing imported") && stderr.contains("unknown person \"zed\""),
        "{stderr}"
    );

    let (code, stdout, _) = out(&admin(&["policy", "show", "Network"], t));
    assert_eq!(code, 0);
    assert!(
        stdout.contains("stored policies, version 1") && stdout.contains("Network on call"),
        "{stdout}"
    );
    let (code, stdout, _) = out(&admin(
        &[
            "policy",
            "who",
            "--group",
            "Network",
            "--at",
            "2026-12-01T03:00Z",
            "--priority",
            "2",
        ],
        t,
    ));
    assert_eq!(code, 0);
    assert!(
        stdout.contains("source: stored policies (version 1): policy Network"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1. Erin Novak") && stdout.contains("2. Dan Wu"),
        "{stdout}"
    );
    assert!(
        stdout.contains("nobody accepts: reassigned to group d625dccec0a8016700a222a0f7900d06"),
        "{stdout}"
    );
    let (_, stdout, _) = out(&admin(
        &[
            "policy",
            "who",
            "--group",
            "Hardware",
            "--at",
            "2026-12-01T03:00Z",
        ],
        t,
    ));
    assert!(
        stdout.contains("source: stored policies (version 1): default policy")
            && stdout.contains("1. Dan Wu"),
        "{stdout}"
    );
}
