//! `stackgen build PROFILE`: the profile's stack compiled into its application, linked for the
//! board, and measured.
//!
//! 1. The profile is checked exactly as `stackgen check` does (an invalid profile builds
//!    nothing).
//! 2. The application (`--app DIR`, else the profile's `stack.app`) is built by cargo in release
//!    with LTO for the profile's target, with `STACKGEN_PROFILE` naming the profile, so its
//!    `#[stack_config]` module expands this profile whatever its attribute says.
//! 3. The ELF is copied to `<target>/stackgen/<profile>/firmware.elf`, its raw image written as
//!    `firmware.bin`, and the measurement (pools from the symbol table, flash by module from
//!    the DWARF line tables) written as `budget.md`, `budget.json` and `budget.html`.

use std::path::{Path, PathBuf};

use super::cargo::{self, CargoBuild, CargoError, Progress};
use super::measure::{self, MeasureOptions};
use super::model::{MeasureError, PoolSymbol};
use super::report::{BuildReport, PoolEstimate, ReportInputs};
use crate::codegen::{self, InvalidProfile};
use crate::plan::Plan;
use crate::source::{LoadError, Source};

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The profile file.
    pub profile: PathBuf,
    /// The application crate's directory; `None`: the profile's `stack.app`.
    pub app: Option<PathBuf>,
    /// The target directory; `None`: `$CARGO_TARGET_DIR`, else `target` in the current
    /// directory.
    pub target_dir: Option<PathBuf>,
    /// Progress display while cargo runs.
    pub progress: Progress,
}

/// A finished build.
#[derive(Debug)]
pub struct Built {
    /// The directory every output is in: `<target>/stackgen/<profile>`.
    pub dir: PathBuf,
    /// `firmware.elf`.
    pub elf: PathBuf,
    /// `firmware.bin`.
    pub bin: PathBuf,
    /// The budget report (also written as `budget.md`, `budget.json`, `budget.html`).
    pub report: BuildReport,
    /// The plan the firmware was built from.
    pub plan: Plan,
}

/// Why `stackgen build` produced no firmware or no report.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The profile could not be read.
    #[error("{0}")]
    Load(#[from] LoadError),
    /// The profile is invalid: each error rendered as `stackgen check` renders it.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
    /// Neither `--app` nor the profile's `stack.app` names an application.
    #[error(
        "{profile} names no application to build: add `app = \"../examples/<crate>\"` to \
         [stack], or pass --app DIR"
    )]
    NoApp {
        /// The profile's path.
        profile: String,
    },
    /// The application directory has no Cargo.toml.
    #[error("{dir} is not a crate (no Cargo.toml)")]
    NotACrate {
        /// The directory.
        dir: String,
    },
    /// cargo failed.
    #[error(transparent)]
    Cargo(#[from] CargoError),
    /// The ELF could not be measured.
    #[error(transparent)]
    Measure(#[from] MeasureError),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Builds and measures; see the module documentation.
pub fn build(options: &BuildOptions) -> Result<Built, BuildError> {
    let source = Source::load(&options.profile)?;
    let plan = codegen::plan_for_codegen(&source)
        .map_err(|invalid: InvalidProfile| BuildError::Invalid(invalid.rendered(&source)))?;
    let profile_dir = options
        .profile
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let app_dir = match (&options.app, &plan.app) {
        (Some(app), _) => app.clone(),
        (None, Some(app)) => profile_dir.join(app),
        (None, None) => {
            return Err(BuildError::NoApp {
                profile: options.profile.display().to_string(),
            });
        }
    };
    if !app_dir.join("Cargo.toml").is_file() {
        return Err(BuildError::NotACrate {
            dir: app_dir.display().to_string(),
        });
    }
    // Canonical, so `profiles/../examples/app` matches the paths in the debug information.
    let app_dir = app_dir
        .canonicalize()
        .unwrap_or_else(|_| absolute(&app_dir));
    let target_dir = absolute(&options.target_dir.clone().unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .filter(|dir| !dir.is_empty())
            .map_or_else(|| PathBuf::from("target"), PathBuf::from)
    }));
    let profile_path = absolute(&options.profile);
    let executable = cargo::build(&CargoBuild {
        app_dir: &app_dir,
        target: &plan.target,
        target_dir: &target_dir.join("firmware"),
        profile: &profile_path,
        progress: options.progress,
    })?;

    let stem = options
        .profile
        .file_stem()
        .map_or_else(|| plan.name.clone(), |s| s.to_string_lossy().into_owned());
    let dir = target_dir.join("stackgen").join(stem);
    std::fs::create_dir_all(&dir).map_err(|source| write_error(&dir, source))?;
    let elf = dir.join("firmware.elf");
    std::fs::copy(&executable, &elf).map_err(|source| write_error(&elf, source))?;
    let bin = dir.join("firmware.bin");
    measure::write_bin(&elf, &bin)?;

    let symbols: Vec<PoolSymbol> = plan
        .pools
        .iter()
        .map(|pool| PoolSymbol {
            id: pool.id.to_string(),
            static_name: pool.static_name.to_string(),
        })
        .collect();
    let mut measure_options = MeasureOptions::new(&symbols);
    measure_options.app_dir = Some(&app_dir);
    let measurement = measure::measure(&elf, &measure_options)?;
    let app = app_dir
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    let report = BuildReport::new(ReportInputs {
        profile: source.name().to_string(),
        stack: plan.name.clone(),
        board: plan.board.name.to_string(),
        target: plan.target.clone(),
        app,
        firmware: display_relative(&elf),
        estimates: plan
            .pools
            .iter()
            .map(|pool| PoolEstimate {
                id: pool.id.to_string(),
                name: pool.name.to_string(),
                knob: pool.knob.to_string(),
                count: pool.count,
                element: pool.element,
                bytes: pool.bytes(),
            })
            .collect(),
        measurement,
        stack_reserve: plan.board.stack_reserve,
        ram_max: plan.limits.ram_max,
        flash_max: plan.limits.flash_max,
    });
    for (name, text) in [
        ("budget.md", report.markdown()),
        ("budget.json", report.json()),
        ("budget.html", report.html()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| write_error(&path, source))?;
    }
    Ok(Built {
        dir,
        elf,
        bin,
        report,
        plan,
    })
}

fn write_error(path: &Path, source: std::io::Error) -> BuildError {
    BuildError::Write {
        path: path.display().to_string(),
        source,
    }
}

/// `path` made absolute against the current directory (without resolving links).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `path` relative to the current directory when it is inside it, else as it is.
pub fn display_relative(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}
