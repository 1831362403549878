//! Finding cargo-lambda and building the functions the way `cargo lambda watch` runs them.

use super::FUNCTIONS;
use crate::timeline::Timeline;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

/// How to get cargo-lambda, for error messages.
pub const INSTALL_HINT: &str = "install it into the project venv and put that first on PATH:
    python3 -m venv .venv && .venv/bin/pip install 'cargo-lambda>=1.9.2,<2'
    export PATH=\"$PWD/.venv/bin:$PATH\"
(scripts/lib.sh has ensure_cargo_lambda for this; scripts/demo.sh runs it)";

/// The workspace the functions are built from.
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// `cargo-lambda` on PATH, or an error that says how to install it.
pub fn find_cargo_lambda() -> Result<PathBuf, String> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("cargo-lambda"))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("cargo-lambda is not on PATH: {INSTALL_HINT}"))
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Builds the functions exactly as `cargo lambda watch` will run them: it runs
/// `cargo run --bin NAME` at the workspace root, which selects every workspace member and
/// unifies dependency features across all of them (not just the function's package). The
/// same selection here means its first invocations find the binaries built instead of
/// compiling the dependency graph a second time with other features.
pub async fn build_functions(root: &Path, show: bool, tl: &mut Timeline) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = tokio::process::Command::new(&cargo);
    cmd.arg("build").current_dir(root).kill_on_drop(true);
    for f in FUNCTIONS {
        cmd.args(["--bin", f]);
    }
    if !show {
        cmd.arg("--quiet");
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    tl.stack(&format!(
        "building the Lambda functions: cargo build --bin {} (minutes the first time)",
        FUNCTIONS.join(" --bin ")
    ));
    let started = Instant::now();
    let out = cmd
        .stderr(if show {
            Stdio::inherit()
        } else {
            Stdio::piped()
        })
        .spawn()
        .map_err(|e| format!("running {cargo}: {e}"))?
        .wait_with_output()
        .await
        .map_err(|e| format!("running {cargo}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building the functions failed ({}){}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    tl.stack(&format!(
        "functions built ({:.1} s)",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}
