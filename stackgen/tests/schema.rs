//! The committed JSON Schema (`stackgen/profile.schema.json`) must equal what `stackgen schema`
//! prints. Regenerate it with `cargo run -p stackgen -- schema > stackgen/profile.schema.json`.

use stackgen::profile::keys;

#[test]
fn committed_schema_matches_the_code() {
    let committed = std::fs::read_to_string("profile.schema.json").unwrap_or_default();
    let generated = stackgen::schema::schema_text();
    if std::env::var_os("STACKGEN_BLESS").is_some() {
        std::fs::write("profile.schema.json", &generated).unwrap();
        return;
    }
    assert!(
        committed == generated,
        "stackgen/profile.schema.json is stale: run `cargo run -p stackgen -- schema > stackgen/profile.schema.json`"
    );
}

#[test]
fn schema_names_every_key() {
    let schema = stackgen::schema::schema();
    for section in keys::SECTIONS {
        let mut table = &schema["properties"][section.name];
        if section.array {
            table = &table["items"];
        }
        assert_eq!(table["additionalProperties"], false, "[{}]", section.name);
        for key in section.keys {
            assert!(
                table["properties"][key.name].is_object(),
                "{}.{} missing from the schema",
                section.name,
                key.name
            );
        }
    }
}
