//! The bad-profile corpus: every `tests/bad-profiles/NAME.toml` must be rejected by
//! `stackgen check` with exit code 1 and exactly the message in `NAME.expected` (file, line,
//! column, underline and hint included).
//!
//! To regenerate the expected files after a deliberate change to a message, run with
//! `STACKGEN_BLESS=1` and review the diff.

use std::fs;
use std::path::Path;

use stackgen::cli::{EXIT_INVALID, check};
use stackgen::source::Source;

const CORPUS: &str = "../tests/bad-profiles";

#[test]
fn every_bad_profile_gives_its_expected_message() {
    let bless = std::env::var_os("STACKGEN_BLESS").is_some();
    let mut names: Vec<String> = fs::read_dir(CORPUS)
        .expect("the corpus directory exists")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.strip_suffix(".toml").map(str::to_owned))
        .collect();
    names.sort();
    assert!(
        names.len() >= 25,
        "the corpus has only {} profiles",
        names.len()
    );
    let mut failures = Vec::new();
    for name in &names {
        let path = Path::new(CORPUS).join(format!("{name}.toml"));
        let text = fs::read_to_string(&path).unwrap();
        let source = Source::new(format!("tests/bad-profiles/{name}.toml"), text);
        let mut out = Vec::new();
        let mut err = Vec::new();
        let code = check(&source, false, &mut out, &mut err);
        let actual = String::from_utf8(err).unwrap();
        let expected_path = Path::new(CORPUS).join(format!("{name}.expected"));
        if bless {
            fs::write(&expected_path, &actual).unwrap();
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if code != EXIT_INVALID {
            failures.push(format!("{name}: exit code {code}, expected {EXIT_INVALID}"));
        }
        if actual != expected {
            failures.push(format!(
                "{name}: message differs\n--- expected\n{expected}--- actual\n{actual}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_expected_file_has_its_profile() {
    for entry in fs::read_dir(CORPUS).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".expected") {
            assert!(
                Path::new(CORPUS).join(format!("{stem}.toml")).exists(),
                "{name} has no profile"
            );
        }
    }
}
