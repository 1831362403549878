#!/usr/bin/env bash
# Runs every check and test: the SAM template (cfn-lint, sam validate, translated lint, and
# broken copies that must fail), formatting, clippy, unit tests, end-to-end scenarios through
# the real handlers against moto server and the fakes, the local stack under cargo lambda
# watch, every demo scenario in-process, the timeline page in headless Chromium, and the
# release: arm64 zips of every Lambda plus the packaged template, checked like template.yaml
# (scripts/package.sh). Installs moto into .venv and Debian's chromium on first use; starts
# and stops moto itself. The timeline screenshot is kept in $ARTIFACTS_DIR (target/artifacts).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

for tool in node openssl curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required by the tests (tools/admin, scripts)" >&2; exit 1; }
done
ensure_venv
# Debian's Chromium renders the timeline page (tools/devtools/tests/timeline_html.rs).
if [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
    echo "==> installing chromium (Debian) for the timeline page test"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
export ARTIFACTS_DIR="${ARTIFACTS_DIR:-$ROOT/target/artifacts}"
# cargo-lambda runs the real Lambda binaries under its runtime emulator (local stack test).
ensure_cargo_lambda
export PATH="$VENV/bin:$PATH"
echo "==> SAM template checks"
bash scripts/check_template.sh
echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
start_moto
echo "==> cargo test"
log="$(mktemp)"
cargo test --workspace --locked 2>&1 | tee "$log"
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .* ([0-9]+) failed' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
rm -f "$log"
echo "==> every demo scenario, in-process (the local stack test plays three on the real binaries)"
for file in scripts/scenarios/*.json; do
    scenario=$(basename "$file" .json)
    cargo run --quiet --locked --bin demo -- "$scenario" --in-process --json >/dev/null
    echo "demo $scenario: ok (ended as its description promises)"
done
stop_moto
echo "==> release: arm64 Lambda zips and the packaged template (prints SKIPPED if the toolchain cannot be installed)"
bash scripts/package.sh
echo "artifacts: $ARTIFACTS_DIR ($(ls "$ARTIFACTS_DIR" 2>/dev/null | tr '\n' ' '))"
echo "tests: $passed passed, $failed failed"
