#!/usr/bin/env bash
# Runs an escalation end to end on this machine with the real Lambda binaries:
# `cargo lambda watch` (the Lambda runtime emulator) runs incident-trigger, flow-events,
# incident-updater, escalation-sweeper and voice-inbound against moto server (Kinesis, DynamoDB, SQS,
# Secrets Manager) and the ServiceNow and Twilio fakes with simulated agents; pollers stand
# in for the Kinesis and SQS event source mappings. Prints a timeline per incident and a
# summary; leaves no process behind, also on Ctrl-C. Installs moto and cargo-lambda into
# .venv on first use.
#
# usage: scripts/demo.sh [SCENARIO] [--json] [--in-process] [--html FILE]   (scenarios: scripts/scenarios/*.json)
#        --html FILE: also write the timeline as one self-contained HTML page
#        scripts/demo.sh plan [--group NAME] [--at 2026-12-01T03:00Z] [--policies FILE] [--number INC0010001] [--priority 1] [--json]   (dry run)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# A relative --html FILE is relative to where the script was called from.
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --html)
            [ $# -ge 2 ] || { echo "scripts/demo.sh: --html needs a file name" >&2; exit 2; }
            case "$2" in /*) args+=(--html "$2") ;; *) args+=(--html "$PWD/$2") ;; esac
            shift 2
            ;;
        *) args+=("$1"); shift ;;
    esac
done
set -- ${args[@]+"${args[@]}"}
cd "$ROOT"

demo="${CARGO_TARGET_DIR:-$ROOT/target}/debug/demo"
case "${1:-}" in
    plan | -h | --help)
        cargo build --quiet --locked --bin demo
        exec "$demo" "$@"
        ;;
esac
# One build for the demo and the functions, selected by --bin at the workspace root as
# `cargo lambda watch` does (`cargo run --bin NAME`): same features, so nothing is
# compiled twice, and the functions' first invocations start at once.
echo "==> building the demo and the Lambda functions (minutes the first time)" >&2
cargo build --locked --bin demo \
    --bin incident-trigger --bin escalation-dialer --bin flow-events --bin incident-updater --bin escalation-sweeper \
    --bin voice-inbound
ensure_cargo_lambda
export PATH="$VENV/bin:$PATH"
start_moto
"$demo" "$@"
