# Shared by scripts/test.sh and scripts/demo.sh: a Python venv with moto (and cargo-lambda,
# the Lambda runtime emulator), and a moto server on a free loopback port that is always
# stopped on exit (also on Ctrl-C). Progress messages go to stderr, so stdout stays free
# for a program's output (e.g. `scripts/demo.sh --json`).
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
