//! The command line: `stackgen check`, `stackgen budget`, `stackgen schema`.
//!
//! [`run`] takes the arguments and two writers and returns the exit code, so tests drive exactly
//! what the binary does. Exit codes: [`EXIT_OK`], [`EXIT_INVALID`], [`EXIT_USAGE`].

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::budget::{Budget, Format};
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
    }
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
