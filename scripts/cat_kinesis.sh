#!/usr/bin/env bash
# Tail a Kinesis stream and print each record as (pretty) JSON: one Twilio Event Streams
# CloudEvent per record.
#
#   usage: scripts/cat_kinesis.sh STREAM_NAME [SHARD_ID]
#
# Starts at the LATEST position (only records written after start-up are shown) of SHARD_ID,
# default the stream's first shard, then polls get-records once a second until interrupted
# (Ctrl-C) or the shard is closed. Records that are not JSON are printed as raw text.
#
# Environment:
#   AWS_ENDPOINT_URL   if set, passed as --endpoint-url (e.g. moto: http://127.0.0.1:4566)
#   POLL_SECONDS       pause between get-records calls (default 1; Kinesis allows 5 reads/s/shard)
#   AWS_REGION / AWS_PROFILE as usual for the AWS CLI
#
# Pretty-printing uses jq when it is on PATH, otherwise python3 (-m json.tool).
#
# Exit codes: 0 shard closed, 1 an AWS call failed, 2 wrong usage or missing tool.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PROG=$(basename "$0")

usage() {
    cat >&2 <<EOF
usage: $PROG STREAM_NAME [SHARD_ID]

Tails Kinesis stream STREAM_NAME from the LATEST position of SHARD_ID (default: the first
shard) and prints every record base64-decoded, as pretty JSON.

Environment: AWS_ENDPOINT_URL (e.g. http://127.0.0.1:4566 for moto), POLL_SECONDS (default 1),
AWS_REGION, AWS_PROFILE.
EOF
    exit "${1:-2}"
}

one_or_two_args "$@"
STREAM_NAME=$1
SHARD_ID=${2:-}
POLL_SECONDS=${POLL_SECONDS:-1}
check_stream_name "$STREAM_NAME"
if ! [[ $POLL_SECONDS =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    echo "$PROG: POLL_SECONDS must be a number, got '$POLL_SECONDS'" >&2
    exit 2
fi

require_aws_cli
if command -v jq >/dev/null 2>&1; then
    HAVE_JQ=1
elif command -v python3 >/dev/null 2>&1; then
    HAVE_JQ=0
else
    echo "$PROG: need jq or python3 on PATH to decode records" >&2
    exit 2
fi

# Print the base64 Data of every record in a get-records response (stdin), one per line.
record_data() {
    if [[ $HAVE_JQ == 1 ]]; then
        jq -r '.Records[]?.Data'
    else
        python3 -c 'import json,sys
for r in json.load(sys.stdin).get("Records") or []:
    print(r["Data"])'
    fi
}

# NextShardIterator of a get-records response (stdin); empty when the shard is closed.
next_iterator() {
    if [[ $HAVE_JQ == 1 ]]; then
        jq -r '.NextShardIterator // empty'
    else
        python3 -c 'import json,sys
print(json.load(sys.stdin).get("NextShardIterator") or "")'
    fi
}

# Pretty-print one decoded record (stdin); fall back to the raw text when it is not JSON.
pretty() {
    local raw
    raw=$(cat)
    if [[ $HAVE_JQ == 1 ]]; then
        printf '%s\n' "$raw" | jq . 2>/dev/null || printf '%s\n' "$raw"
    else
        printf '%s\n' "$raw" | python3 -m json.tool 2>/dev/null || printf '%s\n' "$raw"
    fi
}

if [[ -z $SHARD_ID ]]; then
    SHARD_ID=$(awsx kinesis list-shards --stream-name "$STREAM_NAME" \
        --query 'Shards[0].ShardId' --output text) || die "kinesis list-shards failed"
    [[ -n $SHARD_ID && $SHARD_ID != None ]] || die "stream '$STREAM_NAME' has no shards"
fi

ITERATOR=$(awsx kinesis get-shard-iterator --stream-name "$STREAM_NAME" --shard-id "$SHARD_ID" \
    --shard-iterator-type LATEST --query 'ShardIterator' --output text) \
    || die "kinesis get-shard-iterator failed"
echo "$PROG: tailing $STREAM_NAME/$SHARD_ID from LATEST (Ctrl-C to stop)" >&2

trap 'echo >&2; exit 0' INT TERM
while [[ -n $ITERATOR && $ITERATOR != None && $ITERATOR != null ]]; do
    RESPONSE=$(awsx kinesis get-records --shard-iterator "$ITERATOR" --limit 100 --output json) \
        || die "kinesis get-records failed"
    while IFS= read -r DATA; do
        [[ -n $DATA ]] || continue
        if DECODED=$(printf '%s' "$DATA" | base64 --decode 2>/dev/null); then
            printf '%s' "$DECODED" | pretty
        else
            echo "$PROG: record is not valid base64: $DATA" >&2
        fi
    done < <(printf '%s' "$RESPONSE" | record_data)
    ITERATOR=$(printf '%s' "$RESPONSE" | next_iterator)
    sleep "$POLL_SECONDS"
done
echo "$PROG: shard $SHARD_ID is closed" >&2
