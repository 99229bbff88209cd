//! Bad input never panics: every shipped profile, cut short at every line and with single
//! characters replaced or inserted throughout, goes through `check` and `budget` and comes back
//! with an exit code and text, never a panic.

use stackgen::budget::Format;
use stackgen::cli::{budget, check};
use stackgen::source::Source;

fn run(text: String) {
    let source = Source::new("mutant.toml", text);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = check(&source, true, &mut out, &mut err);
    assert!(code <= 1);
    assert!(!err.is_empty(), "every outcome ends with a status line");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = budget(&source, Format::Json, false, &mut out, &mut err);
    assert!(code <= 1);
}

#[test]
fn mutated_profiles_never_panic() {
    const REPLACEMENTS: &[&str] = &[
        "",
        "\"",
        "=",
        "[",
        "]",
        "0",
        "-",
        "x",
        "\n",
        "9999999999999999999999",
        "é",
    ];
    for name in ["stm32f407", "minimal", "host-tap", "qemu-mps2-an386"] {
        let text = std::fs::read_to_string(format!("../profiles/{name}.toml")).unwrap();
        for (i, _) in text.match_indices('\n') {
            run(text[..i].to_string());
        }
        let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        for (n, &at) in boundaries.iter().enumerate().step_by(11) {
            let next = boundaries.get(n + 1).copied().unwrap_or(text.len());
            for replacement in REPLACEMENTS {
                run(format!("{}{replacement}{}", &text[..at], &text[next..]));
                run(format!("{}{replacement}{}", &text[..at], &text[at..]));
            }
        }
    }
}
