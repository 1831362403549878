//! Files of this repository, for the tests that read or run them.

#![allow(dead_code)] // each test file uses what it needs

use std::path::PathBuf;

/// `path` relative to the repository root.
pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// The text of a repository file.
pub fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}
