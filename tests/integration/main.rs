//! End-to-end tests that run the real `leian` binary. One test binary, a module per feature.

mod cli_eval;
mod cli_ingest_search;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared real data, when present (CI and dev machines have it beside the repo).
pub fn shared_data() -> Option<PathBuf> {
    let p = repo().join("../shared/data");
    if p.join("README.md").exists() {
        Some(p)
    } else {
        eprintln!("skipping: ../shared/data not present");
        None
    }
}

/// Runs `leian ARGS` and returns its output (does not assert success).
pub fn leian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leian"))
        .args(args)
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .output()
        .expect("the leian binary runs")
}

/// Runs `leian ARGS`, asserts success and returns stdout.
pub fn leian_ok(args: &[&str]) -> String {
    let out = leian(args);
    assert!(
        out.status.success(),
        "leian {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A fresh index dir with the sample corpus ingested.
pub fn sample_index() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = repo().join("sample");
    leian_ok(&[
        "ingest",
        path_str(&sample),
        "--index",
        path_str(dir.path()),
    ]);
    dir
}
