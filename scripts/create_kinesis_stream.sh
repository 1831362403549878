#!/usr/bin/env bash
# Create a Kinesis stream that Twilio Event Streams can write to, plus the IAM role Twilio
# assumes to do so, and print the Kinesis sink configuration for Twilio.
#
#   usage: scripts/create_kinesis_stream.sh STREAM_NAME [SHARDS]
#
# For manual set-ups (e.g. path B of docs/DEPLOY.md). If you deployed template.yaml you do not
# need it: the stack creates the stream and Twilio's role (outputs StreamArn,
# TwilioEventStreamsRoleArn, TwilioEventStreamsExternalId). An existing stream is reused as is.
#
# Steps:
#   1. aws kinesis create-stream (SHARDS, default 1) and wait until it is ACTIVE
#   2. aws iam create-role with the trust policy infra/aws/twilio-event-streams-trust.json
#      (principal = Twilio's AWS account, condition sts:ExternalId = a fresh random 40-hex id)
#   3. aws iam put-role-policy with infra/aws/twilio-event-streams-policy.json
#      (kinesis:PutRecord(s) on the stream, kinesis:ListShards / DescribeLimits on *)
#   4. print {"arn": ..., "role_arn": ..., "external_id": ...}: the SinkConfiguration for
#      POST https://events.twilio.com/v1/Sinks with SinkType=kinesis
#
# Environment:
#   AWS_ENDPOINT_URL             if set, passed as --endpoint-url (e.g. moto: http://127.0.0.1:4566)
#   ROLE_NAME                    IAM role name (default: twilio-event-streams-STREAM_NAME)
#   TWILIO_ASSUME_ROLE_ACCOUNT   Twilio's AWS account id (default: 177261743968, the value in
#                                Twilio's own set-up script; check Twilio's docs before relying on it)
#   AWS_REGION / AWS_PROFILE     as usual for the AWS CLI
#
# Re-running with an existing role replaces its trust policy with a NEW external id: update
# the Twilio sink afterwards (the old external id stops working).
#
# Exit codes: 0 ok, 1 an AWS call failed, 2 wrong usage or missing tool.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PROG=$(basename "$0")
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
INFRA_DIR="$SCRIPT_DIR/../infra/aws"
TRUST_TEMPLATE="$INFRA_DIR/twilio-event-streams-trust.json"
POLICY_TEMPLATE="$INFRA_DIR/twilio-event-streams-policy.json"
POLICY_NAME="twilio-event-streams-kinesis"
DEFAULT_TWILIO_ACCOUNT="177261743968"

usage() {
    cat >&2 <<EOF
usage: $PROG STREAM_NAME [SHARDS]

Creates the Kinesis stream STREAM_NAME (SHARDS shards, default 1), an IAM role that Twilio
Event Streams can assume to write to it, and prints the Twilio Kinesis sink configuration:
  {"arn": "<stream arn>", "role_arn": "<role arn>", "external_id": "<40 hex chars>"}

Environment: AWS_ENDPOINT_URL (e.g. http://127.0.0.1:4566 for moto), ROLE_NAME,
TWILIO_ASSUME_ROLE_ACCOUNT (default $DEFAULT_TWILIO_ACCOUNT), AWS_REGION, AWS_PROFILE.
EOF
    exit "${1:-2}"
}

# Replace a placeholder in a JSON template; the value must be JSON-string safe.
render() {
    local template=$1 placeholder=$2 value=$3
    [[ $value != *[\"\\\|]* ]] || die "unexpected character in '$value'"
    sed "s|$placeholder|$value|g" "$template"
}

random_hex40() {
    if command -v openssl >/dev/null 2>&1; then
        openssl rand -hex 20
    else
        od -An -N20 -tx1 /dev/urandom | tr -d ' \n'
        echo
    fi
}

# ---- arguments -------------------------------------------------------------------------
one_or_two_args "$@"
STREAM_NAME=$1
SHARDS=${2:-1}
check_stream_name "$STREAM_NAME"
if ! [[ $SHARDS =~ ^[1-9][0-9]*$ ]]; then
    echo "$PROG: SHARDS must be a positive integer, got '$SHARDS'" >&2
    usage
fi
ROLE_NAME=${ROLE_NAME:-twilio-event-streams-$STREAM_NAME}
ROLE_NAME=${ROLE_NAME:0:64}
TWILIO_ACCOUNT=${TWILIO_ASSUME_ROLE_ACCOUNT:-$DEFAULT_TWILIO_ACCOUNT}
if ! [[ $TWILIO_ACCOUNT =~ ^[0-9]{12}$ ]]; then
    echo "$PROG: TWILIO_ASSUME_ROLE_ACCOUNT must be a 12-digit AWS account id, got '$TWILIO_ACCOUNT'" >&2
    exit 2
fi

require_aws_cli
for f in "$TRUST_TEMPLATE" "$POLICY_TEMPLATE"; do
    [[ -r $f ]] || { echo "$PROG: missing policy template $f" >&2; exit 2; }
done

TMP_DIR=$(mktemp -d)
trap 'rm -rf "$TMP_DIR"' EXIT

# ---- 1. stream -------------------------------------------------------------------------
if awsx kinesis describe-stream-summary --stream-name "$STREAM_NAME" >/dev/null 2>&1; then
    echo "$PROG: stream '$STREAM_NAME' already exists; reusing it" >&2
else
    echo "$PROG: creating Kinesis stream '$STREAM_NAME' with $SHARDS shard(s)" >&2
    awsx kinesis create-stream --stream-name "$STREAM_NAME" --shard-count "$SHARDS" \
        || die "kinesis create-stream failed"
fi
echo "$PROG: waiting for the stream to become ACTIVE" >&2
awsx kinesis wait stream-exists --stream-name "$STREAM_NAME" \
    || die "stream '$STREAM_NAME' did not become ACTIVE"
STREAM_ARN=$(awsx kinesis describe-stream-summary --stream-name "$STREAM_NAME" \
    --query 'StreamDescriptionSummary.StreamARN' --output text) \
    || die "kinesis describe-stream-summary failed"
[[ -n $STREAM_ARN && $STREAM_ARN != None ]] || die "could not read the ARN of stream '$STREAM_NAME'"

# ---- 2. role ---------------------------------------------------------------------------
EXTERNAL_ID=$(random_hex40)
[[ $EXTERNAL_ID =~ ^[0-9a-f]{40}$ ]] || die "could not generate an external id"

render "$TRUST_TEMPLATE" '<EXTERNAL_ID>' "$EXTERNAL_ID" \
    | sed "s|arn:aws:iam::$DEFAULT_TWILIO_ACCOUNT:root|arn:aws:iam::$TWILIO_ACCOUNT:root|" \
    >"$TMP_DIR/trust.json"
render "$POLICY_TEMPLATE" '<STREAM_ARN>' "$STREAM_ARN" >"$TMP_DIR/policy.json"

if awsx iam get-role --role-name "$ROLE_NAME" >/dev/null 2>&1; then
    echo "$PROG: role '$ROLE_NAME' exists; replacing its trust policy (new external id)" >&2
    awsx iam update-assume-role-policy --role-name "$ROLE_NAME" \
        --policy-document "file://$TMP_DIR/trust.json" \
        || die "iam update-assume-role-policy failed"
    ROLE_ARN=$(awsx iam get-role --role-name "$ROLE_NAME" --query 'Role.Arn' --output text) \
        || die "iam get-role failed"
else
    echo "$PROG: creating IAM role '$ROLE_NAME'" >&2
    ROLE_ARN=$(awsx iam create-role --role-name "$ROLE_NAME" \
        --description "Twilio Event Streams writes to Kinesis stream $STREAM_NAME" \
        --assume-role-policy-document "file://$TMP_DIR/trust.json" \
        --query 'Role.Arn' --output text) \
        || die "iam create-role failed"
fi

# ---- 3. inline policy ------------------------------------------------------------------
echo "$PROG: attaching inline policy '$POLICY_NAME'" >&2
awsx iam put-role-policy --role-name "$ROLE_NAME" --policy-name "$POLICY_NAME" \
    --policy-document "file://$TMP_DIR/policy.json" \
    || die "iam put-role-policy failed"

# ---- 4. sink configuration -------------------------------------------------------------
echo "$PROG: done. IAM changes can take ~10 s to propagate before Twilio can assume the role." >&2
echo "$PROG: Twilio Kinesis sink configuration (SinkConfiguration):" >&2
printf '{"arn": "%s", "role_arn": "%s", "external_id": "%s"}\n' "$STREAM_ARN" "$ROLE_ARN" "$EXTERNAL_ID"
