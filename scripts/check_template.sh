#!/usr/bin/env bash
# Checks template.yaml for real: cfn-lint, `sam validate`, then the SAM template translated
# to plain CloudFormation offline and linted again (plain cfn-lint does not look inside SAM
# event properties). Then proves the check bites: deliberately broken copies must fail.
# Installs cfn-lint and aws-sam-cli into .venv-sam on first use; needs no AWS account.
#
#   usage: scripts/check_template.sh [TEMPLATE]
# With TEMPLATE (e.g. the packaged dist/template.yaml) only that file is checked, and every
# local CodeUri it names must exist beside it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SAM_VENV="${SAM_VENV:-$ROOT/.venv-sam}"
cd "$ROOT"
export SAM_CLI_TELEMETRY=0

if [ ! -x "$SAM_VENV/bin/sam" ] || [ ! -x "$SAM_VENV/bin/cfn-lint" ]; then
    echo "==> installing cfn-lint and aws-sam-cli into $SAM_VENV"
    python3 -m venv "$SAM_VENV"
    # aws-sam-cli pinned: sam_to_cfn.py uses its translator internals.
    "$SAM_VENV/bin/pip" install --quiet --disable-pip-version-check 'aws-sam-cli==1.170.0' 'cfn-lint>=1.58,<2'
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# check TEMPLATE: all three steps, chained so a failed translation never lints an empty file.
check() {
    "$SAM_VENV/bin/cfn-lint" "$1" \
        && "$SAM_VENV/bin/sam" validate --template-file "$1" --region us-east-1 >/dev/null \
        && "$SAM_VENV/bin/python" scripts/sam_to_cfn.py "$1" "$out/translated.yaml" \
        && "$SAM_VENV/bin/cfn-lint" "$out/translated.yaml"
}

if [ $# -gt 0 ]; then
    echo "==> $1"
    check "$1"
    dir="$(dirname "$1")"
    for uri in $(sed -n 's/^ *CodeUri: *\([^ ]*\)$/\1/p' "$1"); do
        [ -e "$dir/$uri" ] || [ -n "${PACKAGE_SKIPPED:-}" ] || { echo "$1: CodeUri $uri does not exist in $dir" >&2; exit 1; }
    done
    echo "$1: ok"
    exit 0
fi

echo "==> template.yaml"
check template.yaml
echo "template.yaml: ok"

# Mutations that plain cfn-lint misses (cfn-lint does not run the SAM transform): each must be caught.
# Format: name|sed pattern|replacement[|text the failure output must contain]. The two E3034
# ones also pass `sam validate`: only the translated template's lint rejects them. The last:
# a function that only exists with LiveDecisions must not be named where it may not exist.
broken=0
while IFS='|' read -r name from to expect; do
    sed "s/$from/$to/" template.yaml >"$out/broken.yaml"
    if cmp -s template.yaml "$out/broken.yaml"; then
        echo "mutation '$name' did not apply: update scripts/check_template.sh" >&2
        exit 1
    fi
    if check "$out/broken.yaml" >"$out/broken.log" 2>&1; then
        echo "the template check MISSED a broken template ($name)" >&2
        broken=1
    elif [ -n "$expect" ] && ! grep -q -- "$expect" "$out/broken.log"; then
        echo "broken copy '$name' was rejected, but not with $expect:" >&2
        cat "$out/broken.log" >&2
        broken=1
    else
        echo "broken copy rejected as it should be: $name${expect:+ ($expect)}"
    fi
done <<'MUTATIONS'
response type typo|ReportBatchItemFailures|ReportBatchItemFailure
bad runtime|provided.al2023|provided.al2099
starting position|TRIM_HORIZON|OLDEST
batching window over 300 s|MaximumBatchingWindowInSeconds: 1$|MaximumBatchingWindowInSeconds: 301|E3034
stream retries over 10000|MaximumRetryAttempts: 10 #|MaximumRetryAttempts: 10001 #|E3034
decision URL auth type|AuthType: NONE # public URL; the attempt|AuthType: PUBLIC # public URL; the attempt
decision URL without its condition|!If \[DecidesLive, !GetAtt CallDecisionFunctionUrl.FunctionUrl, ""\]|!GetAtt CallDecisionFunctionUrl.FunctionUrl|W1001
MUTATIONS
exit "$broken"
