//! The JSON Schema of a profile, generated from the key catalogue
//! ([`crate::profile::keys`]) so editors (taplo, VS Code Even Better TOML) complete and validate
//! profiles exactly as stackgen reads them. The committed copy is `stackgen/profile.schema.json`;
//! a test keeps it equal to what `stackgen schema` prints.

use serde_json::{Map, Value, json};

use crate::profile::keys::{self, Default, Key, Kind, Section};
use crate::units::{format_duration, format_size};

/// A size: a plain number of bytes, or a number with `B`, `KiB` or `MiB`.
const SIZE_PATTERN: &str = r"^\s*[0-9][0-9_]*\s*(B|KiB|MiB)?\s*$";
/// A TCP size: as [`SIZE_PATTERN`], or a multiple of the MSS.
const TCP_SIZE_PATTERN: &str = r"^\s*[0-9][0-9_]*\s*(B|KiB|MiB|mss|MSS)?\s*$";
/// A duration with its unit.
const DURATION_PATTERN: &str = r"^\s*[0-9][0-9_]*\s*(us|µs|ms|s|sec|min|h)\s*$";

fn key_schema(section: &Section, key: &Key) -> Value {
    let mut schema = match key.kind {
        Kind::Text if section.name == "stack" && key.name == "board" => json!({
            "type": "string",
            "enum": crate::board::BOARDS.iter().map(|b| b.name).collect::<Vec<_>>(),
        }),
        Kind::Text => json!({ "type": "string", "minLength": 1 }),
        Kind::Choice(choices) => json!({ "type": "string", "enum": choices }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Count { min, max } => json!({ "type": "integer", "minimum": min, "maximum": max }),
        Kind::Size { min, max } => json!({
            "anyOf": [
                { "type": "integer", "minimum": min, "maximum": max },
                { "type": "string", "pattern": SIZE_PATTERN },
            ],
        }),
        Kind::TcpSize { max, .. } => json!({
            "anyOf": [
                { "type": "integer", "minimum": 1, "maximum": max },
                { "type": "string", "pattern": TCP_SIZE_PATTERN },
            ],
        }),
        Kind::Duration { .. } => json!({ "type": "string", "pattern": DURATION_PATTERN }),
        Kind::Rate { max } => json!({ "type": "number", "minimum": 0, "maximum": max }),
        Kind::Mac => json!({
            "type": "string",
            "pattern": "^(from-board|[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5})$",
        }),
        Kind::Ipv4Config => json!({
            "type": "string",
            "pattern": r"^(dhcp|off|static\s+[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2})$",
        }),
        Kind::Ipv4Address => json!({
            "type": "string",
            "pattern": r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$",
        }),
        Kind::Keepalive => json!({
            "anyOf": [
                { "const": false },
                { "type": "string", "pattern": DURATION_PATTERN },
            ],
        }),
    };
    let object = schema
        .as_object_mut()
        .expect("every key schema is an object");
    object.insert("description".into(), Value::from(key.doc));
    let default = match key.default {
        Default::Bool(b) => Some(Value::from(b)),
        Default::Count(n) => Some(Value::from(n)),
        Default::Size(n) => Some(Value::from(format_size(n))),
        Default::Mss(n) => Some(Value::from(format!("{n} mss"))),
        Default::Duration(us) => Some(Value::from(format_duration(
            std::time::Duration::from_micros(us),
        ))),
        Default::Text(text) => Some(Value::from(text)),
        Default::Required | Default::Unset | Default::Computed(_) => None,
    };
    if let Some(default) = default {
        object.insert("default".into(), default);
    }
    schema
}

fn section_schema(section: &Section) -> Value {
    let mut properties = Map::new();
    for key in section.keys {
        properties.insert(key.name.into(), key_schema(section, key));
    }
    if section.name == "protocols" {
        for name in keys::NOT_YET_SUPPORTED {
            properties.insert(
                (*name).into(),
                json!({ "const": false, "description": "Not supported yet; only `false` is accepted." }),
            );
        }
    }
    let required: Vec<&str> = section
        .keys
        .iter()
        .filter(|key| key.default == Default::Required)
        .map(|key| key.name)
        .collect();
    let mut table = json!({
        "type": "object",
        "description": section.doc,
        "additionalProperties": false,
        "properties": properties,
    });
    if !required.is_empty() {
        table["required"] = json!(required);
    }
    if section.array {
        json!({
            "type": "array",
            "description": section.doc,
            "minItems": 1,
            "items": table,
        })
    } else {
        table
    }
}

/// The JSON Schema of a profile.
pub fn schema() -> Value {
    let mut properties = Map::new();
    for section in keys::SECTIONS {
        properties.insert(section.name.into(), section_schema(section));
    }
    let required: Vec<&str> = keys::SECTIONS
        .iter()
        .filter(|s| s.required)
        .map(|s| s.name)
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.invalid/stackgen/profile.schema.json",
        "title": "stackgen profile",
        "description": "One network stack: board, interfaces, protocols, pool sizes, memory limits and expected workload. See docs/profile-reference.md.",
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

/// The schema as `stackgen schema` prints it: pretty JSON with a final newline.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}
