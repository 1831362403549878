#!/usr/bin/env bash
# Runs the escalation end to end on this machine: moto server (Kinesis, DynamoDB, SQS,
# Secrets Manager), ServiceNow and Twilio fakes with simulated agents, and the real
# Lambda handlers. Prints a timeline and a summary; leaves no process behind.
#
# usage: scripts/demo.sh [SCENARIO] [--json]     (scenarios: scripts/scenarios/*.json)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_venv
echo "==> building"
cargo build --quiet --locked -p escalation-devtools --bin demo
start_moto
"$ROOT/target/debug/demo" "$@"
