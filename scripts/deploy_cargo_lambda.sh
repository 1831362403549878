#!/usr/bin/env bash
# Path B of docs/DEPLOY.md: deploy the Lambda functions (six, and call-decision unless
# LIVE_DECISIONS=false) with `cargo lambda deploy` onto resources that already exist (DynamoDB
# table, SQS FIFO queue + DLQ, Kinesis stream, secret, execution role; docs/DEPLOY.md lists
# them), then wire them up with the AWS CLI: the public function URLs (trigger, voice-inbound,
# call-decision, whose URL the functions that place calls get as DECISION_URL), the Kinesis
# and SQS event source mappings (same settings as template.yaml), and the sweeper's one-minute
# EventBridge schedule. Safe to run again: code and configuration are updated, nothing is
# created twice.
#
#   usage: scripts/deploy_cargo_lambda.sh [--dry-run] [--no-build] CONFIG_FILE
#
#   CONFIG_FILE  KEY=VALUE lines; start from infra/aws/cargo-lambda.env.example
#   --dry-run    check the configuration and print every command instead of running it
#   --no-build   deploy what scripts/build_arm64.sh built before
#
# Needs: the AWS CLI with credentials (aws sts get-caller-identity works), cargo-lambda
# (scripts/build_arm64.sh installs it into .venv). Honours CARGO_TARGET_DIR.
# Exit codes: 0 deployed (or dry run), 1 a build or AWS step failed, 2 wrong usage or config.
set -euo pipefail

PROG=$(basename "$0")
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
    exit 2
}

die_usage() {
    echo "$PROG: $*" >&2
    echo "usage: $PROG [--dry-run] [--no-build] CONFIG_FILE   ($PROG --help for more)" >&2
    exit 2
}

die() {
    echo "$PROG: error: $*" >&2
    exit 1
}

dry_run=0 build=1 config=""
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage ;;
        --dry-run) dry_run=1; shift ;;
        --no-build) build=0; shift ;;
        -*) die_usage "unknown option $1" ;;
        *) [ -z "$config" ] || die_usage "one CONFIG_FILE only, got '$config' and '$1'"; config=$1; shift ;;
    esac
done
[ -n "$config" ] || die_usage "missing CONFIG_FILE (copy infra/aws/cargo-lambda.env.example)"
[ -r "$config" ] || die_usage "cannot read CONFIG_FILE '$config'"

# ---- configuration ------------------------------------------------------------------------
declare -A CFG
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    line="${line#"${line%%[![:space:]]*}"}"
    [ -z "$line" ] || [ "${line:0:1}" = "#" ] && continue
    [[ $line == *=* ]] || die_usage "$config:$lineno: expected KEY=VALUE, got '$line'"
    key="${line%%=*}"
    value="${line#*=}"
    key="${key%"${key##*[![:space:]]}"}"
    [[ $key =~ ^[A-Z][A-Z0-9_]*$ ]] || die_usage "$config:$lineno: invalid key '$key'"
    value="${value%"${value##*[![:space:]]}"}"
    if [[ $value =~ ^\"(.*)\"$ ]] || [[ $value =~ ^\'(.*)\'$ ]]; then value="${BASH_REMATCH[1]}"; fi
    CFG[$key]=$value
done <"$config"

problems=()
need() { # KEY REGEX WHAT
    local v="${CFG[$1]:-}"
    if [ -z "$v" ]; then
        problems+=("$1 is missing ($3)")
    elif ! [[ $v =~ $2 ]]; then
        problems+=("$1='$v' is not $3")
    fi
}
optional() { # KEY REGEX WHAT
    local v="${CFG[$1]:-}"
    if [ -n "$v" ] && ! [[ $v =~ $2 ]]; then problems+=("$1='$v' is not $3"); fi
}
ARN_ROLE='^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$'
need AWS_REGION '^[a-z]{2}(-[a-z]+)+-[0-9]$' 'an AWS region such as eu-west-1'
need FUNCTION_PREFIX '^[A-Za-z0-9_-]{1,40}$' 'a name prefix of letters, digits, - and _ (at most 40)'
need LAMBDA_ROLE_ARN "$ARN_ROLE" 'an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)'
for k in TRIGGER_ROLE_ARN FLOW_EVENTS_ROLE_ARN UPDATER_ROLE_ARN SWEEPER_ROLE_ARN VOICE_INBOUND_ROLE_ARN CALL_DECISION_ROLE_ARN; do
    optional "$k" "$ARN_ROLE" 'an IAM role ARN'
done
optional LOG_RETENTION_DAYS '^(1|3|5|7|14|30|60|90|120|150|180|365|400|545|731|1096|1827|2192|2557|2922|3288|3653)$' 'a CloudWatch retention (1, 3, 5, 7, 14, 30, 60, 90, ... days)'
need FLOW_EVENTS_STREAM_ARN '^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/.+$' 'a Kinesis stream ARN'
optional FLOW_EVENTS_FAILURE_QUEUE_ARN '^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$' 'a standard SQS queue ARN'
need DIAL_QUEUE_ARN '^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$' 'a standard SQS queue ARN (the dial queue)'
need SN_UPDATES_QUEUE_ARN '^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+\.fifo$' 'a FIFO SQS queue ARN (ending in .fifo)'
need TWILIO_FLOW_SID '^FW[0-9a-fA-F]{32}$' 'a Studio flow SID (FW + 32 hex; printed by escalation-admin twilio deploy)'
need TWILIO_FROM_NUMBER '^\+[1-9][0-9]{1,14}$' 'an E.164 number such as +15017122661'
need ESCALATIONS_TABLE '^[A-Za-z0-9_.-]{3,255}$' 'a DynamoDB table name'
need SN_UPDATES_QUEUE_URL '^https://sqs\..+\.fifo$' 'the https:// URL of the FIFO queue'
need DIAL_QUEUE_URL '^https://sqs\..+$' 'the https:// URL of the standard dial queue'
need SECRETS_ARN '^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$' 'a Secrets Manager secret ARN'
need SERVICENOW_INSTANCE_URL '^https://[A-Za-z0-9.-]+(:[0-9]+)?/?$' 'an https:// URL without a path'
optional RING_TIMEOUT_SECS '^[0-9]+$' 'a number of seconds'
optional MAX_REDIALS '^[0-9]+$' 'a number'
optional ROUNDS '^[0-9]+$' 'a number'
optional BUSY_RETRY_SECS '^[0-9]+$' 'a number of seconds'
optional MAX_BUSY_RETRIES '^[0-9]+$' 'a number'
optional SWEEP_GRACE_SECS '^[0-9]+$' 'a number of seconds'
optional FALLBACK_GROUP '^[0-9a-fA-F]{32}$' 'a sys_id (32 hex digits)'
optional ESCALATE_PRIORITIES '^ *[1-5] *(, *[1-5] *)*$' 'a list of priorities such as 1,2'
optional LIVE_DECISIONS '^(true|false)$' 'true or false (call-decision applies a key during the call)'
optional PUBLIC_BASE_URL '^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[^ ]*)?$' 'an https:// URL (the custom domain Twilio calls voice-inbound on)'
optional CONFERENCE_BRIDGE '^(true|false)$' 'true or false (the conference bridge, key 4 after accepting)'
optional BUNDLE_WINDOW_SECS '^([0-9]|[1-9][0-9]|[12][0-9][0-9]|300)$' 'a number of seconds, 0 to 300 (0: every call about one incident)'
if [ "${#problems[@]}" -gt 0 ]; then
    echo "$PROG: $config has problems:" >&2
    printf '  %s\n' "${problems[@]}" >&2
    exit 2
fi

REGION=${CFG[AWS_REGION]}
PREFIX=${CFG[FUNCTION_PREFIX]}
RETENTION=${CFG[LOG_RETENTION_DAYS]:-30}
# binary | role key. Memory, timeout and description are in each function's Cargo.toml
# ([package.metadata.lambda.deploy], the template's values), which cargo lambda deploy reads.
# call-decision first, then voice-inbound: the functions that place calls get their URLs
# (DECISION_URL, and BRIDGE_URL with CONFERENCE_BRIDGE=true).
FUNCTIONS=()
LIVE=${CFG[LIVE_DECISIONS]:-true}
[ "$LIVE" = false ] || FUNCTIONS+=("call-decision|CALL_DECISION_ROLE_ARN")
FUNCTIONS+=(
    "voice-inbound|VOICE_INBOUND_ROLE_ARN"
    "incident-trigger|TRIGGER_ROLE_ARN"
    "escalation-dialer|DIALER_ROLE_ARN"
    "flow-events|FLOW_EVENTS_ROLE_ARN"
    "incident-updater|UPDATER_ROLE_ARN"
    "escalation-sweeper|SWEEPER_ROLE_ARN"
)
# The functions that place escalation calls, and so offer the bridge (as template.yaml's
# ConferenceBridge parameter wires it).
BRIDGE_FUNCTIONS=" escalation-dialer flow-events escalation-sweeper "
BRIDGE=${CFG[CONFERENCE_BRIDGE]:-false}
ENV_KEYS=(TWILIO_FLOW_SID TWILIO_FROM_NUMBER ESCALATIONS_TABLE SN_UPDATES_QUEUE_URL SECRETS_ARN
    SERVICENOW_INSTANCE_URL RING_TIMEOUT_SECS MAX_REDIALS ROUNDS BUSY_RETRY_SECS MAX_BUSY_RETRIES
    FALLBACK_GROUP ESCALATE_PRIORITIES RUST_LOG)

# ---- helpers --------------------------------------------------------------------------------
# run CMD...: runs it, or prints it on --dry-run.
run() {
    if [ "$dry_run" = 1 ]; then
        printf '+'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}
# query CMD...: read-only AWS call whose output decides what to do; empty on --dry-run
# (a dry run shows the path for a first deployment).
query() {
    if [ "$dry_run" = 1 ]; then
        echo ""
    else
        "$@" 2>/dev/null || true
    fi
}
awsr() { aws --region "$REGION" "$@"; }

if [ "$dry_run" = 0 ]; then
    command -v aws >/dev/null 2>&1 || { echo "$PROG: the AWS CLI ('aws') is not on PATH" >&2; exit 2; }
    awsr sts get-caller-identity >/dev/null 2>&1 \
        || die "the AWS CLI has no working credentials for $REGION (aws sts get-caller-identity failed)"
fi
export PATH="$VENV/bin:$PATH"

# ---- 1. build -----------------------------------------------------------------------------
if [ "$build" = 1 ]; then
    if [ "$dry_run" = 1 ]; then
        run bash "$ROOT/scripts/build_arm64.sh"
    else
        out=$(bash "$ROOT/scripts/build_arm64.sh" | tee /dev/stderr) || die "the arm64 build failed"
        if grep -q '^SKIPPED arm64 build' <<<"$out"; then
            die "nothing to deploy: $(grep '^SKIPPED' <<<"$out")"
        fi
    fi
fi
for entry in "${FUNCTIONS[@]}"; do
    bin=${entry%%|*}
    if [ "$dry_run" = 0 ] && [ ! -f "$TARGET_DIR/lambda/$bin/bootstrap" ]; then
        die "$TARGET_DIR/lambda/$bin/bootstrap is missing: run scripts/build_arm64.sh (or drop --no-build)"
    fi
done
if [ "$dry_run" = 0 ]; then
    command -v cargo-lambda >/dev/null 2>&1 || die "cargo-lambda is not on PATH (scripts/build_arm64.sh installs it into $VENV)"
fi

# ---- 2. functions -------------------------------------------------------------------------
# public_url FUNCTION: a public function URL (AuthType NONE) and the two permissions it needs.
# The code authenticates: the trigger checks the HMAC, voice-inbound X-Twilio-Signature,
# call-decision the attempt's capability token.
public_url() {
    local fn=$1 url policy
    url=$(query awsr lambda get-function-url-config --function-name "$fn" --query FunctionUrl --output text)
    if [ -z "$url" ] || [ "$url" = None ]; then
        run aws --region "$REGION" lambda create-function-url-config --function-name "$fn" --auth-type NONE
    fi
    policy=$(query awsr lambda get-policy --function-name "$fn" --query Policy --output text)
    if ! grep -q '"FunctionURLAllowPublicAccess"' <<<"$policy"; then
        run aws --region "$REGION" lambda add-permission --function-name "$fn" --statement-id FunctionURLAllowPublicAccess \
            --action lambda:InvokeFunctionUrl --principal '*' --function-url-auth-type NONE
    fi
    if ! grep -q '"FunctionURLInvokeAllowPublicAccess"' <<<"$policy"; then
        run aws --region "$REGION" lambda add-permission --function-name "$fn" --statement-id FunctionURLInvokeAllowPublicAccess \
            --action lambda:InvokeFunction --principal '*' --invoked-via-function-url
    fi
}
decision_url=""
trigger="$PREFIX-incident-trigger"
inbound="$PREFIX-voice-inbound"
# BRIDGE_URL: empty = no bridge. On: voice-inbound's custom domain, else its function URL
# (known once it exists, so voice-inbound is deployed first; its own first calls offer the
# bridge only with a custom domain, as in template.yaml).
bridge_url=""
env_dir=$(mktemp -d)
trap 'rm -rf "$env_dir"' EXIT
for entry in "${FUNCTIONS[@]}"; do
    IFS='|' read -r bin role_key <<<"$entry"
    name="$PREFIX-$bin"
    role=${CFG[$role_key]:-${CFG[LAMBDA_ROLE_ARN]}}
    env_file="$env_dir/$bin.env"
    : >"$env_file"
    for k in "${ENV_KEYS[@]}"; do
        if [ -n "${CFG[$k]:-}" ]; then printf '%s=%s\n' "$k" "${CFG[$k]}" >>"$env_file"; fi
    done
    [ -n "${CFG[RUST_LOG]:-}" ] || echo "RUST_LOG=info" >>"$env_file"
    case "$bin" in
        incident-trigger | call-decision | escalation-dialer | flow-events | escalation-sweeper)
            echo "DIAL_QUEUE_URL=${CFG[DIAL_QUEUE_URL]}" >>"$env_file" ;;
    esac
    # Bundling: the functions that place calls (a bundle's opener comes back on the dial queue).
    if [ -n "${CFG[BUNDLE_WINDOW_SECS]:-}" ] && [[ "$BRIDGE_FUNCTIONS" == *" $bin "* ]]; then
        echo "BUNDLE_WINDOW_SECS=${CFG[BUNDLE_WINDOW_SECS]}" >>"$env_file"
    fi
    case "$bin" in
        escalation-dialer | flow-events | escalation-sweeper | voice-inbound)
            [ -z "$decision_url" ] || echo "DECISION_URL=$decision_url" >>"$env_file" ;;
    esac
    if [ "$bin" = escalation-sweeper ]; then
        echo "SWEEP_GRACE_SECS=${CFG[SWEEP_GRACE_SECS]:-30}" >>"$env_file"
    fi
    if [ "$bin" = voice-inbound ] && [ -n "${CFG[PUBLIC_BASE_URL]:-}" ]; then
        echo "PUBLIC_BASE_URL=${CFG[PUBLIC_BASE_URL]}" >>"$env_file"
        if [ "$BRIDGE" = true ]; then echo "BRIDGE_URL=${CFG[PUBLIC_BASE_URL]}" >>"$env_file"; fi
    fi
    if [ "$bin" = voice-inbound ] && [ "$BRIDGE" = true ]; then
        echo "CONFERENCE_BRIDGE=true" >>"$env_file" # put-through calls become bridges
    fi
    if [ -n "$bridge_url" ] && [[ $BRIDGE_FUNCTIONS == *" $bin "* ]]; then
        echo "BRIDGE_URL=$bridge_url" >>"$env_file"
    fi
    echo "==> $name" >&2
    if [ "$dry_run" = 1 ]; then
        sed 's/^/  env: /' "$env_file"
    fi
    run cargo lambda deploy --manifest-path "$ROOT/Cargo.toml" --region "$REGION" --binary-name "$bin" \
        --lambda-dir "$TARGET_DIR/lambda" --runtime provided.al2023 --role "$role" \
        --log-retention "$RETENTION" --env-file "$env_file" --tag app=servicenow-phone-escalation "$name"
    if [ "$bin" = call-decision ]; then
        public_url "$name"
        decision_url=$(query awsr lambda get-function-url-config --function-name "$name" --query FunctionUrl --output text)
        # A dry run has no URL yet: it shows where it goes.
        [ -n "$decision_url" ] || decision_url="https://CALL-DECISION-FUNCTION-URL.lambda-url.$REGION.on.aws/"
    fi
    if [ "$bin" = voice-inbound ]; then
        public_url "$inbound"
        if [ "$BRIDGE" = true ]; then
            bridge_url=${CFG[PUBLIC_BASE_URL]:-}
            if [ -z "$bridge_url" ]; then
                bridge_url=$(query awsr lambda get-function-url-config --function-name "$inbound" --query FunctionUrl --output text)
            fi
            if [ "$dry_run" = 1 ] && [ -z "$bridge_url" ]; then
                bridge_url="https://<$inbound function URL>/"
            fi
            [ -n "$bridge_url" ] && [ "$bridge_url" != None ] || die "no function URL for $inbound, so no BRIDGE_URL"
        fi
    fi
done

# ---- 3. the trigger's public function URL ---------------------------------------------------
public_url "$trigger"

# ---- 4. event source mappings (as in template.yaml) ---------------------------------------
# mapping FUNCTION SOURCE_ARN SETTINGS...: create, or update the existing one.
mapping() {
    local fn=$1 source=$2
    shift 2
    local uuid
    uuid=$(query awsr lambda list-event-source-mappings --function-name "$fn" --event-source-arn "$source" \
        --query 'EventSourceMappings[0].UUID' --output text)
    if [ -z "$uuid" ] || [ "$uuid" = None ]; then
        run aws --region "$REGION" lambda create-event-source-mapping --function-name "$fn" --event-source-arn "$source" "$@"
    else
        # The starting position is fixed at creation.
        local args=() skip=0 a
        for a in "$@"; do
            if [ "$skip" = 1 ]; then skip=0; continue; fi
            if [ "$a" = --starting-position ]; then skip=1; continue; fi
            args+=("$a")
        done
        run aws --region "$REGION" lambda update-event-source-mapping --uuid "$uuid" --function-name "$fn" "${args[@]}"
    fi
}
kinesis_settings=(--starting-position TRIM_HORIZON --batch-size 100 --maximum-batching-window-in-seconds 1
    --function-response-types ReportBatchItemFailures --bisect-batch-on-function-error
    --maximum-retry-attempts 10 --maximum-record-age-in-seconds 3600)
if [ -n "${CFG[FLOW_EVENTS_FAILURE_QUEUE_ARN]:-}" ]; then
    kinesis_settings+=(--destination-config "{\"OnFailure\":{\"Destination\":\"${CFG[FLOW_EVENTS_FAILURE_QUEUE_ARN]}\"}}")
fi
mapping "$PREFIX-flow-events" "${CFG[FLOW_EVENTS_STREAM_ARN]}" "${kinesis_settings[@]}"
mapping "$PREFIX-incident-updater" "${CFG[SN_UPDATES_QUEUE_ARN]}" \
    --batch-size 10 --function-response-types ReportBatchItemFailures
# The dialer: bounded concurrency (the create rate itself is shared through the table).
mapping "$PREFIX-escalation-dialer" "${CFG[DIAL_QUEUE_ARN]}" \
    --batch-size 10 --function-response-types ReportBatchItemFailures \
    --scaling-config MaximumConcurrency=5

# ---- 5. the sweeper's schedule --------------------------------------------------------------
rule="$PREFIX-escalation-sweeper"
sweeper="$PREFIX-escalation-sweeper"
run aws --region "$REGION" events put-rule --name "$rule" --schedule-expression 'rate(1 minute)' \
    --description 'escalation-sweeper: re-drive stuck attempts'
rule_arn=$(query awsr events describe-rule --name "$rule" --query Arn --output text)
sweeper_arn=$(query awsr lambda get-function --function-name "$sweeper" --query Configuration.FunctionArn --output text)
[ -n "$rule_arn" ] || rule_arn="arn:aws:events:$REGION:ACCOUNT:rule/$rule"
[ -n "$sweeper_arn" ] || sweeper_arn="arn:aws:lambda:$REGION:ACCOUNT:function:$sweeper"
policy=$(query awsr lambda get-policy --function-name "$sweeper" --query Policy --output text)
if ! grep -q '"EveryMinuteSchedule"' <<<"$policy"; then
    run aws --region "$REGION" lambda add-permission --function-name "$sweeper" --statement-id EveryMinuteSchedule \
        --action lambda:InvokeFunction --principal events.amazonaws.com --source-arn "$rule_arn"
fi
run aws --region "$REGION" events put-targets --rule "$rule" --targets "Id=sweeper,Arn=$sweeper_arn"

# ---- done -----------------------------------------------------------------------------------
if [ "$dry_run" = 1 ]; then
    echo "$PROG: dry run: nothing was changed" >&2
else
    url=$(awsr lambda get-function-url-config --function-name "$trigger" --query FunctionUrl --output text)
    echo "$PROG: deployed. Trigger URL (ServiceNow property x_escalation.trigger_url): $url"
    url=$(awsr lambda get-function-url-config --function-name "$inbound" --query FunctionUrl --output text)
    echo "$PROG: voice-inbound URL (the Twilio number's webhooks: ${url}voice and ${url}sms, docs/INBOUND.md): $url"
    [ -z "$decision_url" ] || echo "$PROG: call-decision URL (the calls' decision_url, set as DECISION_URL): $decision_url"
fi
