//! The `stackgen` command-line tool: `check`, `budget` and `schema` over a profile.

#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    ExitCode::from(stackgen::cli::run(
        std::env::args_os(),
        &mut stdout,
        &mut stderr,
    ))
}
