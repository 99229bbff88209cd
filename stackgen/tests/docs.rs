//! The reference documentation covers every key and every warning the code knows.

use stackgen::profile::keys;

#[test]
fn profile_reference_documents_every_key() {
    let reference = std::fs::read_to_string("../docs/profile-reference.md").unwrap();
    for section in keys::SECTIONS {
        assert!(
            reference.contains(&section.header()),
            "docs/profile-reference.md lacks {}",
            section.header()
        );
        for key in section.keys {
            let qualified = format!("`{}.{}`", section.name, key.name);
            assert!(
                reference.contains(&qualified),
                "docs/profile-reference.md lacks {qualified}"
            );
        }
    }
}

#[test]
fn warnings_doc_explains_every_warning() {
    let doc = std::fs::read_to_string("../docs/warnings.md").unwrap();
    for code in [
        "small-rx-window",
        "time-wait-exhaustion",
        "rx-pool-starvation",
        "small-arp-cache",
        "small-send-buffer",
        "single-dns-server",
        "unused-dhcp",
        "slow-keepalive",
        "ignored-section",
    ] {
        assert!(
            doc.contains(&format!("## `{code}`")),
            "docs/warnings.md lacks a `## `{code}`` section"
        );
    }
}

#[test]
fn reference_example_is_valid_and_clean() {
    use stackgen::plan::Plan;
    use stackgen::profile::Profile;
    use stackgen::source::Source;
    let reference = std::fs::read_to_string("../docs/profile-reference.md").unwrap();
    let start = reference
        .find("```toml\n")
        .expect("the reference has an example")
        + 8;
    let end = start + reference[start..].find("```").unwrap();
    let source = Source::new("docs/profile-reference.md", &reference[start..end]);
    let plan = Plan::resolve(&Profile::parse(&source).unwrap()).unwrap();
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    assert!(plan.limit_errors().is_empty());
}
