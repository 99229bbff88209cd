//! Compile tests of `#[stack_config]`: one program that builds and runs, and one per error the
//! macro reports, each compared with its committed `.stderr` (regenerate deliberately with
//! `TRYBUILD=overwrite cargo test -p stackgen-macros --test ui`).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
