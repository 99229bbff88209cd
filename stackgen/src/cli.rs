//! The command line: `stackgen check`, `stackgen budget`, `stackgen generate`, `stackgen build`,
//! `stackgen run`, `stackgen schema`.
//!
//! [`run()`] takes the arguments and two writers and returns the exit code, so tests drive exactly
//! what the binary does. Exit codes: [`EXIT_OK`], [`EXIT_INVALID`], [`EXIT_USAGE`].

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::budget::{Budget, Format};
use crate::build::cargo::Progress;
use crate::build::firmware::{self, BuildOptions, Built};
use crate::build::run::{self, Network};
use crate::codegen::{self, GenerateError, RuntimeDependency};
use crate::diagnostic::ToDiagnostic;
use crate::plan::Plan;
use crate::profile::Profile;
use crate::source::Source;

/// Success: the profile is valid (and has no warnings, under `--deny-warnings`).
pub const EXIT_OK: u8 = 0;
/// The profile is invalid, unreadable, over its budget, or has warnings under `--deny-warnings`.
pub const EXIT_INVALID: u8 = 1;
/// The command line itself is wrong (clap's usage errors).
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "stackgen",
    version,
    about = "Validates a network-stack profile, sizes every pool and reports the RAM budget."
)]
struct Cli {
    /// Treat warnings as errors (exit code 1).
    #[arg(long, global = true)]
    deny_warnings: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a profile; print the resolved plan and its warnings.
    Check {
        /// The profile, e.g. profiles/stm32f407.toml.
        profile: PathBuf,
    },
    /// Print the RAM budget: one row per pool, totals against budget.ram_max.
    Budget {
        /// The profile, e.g. profiles/stm32f407.toml.
        profile: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Write a crate (Cargo.toml + src/lib.rs) that owns every pool of the profile's stack.
    ///
    /// The crate depends on stack-runtime by path: by default the stack-runtime of the
    /// repository this stackgen was built in, written relative to DIR.
    Generate {
        /// The profile, e.g. profiles/host-tap.toml.
        profile: PathBuf,
        /// The directory to write the crate to (created if missing; files in it are replaced).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The stack-runtime crate to depend on (a directory with its Cargo.toml), instead of
        /// the one in stackgen's own repository.
        #[arg(long, value_name = "PATH")]
        runtime_path: Option<PathBuf>,
    },
    /// Build the profile's application as firmware and report its memory, measured in the ELF.
    ///
    /// Writes firmware.elf, firmware.bin, budget.md, budget.json and budget.html under
    /// target/stackgen/<profile>/. Exit code 1 when the firmware is over budget.ram_max or
    /// budget.flash_max.
    Build {
        /// The profile, e.g. profiles/stm32f407.toml.
        profile: PathBuf,
        /// The application crate (a directory with its Cargo.toml), instead of the profile's
        /// `stack.app`.
        #[arg(long, value_name = "DIR")]
        app: Option<PathBuf>,
        /// The target directory (default: $CARGO_TARGET_DIR, else ./target).
        #[arg(long, value_name = "DIR")]
        target_dir: Option<PathBuf>,
    },
    /// Build, then run the firmware in QEMU with its console on standard output.
    ///
    /// Networking: --tap NAME (an existing TAP device), or QEMU user networking with
    /// restrict=on and TCP forwards from 127.0.0.1 (--forward 7007:7).
    Run {
        /// The profile, e.g. profiles/qemu-mps2-an386.toml.
        profile: PathBuf,
        /// The application crate, instead of the profile's `stack.app`.
        #[arg(long, value_name = "DIR")]
        app: Option<PathBuf>,
        /// The target directory (default: $CARGO_TARGET_DIR, else ./target).
        #[arg(long, value_name = "DIR")]
        target_dir: Option<PathBuf>,
        /// Attach the NIC to this existing TAP device.
        #[arg(long, value_name = "NAME", conflicts_with = "forward")]
        tap: Option<String>,
        /// Forward TCP port HOST on 127.0.0.1 to the firmware's port FIRMWARE (repeatable).
        #[arg(long, value_name = "HOST:FIRMWARE")]
        forward: Vec<crate::build::run::Forward>,
    },
    /// Print the JSON Schema of profiles (for editors such as taplo).
    Schema,
}

/// Runs the command line given by `args` (including the program name), writing results to
/// `out` and diagnostics to `err`; returns the process exit code.
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let text = error.render().to_string();
            // --help and --version are not errors: they go to standard output and exit 0.
            if error.use_stderr() {
                let _ = write!(err, "{text}");
                return EXIT_USAGE;
            }
            let _ = write!(out, "{text}");
            return EXIT_OK;
        }
    };
    match cli.command {
        Command::Build {
            profile,
            app,
            target_dir,
        } => match build_firmware(profile, app, target_dir, out, err) {
            Ok(_) => EXIT_OK,
            Err(status) => status,
        },
        Command::Run {
            profile,
            app,
            target_dir,
            tap,
            forward,
        } => {
            let built = match build_firmware(profile, app, target_dir, out, err) {
                Ok(built) => built,
                Err(status) => return status,
            };
            let network = match tap {
                Some(name) => Network::Tap(name),
                None => Network::User(forward),
            };
            let _ = out.flush();
            match run::run(&built.plan, &built.elf, &network) {
                Ok(0) => EXIT_OK,
                Ok(_) => EXIT_INVALID,
                Err(error) => {
                    let _ = writeln!(err, "error: {error}");
                    EXIT_INVALID
                }
            }
        }
        Command::Schema => {
            let _ = write!(out, "{}", crate::schema::schema_text());
            EXIT_OK
        }
        Command::Check { profile } => match Source::load(&profile) {
            Ok(source) => check(&source, cli.deny_warnings, out, err),
            Err(error) => {
                let _ = writeln!(err, "{error}");
                EXIT_INVALID
            }
        },
        Command::Budget { profile, format } => match Source::load(&profile) {
            Ok(source) => budget(&source, format, cli.deny_warnings, out, err),
            Err(error) => {
                let _ = writeln!(err, "{error}");
                EXIT_INVALID
            }
        },
        Command::Generate {
            profile,
            out: dir,
            runtime_path,
        } => match Source::load(&profile) {
            Ok(source) => generate(
                &source,
                &dir,
                runtime_path.as_deref(),
                cli.deny_warnings,
                out,
                err,
            ),
            Err(error) => {
                let _ = writeln!(err, "{error}");
                EXIT_INVALID
            }
        },
    }
}

/// `stackgen build`: builds and measures, prints where the files are and the report's summary.
/// The build, or the exit code when it failed or the firmware is over a limit.
fn build_firmware(
    profile: PathBuf,
    app: Option<PathBuf>,
    target_dir: Option<PathBuf>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Built, u8> {
    let options = BuildOptions {
        profile,
        app,
        target_dir,
        progress: Progress::Auto,
    };
    match firmware::build(&options) {
        Ok(built) => match report_build(&built, out) {
            EXIT_OK => Ok(built),
            status => Err(status),
        },
        Err(error) => {
            let _ = writeln!(err, "error: {error}");
            Err(EXIT_INVALID)
        }
    }
}

/// Prints where a build's files are and the report's summary; exit code 1 when the firmware
/// is over a limit.
fn report_build(built: &Built, out: &mut dyn Write) -> u8 {
    let _ = writeln!(
        out,
        "firmware: {} ({}), report: {}",
        firmware::display_relative(&built.elf),
        firmware::display_relative(&built.bin),
        firmware::display_relative(&built.dir.join("budget.md"))
    );
    let _ = write!(out, "{}", built.report.summary());
    if built.report.over_limit() {
        EXIT_INVALID
    } else {
        EXIT_OK
    }
}

/// `stackgen generate` on a loaded profile: validates it as `check` does (errors and limits
/// stop it; warnings are printed, and denied under `--deny-warnings`), then writes
/// `dir/Cargo.toml` and `dir/src/lib.rs` and names them on `out`.
///
/// stack-runtime is found at `runtime_path` when given, else in stackgen's own repository;
/// either way the dependency is written as a path relative to `dir`.
pub fn generate(
    source: &Source,
    dir: &Path,
    runtime_path: Option<&Path>,
    deny_warnings: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let Some(plan) = plan_or_report(source, err) else {
        return EXIT_INVALID;
    };
    let status = finish(source, &plan, deny_warnings, err);
    if status != EXIT_OK {
        return status;
    }
    match write_generated(source, &plan, dir, runtime_path) {
        Ok(()) => {
            let _ = writeln!(
                out,
                "wrote {} and {}",
                dir.join("Cargo.toml").display(),
                dir.join("src").join("lib.rs").display()
            );
            EXIT_OK
        }
        Err(error) => {
            let _ = writeln!(err, "{error}");
            EXIT_INVALID
        }
    }
}

fn write_generated(
    source: &Source,
    plan: &Plan,
    dir: &Path,
    runtime_path: Option<&Path>,
) -> Result<(), GenerateError> {
    let runtime = match runtime_path {
        Some(path) => {
            if !path.join("Cargo.toml").is_file() {
                return Err(GenerateError::NotACrate {
                    path: path.display().to_string(),
                });
            }
            path.canonicalize().map_err(|source| GenerateError::Write {
                path: path.display().to_string(),
                source,
            })?
        }
        None => codegen::repository_runtime().ok_or_else(|| GenerateError::RuntimeNotFound {
            looked_at: format!("{}/../stack-runtime", env!("CARGO_MANIFEST_DIR")),
        })?,
    };
    std::fs::create_dir_all(dir).map_err(|source| GenerateError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    let dir_abs = dir.canonicalize().map_err(|source| GenerateError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    let relative = codegen::relative_path(&dir_abs, &runtime);
    let dependency = RuntimeDependency::Path(relative.to_string_lossy().replace('\\', "/"));
    codegen::generate_crate(plan, source, &dependency).write_to(dir)
}

/// Parses and resolves, printing every error; `None` when the profile is invalid.
fn plan_or_report(source: &Source, err: &mut dyn Write) -> Option<Plan> {
    let profile = match Profile::parse(source) {
        Ok(profile) => profile,
        Err(errors) => {
            report_errors(source, &errors, err);
            return None;
        }
    };
    match Plan::resolve(&profile) {
        Ok(plan) => Some(plan),
        Err(errors) => {
            report_errors(source, &errors, err);
            None
        }
    }
}

fn report_errors<E: ToDiagnostic>(source: &Source, errors: &[E], err: &mut dyn Write) {
    for error in errors {
        let _ = writeln!(err, "{}", error.to_diagnostic().render(source));
    }
    let _ = writeln!(
        err,
        "error: {} is invalid: {} error{}",
        source.name(),
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
}

/// Prints the warnings and the closing line; returns the exit code.
fn finish(source: &Source, plan: &Plan, deny_warnings: bool, err: &mut dyn Write) -> u8 {
    let limit_errors = plan.limit_errors();
    if !limit_errors.is_empty() {
        for warning in &plan.warnings {
            let _ = writeln!(err, "{}", warning.to_diagnostic().render(source));
        }
        report_errors(source, &limit_errors, err);
        return EXIT_INVALID;
    }
    for warning in &plan.warnings {
        let _ = writeln!(err, "{}", warning.to_diagnostic().render(source));
    }
    let count = plan.warnings.len();
    let plural = if count == 1 { "" } else { "s" };
    if deny_warnings && count > 0 {
        let _ = writeln!(
            err,
            "error: {}: {count} warning{plural} denied by --deny-warnings",
            source.name()
        );
        return EXIT_INVALID;
    }
    let _ = writeln!(err, "{}: ok, {count} warning{plural}", source.name());
    EXIT_OK
}

/// `stackgen check` on a loaded profile: plan summary to `out`, diagnostics to `err`.
pub fn check(source: &Source, deny_warnings: bool, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let Some(plan) = plan_or_report(source, err) else {
        return EXIT_INVALID;
    };
    let _ = write!(out, "{}", crate::report::plan_summary(&plan, source.name()));
    finish(source, &plan, deny_warnings, err)
}

/// `stackgen budget` on a loaded profile: the table to `out` (even when over budget, so it shows
/// where the bytes go), diagnostics to `err`.
pub fn budget(
    source: &Source,
    format: Format,
    deny_warnings: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let Some(plan) = plan_or_report(source, err) else {
        return EXIT_INVALID;
    };
    let budget = Budget::from_plan(&plan, source.name());
    let _ = write!(out, "{}", budget.render(format));
    finish(source, &plan, deny_warnings, err)
}
