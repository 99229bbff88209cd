//! `cargo xtask bench`: the benchmarks of issue 8, our stack and smoltcp side by side
//! (`benches/`, results in `docs/benchmarks.md`).
//!
//! ```text
//! cargo xtask bench [--only memory,tap,latency,accept,footprint] [ARGS…]
//! ```
//!
//! | name | what | binary |
//! |---|---|---|
//! | `memory` | 1. bulk TCP in memory, callgrind instructions per byte | `bulk_tcp` |
//! | `tap` | 2. bulk TCP against Linux over TAP, Mbit/s (root) | `tap_bench --only tap` |
//! | `latency` | 3. 64-byte echo round trips over TAP, p50/p99 (root) | `tap_bench --only latency` |
//! | `accept` | 5. accept-and-close connections per second over TAP (root) | `tap_bench --only accept` |
//! | `footprint` | 4. flash and RAM for `thumbv7em-none-eabihf` | `footprint` |
//!
//! Without `--only` every benchmark runs with its defaults. `ARGS` go to the one binary the
//! `--only` list selects (e.g. `--only memory --runs 7`, `--only tap --mb 64 --runs 3`,
//! `--only footprint --opt z`); with several binaries selected, extra arguments are refused.
//! The TAP benchmarks need root (a network namespace and a TAP interface); as another user
//! they are skipped with a message. Every table is printed and saved under
//! `<target dir>/bench/`.

use std::env;
use std::path::PathBuf;
use std::process::Stdio;

use super::{cargo, have_command, is_root, workspace_root};

/// Every benchmark name `--only` accepts, in the order they run.
const NAMES: [&str; 5] = ["memory", "tap", "latency", "accept", "footprint"];

/// Runs the benchmarks `args` select.
pub fn command(args: &[String]) -> Result<(), String> {
    let (only, rest) = match args.first().map(String::as_str) {
        Some("--only") => {
            let list = args
                .get(1)
                .ok_or("--only needs a list, e.g. --only tap,latency")?;
            let names: Vec<String> = list.split(',').map(str::to_string).collect();
            if let Some(bad) = names.iter().find(|n| !NAMES.contains(&n.as_str())) {
                return Err(format!("--only {bad}: one of {}", NAMES.join(", ")));
            }
            (names, &args[2..])
        }
        _ => (NAMES.iter().map(|n| n.to_string()).collect(), args),
    };
    let want = |name: &str| only.iter().any(|n| n == name);
    let tap: Vec<&str> = ["tap", "latency", "accept"]
        .into_iter()
        .filter(|n| want(n))
        .collect();
    let binaries =
        usize::from(want("memory")) + usize::from(!tap.is_empty()) + usize::from(want("footprint"));
    if !rest.is_empty() && binaries > 1 {
        return Err(format!(
            "extra arguments {rest:?} need --only with benchmarks of one binary \
             (memory | tap,latency,accept | footprint)"
        ));
    }
    if want("memory") {
        memory(rest)?;
    }
    if !tap.is_empty() {
        if is_root() {
            let mut extra = vec!["--only".to_string(), tap.join(",")];
            extra.extend(rest.iter().cloned());
            run_bench(
                "TAP benchmarks against Linux (2, 3, 5)",
                "tap_bench",
                &extra,
                "tap.md",
            )?;
        } else {
            eprintln!(
                "\n==> TAP benchmarks ({}): skipped, they need root (network namespace and TAP \
                 interface): run `cargo xtask bench` as root",
                tap.join(", ")
            );
        }
    }
    if want("footprint") {
        run_bench(
            "footprint for thumbv7em-none-eabihf (4)",
            "footprint",
            rest,
            "footprint.md",
        )?;
    }
    Ok(())
}

/// Benchmark 1: `bulk_tcp`, with `--callgrind-mb 16` when valgrind is installed.
fn memory(args: &[String]) -> Result<(), String> {
    let mut extra: Vec<String> = Vec::new();
    if have_command("valgrind") && !args.iter().any(|a| a == "--callgrind-mb") {
        extra.extend(["--callgrind-mb".to_string(), "16".to_string()]);
    } else if !have_command("valgrind") {
        eprintln!("xtask: valgrind not found: no instruction counts (apt-get install valgrind)");
    }
    extra.extend(args.iter().cloned());
    run_bench("bulk TCP in memory (1)", "bulk_tcp", &extra, "bulk_tcp.md")
}

/// Builds and runs one benchmark binary in release, prints its standard output (the tables)
/// and saves it as `<target dir>/bench/<file>`.
fn run_bench(step: &str, bin: &str, args: &[String], file: &str) -> Result<(), String> {
    let mut command = cargo();
    command.args([
        "run",
        "--release",
        "-p",
        "stackgen-benches",
        "--bin",
        bin,
        "--",
    ]);
    command.args(args);
    eprintln!("\n==> {step} ({command:?})");
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("bench: could not start {command:?}: {error}"))?;
    let table = String::from_utf8_lossy(&output.stdout);
    print!("{table}");
    if !output.status.success() {
        return Err(format!("{bin} failed ({})", output.status));
    }
    let out = target_dir().join("bench");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let path = out.join(file);
    std::fs::write(&path, table.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: table saved as {}", path.display());
    Ok(())
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, relative to the workspace root, or
/// `target`).
fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    }
}
