//! Helpers the firmware-building integration tests share (`mod common;` in each): where the
//! repository and the target directory are, whether the Cortex-M target is installed, and the
//! LLVM tools the results are checked against.

// Each test crate uses only some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Cortex-M target every firmware profile builds for.
pub const TARGET: &str = "thumbv7em-none-eabihf";

/// The repository root (the parent of `stackgen/`).
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("stackgen/ is inside the repository")
        .to_path_buf()
}

/// The target directory this test executable was built in (`<target>/<profile>/deps/<test>`).
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .expect("cannot locate the test executable")
        .ancestors()
        .nth(3)
        .expect("the test executable is inside <target>/<profile>/deps")
        .to_path_buf()
}

/// Output of `rustc ARGS` run in the repository (so its `rust-toolchain.toml` applies).
fn rustc(args: &[&str]) -> Option<String> {
    let out = Command::new("rustc")
        .current_dir(repository())
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Whether the standard library of [`TARGET`] is installed.
pub fn target_installed() -> bool {
    rustc(&["--print", "target-libdir", "--target", TARGET])
        .is_some_and(|dir| Path::new(&dir).is_dir())
}

/// An LLVM tool (`llvm-size`, `llvm-objcopy`…): the toolchain's `llvm-tools` component
/// (rust-toolchain.toml lists it), else one on `PATH`.
pub fn llvm_tool(name: &str) -> Option<PathBuf> {
    if let (Some(sysroot), Some(host)) = (
        rustc(&["--print", "sysroot"]),
        rustc(&["--print", "host-tuple"]),
    ) {
        let tool = Path::new(&sysroot)
            .join("lib/rustlib")
            .join(host)
            .join("bin")
            .join(name);
        if tool.is_file() {
            return Some(tool);
        }
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|tool| tool.is_file())
    })
}

/// `llvm-size`'s Berkeley `(text, data, bss)` of `elf`; `None` when llvm-size is not installed.
pub fn llvm_size(elf: &Path) -> Option<(u64, u64, u64)> {
    let tool = llvm_tool("llvm-size")?;
    let out = Command::new(tool)
        .arg(elf)
        .output()
        .expect("cannot run llvm-size");
    assert!(
        out.status.success(),
        "llvm-size failed on {}",
        elf.display()
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let numbers: Vec<u64> = text
        .lines()
        .nth(1)
        .expect("llvm-size prints a header and a row")
        .split_whitespace()
        .take(3)
        .map(|n| n.parse().expect("llvm-size prints numbers"))
        .collect();
    Some((numbers[0], numbers[1], numbers[2]))
}
