//! End-to-end tests that run the real `leian` binary. One test binary, a module per feature.

mod cli_eval;
mod cli_hybrid;
mod cli_ingest_search;
mod cli_legal;
mod consistency;
mod lifecycle;
mod push;
mod server_api;
mod web_page;

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

/// Runs `leian ARGS` BM25-only (no embedding model) and returns its output (does not
/// assert success). Tests of the dense side use [`leian_with_model`].
pub fn leian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leian"))
        .args(args)
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .env("LEIAN_NO_MODEL", "true")
        .output()
        .expect("the leian binary runs")
}

/// Runs `leian ARGS` with the default model (`models/e5-small`).
pub fn leian_with_model(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leian"))
        .args(args)
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .env_remove("LEIAN_NO_MODEL")
        .output()
        .expect("the leian binary runs")
}

/// The converted default model, when present. With `LEIAN_REQUIRE_MODEL=1` (CI) its
/// absence is a failure, not a skip.
pub fn model_dir() -> Option<PathBuf> {
    let dir = repo().join("models/e5-small");
    if dir.join("model.safetensors").exists() {
        Some(dir)
    } else if std::env::var("LEIAN_REQUIRE_MODEL").as_deref() == Ok("1") {
        panic!("LEIAN_REQUIRE_MODEL=1 but {} has no model", dir.display());
    } else {
        eprintln!(
            "skipping: no model at {} (run `leian model fetch`)",
            dir.display()
        );
        None
    }
}

/// Runs `leian ARGS`, asserts success and returns stdout.
pub fn leian_ok(args: &[&str]) -> String {
    ok(args, leian(args))
}

/// Like [`leian_ok`] with the model.
pub fn leian_model_ok(args: &[&str]) -> String {
    ok(args, leian_with_model(args))
}

fn ok(args: &[&str], out: Output) -> String {
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
    leian_ok(&["ingest", path_str(&sample), "--index", path_str(dir.path())]);
    dir
}
