//! template.yaml's resources, and the sizing of each function as the two deployment paths
//! give it: template.yaml (MemorySize, Timeout, Description) and the
//! `[package.metadata.lambda.deploy]` table that `cargo lambda deploy` reads from the
//! function's Cargo.toml (read here through `cargo metadata`, as cargo-lambda reads it).

use std::process::Command;

use serde_json::Value;

/// Memory (MB), timeout (s) and description of one function.
#[derive(Debug, PartialEq, Eq)]
pub struct Sizing {
    pub memory: u64,
    pub timeout: u64,
    pub description: String,
}

/// The number after `key:` on the first line that has it in `section`.
fn number(section: &str, key: &str) -> Option<u64> {
    section.lines().find_map(|l| {
        let rest = l.trim().strip_prefix(key)?.strip_prefix(':')?;
        rest.split('#').next()?.trim().parse().ok()
    })
}

/// template.yaml's Globals section, and the rest of the resource in which `marker` stands
/// (up to the next top-level resource).
pub fn globals_and_resource<'a>(template: &'a str, marker: &str) -> (&'a str, &'a str) {
    let globals = template
        .split_once("\nGlobals:")
        .and_then(|(_, rest)| rest.split_once("\nResources:"))
        .map(|(g, _)| g)
        .expect("template.yaml has Globals before Resources");
    let (_, rest) = template
        .split_once(marker)
        .unwrap_or_else(|| panic!("template.yaml has no {marker:?}"));
    // The resource ends where the next top-level resource starts.
    let end = rest
        .match_indices("\n  ")
        .find(|(i, _)| rest[i + 3..].starts_with(|c: char| c.is_ascii_alphabetic()))
        .map_or(rest.len(), |(i, _)| i);
    (globals, &rest[..end])
}

/// What template.yaml gives the function built from binary `bin` (Globals where the
/// function says nothing).
pub fn template_sizing(template: &str, bin: &str) -> Sizing {
    let (globals, own) = globals_and_resource(template, &format!("Binary: {bin}\n"));
    let description = own
        .lines()
        .find_map(|l| l.strip_prefix("      Description: "))
        .unwrap_or_else(|| panic!("template.yaml gives {bin} no Description"))
        .trim()
        .to_owned();
    Sizing {
        memory: number(own, "MemorySize")
            .or_else(|| number(globals, "MemorySize"))
            .expect("a MemorySize"),
        timeout: number(own, "Timeout")
            .or_else(|| number(globals, "Timeout"))
            .expect("a Timeout"),
        description,
    }
}

/// `[package.metadata.lambda.deploy]` of every workspace package that has one, by package
/// name.
pub fn cargo_deploy_metadata(manifest: &std::path::Path) -> Vec<(String, Value)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let deploy = p.pointer("/metadata/lambda/deploy")?;
            Some((p["name"].as_str()?.to_owned(), deploy.clone()))
        })
        .collect()
}

/// The sizing a package's deploy metadata gives.
pub fn metadata_sizing(deploy: &Value) -> Sizing {
    Sizing {
        memory: deploy["memory"].as_u64().expect("memory"),
        timeout: deploy["timeout"].as_u64().expect("timeout"),
        description: deploy["description"]
            .as_str()
            .expect("description")
            .to_owned(),
    }
}
