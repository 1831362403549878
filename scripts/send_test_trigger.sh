#!/usr/bin/env bash
# Sends one signed test trigger to the incident-trigger function URL, exactly as the ServiceNow
# business rule would (infra/servicenow/escalation_trigger.js): JSON body, headers
# X-Signature-Timestamp (unix seconds) and X-Signature = base64(HMAC-SHA256(key, ts + "." + body))
# with the base64-DECODED trigger_hmac_key as the HMAC key. The first agent's phone rings.
#
#   usage: scripts/send_test_trigger.sh [options] TRIGGER_URL
#
#   TRIGGER_URL            the stack output TriggerUrl (https://<id>.lambda-url.<region>.on.aws/)
#   --secret-arn ARN       read trigger_hmac_key from the stack's secret (needs the AWS CLI)
#                          (otherwise the key comes from the environment: TRIGGER_HMAC_KEY)
#   --number INC...        incident number (default INC9999001)
#   --priority N           incident priority, 1 to 5 (default 1)
#   --sys-id HEX32         incident sys_id (default: a fresh random one, so a new escalation)
#   --short-description T  what the agent hears (default "Phone escalation test call")
#   --dry-run              print the request (headers and body), send nothing
#
# Sending the same sys_id again answers 200 (one escalation per incident, no second call).
# Exit codes: 0 answered 2xx (or --dry-run), 1 refused or failed, 2 wrong usage or missing tool.
set -euo pipefail

PROG=$(basename "$0")

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
    exit 2
}

die_usage() {
    echo "$PROG: $*" >&2
    echo "run '$PROG --help' for the options" >&2
    exit 2
}

url="" secret_arn="" number="INC9999001" priority="1" sys_id="" dry_run=0
short_description="Phone escalation test call"
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage ;;
        --secret-arn) [ $# -ge 2 ] || die_usage "--secret-arn needs a value"; secret_arn=$2; shift 2 ;;
        --number) [ $# -ge 2 ] || die_usage "--number needs a value"; number=$2; shift 2 ;;
        --priority) [ $# -ge 2 ] || die_usage "--priority needs a value"; priority=$2; shift 2 ;;
        --sys-id) [ $# -ge 2 ] || die_usage "--sys-id needs a value"; sys_id=$2; shift 2 ;;
        --short-description) [ $# -ge 2 ] || die_usage "--short-description needs a value"; short_description=$2; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        -*) die_usage "unknown option $1" ;;
        *) [ -z "$url" ] || die_usage "only one TRIGGER_URL, got '$url' and '$1'"; url=$1; shift ;;
    esac
done

[ -n "$url" ] || die_usage "missing TRIGGER_URL (the stack output TriggerUrl)"
[[ $url =~ ^https?://[^[:space:]]+$ ]] || die_usage "TRIGGER_URL must be an http(s) URL, got '$url'"
[[ $number =~ ^[A-Za-z0-9_-]{1,40}$ ]] || die_usage "--number must be letters, digits, - or _ (e.g. INC9999001), got '$number'"
[[ $priority =~ ^[1-5]$ ]] || die_usage "--priority must be 1 to 5, got '$priority'"
if [ -n "$sys_id" ] && ! [[ $sys_id =~ ^[0-9a-fA-F]{32}$ ]]; then
    die_usage "--sys-id must be 32 hex digits, got '$sys_id'"
fi
command -v openssl >/dev/null 2>&1 || { echo "$PROG: openssl is required (apt-get install openssl)" >&2; exit 2; }
if [ "$dry_run" = 0 ]; then
    command -v curl >/dev/null 2>&1 || { echo "$PROG: curl is required (apt-get install curl)" >&2; exit 2; }
fi

# ---- the key ---------------------------------------------------------------------------
if [ -n "$secret_arn" ]; then
    command -v aws >/dev/null 2>&1 || { echo "$PROG: --secret-arn needs the AWS CLI ('aws') on PATH" >&2; exit 2; }
    command -v python3 >/dev/null 2>&1 || { echo "$PROG: --secret-arn needs python3 to read the secret's JSON" >&2; exit 2; }
    secret_json=$(aws secretsmanager get-secret-value --secret-id "$secret_arn" --query SecretString --output text) \
        || { echo "$PROG: could not read the secret $secret_arn" >&2; exit 1; }
    TRIGGER_HMAC_KEY=$(printf '%s' "$secret_json" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("trigger_hmac_key",""))') \
        || { echo "$PROG: the secret $secret_arn is not JSON" >&2; exit 1; }
fi
key_b64=${TRIGGER_HMAC_KEY:-}
[ -n "$key_b64" ] || die_usage "no key: set TRIGGER_HMAC_KEY to the base64 trigger_hmac_key, or pass --secret-arn"
[ "$key_b64" != "FILL_ME" ] || die_usage "trigger_hmac_key is still FILL_ME: fill in the secret first (docs/DEPLOY.md)"
key_hex=$(printf '%s' "$key_b64" | openssl base64 -d -A 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
# At least 16 key bytes, as the Lambda requires (escalation::signature).
[ "${#key_hex}" -ge 32 ] || die_usage "the key must be base64 of at least 16 bytes (e.g. openssl rand -base64 32)"

# ---- the request -----------------------------------------------------------------------
[ -n "$sys_id" ] || sys_id=$(openssl rand -hex 16)
json_escape() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr -d '\000-\037'; }
body=$(printf '{"sys_id":"%s","number":"%s","short_description":"%s","priority":"%s","assignment_group":null}' \
    "$sys_id" "$number" "$(json_escape "$short_description")" "$priority")
timestamp=$(date +%s)
signature=$(printf '%s.%s' "$timestamp" "$body" \
    | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key_hex" -binary | openssl base64 -A)

if [ "$dry_run" = 1 ]; then
    printf 'POST %s\n' "$url"
    printf 'Content-Type: application/json\n'
    printf 'X-Signature-Timestamp: %s\n' "$timestamp"
    printf 'X-Signature: %s\n\n' "$signature"
    printf '%s\n' "$body"
    exit 0
fi

echo "$PROG: POST $url (incident $number, sys_id $sys_id, priority $priority)" >&2
response=$(mktemp)
trap 'rm -f "$response"' EXIT
status=$(curl -sS -o "$response" -w '%{http_code}' --max-time 30 -X POST \
    -H 'Content-Type: application/json' \
    -H "X-Signature-Timestamp: $timestamp" \
    -H "X-Signature: $signature" \
    --data-binary "$body" "$url") || { echo "$PROG: the request failed (no HTTP answer): check TRIGGER_URL" >&2; exit 1; }
echo "HTTP $status"
cat "$response"
echo
case "$status" in
    202) echo "$PROG: escalation started: the first agent's phone should ring within seconds" >&2 ;;
    200) echo "$PROG: an escalation already exists for sys_id $sys_id: no new call (use another --sys-id)" >&2 ;;
    401) echo "$PROG: signature refused: the key differs from trigger_hmac_key in the secret, or this machine's clock is more than 5 minutes off" >&2 ;;
    400) echo "$PROG: the trigger refused the body (see the answer above)" >&2 ;;
    403) echo "$PROG: 403 from the function URL: its resource policy does not allow public invocation (AuthType NONE); redeploy the stack" >&2 ;;
    503) echo "$PROG: the function could not reach DynamoDB, SQS or Twilio: see its CloudWatch logs (docs/DEPLOY.md, troubleshooting)" >&2 ;;
    *) echo "$PROG: unexpected answer; see the function's CloudWatch logs" >&2 ;;
esac
case "$status" in 2??) exit 0 ;; *) exit 1 ;; esac
