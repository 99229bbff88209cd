//! `stackgen build` on every shipped profile: the firmware links, every pool the budget
//! estimates (`stackgen budget`) is in the ELF's symbol table with exactly the estimated size,
//! and the report's section totals are `llvm-size`'s.
//!
//! Each profile is built with its own application (`stack.app`: qemu-services, the STM32F407
//! services, macro-echo on the host); `profiles/minimal.toml` names none and is built with the
//! test fixture `tests/fixtures/budget-app` (the generated stack polled over an idle driver).
//! The builds use `<target>/firmware` as cargo's target directory, where `cargo xtask test` has
//! already built the firmware, so only the applications are compiled again.
//!
//! Skipped (with a message) when the `thumbv7em-none-eabihf` standard library is not installed
//! (`rustup target add thumbv7em-none-eabihf`; `cargo xtask test` adds it).

use std::path::Path;
use std::process::Command;

mod common;

use common::{TARGET, llvm_size, repository, target_dir, target_installed};
use stackgen::build::cargo::Progress;
use stackgen::build::firmware::{self, BuildOptions, Built};
use stackgen::build::model::RamSection;

/// Builds `profile` (with `app`, else its own), then checks the pools and the totals.
fn build_and_check(profile: &str, app: Option<&str>, needs_thumb: bool) -> Option<Built> {
    if needs_thumb && !target_installed() {
        println!("skipped: the {TARGET} target is not installed (rustup target add {TARGET})");
        return None;
    }
    let root = repository();
    let built = firmware::build(&BuildOptions {
        profile: root.join(profile),
        app: app.map(|app| root.join(app)),
        target_dir: Some(target_dir()),
        progress: Progress::Quiet,
    })
    .unwrap_or_else(|error| panic!("stackgen build {profile}: {error}"));
    let report = &built.report;
    println!("{profile}:\n{}", report.summary());
    assert!(
        report.ram.mismatches.is_empty(),
        "{profile}: estimate ≠ ELF for {:?}:\n{}",
        report.ram.mismatches,
        report.markdown()
    );
    assert_eq!(
        report.ram.pools.len(),
        built.plan.pools.len(),
        "{profile}: every pool of the plan is a row"
    );
    for (row, pool) in report.ram.pools.iter().zip(&built.plan.pools) {
        assert_eq!(row.id, pool.id);
        assert_eq!(row.estimate, Some(pool.bytes()), "{profile}: {}", pool.id);
        assert_eq!(
            row.measured,
            Some(pool.bytes()),
            "{profile}: pool {} in the ELF",
            pool.id
        );
    }
    assert_eq!(
        report.ram.pools_measured,
        built.plan.ram_total(),
        "{profile}: `stackgen budget`'s total is the pools' bytes in the ELF"
    );
    for row in &report.ram.pools {
        assert_eq!(
            row.section,
            Some(RamSection::Bss),
            "{profile}: pool {} must be zero-initialised (.bss): an initialised pool costs its \
             size in flash too",
            row.id
        );
    }
    let (text, data, bss) =
        llvm_size(&built.elf).expect("llvm-size is not installed: rustup component add llvm-tools");
    assert_eq!(
        (
            report.sections.text,
            report.sections.data,
            report.sections.bss
        ),
        (text, data, bss),
        "{profile}: the report's sections are llvm-size's"
    );
    assert_eq!(
        report.flash.usage.total,
        text + data,
        "{profile}: flash image"
    );
    assert_eq!(
        report.ram.usage.total,
        data + bss + built.plan.board.stack_reserve,
        "{profile}: RAM total"
    );
    for file in [
        "firmware.elf",
        "firmware.bin",
        "budget.md",
        "budget.json",
        "budget.html",
    ] {
        let path = built.dir.join(file);
        let len = std::fs::metadata(&path).map_or(0, |meta| meta.len());
        assert!(len > 0, "{profile}: {} missing or empty", path.display());
    }
    Some(built)
}

#[test]
fn stm32f407_reference_profile_builds_and_its_budget_is_the_elf() {
    let Some(built) = build_and_check("profiles/stm32f407.toml", None, true) else {
        return;
    };
    assert!(
        !built.report.over_limit(),
        "the reference profile is within its limits:\n{}",
        built.report.summary()
    );
    let stack = built.report.flash.stack_bytes;
    println!("stm32f407 reference: stack flash {stack} B (target < 24,000 B)");
}

#[test]
fn qemu_profile_budget_is_the_elf() {
    build_and_check("profiles/qemu-mps2-an386.toml", None, true);
}

#[test]
fn minimal_profile_budget_is_the_elf() {
    build_and_check(
        "profiles/minimal.toml",
        Some("stackgen/tests/fixtures/budget-app"),
        true,
    );
}

#[test]
fn host_tap_profile_budget_is_the_elf() {
    build_and_check("profiles/host-tap.toml", None, false);
}

#[test]
fn over_a_limit_the_build_exits_1_and_names_what_to_shrink() {
    if !target_installed() {
        println!("skipped: the {TARGET} target is not installed (rustup target add {TARGET})");
        return;
    }
    let root = repository();
    let minimal = std::fs::read_to_string(root.join("profiles/minimal.toml")).unwrap();
    let tight = minimal.replace(
        "ram_max = \"16 KiB\"",
        "ram_max = \"16 KiB\"\nflash_max = \"8 KiB\"",
    );
    assert_ne!(
        tight, minimal,
        "profiles/minimal.toml has `ram_max = \"16 KiB\"`"
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("over-limit");
    std::fs::create_dir_all(&dir).unwrap();
    let profile = dir.join("minimal-over-flash.toml");
    std::fs::write(&profile, tight).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_stackgen"))
        .current_dir(&root)
        .arg("build")
        .arg(&profile)
        .args([
            "--app",
            "stackgen/tests/fixtures/budget-app",
            "--target-dir",
        ])
        .arg(target_dir())
        .output()
        .expect("the stackgen binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("over budget.flash_max"), "{stdout}");
    assert!(
        stdout.contains("protocols.tcp"),
        "names the protocol to turn off: {stdout}"
    );
    let report =
        std::fs::read_to_string(target_dir().join("stackgen/minimal-over-flash/budget.md"))
            .unwrap();
    assert!(report.contains("protocols.tcp"), "{report}");
}
