//! Code generation: snapshots of the generated `lib.rs` for every shipped profile, the
//! `stackgen generate` command, and the generated crate for `profiles/host-tap.toml` built with
//! `cargo clippy -D warnings`.
//!
//! Accept deliberate changes to the snapshots with `cargo insta accept` (or
//! `INSTA_UPDATE=always`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use stackgen::codegen::{self, RuntimeDependency};
use stackgen::source::Source;

const PROFILES: &[&str] = &["stm32f407", "minimal", "host-tap", "qemu-mps2-an386"];

fn source(name: &str) -> Source {
    let text = std::fs::read_to_string(format!("../profiles/{name}.toml")).unwrap();
    Source::new(format!("profiles/{name}.toml"), text)
}

fn generated(name: &str) -> codegen::GeneratedCrate {
    let source = source(name);
    let plan = codegen::plan_for_codegen(&source).expect("shipped profiles are valid");
    codegen::generate_crate(
        &plan,
        &source,
        &RuntimeDependency::Path("../stack-runtime".into()),
    )
}

#[test]
fn generated_lib_rs() {
    for name in PROFILES {
        let lib_rs = generated(name).lib_rs;
        assert!(!lib_rs.contains("unsafe {") && !lib_rs.contains("unsafe fn"));
        insta::assert_snapshot!(format!("generate-{name}"), lib_rs);
    }
}

#[test]
fn generated_cargo_toml() {
    insta::assert_snapshot!(
        "generate-host-tap-cargo-toml",
        generated("host-tap").cargo_toml
    );
}

#[test]
fn the_header_names_the_profile_and_its_hash() {
    let source = source("host-tap");
    let lib_rs = generated("host-tap").lib_rs;
    let hash = format!("{:016x}", codegen::fnv1a_64(source.text().as_bytes()));
    let header: Vec<&str> = lib_rs.lines().take(3).collect();
    assert!(header[0].contains("profiles/host-tap.toml"), "{header:?}");
    assert!(header[0].contains("name = \"host-tap\""), "{header:?}");
    assert!(header[1].contains(&hash), "{header:?}");
    // A one-byte change of the profile changes the hash.
    let edited = source.text().replacen("entries = 8", "entries = 9", 1);
    assert_ne!(
        codegen::fnv1a_64(edited.as_bytes()),
        codegen::fnv1a_64(source.text().as_bytes())
    );
}

/// The test executable's target directory (`<target>/debug/deps/codegen-…` → `<target>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .expect("the test executable is inside <target>/<profile>/deps")
        .to_path_buf()
}

fn stackgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackgen"))
        .args(args)
        .current_dir("..")
        .output()
        .expect("the stackgen binary runs")
}

#[test]
fn generate_writes_the_crate_with_a_relative_runtime_path() {
    let dir = target_dir().join("codegen-tests/cli-host-tap");
    let _ = std::fs::remove_dir_all(&dir);
    let dir_arg = dir.to_str().unwrap();
    let output = stackgen(&["generate", "profiles/host-tap.toml", "--out", dir_arg]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cargo_toml = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let lib_rs = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    // Same bytes as the library call, except the runtime path.
    let expected = generated("host-tap");
    assert_eq!(lib_rs, expected.lib_rs);
    let runtime_line = cargo_toml
        .lines()
        .find(|line| line.starts_with("stack-runtime = "))
        .unwrap();
    let path = runtime_line
        .split('"')
        .nth(1)
        .expect("stack-runtime = { path = \"…\" }");
    assert!(Path::new(path).is_relative(), "{runtime_line}");
    assert!(
        dir.join(path).join("Cargo.toml").is_file(),
        "{runtime_line} does not lead to stack-runtime from {}",
        dir.display()
    );
}

#[test]
fn generate_refuses_an_invalid_profile_with_the_check_message() {
    let dir = target_dir().join("codegen-tests/invalid");
    let dir_arg = dir.to_str().unwrap();
    let profile = "tests/bad-profiles/bad-size-string.toml";
    let generate = stackgen(&["generate", profile, "--out", dir_arg]);
    let check = stackgen(&["check", profile]);
    assert_eq!(generate.status.code(), Some(1));
    assert_eq!(generate.stderr, check.stderr);
    assert!(!dir.join("src/lib.rs").exists());

    let generate = stackgen(&[
        "generate",
        "profiles/host-tap.toml",
        "--out",
        dir_arg,
        "--runtime-path",
        "no/such/dir",
    ]);
    assert_eq!(generate.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&generate.stderr).contains("--runtime-path no/such/dir"));
}

/// Writes the crate `stackgen generate` would for `profiles/<name>.toml` into
/// `<root>/<name>-net`, depending on this repository's stack-runtime; returns its directory.
fn write_generated(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(format!("{name}-net"));
    let _ = std::fs::remove_dir_all(&dir);
    let runtime = codegen::repository_runtime().expect("stack-runtime is in this repository");
    std::fs::create_dir_all(&dir).unwrap();
    let relative = codegen::relative_path(&dir.canonicalize().unwrap(), &runtime);
    let source = source(name);
    let plan = codegen::plan_for_codegen(&source).unwrap();
    codegen::generate_crate(
        &plan,
        &source,
        &RuntimeDependency::Path(relative.to_string_lossy().into_owned()),
    )
    .write_to(&dir)
    .unwrap();
    // The workspace's lock file pins the same dependency versions the workspace builds with.
    std::fs::copy("../Cargo.lock", dir.join("Cargo.lock")).unwrap();
    dir
}

/// Runs `cargo <args>` on the crate in `dir` with the target directory `target` (not the one
/// running this test: `cargo test` holds its lock), and asserts that it succeeds.
fn cargo_on(dir: &Path, target: &Path, args: &[&str], rustdocflags: Option<&str>) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg(args[0])
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target)
        .args(&args[1..])
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS");
    if let Some(flags) = rustdocflags {
        command.env("RUSTDOCFLAGS", flags);
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo {args:?} on {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The generated crates build on their own and are clippy- and rustdoc-clean with warnings
/// denied: `host-tap` (UDP and TCP on), `minimal` (UDP off, so stack-runtime is built without
/// its `udp` feature) and `stm32f407` (TCP, the DHCPv4 client and the DNS resolver).
#[test]
fn generated_crates_pass_clippy_and_rustdoc() {
    let root = target_dir().join("codegen-tests/clippy");
    for name in ["host-tap", "minimal", "stm32f407"] {
        let dir = write_generated(&root, name);
        let target = root.join("target");
        cargo_on(&dir, &target, &["clippy", "--", "-D", "warnings"], None);
        cargo_on(&dir, &target, &["doc", "--no-deps"], Some("-D warnings"));
    }
}
