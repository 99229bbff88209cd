//! The project's own tasks.
//!
//! `cargo xtask test` is the one command that checks everything: system packages the tests
//! need (installed with apt when run as root), formatting, clippy with `-D warnings`, the
//! `no_std` runtime built for the Cortex-M targets, documentation without warnings, and every
//! test of the workspace, including the end-to-end tests that need network namespaces.

mod bench;
mod fuzz;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// A program the test suite runs, and the Debian package that provides it.
struct SystemTool {
    command: &'static str,
    package: &'static str,
    why: &'static str,
}

/// Everything outside cargo that `cargo xtask test` needs on the machine.
const SYSTEM_TOOLS: &[SystemTool] = &[
    SystemTool {
        command: "ip",
        package: "iproute2",
        why: "creates the network namespaces and TAP devices of the end-to-end tests",
    },
    SystemTool {
        command: "ping",
        package: "iputils-ping",
        why: "sends ICMP echo requests from the kernel side in the end-to-end tests",
    },
    SystemTool {
        command: "python3",
        package: "python3",
        why: "runs tests/scripts/malformed_frames.py, which writes malformed frames into the TAP \
              through a packet socket in the end-to-end tests",
    },
    SystemTool {
        command: "dnsmasq",
        package: "dnsmasq-base",
        why: "serves DHCP and DNS to host-services inside the test namespace in \
              tests/tests/dhcp_dns.rs (dnsmasq-base: the binary without the system service)",
    },
    SystemTool {
        command: "qemu-system-arm",
        package: "qemu-system-arm",
        why: "boots the qemu-services firmware on the mps2-an386 machine (LAN9118 NIC on a TAP) \
              in tests/tests/qemu_board.rs",
    },
];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("deps") => ensure_system_tools(),
        Some("fuzz") => fuzz::command(&args[1..]),
        Some("bench") => bench::command(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <command>\n");
            eprintln!("commands:");
            eprintln!("  test   install missing system packages (as root), then run fmt, clippy,");
            eprintln!("         the firmware-target build, docs and every test");
            eprintln!("  deps   only install (or name) the system packages the tests need");
            eprintln!("  fuzz   run every fuzz target of fuzz/ (nightly + cargo-fuzz) for");
            eprintln!("         --time SECONDS each (default 60); fails on a crash");
            eprintln!("  bench  ours vs smoltcp: [--only memory,tap,latency,accept,footprint]");
            eprintln!("         [ARGS for that benchmark's binary]; TAP ones need root");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

/// Runs one step, printing it first so a CI log reads as a list of what was checked.
fn run(step: &str, command: &mut Command) -> Result<(), String> {
    eprintln!("\n==> {step}");
    let status = command
        .status()
        .map_err(|error| format!("{step}: could not start {command:?}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

fn test() -> Result<(), String> {
    ensure_system_tools()?;
    let firmware_targets = ensure_toolchain()?;
    if !is_root() {
        return Err(
            "the end-to-end tests create network namespaces and TAP devices: \
                    run `cargo xtask test` as root (or with CAP_NET_ADMIN)"
                .into(),
        );
    }
    run(
        "formatting (cargo fmt --check)",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    run(
        "lints (cargo clippy -D warnings)",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    for target in &firmware_targets {
        run(
            &format!("no_std runtime for {target}"),
            cargo().args([
                "build",
                "--locked",
                "-p",
                "stack-runtime",
                "--target",
                target,
            ]),
        )?;
    }
    // The QEMU board crate, linted for the target it runs on (the workspace clippy above lints
    // its host build), then the firmware, a workspace of its own that only builds for
    // thumbv7em-none-eabihf: formatted, linted and built in release into
    // `<target dir>/firmware`, where tests/tests/qemu_board.rs finds the ELF.
    run(
        "lints of the QEMU board for thumbv7em-none-eabihf",
        cargo().args([
            "clippy",
            "--locked",
            "-p",
            "qemu-mps2-an386",
            "--target",
            "thumbv7em-none-eabihf",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    // The root workspace's target directory: `$CARGO_TARGET_DIR` (relative to the workspace
    // root if relative), else `<root>/target`.
    let target_dir = match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    };
    let firmware_dir = workspace_root().join("examples/qemu-services");
    let firmware_target_dir = target_dir.join("firmware");
    run(
        "firmware formatting (examples/qemu-services)",
        cargo()
            .current_dir(&firmware_dir)
            .args(["fmt", "--", "--check"]),
    )?;
    run(
        "firmware lints (examples/qemu-services, release, -D warnings)",
        cargo()
            .current_dir(&firmware_dir)
            .args(["clippy", "--locked", "--release", "--target-dir"])
            .arg(&firmware_target_dir)
            .args(["--", "-D", "warnings"]),
    )?;
    run(
        "firmware build (examples/qemu-services, release, thumbv7em-none-eabihf)",
        cargo()
            .current_dir(&firmware_dir)
            .args(["build", "--locked", "--release", "--target-dir"])
            .arg(&firmware_target_dir),
    )?;
    // The async-API firmware (embassy-executor), a workspace of its own like qemu-services,
    // built into the same `<target dir>/firmware`, where tests/tests/qemu_async.rs finds it.
    let async_firmware_dir = workspace_root().join("examples/qemu-async");
    run(
        "firmware formatting (examples/qemu-async)",
        cargo()
            .current_dir(&async_firmware_dir)
            .args(["fmt", "--", "--check"]),
    )?;
    run(
        "firmware lints (examples/qemu-async, release, -D warnings)",
        cargo()
            .current_dir(&async_firmware_dir)
            .args(["clippy", "--locked", "--release", "--target-dir"])
            .arg(&firmware_target_dir)
            .args(["--", "-D", "warnings"]),
    )?;
    run(
        "firmware build (examples/qemu-async, release, thumbv7em-none-eabihf)",
        cargo()
            .current_dir(&async_firmware_dir)
            .args(["build", "--locked", "--release", "--target-dir"])
            .arg(&firmware_target_dir),
    )?;
    // The STM32F407 firmware, a workspace of its own whose second member is the board crate
    // (boards/stm32f407, kept out of the root workspace: embassy-stm32 builds for the target
    // only). Formatted, linted and built like the QEMU firmware; nothing runs it (hardware).
    let stm32_dir = workspace_root().join("examples/stm32f407-services");
    run(
        "firmware formatting (examples/stm32f407-services, boards/stm32f407)",
        cargo().current_dir(&stm32_dir).args([
            "fmt",
            "-p",
            "stm32f407-services",
            "-p",
            "stm32f407",
            "--",
            "--check",
        ]),
    )?;
    run(
        "firmware lints (examples/stm32f407-services, boards/stm32f407, release, -D warnings)",
        cargo()
            .current_dir(&stm32_dir)
            .args(["clippy", "--workspace", "--locked", "--release"])
            .arg("--target-dir")
            .arg(&firmware_target_dir)
            .args(["--", "-D", "warnings"]),
    )?;
    run(
        "firmware build (examples/stm32f407-services, release, thumbv7em-none-eabihf)",
        cargo()
            .current_dir(&stm32_dir)
            .args(["build", "--locked", "--release", "--target-dir"])
            .arg(&firmware_target_dir),
    )?;
    run(
        "documentation (cargo doc, warnings denied)",
        cargo()
            .args(["doc", "--workspace", "--no-deps", "--locked"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    // The end-to-end tests start the example binaries; build them before the tests run so no
    // test has to call cargo while cargo holds the build lock.
    run(
        "example binaries for the end-to-end tests",
        cargo().args([
            "build",
            "--locked",
            "-p",
            "host-services",
            "-p",
            "macro-echo",
            "-p",
            "http-fetch",
        ]),
    )?;
    run(
        "tests (cargo test --workspace)",
        cargo().args(["test", "--workspace", "--locked"]),
    )?;
    // Every fuzz target for a few seconds, when nightly and cargo-fuzz are installed.
    fuzz::test_step()
}

/// One list (`targets` or `components`) of `rust-toolchain.toml`, the single place that names
/// them.
fn toolchain_list(toolchain_file: &str, key: &str) -> Vec<String> {
    toolchain_file
        .lines()
        .map(str::trim)
        .find_map(|line| {
            let (name, value) = line.split_once('=')?;
            (name.trim() == key).then(|| {
                value
                    .split('"')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// Adds the targets and components `rust-toolchain.toml` names, and returns the targets.
///
/// rustup installs them by itself only when it installs the pinned toolchain; on a machine that
/// already has that toolchain (CI images do) they would be missing, so this asks rustup for them
/// every time (a no-op when present).
fn ensure_toolchain() -> Result<Vec<String>, String> {
    let path = workspace_root().join("rust-toolchain.toml");
    let file = std::fs::read_to_string(&path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let targets = toolchain_list(&file, "targets");
    let components = toolchain_list(&file, "components");
    if !have_command("rustup") {
        eprintln!(
            "rustup not found: make sure your toolchain has the targets {} and the components {}",
            targets.join(" "),
            components.join(" ")
        );
        return Ok(targets);
    }
    run(
        "toolchain targets (rustup target add)",
        Command::new("rustup")
            .current_dir(workspace_root())
            .args(["target", "add"])
            .args(&targets),
    )?;
    run(
        "toolchain components (rustup component add)",
        Command::new("rustup")
            .current_dir(workspace_root())
            .args(["component", "add"])
            .args(&components),
    )?;
    Ok(targets)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Whether `name` is installed: on `PATH`, or in the system directories a non-root `PATH` often
/// lacks (dnsmasq lives in /usr/sbin).
fn have_command(name: &str) -> bool {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .any(|dir| dir.join(name).is_file())
}

/// Installs the missing Debian packages when root; otherwise names exactly what to install.
fn ensure_system_tools() -> Result<(), String> {
    let missing: Vec<&SystemTool> = SYSTEM_TOOLS
        .iter()
        .filter(|tool| !have_command(tool.command))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().map(|tool| tool.package).collect();
    for tool in &missing {
        eprintln!(
            "missing `{}` (package {}): {}",
            tool.command, tool.package, tool.why
        );
    }
    if !is_root() {
        return Err(format!(
            "install them with: sudo apt-get install -y --no-install-recommends {}",
            packages.join(" ")
        ));
    }
    run(
        "apt-get update",
        Command::new("apt-get")
            .args(["update", "-qq"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    run(
        &format!("apt-get install {}", packages.join(" ")),
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    match SYSTEM_TOOLS.iter().find(|tool| !have_command(tool.command)) {
        None => Ok(()),
        Some(tool) => Err(format!(
            "`{}` is still missing after installing {}",
            tool.command, tool.package
        )),
    }
}
