//! Benchmark 4 of issue 8: flash and RAM of the same TCP echo firmware on our stack and on
//! smoltcp, for `thumbv7em-none-eabihf`.
//!
//! ```text
//! footprint [--opt s,z] [--sets minimal,reference]
//! ```
//!
//! Builds the crates of `benches/footprint/` (a workspace of their own: `ours`, `smoltcp`,
//! `stub`) in release (LTO, one codegen unit, `panic = "abort"`) with each `opt-level`, into
//! `<target>/footprint`, reads each ELF's section headers and symbol table, and prints a
//! Markdown table: `.text` (with the vector table), `.rodata`, `.data`, `.bss`, and the
//! stack's share of each, which is the firmware minus the `stub` firmware (same driver, loop
//! and runtime, no stack). It also counts `core::fmt` symbols, which must be zero: a firmware
//! that formats pulls in several KiB that belong to neither stack.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const TARGET: &str = "thumbv7em-none-eabihf";

/// Section sizes of one ELF and what it contains of `core::fmt`.
#[derive(Debug, Clone, Copy, Default)]
struct Sizes {
    text: u64,
    rodata: u64,
    data: u64,
    bss: u64,
    fmt_symbols: usize,
}

impl Sizes {
    fn flash(&self) -> u64 {
        self.text + self.rodata + self.data
    }

    fn ram(&self) -> u64 {
        self.data + self.bss
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("footprint: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut opts = vec!["s".to_string(), "z".to_string()];
    let mut sets = vec!["minimal".to_string(), "reference".to_string()];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().ok_or_else(|| format!("{a} needs a value"))?;
        let list = value.split(',').map(str::to_string).collect();
        match a.as_str() {
            "--opt" => opts = list,
            "--sets" => sets = list,
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("footprint");
    let target_dir = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .ancestors()
        .nth(2)
        .ok_or("cannot find the target directory")?
        .join("footprint");
    println!("### Footprint on {TARGET} (bytes; share = firmware − stub firmware)\n");
    println!(
        "| opt-level | feature set | stack | .text | .rodata | .data | .bss | flash (text+rodata+data) | RAM (data+bss) | core::fmt symbols |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for opt in &opts {
        let stub = build(&root, &target_dir, "stub", None, opt)?;
        row(opt, "-", "stub (no stack)", &stub, None);
        for set in &sets {
            for stack in ["ours", "smoltcp"] {
                let sizes = build(&root, &target_dir, stack, Some(set), opt)?;
                row(opt, set, stack, &sizes, Some(&stub));
            }
        }
    }
    println!();
    Ok(())
}

/// Prints one firmware's line: its sizes, and with `stub` the stack's share after a `/`.
fn row(opt: &str, set: &str, stack: &str, s: &Sizes, stub: Option<&Sizes>) {
    let cell = |total: u64, base: Option<u64>| match base {
        Some(b) => format!("{total} / **{}**", total as i64 - b as i64),
        None => total.to_string(),
    };
    println!(
        "| {opt} | {set} | {stack} | {} | {} | {} | {} | {} | {} | {} |",
        cell(s.text, stub.map(|b| b.text)),
        cell(s.rodata, stub.map(|b| b.rodata)),
        cell(s.data, stub.map(|b| b.data)),
        cell(s.bss, stub.map(|b| b.bss)),
        cell(s.flash(), stub.map(|b| b.flash())),
        cell(s.ram(), stub.map(|b| b.ram())),
        s.fmt_symbols,
    );
}

/// Builds one firmware and returns its sizes.
fn build(
    root: &Path,
    target_dir: &Path,
    krate: &str,
    features: Option<&str>,
    opt: &str,
) -> Result<Sizes, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(root.join(krate).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .args(["--config", &format!("profile.release.opt-level=\"{opt}\"")])
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if let Some(f) = features {
        command.args(["--features", f]);
    }
    eprintln!(
        "footprint: building {krate} {} opt-level {opt}",
        features.unwrap_or("")
    );
    let out = command
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building {krate} ({features:?}, opt-level {opt}) failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let elf: PathBuf = target_dir
        .join(TARGET)
        .join("release")
        .join(format!("footprint-{krate}"));
    let keep = target_dir.join(format!(
        "footprint-{krate}-{}-{opt}.elf",
        features.unwrap_or("none")
    ));
    std::fs::copy(&elf, &keep).map_err(|e| format!("{}: {e}", elf.display()))?;
    read_elf(&keep)
}

/// Reads a 32-bit little-endian ELF: allocated section sizes by name, and the number of
/// symbols from `core::fmt`.
fn read_elf(path: &Path) -> Result<Sizes, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.get(..5) != Some(b"\x7fELF\x01") {
        return Err(format!("{} is not a 32-bit ELF", path.display()));
    }
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let (shoff, shentsize, shnum, shstrndx) = (
        u32_at(0x20) as usize,
        u16_at(0x2e),
        u16_at(0x30),
        u16_at(0x32),
    );
    // (name offset, type, flags, offset, size, link)
    let sections: Vec<(usize, u32, u32, usize, u64, usize)> = (0..shnum)
        .map(|i| {
            let at = shoff + i * shentsize;
            (
                u32_at(at) as usize,
                u32_at(at + 4),
                u32_at(at + 8),
                u32_at(at + 16) as usize,
                u64::from(u32_at(at + 20)),
                u32_at(at + 24) as usize,
            )
        })
        .collect();
    let cstr = |at: usize| -> String {
        let end = bytes[at..]
            .iter()
            .position(|&b| b == 0)
            .map_or(bytes.len(), |e| at + e);
        String::from_utf8_lossy(&bytes[at..end]).into_owned()
    };
    let names_at = sections[shstrndx].3;
    let mut sizes = Sizes::default();
    const SHF_ALLOC: u32 = 2;
    for &(name, _, flags, _, size, _) in &sections {
        if flags & SHF_ALLOC == 0 {
            continue;
        }
        match cstr(names_at + name).as_str() {
            ".vector_table" | ".text" => sizes.text += size,
            ".rodata" => sizes.rodata += size,
            ".data" => sizes.data += size,
            ".bss" | ".uninit" => sizes.bss += size,
            _ => {}
        }
    }
    const SHT_SYMTAB: u32 = 2;
    if let Some(&(_, _, _, offset, size, link)) = sections.iter().find(|s| s.1 == SHT_SYMTAB) {
        let strings = sections[link].3;
        sizes.fmt_symbols = (0..size as usize / 16)
            .map(|i| cstr(strings + u32_at(offset + i * 16) as usize))
            .filter(|n| n.contains("4core3fmt") || n.contains("core::fmt"))
            .count();
    }
    Ok(sizes)
}
