//! escalation-admin: the Twilio side of the phone escalation as code, and the pre-flight
//! check of an installation (`doctor`). See docs/DEPLOY.md.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use escalation_admin::api::{Credentials, EVENTS_BASE_URL, STUDIO_BASE_URL, Twilio};
use escalation_admin::deploy::{self, AdminError, DeploySpec, SinkSpec};
use escalation_admin::test_call::{self, TestCall};
use escalation_admin::{doctor, flow};

/// Provisioning for the ServiceNow phone escalation.
#[derive(Parser)]
#[command(name = "escalation-admin", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Twilio: the Studio flow, the Event Streams Kinesis sink and subscription.
    #[command(subcommand, after_help = CREDENTIALS_HELP)]
    Twilio(TwilioCommand),
    /// Check a deployed installation: configuration, secret, HMAC key, Twilio credentials,
    /// the Studio flow, Event Streams, ServiceNow access, the policy file, and a signed ping to
    /// the trigger. Each check prints ✓ or ✗ with the fix; exit 1 when any fails.
    #[command(after_help = DOCTOR_HELP)]
    Doctor(DoctorArgs),
    /// Places one real call through the Studio flow to a person, so they hear the prompts
    /// (in their language) and confirm their number; nothing is written to ServiceNow.
    #[command(after_help = CREDENTIALS_HELP)]
    TestCall(TestCallArgs),
    /// Escalation policies: who is called for each assignment group (docs/POLICIES.md).
    #[command(subcommand, after_help = POLICY_HELP)]
    Policy(PolicyCommand),
}

#[derive(Args)]
struct TestCallArgs {
    /// The number to call, E.164 (+4930...).
    to: String,
    /// The language of the prompts (de-DE); default en-US.
    #[arg(long)]
    language: Option<String>,
    /// The Studio flow (FW...); default: $TWILIO_FLOW_SID, as the functions have it.
    #[arg(long)]
    flow_sid: Option<String>,
    /// Our Twilio number the call comes from; default: $TWILIO_FROM_NUMBER.
    #[arg(long)]
    from: Option<String>,
    /// Seconds to wait for the call to end and report what was pressed (0: do not wait).
    #[arg(long, default_value_t = 120)]
    wait_secs: u64,
}

const POLICY_HELP: &str = "import, show and who read the stored policies in the escalations \
table: --table or ESCALATIONS_TABLE, with the usual AWS credentials and AWS_REGION \
(AWS_ENDPOINT_URL for moto). Documents are JSON (docs/POLICIES.md).\n\
Exit codes: 0 ok, 1 invalid or refused, 2 wrong usage.";

#[derive(Args)]
struct TableArg {
    /// The escalations table (default: ESCALATIONS_TABLE).
    #[arg(long, env = "ESCALATIONS_TABLE")]
    table: String,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Check a policy document; every problem names its entry and field.
    Validate { file: PathBuf },
    /// Validate and store a policy document, replacing the stored one whole (never partly).
    Import {
        file: PathBuf,
        #[command(flatten)]
        table: TableArg,
    },
    /// Print the stored policies, or one group's.
    Show {
        group: Option<String>,
        #[command(flatten)]
        table: TableArg,
    },
    /// Who would be called for an incident of GROUP at an instant, in order, and from where.
    Who {
        #[arg(long)]
        group: String,
        /// An instant, e.g. 2026-12-01T03:00Z (default: now).
        #[arg(long)]
        at: Option<String>,
        #[arg(long, default_value = "1")]
        priority: String,
        /// Read this policy file instead of the stored policies.
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long, env = "ESCALATIONS_TABLE")]
        table: Option<String>,
    },
}

async fn store(table: &str) -> escalation_adapters::aws::PolicyStore {
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    escalation_adapters::aws::PolicyStore::new(aws_sdk_dynamodb::Client::new(&aws), table)
}

async fn run_policy(command: PolicyCommand) -> ExitCode {
    use escalation_admin::policy::{self, Origin};
    let result = match command {
        PolicyCommand::Validate { file } => policy::validate(&file),
        PolicyCommand::Import { file, table } => {
            policy::import(&store(&table.table).await, &file).await
        }
        PolicyCommand::Show { group, table } => {
            policy::show(&store(&table.table).await, group.as_deref()).await
        }
        PolicyCommand::Who {
            group,
            at,
            priority,
            file,
            table,
        } => {
            let at = at.unwrap_or_else(|| jiff::Timestamp::now().to_string());
            match (file, table) {
                (Some(f), _) => policy::who(Origin::File(&f), &group, &priority, &at).await,
                (None, Some(t)) => {
                    let s = store(&t).await;
                    policy::who(Origin::Stored(&s), &group, &priority, &at).await
                }
                (None, None) => Err(policy::PolicyError {
                    message: "give --file FILE, or --table (or ESCALATIONS_TABLE) for the stored policies".into(),
                    exit_code: 2,
                }),
            }
        }
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", e.message);
            ExitCode::from(e.exit_code)
        }
    }
}

const DOCTOR_HELP: &str = "AWS: the usual credentials and AWS_REGION (AWS_ENDPOINT_URL for \
moto). The doctor reads the incident-trigger function's environment and the secret it names, \
then calls Twilio, ServiceNow and the trigger with the secret's credentials. It writes \
nothing. TWILIO_EVENTS_BASE_URL overrides the Event Streams host (fakes, tests).\n\
Exit codes: 0 every check passed, 1 a check failed, 2 wrong usage.";

#[derive(Args)]
struct DoctorArgs {
    /// The incident-trigger function, name or ARN (SAM: `aws cloudformation
    /// describe-stack-resource --stack-name STACK --logical-resource-id
    /// IncidentTriggerFunction`; cargo lambda deploy: <prefix>-incident-trigger).
    #[arg(long)]
    function: String,
    /// The policy file deployed with the functions (ROSTER_PATH; a policy document or the
    /// original agent_list.json format; default: assets/agent_list.json here).
    #[arg(long)]
    roster: Option<PathBuf>,
    /// Send the signed ping here instead of the function's URL.
    #[arg(long)]
    trigger_url: Option<String>,
}

const CREDENTIALS_HELP: &str = "Environment: TWILIO_ACCOUNT_SID, and TWILIO_API_KEY_SID + \
TWILIO_API_KEY_SECRET (an API key of that account; or TWILIO_AUTH_TOKEN). \
TWILIO_STUDIO_BASE_URL and TWILIO_EVENTS_BASE_URL override the API hosts (fakes, tests).\n\
Exit codes: 0 ok, 1 Twilio refused or failed, 2 wrong usage or missing credentials.";

#[derive(Subcommand)]
enum TwilioCommand {
    /// Check the flow file: the Lambdas' contract, then Twilio's POST /v2/Flows/Validate.
    #[command(after_help = CREDENTIALS_HELP)]
    Validate {
        #[command(flatten)]
        flow: FlowArgs,
    },
    /// Validate, then create or update the flow, the Kinesis sink and the subscription to
    /// com.twilio.studio.flow.execution.ended. A second run changes nothing. Without the three
    /// sink options only the flow is deployed (its SID is the stack parameter TwilioFlowSid).
    #[command(after_help = CREDENTIALS_HELP)]
    Deploy {
        #[command(flatten)]
        flow: FlowArgs,
        /// Kinesis stream ARN (stack output StreamArn).
        #[arg(long, requires_all = ["role_arn", "external_id"])]
        stream_arn: Option<String>,
        /// IAM role Twilio assumes (stack output TwilioEventStreamsRoleArn).
        #[arg(long, requires_all = ["stream_arn", "external_id"])]
        role_arn: Option<String>,
        /// External id of that role (stack output TwilioEventStreamsExternalId).
        #[arg(long, requires_all = ["stream_arn", "role_arn"])]
        external_id: Option<String>,
        /// Text for the new flow revision's commit message.
        #[arg(long)]
        commit_message: Option<String>,
        /// Description of the sink (default: names the stream).
        #[arg(long)]
        sink_description: Option<String>,
    },
    /// Print the TwiML of the canary's answering application (it greets, then presses 1),
    /// for a TwiML Bin on the canary's test number (docs/DEPLOY.md, "The canary"). Needs no
    /// credentials and changes nothing at Twilio.
    CanaryTwiml,
}

#[derive(Args)]
struct FlowArgs {
    /// The Studio flow definition.
    #[arg(long, default_value = "infra/twilio/escalation-flow.json")]
    flow_file: PathBuf,
    /// The flow's name in Twilio: the flow with this name is updated, or created.
    #[arg(long, default_value = "ServiceNow phone escalation")]
    friendly_name: String,
}

fn client() -> Result<Twilio, AdminError> {
    let creds = Credentials::from_lookup(|k| std::env::var(k).ok()).map_err(AdminError::Usage)?;
    Ok(Twilio::new(
        creds,
        &base("TWILIO_STUDIO_BASE_URL", STUDIO_BASE_URL),
        &base("TWILIO_EVENTS_BASE_URL", EVENTS_BASE_URL),
    ))
}

fn base(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

async fn run_doctor(args: DoctorArgs) -> ExitCode {
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let opts = doctor::Options {
        function: args.function,
        trigger_url: args.trigger_url,
        roster: args.roster,
        studio_base: base("TWILIO_STUDIO_BASE_URL", STUDIO_BASE_URL),
        events_base: base("TWILIO_EVENTS_BASE_URL", EVENTS_BASE_URL),
    };
    let report = doctor::run(&aws, &opts).await;
    print!("{}", report.render());
    if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn run(command: TwilioCommand) -> Result<(), AdminError> {
    match command {
        TwilioCommand::CanaryTwiml => {
            print!("{}", escalation_admin::canary::answering_twiml());
            Ok(())
        }
        TwilioCommand::Validate { flow } => {
            let definition = flow::load(&flow.flow_file)?;
            let tw = client()?;
            deploy::validate(&tw, &flow.friendly_name, &definition).await?;
            println!(
                "{}: valid (contract with the Lambdas, and Twilio Flows/Validate)",
                flow.flow_file.display()
            );
            Ok(())
        }
        TwilioCommand::Deploy {
            flow,
            stream_arn,
            role_arn,
            external_id,
            commit_message,
            sink_description,
        } => {
            let events = match (stream_arn, role_arn, external_id) {
                (Some(stream_arn), Some(role_arn), Some(external_id)) => {
                    deploy::check_sink_inputs(&stream_arn, &role_arn, &external_id)?;
                    Some(SinkSpec {
                        stream_arn,
                        role_arn,
                        external_id,
                        description: sink_description,
                    })
                }
                _ => None,
            };
            let definition = flow::load(&flow.flow_file)?;
            let tw = client()?;
            println!(
                "Twilio account {}: deploying {} as {:?}",
                tw.account_sid(),
                flow.flow_file.display(),
                flow.friendly_name
            );
            let spec = DeploySpec {
                definition,
                friendly_name: flow.friendly_name,
                commit_message,
                events,
            };
            let mut stdout = std::io::stdout();
            let report = deploy::deploy(&tw, &spec, &mut stdout).await?;
            print!("{}", deploy::summary(&report));
            Ok(())
        }
    }
}

async fn test_call(args: TestCallArgs) -> Result<(), AdminError> {
    let or_env = |value: Option<String>, flag: &str, name: &str| {
        value
            .or_else(|| std::env::var(name).ok())
            .ok_or_else(|| AdminError::Usage(format!("give {flag} or set {name}")))
    };
    let flow_sid = or_env(args.flow_sid, "--flow-sid", "TWILIO_FLOW_SID")?;
    let from = or_env(args.from, "--from", "TWILIO_FROM_NUMBER")?;
    let call = TestCall::parse(
        &args.to,
        &from,
        &flow_sid,
        args.language.as_deref(),
        std::time::Duration::from_secs(args.wait_secs),
    )?;
    let tw = client()?;
    test_call::place(&tw, &call, &mut std::io::stdout()).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Doctor(args) => return run_doctor(args).await,
        Command::Policy(command) => return run_policy(command).await,
        Command::Twilio(command) => run(command).await,
        Command::TestCall(args) => test_call(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.report());
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}
