//! The built `stackgen` binary: exit codes 0 (ok), 1 (invalid profile, warnings denied, missing
//! file) and 2 (usage error), run from the workspace root as a user would.

use std::process::{Command, Output};

fn stackgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackgen"))
        .args(args)
        .current_dir("..")
        .output()
        .expect("the stackgen binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn valid_profile_exits_0() {
    let output = stackgen(&["check", "profiles/stm32f407.toml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("stm32f407-reference"));
    let output = stackgen(&["budget", "profiles/stm32f407.toml", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0));
    let _: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
}

#[test]
fn warnings_pass_unless_denied() {
    let output = stackgen(&["check", "profiles/minimal.toml"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).contains("warning[small-rx-window]"));
    let output = stackgen(&["check", "--deny-warnings", "profiles/minimal.toml"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output)
            .ends_with("error: profiles/minimal.toml: 1 warning denied by --deny-warnings\n")
    );
    let output = stackgen(&["budget", "profiles/minimal.toml", "--deny-warnings"]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn invalid_profile_exits_1() {
    let output = stackgen(&["check", "tests/bad-profiles/unknown-key.toml"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("--> tests/bad-profiles/unknown-key.toml:15:1"));
    assert!(output.stdout.is_empty());
}

#[test]
fn missing_file_is_one_line_and_exits_1() {
    let output = stackgen(&["check", "profiles/no-such.toml"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: profiles/no-such.toml: no such file (check the path; shipped profiles live in `profiles/`)\n"
    );
    let output = stackgen(&["budget", "profiles"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output).lines().count(), 1);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["check"][..],
        &["frobnicate"][..],
        &["budget", "profiles/minimal.toml", "--format", "xml"][..],
        &["check", "profiles/minimal.toml", "--no-such-flag"][..],
    ] {
        let output = stackgen(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn help_and_schema_exit_0() {
    assert_eq!(stackgen(&["--help"]).status.code(), Some(0));
    let output = stackgen(&["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let committed = std::fs::read("profile.schema.json").unwrap();
    assert!(
        output.stdout == committed,
        "`stackgen schema` differs from stackgen/profile.schema.json"
    );
}

#[test]
fn build_passes_compiler_errors_through_and_exits_1() {
    let target_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("broken-app");
    let output = stackgen(&[
        "build",
        "profiles/minimal.toml",
        "--app",
        "stackgen/tests/fixtures/broken-app",
        "--target-dir",
        target_dir.to_str().unwrap(),
    ]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("error[E0308]: mismatched types"), "{err}");
    assert!(err.contains("src/main.rs:7:5"), "{err}");
    assert!(err.contains("cargo build failed"), "{err}");
}

#[test]
fn build_without_an_application_names_the_fix() {
    let output = stackgen(&["build", "profiles/minimal.toml"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("names no application"), "{err}");
    assert!(err.contains("--app DIR"), "{err}");
}
