//! `cargo xtask fuzz [--time SECONDS]`, and the short fuzzing step of `cargo xtask test`.
//!
//! The targets live in `fuzz/` (a cargo-fuzz workspace of its own, built in `fuzz/target`).
//! Each runs for the given time, one process at a time, on its corpus `fuzz/corpus/<target>`
//! (generated, gitignored) seeded from `fuzz/seeds/<target>` (committed, from real captures).
//! Fuzzing needs a nightly toolchain and cargo-fuzz; neither is installed by this task.

use std::path::Path;
use std::process::Command;

use crate::workspace_root;

/// The fuzz targets of `fuzz/fuzz_targets`, in the order they run.
pub const TARGETS: &[&str] = &[
    "ethernet",
    "arp",
    "ipv4",
    "icmpv4",
    "udp",
    "tcp_options",
    "dhcpv4",
    "dns",
    "stack",
];

/// Seconds each target runs under `cargo xtask fuzz` without `--time`.
const DEFAULT_SECONDS: u64 = 60;

/// Seconds each target runs in `cargo xtask test`.
pub const TEST_SECONDS: u64 = 10;

/// `cargo +nightly …` through the rustup proxy, in the workspace root, without the variables of
/// the outer (pinned, stable) cargo that would make cargo-fuzz build with it or elsewhere.
fn nightly_cargo() -> Command {
    let mut command = Command::new("cargo");
    command
        .current_dir(workspace_root())
        .arg("+nightly")
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_TARGET_DIR")
        .env("RUSTUP_AUTO_INSTALL", "0");
    command
}

/// `Ok` when a nightly toolchain and cargo-fuzz are installed, else why not.
pub fn availability() -> Result<(), String> {
    // Ask rustup for its list first: `cargo +nightly` may install a missing toolchain itself.
    let toolchains = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map_err(|_| "rustup not found (cargo-fuzz needs a nightly toolchain)".to_owned())?;
    let listed = String::from_utf8_lossy(&toolchains.stdout)
        .lines()
        .any(|line| line.starts_with("nightly"));
    if !listed {
        return Err("no nightly toolchain (`rustup toolchain install nightly`)".into());
    }
    let nightly = nightly_cargo().arg("--version").output();
    if !nightly.is_ok_and(|out| out.status.success()) {
        return Err("no nightly toolchain (`rustup toolchain install nightly`)".into());
    }
    let fuzz = nightly_cargo().args(["fuzz", "--version"]).output();
    if !fuzz.is_ok_and(|out| out.status.success()) {
        return Err("cargo-fuzz is not installed (`cargo install cargo-fuzz`)".into());
    }
    Ok(())
}

/// `cargo xtask fuzz [--time SECONDS]`.
pub fn command(args: &[String]) -> Result<(), String> {
    let seconds = match args {
        [] => DEFAULT_SECONDS,
        [flag, value] if flag == "--time" => value
            .parse()
            .map_err(|_| format!("--time wants whole seconds, not `{value}`"))?,
        _ => return Err("usage: cargo xtask fuzz [--time SECONDS]".into()),
    };
    availability()?;
    run_all(seconds)
}

/// In `cargo xtask test`: every target for [`TEST_SECONDS`] when fuzzing is possible here,
/// otherwise one line saying why it was skipped.
pub fn test_step() -> Result<(), String> {
    match availability() {
        Ok(()) => run_all(TEST_SECONDS),
        Err(why) => {
            eprintln!("\n==> fuzzing skipped: {why}");
            Ok(())
        }
    }
}

/// Builds every target (debug assertions on), runs each for `seconds`, and prints the
/// executions per target and any crash file. Fails when a target crashed.
fn run_all(seconds: u64) -> Result<(), String> {
    crate::run(
        "fuzz targets (cargo +nightly fuzz build -a)",
        nightly_cargo().args(["fuzz", "build", "-a"]),
    )?;
    let root = workspace_root();
    let mut results = Vec::new();
    for target in TARGETS {
        eprintln!("\n==> fuzz {target} for {seconds} s");
        let corpus = root.join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus)
            .map_err(|error| format!("cannot create {}: {error}", corpus.display()))?;
        let seeds = root.join("fuzz/seeds").join(target);
        let output = nightly_cargo()
            .args(["fuzz", "run", "-a", target])
            .arg(&corpus)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-print_final_stats=1")
            .output()
            .map_err(|error| format!("fuzz {target}: could not start cargo fuzz: {error}"))?;
        let log = String::from_utf8_lossy(&output.stderr);
        let executions = executions(&log);
        let crash = crash_file(&log, &root);
        if !output.status.success() {
            // The end of libFuzzer's report: the panic, the input, how to reproduce.
            let lines: Vec<&str> = log.lines().collect();
            for line in &lines[lines.len().saturating_sub(40)..] {
                eprintln!("{line}");
            }
        }
        let line = match (&crash, output.status.success()) {
            (Some(file), _) => format!("{target}: {executions} executions, CRASH: {file}"),
            (None, false) => format!(
                "{target}: {executions} executions, FAILED ({})",
                output.status
            ),
            (None, true) => format!("{target}: {executions} executions, no crash"),
        };
        eprintln!("{line}");
        results.push((line, output.status.success()));
    }
    eprintln!("\nfuzzing, {seconds} s per target:");
    for (line, _) in &results {
        eprintln!("  {line}");
    }
    if results.iter().all(|(_, ok)| *ok) {
        Ok(())
    } else {
        Err("a fuzz target crashed (see above; add the input to stack-runtime/tests/fuzz_regressions.rs)".into())
    }
}

/// Executions from libFuzzer's log: `stat::number_of_executed_units`, else the `Done N runs`
/// line, else the last `#N` status line.
fn executions(log: &str) -> String {
    let stat = log.lines().find_map(|line| {
        line.strip_prefix("stat::number_of_executed_units:")
            .map(|n| n.trim().to_owned())
    });
    let done = || {
        log.lines().find_map(|line| {
            let rest = line.strip_prefix("Done ")?;
            rest.split_whitespace().next().map(str::to_owned)
        })
    };
    let last_status = || {
        log.lines().rev().find_map(|line| {
            let rest = line.strip_prefix('#')?;
            let n = rest.split_whitespace().next()?;
            n.parse::<u64>().ok().map(|n| n.to_string())
        })
    };
    stat.or_else(done)
        .or_else(last_status)
        .unwrap_or_else(|| "?".into())
}

/// The input libFuzzer saved for a crash (`… Test unit written to PATH`).
fn crash_file(log: &str, root: &Path) -> Option<String> {
    log.lines().find_map(|line| {
        let (_, path) = line.split_once("Test unit written to ")?;
        let path = path.trim();
        Some(root.join(path).display().to_string())
    })
}
