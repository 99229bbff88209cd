//! Everything that can be wrong with a profile taken on its own (syntax, keys, types, ranges,
//! malformed values). Contradictions between values are [`crate::plan::PlanError`]s.

use crate::diagnostic::{Diagnostic, Severity, ToDiagnostic};
use crate::source::Span;
use crate::units::UnitError;

/// What is wrong with a MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacProblem {
    /// Not six two-digit hex bytes.
    Syntax,
    /// The group bit is set: a multicast address cannot be an interface's own.
    Multicast,
    /// `00:00:00:00:00:00`.
    AllZero,
}

/// What is wrong with an `address/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CidrProblem {
    /// `"static"` alone.
    MissingAddress,
    /// No `/prefix`.
    MissingPrefix,
    /// The address part is not a dotted IPv4 address.
    BadAddress,
    /// The prefix is not a number.
    BadPrefix,
    /// The prefix is over 32.
    PrefixTooLong {
        /// The prefix as written.
        prefix: u8,
    },
    /// `/0`, `/31` or `/32`: no subnet with a network, a host and a broadcast address.
    NoHostRoom {
        /// The prefix as written.
        prefix: u8,
    },
}

/// What stackgen suggests instead of an unknown key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suggestion {
    /// Nothing close; the help lists the section's keys.
    None,
    /// A key of the same section with a similar name.
    Similar(&'static str),
    /// The key exists, in another section.
    OtherSection(String),
    /// A section (`tcp.sockets = 3` or `tcp = { … }`) written inside another table.
    NestedSection(String),
}

/// An error in a profile, with the span it points at.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProfileError {
    /// The file is not valid TOML.
    #[error("invalid TOML: {message}")]
    Syntax {
        /// The TOML parser's message.
        message: String,
        /// Where the parser stopped.
        span: Option<Span>,
    },
    /// Nothing but whitespace and comments.
    #[error("the profile is empty")]
    EmptyFile,
    /// A section stackgen does not know.
    #[error("unknown section [{name}]")]
    UnknownSection {
        /// The section name.
        name: String,
        /// Its span.
        span: Span,
        /// A similar section name.
        suggestion: Option<&'static str>,
    },
    /// A protocol or section that will exist but is not built yet.
    #[error("`{name}` is not supported yet")]
    NotSupportedYet {
        /// The protocol.
        name: String,
        /// Where it was enabled.
        span: Span,
        /// Whether it was written as a section (`[mqtt]`) rather than a protocol switch.
        as_section: bool,
    },
    /// A key at the top level, outside any section.
    #[error("`{name}` is outside any section")]
    KeyOutsideSection {
        /// The key.
        name: String,
        /// Its span.
        span: Span,
        /// The section it belongs in, if any section has such a key.
        home: Option<String>,
    },
    /// `[interface]` written with single brackets, or as a plain value.
    #[error("interfaces are written [[interface]], with double brackets")]
    InterfaceNotArray {
        /// The offending header.
        span: Span,
    },
    /// `[[tcp]]` written with double brackets.
    #[error("[{name}] is a single section, written with single brackets")]
    SectionIsArray {
        /// The section.
        name: String,
        /// The offending header.
        span: Span,
    },
    /// A required section is absent.
    #[error("missing section {header}")]
    MissingSection {
        /// `[stack]` or `[[interface]]`.
        header: String,
    },
    /// A required key is absent.
    #[error("missing key `{key}` in {section}")]
    MissingKey {
        /// The section header as written (`[stack]`).
        section: String,
        /// The key.
        key: &'static str,
        /// The section's header.
        span: Span,
    },
    /// A key its section does not have.
    #[error("unknown key `{key}` in {section}")]
    UnknownKey {
        /// The section header (`[tcp]`).
        section: String,
        /// The key as written.
        key: String,
        /// Its span.
        span: Span,
        /// What to write instead.
        suggestion: Suggestion,
        /// The section's valid keys, for the help when nothing is similar.
        valid: Vec<&'static str>,
    },
    /// A value of the wrong TOML type.
    #[error("`{key}` must be {expected}, found {found}")]
    WrongType {
        /// `section.key`.
        key: String,
        /// Its span.
        span: Span,
        /// What the key takes (`an integer`).
        expected: &'static str,
        /// What was written (`a string`).
        found: &'static str,
        /// How to write it.
        example: String,
    },
    /// A number outside its range.
    #[error("`{key}` is out of range")]
    OutOfRange {
        /// `section.key`.
        key: String,
        /// Its span.
        span: Span,
        /// The value as shown to the user.
        value: String,
        /// The smallest accepted value, as shown.
        min: String,
        /// The largest accepted value, as shown.
        max: String,
    },
    /// A size or duration that does not parse.
    #[error("invalid value for `{key}`: {error}")]
    Unit {
        /// `section.key`.
        key: String,
        /// Its span.
        span: Span,
        /// What is wrong.
        error: UnitError,
    },
    /// A string outside a fixed set.
    #[error("invalid value for `{key}`: {found:?}")]
    InvalidChoice {
        /// `section.key`.
        key: String,
        /// Its span.
        span: Span,
        /// The value as written.
        found: String,
        /// The accepted values.
        choices: &'static [&'static str],
    },
    /// An empty name.
    #[error("`{key}` is empty")]
    EmptyText {
        /// `section.key`.
        key: String,
        /// Its span.
        span: Span,
    },
    /// An interface name with forbidden characters or length.
    #[error("invalid interface name {found:?}")]
    BadInterfaceName {
        /// The name.
        found: String,
        /// Its span.
        span: Span,
    },
    /// A malformed MAC address.
    #[error("invalid MAC address {found:?}")]
    BadMac {
        /// The text.
        found: String,
        /// Its span.
        span: Span,
        /// What is wrong.
        problem: MacProblem,
    },
    /// An `ipv4` setting that is none of the accepted forms.
    #[error("invalid `interface.ipv4` setting {found:?}")]
    BadIpv4Setting {
        /// The text.
        found: String,
        /// Its span.
        span: Span,
    },
    /// A malformed `static A.B.C.D/P`.
    #[error("invalid address/prefix in {found:?}")]
    BadCidr {
        /// The text.
        found: String,
        /// Its span.
        span: Span,
        /// What is wrong.
        problem: CidrProblem,
    },
    /// A malformed IPv4 address.
    #[error("invalid IPv4 address {found:?} for `{key}`")]
    BadAddress {
        /// `section.key`.
        key: String,
        /// The text.
        found: String,
        /// Its span.
        span: Span,
    },
    /// A board stackgen does not know.
    #[error("unknown board `{found}`")]
    UnknownBoard {
        /// The name as written.
        found: String,
        /// Its span.
        span: Span,
        /// A similar board name.
        suggestion: Option<&'static str>,
    },
    /// `keepalive = true`, which says nothing about when to probe.
    #[error("`tcp.keepalive = true` does not say when to probe")]
    KeepaliveWithoutTime {
        /// Its span.
        span: Span,
    },
}

impl ProfileError {
    /// The span the error points at, if it has a place in the file.
    pub fn span(&self) -> Option<Span> {
        use ProfileError::*;
        match self {
            Syntax { span, .. } => span.clone(),
            EmptyFile | MissingSection { .. } => None,
            UnknownSection { span, .. }
            | NotSupportedYet { span, .. }
            | KeyOutsideSection { span, .. }
            | InterfaceNotArray { span }
            | SectionIsArray { span, .. }
            | MissingKey { span, .. }
            | UnknownKey { span, .. }
            | WrongType { span, .. }
            | OutOfRange { span, .. }
            | Unit { span, .. }
            | InvalidChoice { span, .. }
            | EmptyText { span, .. }
            | BadInterfaceName { span, .. }
            | BadMac { span, .. }
            | BadIpv4Setting { span, .. }
            | BadCidr { span, .. }
            | BadAddress { span, .. }
            | UnknownBoard { span, .. }
            | KeepaliveWithoutTime { span } => Some(span.clone()),
        }
    }

    fn label_and_help(&self) -> (String, String) {
        use ProfileError::*;
        match self {
            Syntax { .. } => (
                "TOML syntax error here".into(),
                "write one `key = value` per line, strings in double quotes, sections as [name]; see docs/profile-reference.md".into(),
            ),
            EmptyFile => (
                String::new(),
                "a profile needs at least [stack] (name, board) and one [[interface]]; start from profiles/minimal.toml".into(),
            ),
            UnknownSection { suggestion, .. } => (
                "not a profile section".into(),
                match suggestion {
                    Some(name) if *name == "interface" => "did you mean [[interface]]?".into(),
                    Some(name) => format!("did you mean [{name}]?"),
                    None => format!("the sections are {}", section_list()),
                },
            ),
            NotSupportedYet { name, as_section, .. } => (
                "not built yet".into(),
                if *as_section {
                    format!("remove the [{name}] section; protocols available now: {}", supported_list())
                } else {
                    format!("remove the line or write `{name} = false`; protocols available now: {}", supported_list())
                },
            ),
            KeyOutsideSection { name, home, .. } => (
                "not inside a section".into(),
                match home {
                    Some(section) => format!("move `{name}` under {section}"),
                    None => format!("keys belong to a section; the sections are {}", section_list()),
                },
            ),
            InterfaceNotArray { .. } => (
                "single brackets".into(),
                "write [[interface]]: each interface is its own [[interface]] table".into(),
            ),
            SectionIsArray { name, .. } => (
                "double brackets".into(),
                format!("write [{name}]: a profile has one [{name}] section"),
            ),
            MissingSection { header } => (String::new(), missing_section_help(header)),
            MissingKey { section, key, .. } => (
                format!("this section needs `{key}`"),
                missing_key_help(section, key),
            ),
            UnknownKey { section, key, suggestion, valid, .. } => (
                format!("not a key of {section}"),
                match suggestion {
                    Suggestion::Similar(name) => format!("did you mean `{name}`?"),
                    Suggestion::OtherSection(home) => format!("`{key}` belongs in {home}; move it there"),
                    Suggestion::NestedSection(name) => format!(
                        "[{name}] is a section of its own: start it with a [{name}] header instead of writing it inside {section}"
                    ),
                    Suggestion::None => format!(
                        "the keys of {section} are {}",
                        valid.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                    ),
                },
            ),
            WrongType { expected, example, .. } => (format!("expected {expected}"), example.clone()),
            OutOfRange { value, min, max, .. } => (
                format!("{value} is not between {min} and {max}"),
                format!("use a value from {min} to {max}"),
            ),
            Unit { error, .. } => (unit_label(error).into(), error.help()),
            InvalidChoice { found, choices, .. } => {
                let list = choices.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" or ");
                let help = match crate::profile::keys::nearest(found, choices.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`? write {list}"),
                    None => format!("write {list}"),
                };
                (format!("expected {list}"), help)
            }
            EmptyText { key, .. } => (
                "empty".into(),
                format!("give `{key}` a name, e.g. \"my-stack\""),
            ),
            BadInterfaceName { .. } => (
                "1 to 15 letters, digits, `-` or `_`".into(),
                "use a short name such as \"eth0\"".into(),
            ),
            BadMac { problem, .. } => (
                match problem {
                    MacProblem::Syntax => "not six hex bytes separated by `:`",
                    MacProblem::Multicast => "multicast address (lowest bit of the first byte set)",
                    MacProblem::AllZero => "all-zero address",
                }
                .into(),
                "write a locally administered unicast address such as \"02:00:00:00:00:01\", or \"from-board\"".into(),
            ),
            BadIpv4Setting { .. } => (
                "not `dhcp`, `static ADDRESS/PREFIX` or `off`".into(),
                "write \"dhcp\", \"static 192.0.2.2/24\" or \"off\"".into(),
            ),
            BadCidr { problem, .. } => {
                let label = match problem {
                    CidrProblem::MissingAddress => "no address after `static`".to_string(),
                    CidrProblem::MissingPrefix => "no `/prefix` length".to_string(),
                    CidrProblem::BadAddress => "not a dotted IPv4 address".to_string(),
                    CidrProblem::BadPrefix => "the prefix length is not a number".to_string(),
                    CidrProblem::PrefixTooLong { prefix } => format!("prefix length {prefix} is over 32"),
                    CidrProblem::NoHostRoom { prefix } => {
                        format!("prefix length {prefix} leaves no subnet for a host and its gateway")
                    }
                };
                (label, "write the address and prefix length as \"static 192.0.2.2/24\" (prefix 1 to 30)".into())
            }
            BadAddress { .. } => (
                "not a dotted IPv4 address".into(),
                "write four numbers from 0 to 255 separated by dots, e.g. \"192.0.2.1\"".into(),
            ),
            UnknownBoard { suggestion, .. } => (
                "not a known board".into(),
                match suggestion {
                    Some(name) => format!("did you mean `{name}`? known boards: {}", crate::board::names()),
                    None => format!("known boards: {}", crate::board::names()),
                },
            ),
            KeepaliveWithoutTime { .. } => (
                "says on, but not after how long".into(),
                "write the idle time before the first probe, e.g. `keepalive = \"60 s\"`, or `false`".into(),
            ),
        }
    }
}

fn unit_label(error: &UnitError) -> &'static str {
    match error {
        UnitError::NotASize { .. } | UnitError::NotATcpSize { .. } => "not a size",
        UnitError::UnknownSizeUnit { .. } => "unknown unit",
        UnitError::AmbiguousSizeUnit { .. } => "1000 or 1024?",
        UnitError::MssNotAllowed => "`mss` not allowed here",
        UnitError::NotADuration { .. } => "not a duration",
        UnitError::UnknownDurationUnit { .. } => "unknown unit",
        UnitError::DurationWithoutUnit => "no unit",
        UnitError::Fraction { .. } => "not a whole number",
        UnitError::Negative { .. } => "negative",
        UnitError::TooLarge { .. } => "too large",
    }
}

fn section_list() -> String {
    crate::profile::keys::SECTIONS
        .iter()
        .map(|section| section.header())
        .collect::<Vec<_>>()
        .join(", ")
}

fn supported_list() -> String {
    crate::profile::keys::PROTOCOLS
        .keys
        .iter()
        .map(|key| key.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn missing_section_help(header: &str) -> String {
    match header {
        "[stack]" => {
            "add a [stack] section with `name = \"my-stack\"` and `board = \"stm32f407\"`".into()
        }
        "[[interface]]" => {
            "add an [[interface]] section, e.g. `name = \"eth0\"` and `ipv4 = \"dhcp\"`".into()
        }
        other => format!("add a {other} section"),
    }
}

fn missing_key_help(section: &str, key: &str) -> String {
    match (section, key) {
        ("[stack]", "name") => "add `name = \"my-stack\"`".into(),
        ("[stack]", "board") => format!(
            "add `board = \"stm32f407\"`; known boards: {}",
            crate::board::names()
        ),
        ("[[interface]]", "name") => "add `name = \"eth0\"`".into(),
        _ => format!("add `{key} = …` to {section}"),
    }
}

impl ToDiagnostic for ProfileError {
    fn to_diagnostic(&self) -> Diagnostic {
        let (label, help) = self.label_and_help();
        Diagnostic {
            severity: Severity::Error,
            code: None,
            message: self.to_string(),
            span: self.span(),
            label,
            help: Some(help),
        }
    }
}
