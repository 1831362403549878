#!/usr/bin/env bash
# Builds a release into dist/: the eight Lambda functions for arm64 as zips, a template that
# deploys them without any build step (each function's CodeUri is its zip), the Studio flow
# and the ServiceNow update set, and SHA256SUMS over all of it. The packaged template goes
# through the same checks as template.yaml (scripts/check_template.sh).
#
#   usage: scripts/package.sh [--no-build] [DIR]     (default DIR: dist)
#
# Deploying the result needs no Rust: docs/DEPLOY.md, "From a release".
# --no-build reuses the zips of an earlier scripts/build_arm64.sh. If the arm64 toolchain
# cannot be installed, the build prints SKIPPED; then only the template is packaged and
# checked, and the script says so and exits 0 (no zips, no SHA256SUMS).
# Exit codes: 0 packaged (or SKIPPED), 1 a build or check failed, 2 wrong usage.
set -euo pipefail
source "$(dirname "$0")/lib.sh" # ROOT, VENV
cd "$ROOT"

BINARIES=(incident-trigger escalation-dialer flow-events incident-updater escalation-sweeper escalation-canary voice-inbound call-decision)
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
build=1
dist=dist
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        -h | --help) sed -n '2,13p' "$0" >&2; exit 2 ;;
        -*) echo "scripts/package.sh: unknown option $arg" >&2; exit 2 ;;
        *) dist="$arg" ;;
    esac
done

skipped=""
if [ "$build" = 1 ]; then
    out=$(bash scripts/build_arm64.sh "${BINARIES[@]}")
    echo "$out"
    case "$out" in SKIPPED*) skipped="$out" ;; esac
fi

rm -rf "$dist"
mkdir -p "$dist"
if [ -z "$skipped" ]; then
    for b in "${BINARIES[@]}"; do
        zip="$TARGET_DIR/lambda/$b/bootstrap.zip"
        [ -f "$zip" ] || { echo "missing $zip: run scripts/build_arm64.sh (or drop --no-build)" >&2; exit 1; }
        cp "$zip" "$dist/$b.zip"
    done
fi
cp infra/twilio/escalation-flow.json infra/servicenow/phone_escalation_update_set.xml "$dist/"

# template.yaml without the build step: no BuildMethod metadata, each function's code is its zip.
python3 - "$dist/template.yaml" "${BINARIES[@]}" <<'PY'
import re, sys
out, binaries = sys.argv[1], sys.argv[2:]
text = open("template.yaml", encoding="utf-8").read()
block = re.compile(
    r"    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n"
    r"        Binary: (?P<bin>[a-z-]+)\n    Properties:\n")
found = []
def code_uri(m):
    found.append(m.group("bin"))
    return f"    Properties:\n      CodeUri: {m.group('bin')}.zip\n"
text = block.sub(code_uri, text)
if sorted(found) != sorted(binaries):
    sys.exit(f"template.yaml functions {sorted(found)} are not the packaged binaries {sorted(binaries)}")
text, n = re.subn(r"\n    CodeUri: \.\n", "\n", text, count=1)
if n != 1:
    sys.exit("template.yaml: Globals CodeUri not found")
text = re.sub(r"\n# Build:.*\n# Deploy:.*\n# Lint:.*\n",
              "\n# Packaged by scripts/package.sh: no build step. Deploy (no Rust needed), from this folder:\n"
              "#   sam deploy --template-file template.yaml --resolve-s3 --guided --capabilities CAPABILITY_IAM\n"
              "# or: aws cloudformation package --template-file template.yaml --s3-bucket BUCKET \\\n"
              "#        --output-template-file packaged.yaml && aws cloudformation deploy --template-file packaged.yaml ...\n",
              text, count=1)
open(out, "w", encoding="utf-8").write(text)
print(f"{out}: {len(found)} functions, code from {', '.join(b + '.zip' for b in found)}")
PY

echo "==> template checks on $dist/template.yaml"
PACKAGE_SKIPPED="$skipped" bash scripts/check_template.sh "$dist/template.yaml"

if [ -n "$skipped" ]; then
    echo "SKIPPED release zips ($skipped); $dist/template.yaml was packaged and checked"
    exit 0
fi
(cd "$dist" && sha256sum -- *.zip template.yaml escalation-flow.json phone_escalation_update_set.xml >SHA256SUMS && sha256sum --quiet -c SHA256SUMS)
echo "==> $dist/"
ls -l "$dist"
