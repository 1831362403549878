#!/usr/bin/env bash
# Builds every Lambda binary for AWS Lambda on arm64 (Graviton, provided.al2023) with
# `cargo lambda build --release --arm64`, then prints each bootstrap's size and zipped size and
# leaves target/lambda/<binary>/bootstrap.zip next to it (ready for
# `aws lambda update-function-code --zip-file fileb://...` or scripts/deploy_cargo_lambda.sh).
#
#   usage: scripts/build_arm64.sh [BINARY...]      (default: all eight Lambda binaries)
#
# Needs: rustup (adds the aarch64-unknown-linux-gnu target), python3 (cargo-lambda and zig come
# from PyPI into the project venv, .venv, as for scripts/test.sh). Honours CARGO_TARGET_DIR.
#
# Progress goes to stderr; the size table (or the SKIPPED line) to stdout.
# If the aarch64 target or zig cannot be installed (offline machine, no rustup), it prints one
# line `SKIPPED arm64 build: <reason>` and exits 0. A compile error is a failure (exit 1).
# Exit codes: 0 built (or SKIPPED), 1 build failed, 2 wrong usage.
set -euo pipefail
source "$(dirname "$0")/lib.sh" # ROOT, VENV
cd "$ROOT"

ALL_BINARIES=(incident-trigger escalation-dialer flow-events incident-updater escalation-sweeper escalation-canary voice-inbound call-decision)
TARGET_TRIPLE=aarch64-unknown-linux-gnu
# cargo-lambda 1.9.2 and zig 0.17.1 were tested together; scripts/lib.sh may set the shared
# CARGO_LAMBDA_SPEC. cargo-lambda finds zig via `python3 -m ziglang`.
CARGO_LAMBDA_SPEC="${CARGO_LAMBDA_SPEC:-cargo-lambda==1.9.2}"
ZIGLANG_SPEC="${ZIGLANG_SPEC:-ziglang==0.17.1}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

usage() {
    cat >&2 <<EOF
usage: scripts/build_arm64.sh [BINARY...]

Builds the Lambda binaries for arm64 with cargo-lambda (default: ${ALL_BINARIES[*]}).
Output: \$CARGO_TARGET_DIR/lambda/<binary>/bootstrap and bootstrap.zip (default target dir: target/).
EOF
    exit 2
}

skip() {
    echo "SKIPPED arm64 build: $*"
    exit 0
}

binaries=()
for arg in "$@"; do
    case "$arg" in
        -h | --help) usage ;;
        -*) echo "scripts/build_arm64.sh: unknown option $arg" >&2; usage ;;
        *)
            known=0
            for b in "${ALL_BINARIES[@]}"; do [ "$b" = "$arg" ] && known=1; done
            if [ "$known" = 0 ]; then
                echo "scripts/build_arm64.sh: unknown binary '$arg' (one of: ${ALL_BINARIES[*]})" >&2
                exit 2
            fi
            binaries+=("$arg")
            ;;
    esac
done
[ "${#binaries[@]}" -gt 0 ] || binaries=("${ALL_BINARIES[@]}")

# ---- 1. the aarch64 standard library ----------------------------------------------------
if command -v rustup >/dev/null 2>&1; then
    if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET_TRIPLE"; then
        echo "==> rustup target add $TARGET_TRIPLE" >&2
        log=$(mktemp)
        if ! rustup target add "$TARGET_TRIPLE" >"$log" 2>&1; then
            reason=$(tail -n 1 "$log")
            rm -f "$log"
            skip "rustup could not add the $TARGET_TRIPLE target ($reason); run 'rustup target add $TARGET_TRIPLE' where static.rust-lang.org is reachable"
        fi
        rm -f "$log"
    fi
elif [ ! -d "$(rustc --print sysroot 2>/dev/null)/lib/rustlib/$TARGET_TRIPLE" ]; then
    skip "rustup is not installed and rustc has no $TARGET_TRIPLE standard library"
fi

# ---- 2. cargo-lambda and zig in the project venv ----------------------------------------
if [ ! -x "$VENV/bin/cargo-lambda" ] || ! "$VENV/bin/python" -c 'import ziglang' 2>/dev/null; then
    echo "==> installing $CARGO_LAMBDA_SPEC and $ZIGLANG_SPEC into $VENV" >&2
    if [ ! -x "$VENV/bin/python" ] && ! python3 -m venv "$VENV"; then
        skip "could not create the Python venv $VENV (python3 -m venv failed)"
    fi
    if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check "$CARGO_LAMBDA_SPEC" "$ZIGLANG_SPEC"; then
        skip "pip could not install $CARGO_LAMBDA_SPEC and $ZIGLANG_SPEC into $VENV"
    fi
fi
# cargo-lambda looks for `zig` on PATH, then runs `python3 -m ziglang` with the first python3
# on PATH: the venv's bin first makes both the venv's.
export PATH="$VENV/bin:$PATH"
if ! zig_version=$(python3 -m ziglang version 2>/dev/null); then
    skip "zig is not usable: '$VENV/bin/python3 -m ziglang version' failed"
fi
echo "==> $(cargo lambda --version 2>/dev/null || echo 'cargo-lambda ?'), zig $zig_version, target dir $TARGET_DIR" >&2

# ---- 3. build ---------------------------------------------------------------------------
bin_args=()
for b in "${binaries[@]}"; do bin_args+=(--bin "$b"); done
start=$(date +%s)
echo "==> cargo lambda build --release --arm64 ${bin_args[*]}" >&2
if ! cargo lambda build --release --arm64 --locked "${bin_args[@]}"; then
    echo "arm64 build FAILED (see the compiler output above)" >&2
    exit 1
fi
elapsed=$(($(date +%s) - start))

# ---- 4. check, zip and report ------------------------------------------------------------
"$VENV/bin/python" - "$TARGET_DIR" "$elapsed" "${binaries[@]}" <<'PY'
import os, sys, zipfile

target_dir, elapsed, binaries = sys.argv[1], sys.argv[2], sys.argv[3:]
failed = False
print(f"{'binary':<20} {'bootstrap':>12} {'zipped':>12}  arch")
for name in binaries:
    path = os.path.join(target_dir, "lambda", name, "bootstrap")
    if not os.path.isfile(path):
        print(f"{name:<20} missing: {path}", file=sys.stderr)
        failed = True
        continue
    with open(path, "rb") as fh:
        header = fh.read(20)
    # ELF, 64-bit, little endian, e_machine 0xB7 = AArch64.
    is_arm64 = header[:4] == b"\x7fELF" and header[4] == 2 and header[18:20] == b"\xb7\x00"
    archive = path + ".zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o100755 << 16  # executable for the Lambda runtime
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as fh:
            zf.writestr(info, fh.read())
    size, zipped = os.path.getsize(path), os.path.getsize(archive)
    arch = "arm64" if is_arm64 else "NOT arm64"
    print(f"{name:<20} {size:>10,} B {zipped:>10,} B  {arch}")
    failed |= not is_arm64
print(f"built in {elapsed} s; zips: {os.path.join(target_dir, 'lambda', '<binary>', 'bootstrap.zip')}")
sys.exit(1 if failed else 0)
PY
