//! Running `cargo build` for the firmware: the application crate in release for the board's
//! target, with a one-line progress display on a terminal and the compiler's messages passed
//! through untouched.
//!
//! Cargo runs with `--message-format json-render-diagnostics`: it renders every diagnostic to
//! standard error itself (so errors look exactly as with a plain `cargo build`), and writes one
//! JSON object per finished crate to standard output, from which the progress line and the
//! path of the linked executable are taken.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

/// Environment variable the `#[stack_config]` macro reads: the profile to expand instead of the
/// one named in the attribute.
pub const PROFILE_ENV: &str = "STACKGEN_PROFILE";

/// How to show progress while cargo builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A spinner with the crate being compiled, when standard error is a terminal.
    Auto,
    /// Nothing but cargo's own diagnostics.
    Quiet,
}

/// One cargo invocation.
#[derive(Debug, Clone)]
pub struct CargoBuild<'a> {
    /// The application crate's directory (cargo runs there, so its `.cargo/config.toml`
    /// applies: linker scripts, runner).
    pub app_dir: &'a Path,
    /// The target triple.
    pub target: &'a str,
    /// Cargo's target directory.
    pub target_dir: &'a Path,
    /// The profile file the application's `#[stack_config]` expands (absolute).
    pub profile: &'a Path,
    /// Progress display.
    pub progress: Progress,
}

/// Why the build produced no firmware.
#[derive(Debug, thiserror::Error)]
pub enum CargoError {
    /// cargo could not be started.
    #[error("cannot run cargo: {0}")]
    Spawn(std::io::Error),
    /// cargo failed; its diagnostics are already on standard error.
    #[error("cargo build failed ({status}); the compiler's messages are above")]
    Failed {
        /// cargo's exit status.
        status: std::process::ExitStatus,
    },
    /// The build succeeded but linked no executable.
    #[error("cargo built no executable in {app}: is it a binary crate?")]
    NoExecutable {
        /// The application directory.
        app: String,
    },
}

/// The part of cargo's JSON messages this module reads.
#[derive(Debug, Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    package_id: Option<String>,
    #[serde(default)]
    target: Option<MessageTarget>,
    #[serde(default)]
    executable: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct MessageTarget {
    name: String,
    #[serde(default)]
    kind: Vec<String>,
}

/// The cargo to run: `$CARGO` when stackgen itself runs under cargo, else `cargo`.
fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Builds the application and returns the path of the linked executable.
pub fn build(build: &CargoBuild<'_>) -> Result<PathBuf, CargoError> {
    let mut command = Command::new(cargo_program());
    command
        .current_dir(build.app_dir)
        .args(["build", "--release", "--quiet", "--target", build.target])
        .arg("--target-dir")
        .arg(build.target_dir)
        .args(["--message-format", "json-render-diagnostics"])
        .env(PROFILE_ENV, build.profile)
        // The rules of `stackgen build`: release with LTO, whatever the crate's profile says.
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().map_err(CargoError::Spawn)?;
    let spinner = build.progress == Progress::Auto && std::io::stderr().is_terminal();
    let mut shown = Spinner::new(spinner);
    let mut executable = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Ok(message) = serde_json::from_str::<Message>(&line) else {
                continue;
            };
            if message.reason != "compiler-artifact" {
                continue;
            }
            if let Some(target) = &message.target {
                shown.crate_done(&target.name);
                let is_bin = target.kind.iter().any(|kind| kind == "bin");
                let in_app = message
                    .package_id
                    .as_deref()
                    .is_some_and(|id| is_package_in(id, build.app_dir));
                if is_bin
                    && let Some(path) = message.executable
                    && (in_app || executable.is_none())
                {
                    executable = Some(path);
                }
            }
        }
    }
    let status = child.wait().map_err(CargoError::Spawn)?;
    shown.clear();
    if !status.success() {
        return Err(CargoError::Failed { status });
    }
    executable.ok_or_else(|| CargoError::NoExecutable {
        app: build.app_dir.display().to_string(),
    })
}

/// Whether a cargo package id (`path+file:///…/examples/app#0.1.0`) is the crate in `dir`.
fn is_package_in(package_id: &str, dir: &Path) -> bool {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let Some(rest) = package_id.strip_prefix("path+file://") else {
        return false;
    };
    let path = rest.split('#').next().unwrap_or(rest);
    Path::new(path) == dir
}

/// The progress line: `⠋ compiling <crate> (N crates done)`, redrawn in place.
struct Spinner {
    enabled: bool,
    done: usize,
}

impl Spinner {
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

    fn new(enabled: bool) -> Spinner {
        Spinner { enabled, done: 0 }
    }

    fn crate_done(&mut self, name: &str) {
        self.done += 1;
        if !self.enabled {
            return;
        }
        let frame = Self::FRAMES[self.done % Self::FRAMES.len()];
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{frame} building firmware: {name} done ({} crates)",
            self.done
        );
        let _ = err.flush();
    }

    fn clear(&self) {
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_ids_match_their_directory() {
        let dir = std::env::current_dir().unwrap();
        let id = format!("path+file://{}#0.1.0", dir.display());
        assert!(is_package_in(&id, &dir));
        assert!(!is_package_in(&id, &dir.join("sub")));
        assert!(!is_package_in(
            "registry+https://github.com/rust-lang/crates.io-index#serde@1.0.0",
            &dir
        ));
    }
}
