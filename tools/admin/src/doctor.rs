//! `escalation-admin doctor`: checks a deployed installation before the first incident does.
//!
//! It reads what the functions themselves read: the incident-trigger function's environment
//! (Lambda GetFunctionConfiguration; every function of the stack has the same settings) and
//! the secret it names (Secrets Manager). That works the same for a SAM stack and for a
//! `cargo lambda deploy` install, and it checks the flow SID, the instance URL and the key
//! the functions actually use, not the values someone meant to pass. Then it asks Twilio,
//! ServiceNow and the trigger, each with the credentials from the secret. Nothing is
//! written anywhere; the signed ping is refused by the trigger as an incident (it has no
//! sys_id), after its signature was accepted.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use escalation_adapters::signing::SigningKey;
use escalation_core::model::Person;
use serde_json::{Map, Value};

mod probes;
mod twilio;

/// What the doctor needs besides AWS.
#[derive(Clone, Debug)]
pub struct Options {
    /// The incident-trigger function (name or ARN).
    pub function: String,
    /// Where to send the signed ping; default: the function's URL.
    pub trigger_url: Option<String>,
    /// The policy file (or original roster format) deployed with the functions.
    pub roster: Option<PathBuf>,
    /// Studio API base when the function's environment has none.
    pub studio_base: String,
    pub events_base: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Pass,
    Fail,
    Skip,
}

/// One line of the report: what was checked, what was found, and the fix when it failed.
#[derive(Clone, Debug)]
pub struct Check {
    pub name: &'static str,
    pub mark: Mark,
    pub detail: String,
    pub fix: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    fn pass(&mut self, name: &'static str, detail: impl Into<String>) {
        self.push(name, Mark::Pass, detail.into(), None);
    }

    fn fail(&mut self, name: &'static str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(name, Mark::Fail, detail.into(), Some(fix.into()));
    }

    fn skip(&mut self, name: &'static str, why: impl Into<String>) {
        self.push(name, Mark::Skip, why.into(), None);
    }

    fn push(&mut self, name: &'static str, mark: Mark, detail: String, fix: Option<String>) {
        self.checks.push(Check {
            name,
            mark,
            detail,
            fix,
        });
    }

    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| c.mark == Mark::Fail).count()
    }

    /// The check called `name`.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// ✓/✗ lines, each failure followed by its fix.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let mark = match c.mark {
                Mark::Pass => '✓',
                Mark::Fail => '✗',
                Mark::Skip => '·',
            };
            let _ = writeln!(out, "{mark} {:<14} {}", c.name, c.detail);
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "  {:<14} fix: {fix}", "");
            }
        }
        let failed = self.failed();
        let _ = match failed {
            0 => writeln!(out, "doctor: all {} checks passed", self.checks.len()),
            n => writeln!(out, "doctor: {n} of {} checks failed", self.checks.len()),
        };
        out
    }
}

/// Every check, in the order they run and print.
pub const CHECKS: [&str; 9] = [
    "configuration",
    "secret",
    "hmac key",
    "twilio",
    "studio flow",
    "event streams",
    "servicenow",
    "policy file",
    "trigger ping",
];

/// The ServiceNow sign-ins the secret can hold: the OAuth client, or the integration user.
const SERVICENOW_OAUTH: [&str; 2] = ["servicenow_client_id", "servicenow_client_secret"];
const SERVICENOW_USER: [&str; 2] = ["servicenow_username", "servicenow_password"];

/// The secret's fields the functions need (voice-inbound needs the last one). ServiceNow's
/// are the OAuth client's once either of its fields is filled in, else the user's.
fn secret_fields(secret: &Map<String, Value>) -> [&'static str; 7] {
    let oauth = SERVICENOW_OAUTH
        .iter()
        .any(|k| !placeholder(field(secret, k)));
    let [sn_a, sn_b] = if oauth {
        SERVICENOW_OAUTH
    } else {
        SERVICENOW_USER
    };
    [
        "twilio_account_sid",
        "twilio_api_key_sid",
        "twilio_api_key_secret",
        sn_a,
        sn_b,
        "trigger_hmac_key",
        "twilio_auth_token",
    ]
}

/// A value nobody filled in: empty, the template's FILL_ME, a `<…>` placeholder, an ellipsis.
fn placeholder(v: &str) -> bool {
    let v = v.trim();
    v.is_empty()
        || v.to_ascii_uppercase().contains("FILL_ME")
        || (v.starts_with('<') && v.ends_with('>'))
        || v.contains('…')
        || v == "..."
}

/// A sample person: a made-up number (area code 555, or 555-01XX, the range set aside for
/// fiction) or a name ending in "Example", as in the bundled roster.
fn sample(p: &Person) -> bool {
    let d: String = p
        .phone
        .as_str()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    d.starts_with("1555")
        || (d.len() == 11 && d.starts_with('1') && d[4..].starts_with("55501"))
        || p.name.trim_end().ends_with("Example")
}

/// Runs every check; a check whose inputs failed is skipped and says so.
pub async fn run(aws: &aws_config::SdkConfig, opts: &Options) -> Report {
    let mut r = Report::default();
    let lambda = aws_sdk_lambda::Client::new(aws);
    let env: HashMap<String, String> = match lambda
        .get_function_configuration()
        .function_name(&opts.function)
        .send()
        .await
    {
        Ok(conf) => conf
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default(),
        Err(e) => {
            r.fail(
                "configuration",
                format!(
                    "cannot read the function {}: {}",
                    opts.function,
                    aws_error(&e)
                ),
                "pass the incident-trigger function: --function NAME (SAM: aws cloudformation \
                 describe-stack-resource --stack-name STACK --logical-resource-id \
                 IncidentTriggerFunction; cargo lambda: <prefix>-incident-trigger), with AWS \
                 credentials and AWS_REGION of its account",
            );
            return skip_rest(r, "the deployed configuration could not be read");
        }
    };
    let var = |k: &str| env.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let missing: Vec<&str> = ["TWILIO_FLOW_SID", "SECRETS_ARN", "SERVICENOW_INSTANCE_URL"]
        .into_iter()
        .filter(|k| var(k).is_none())
        .collect();
    if !missing.is_empty() {
        r.fail(
            "configuration",
            format!("{} has no {}", opts.function, missing.join(", ")),
            "is this the incident-trigger function? Its environment comes from template.yaml \
             or deploy.env: deploy again",
        );
        return skip_rest(r, "the deployed configuration is incomplete");
    }
    let (flow_sid, secret_arn, sn_url) = (
        var("TWILIO_FLOW_SID").unwrap_or_default().to_owned(),
        var("SECRETS_ARN").unwrap_or_default().to_owned(),
        var("SERVICENOW_INSTANCE_URL")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned(),
    );
    r.pass(
        "configuration",
        format!("{}: flow {flow_sid}, ServiceNow {sn_url}", opts.function),
    );

    // The secret, as the functions read it.
    let secrets = aws_sdk_secretsmanager::Client::new(aws);
    let secret: Map<String, Value> = match secrets
        .get_secret_value()
        .secret_id(&secret_arn)
        .send()
        .await
    {
        Ok(out) => match serde_json::from_str(out.secret_string().unwrap_or_default()) {
            Ok(Value::Object(m)) => m,
            _ => {
                r.fail(
                    "secret",
                    format!("{secret_arn} is not a JSON object"),
                    fill_fix(&secret_arn),
                );
                return skip_rest(r, "the secret is unusable");
            }
        },
        Err(e) => {
            r.fail(
                "secret",
                format!("cannot read {secret_arn}: {}", aws_error(&e)),
                "run the doctor with credentials that may read the secret \
                 (secretsmanager:GetSecretValue)",
            );
            return skip_rest(r, "the secret could not be read");
        }
    };
    let field = |k: &str| field(&secret, k);
    let required = secret_fields(&secret);
    let unfilled: Vec<&str> = required
        .into_iter()
        .filter(|k| placeholder(field(k)))
        .collect();
    if unfilled.is_empty() {
        r.pass("secret", format!("{secret_arn}: every field filled in"));
    } else {
        r.fail(
            "secret",
            format!("not filled in: {}", unfilled.join(", ")),
            fill_fix(&secret_arn),
        );
    }
    let filled = |k: &str| !unfilled.contains(&k);

    let key = if !filled("trigger_hmac_key") {
        r.skip("hmac key", "trigger_hmac_key is not filled in");
        None
    } else {
        match SigningKey::from_base64(field("trigger_hmac_key")) {
            Ok(k) => {
                r.pass("hmac key", "trigger_hmac_key decodes to a long enough key");
                Some(k)
            }
            Err(e) => {
                r.fail(
                    "hmac key",
                    e.to_string(),
                    "make one with `openssl rand -base64 32`; the same string goes in \
                     trigger_hmac_key and in the ServiceNow property x_escalation.hmac_key_b64",
                );
                None
            }
        }
    };

    twilio::checks(&mut r, opts, &env, &flow_sid, &secret, &unfilled).await;

    let sn_fields = [required[3], required[4]];
    if sn_fields.iter().all(|k| filled(k)) {
        // The functions' own reading of the secret and their client, signing in as they do.
        let secrets = escalation_adapters::secrets::Secrets::parse(
            &secret_arn,
            &Value::Object(secret.clone()).to_string(),
        );
        probes::servicenow(&mut r, &sn_url, secrets).await;
    } else {
        r.skip(
            "servicenow",
            format!("{} are not filled in", sn_fields.join("/")),
        );
    }

    roster_check(&mut r, opts, var("ROSTER_PATH"));

    let url = match &opts.trigger_url {
        Some(u) => Some(u.clone()),
        None => lambda
            .get_function_url_config()
            .function_name(&opts.function)
            .send()
            .await
            .ok()
            .map(|c| c.function_url().to_owned()),
    };
    match (url, key) {
        (Some(url), Some(key)) => probes::ping(&mut r, &url, &key, &opts.function).await,
        (None, _) => r.fail(
            "trigger ping",
            format!("{} has no function URL", opts.function),
            "the trigger needs its public function URL (template.yaml FunctionUrlConfig, or \
             deploy_cargo_lambda.sh); or pass --trigger-url",
        ),
        (_, None) => r.skip("trigger ping", "no usable trigger_hmac_key to sign with"),
    }
    r
}

/// A string field of the secret ("" when absent).
pub(super) fn field<'a>(secret: &'a Map<String, Value>, k: &str) -> &'a str {
    secret.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn fill_fix(arn: &str) -> String {
    format!(
        "fill every field (docs/DEPLOY.md, \"Fill the secret\"): aws secretsmanager \
         put-secret-value --secret-id {arn} --secret-string file://secret.json"
    )
}

fn skip_rest(mut r: Report, why: &str) -> Report {
    for name in CHECKS {
        if r.get(name).is_none() {
            r.skip(name, why);
        }
    }
    r
}

/// The innermost cause of an AWS SDK error: the service's own words
/// ("ResourceNotFoundException: Function not found: …").
fn aws_error<E: std::error::Error>(e: &E) -> String {
    let mut last: &dyn std::error::Error = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

fn roster_check(r: &mut Report, opts: &Options, deployed_path: Option<&str>) {
    let default = PathBuf::from("assets/agent_list.json");
    let path = match &opts.roster {
        Some(p) => p.clone(),
        None if default.is_file() => default,
        None => {
            return r.skip(
                "policy file",
                "no policy file: pass --roster FILE (stored policies: escalation-admin policy show)",
            );
        }
    };
    let inside = deployed_path
        .map(|p| format!(" (the functions read ROSTER_PATH={p} from their package)"))
        .unwrap_or_default();
    match escalation_adapters::roster_file::load(&path, true).map(|f| f.roster) {
        Err(e) => r.fail(
            "policy file",
            format!("{}: {e}", path.display()),
            "fix the entry named, then build and deploy again",
        ),
        Ok(roster) => {
            let samples: Vec<String> = roster
                .agents
                .iter()
                .chain(&roster.escalation)
                .filter(|p| sample(p))
                .map(|p| format!("{} {}", p.name, p.phone.masked()))
                .collect();
            if samples.is_empty() {
                r.pass(
                    "policy file",
                    format!(
                        "{}: {} agents, {} on the escalation list{inside}",
                        path.display(),
                        roster.agents.len(),
                        roster.escalation.len()
                    ),
                );
            } else {
                r.fail(
                    "policy file",
                    format!(
                        "{} still has sample people: {}{inside}",
                        path.display(),
                        samples.join(", ")
                    ),
                    "put your on-call people in it, then build and deploy again",
                );
            }
        }
    }
}

/// HTTP client for ServiceNow and the trigger.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(20))
        .user_agent(concat!("escalation-admin/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}
