# Shared by the scripts: a Python venv with moto (and cargo-lambda, the Lambda runtime
# emulator), and a moto server on a free loopback port that is always stopped on exit (also
# on Ctrl-C), for scripts/test.sh and scripts/demo.sh; the AWS CLI helpers of the Kinesis
# scripts (awsx, require_aws_cli, one_or_two_args, check_stream_name, die: they name the
# script by $PROG and call its usage).
# Progress messages go to stderr, so stdout stays free for a program's output (e.g.
# `scripts/demo.sh --json`).
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
MOTO_SPEC="${MOTO_SPEC:-moto[server]>=5.2,<6}"
CARGO_LAMBDA_SPEC="${CARGO_LAMBDA_SPEC:-cargo-lambda>=1.9.2,<2}"

ensure_venv() {
    if [ ! -x "$VENV/bin/moto_server" ]; then
        echo "==> installing moto into $VENV" >&2
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "$MOTO_SPEC"
    fi
}

# cargo-lambda (PyPI wheel with the binary) into the same venv; callers put "$VENV/bin" on
# PATH so `cargo lambda ...` finds it. `cargo lambda watch` needs no zig (host builds only).
ensure_cargo_lambda() {
    ensure_venv
    if [ ! -x "$VENV/bin/cargo-lambda" ]; then
        echo "==> installing cargo-lambda into $VENV" >&2
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "$CARGO_LAMBDA_SPEC"
    fi
}

MOTO_PID=""
stop_moto() {
    if [ -n "$MOTO_PID" ] && kill -0 "$MOTO_PID" 2>/dev/null; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
    MOTO_PID=""
}

start_moto() {
    local port log
    port="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    log="${TMPDIR:-/tmp}/moto-$port.log"
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    MOTO_PID=$!
    trap stop_moto EXIT
    trap 'stop_moto; exit 130' INT TERM
    for _ in $(seq 1 100); do
        if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
            export MOTO_ENDPOINT="http://127.0.0.1:$port"
            echo "==> moto server on $MOTO_ENDPOINT (pid $MOTO_PID)" >&2
            return 0
        fi
        if ! kill -0 "$MOTO_PID" 2>/dev/null; then
            echo "moto server exited; its log ($log):" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "moto server did not answer on port $port within 20 s; log: $log" >&2
    return 1
}

die() {
    echo "$PROG: error: $*" >&2
    exit 1
}

# aws CLI, pointed at AWS_ENDPOINT_URL when that is set.
awsx() {
    if [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
        aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"
    else
        aws "$@"
    fi
}

# Exit 2 with a hint when the AWS CLI is not installed.
require_aws_cli() {
    if ! command -v aws >/dev/null 2>&1; then
        echo "$PROG: the AWS CLI ('aws') is not on PATH. Install it (https://aws.amazon.com/cli/ or 'pip install awscli') and configure credentials." >&2
        exit 2
    fi
}

# The script's arguments are one or two; -h or --help shows its usage (exit 0), a wrong
# count too (exit 2).
one_or_two_args() {
    if [[ $# -lt 1 || $# -gt 2 ]]; then
        usage
    fi
    case "$1" in
        -h | --help) usage 0 ;;
    esac
}

# A Kinesis stream name, or the script's usage (exit 2).
check_stream_name() {
    if ! [[ $1 =~ ^[A-Za-z0-9_.-]{1,128}$ ]]; then
        echo "$PROG: invalid STREAM_NAME '$1' (1-128 characters: letters, digits, _ . -)" >&2
        usage
    fi
}
