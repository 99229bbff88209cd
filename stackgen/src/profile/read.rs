//! Walks the TOML tree section by section, key by key, turning values into typed [`Val`]s and
//! every problem into a [`ProfileError`] with its span.

use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ProfileError, Suggestion};
use super::keys::{self, Kind, Section};
use super::values::{parse_ipv4_address, parse_ipv4_setting, parse_mac, valid_interface_name};
use super::*;
use crate::units::{self, TcpSize, format_duration, format_size};

type Value<'i> = Spanned<DeValue<'i>>;

/// Parses the whole document.
pub(super) fn parse(text: &str) -> Result<Profile, Vec<ProfileError>> {
    if text
        .lines()
        .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'))
    {
        return Err(vec![ProfileError::EmptyFile]);
    }
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(error) => {
            return Err(vec![ProfileError::Syntax {
                message: error.message().to_string(),
                span: error.span(),
            }]);
        }
    };
    let mut errors = Vec::new();
    let profile = read_root(root.get_ref(), &mut errors);
    if errors.is_empty() {
        Ok(profile)
    } else {
        errors.sort_by_key(|error| error.span().map_or(usize::MAX, |span| span.start));
        Err(errors)
    }
}

fn article_type(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn read_root(root: &DeTable<'_>, errors: &mut Vec<ProfileError>) -> Profile {
    let mut profile = Profile {
        stack: Stack::default(),
        interfaces: Vec::new(),
        protocols: Protocols::default(),
        buffers: Buffers::default(),
        tcp: Tcp::default(),
        udp: Udp::default(),
        arp: Cache::default(),
        ndp: Cache::default(),
        reassembly: Reassembly::default(),
        dns: Dns::default(),
        budget: Budget::default(),
        workload: Workload::default(),
    };
    let mut seen_stack = false;
    let mut seen_interface = false;
    // Set when an error already told the user how to write [[interface]].
    let mut interface_hinted = false;
    for (key, value) in root.iter() {
        let name = key.get_ref().as_ref();
        let span = key.span();
        let Some(section) = keys::section(name) else {
            interface_hinted |= unknown_root_entry(name, span, value, errors);
            continue;
        };
        if section.array {
            let Some(items) = value.get_ref().as_array() else {
                errors.push(ProfileError::InterfaceNotArray { span });
                interface_hinted = true;
                continue;
            };
            seen_interface = true;
            for item in items.iter() {
                match item.get_ref().as_table() {
                    Some(table) => {
                        let interface = read_interface(table, item.span(), errors);
                        profile.interfaces.push(interface);
                    }
                    None => errors.push(ProfileError::InterfaceNotArray { span: item.span() }),
                }
            }
            continue;
        }
        let table = match value.get_ref() {
            DeValue::Table(table) => table,
            DeValue::Array(_) => {
                errors.push(ProfileError::SectionIsArray {
                    name: name.to_string(),
                    span,
                });
                continue;
            }
            other => {
                errors.push(ProfileError::WrongType {
                    key: name.to_string(),
                    span: value.span(),
                    expected: "a section",
                    found: article_type(other),
                    example: format!("write a [{name}] section with its keys on the lines below"),
                });
                continue;
            }
        };
        let mut r = TableReader::new(section, table, span.clone(), errors);
        match section.name {
            "stack" => {
                seen_stack = true;
                profile.stack = read_stack(&mut r);
            }
            "protocols" => profile.protocols = read_protocols(&mut r),
            "buffers" => {
                profile.buffers = Buffers {
                    header: Some(span),
                    rx_count: r.count("rx_count"),
                    tx_count: r.count("tx_count"),
                    size: r.size("size"),
                }
            }
            "tcp" => profile.tcp = read_tcp(&mut r),
            "udp" => {
                profile.udp = Udp {
                    header: Some(span),
                    sockets: r.count("sockets"),
                    rx_buffer: r.size("rx_buffer"),
                    tx_buffer: r.size("tx_buffer"),
                }
            }
            "arp" => {
                profile.arp = Cache {
                    header: Some(span),
                    entries: r.count("entries"),
                }
            }
            "ndp" => {
                profile.ndp = Cache {
                    header: Some(span),
                    entries: r.count("entries"),
                }
            }
            "reassembly" => {
                profile.reassembly = Reassembly {
                    header: Some(span),
                    buffers: r.count("buffers"),
                    size: r.size("size"),
                }
            }
            "dns" => {
                profile.dns = Dns {
                    header: Some(span),
                    servers: r.count("servers"),
                    cache_entries: r.count("cache_entries"),
                }
            }
            "budget" => {
                profile.budget = Budget {
                    header: Some(span),
                    ram_max: r.size("ram_max"),
                    flash_max: r.size("flash_max"),
                }
            }
            "workload" => {
                profile.workload = Workload {
                    header: Some(span),
                    concurrent_connections: r.count("concurrent_connections"),
                    new_connections_per_second: r.rate("new_connections_per_second"),
                    rtt: r.duration("rtt"),
                    peers: r.count("peers"),
                }
            }
            other => unreachable!("section [{other}] in the catalogue but not read"),
        }
        r.finish();
    }
    if !seen_stack {
        errors.push(ProfileError::MissingSection {
            header: keys::STACK.header(),
        });
    }
    if !seen_interface && !interface_hinted {
        errors.push(ProfileError::MissingSection {
            header: keys::INTERFACE.header(),
        });
    }
    profile
}

/// Reports a top-level entry that is not a section; returns whether the report suggested
/// `[[interface]]`.
fn unknown_root_entry(
    name: &str,
    span: Span,
    value: &Value<'_>,
    errors: &mut Vec<ProfileError>,
) -> bool {
    if keys::NOT_YET_SUPPORTED.contains(&name) {
        errors.push(ProfileError::NotSupportedYet {
            name: name.to_string(),
            span,
            as_section: true,
        });
        return false;
    }
    let is_table = matches!(value.get_ref(), DeValue::Table(_))
        || value.get_ref().as_array().is_some_and(|items| {
            items.iter().all(|item| item.get_ref().is_table()) && !items.is_empty()
        });
    if !is_table {
        // A key outside any section: say where it belongs, if it belongs anywhere.
        let homes: Vec<String> = keys::SECTIONS
            .iter()
            .filter(|section| section.key(name).is_some())
            .map(|section| section.header())
            .collect();
        errors.push(ProfileError::KeyOutsideSection {
            name: name.to_string(),
            span,
            home: if homes.is_empty() {
                None
            } else {
                Some(homes.join(" or "))
            },
        });
        return false;
    }
    let mut names: Vec<&'static str> = keys::SECTIONS.iter().map(|s| s.name).collect();
    if name == "interfaces" || name == "iface" {
        names = vec!["interface"];
    }
    let suggestion = keys::nearest(name, names);
    errors.push(ProfileError::UnknownSection {
        name: name.to_string(),
        span,
        suggestion,
    });
    suggestion == Some("interface")
}

fn read_stack(r: &mut TableReader<'_, '_>) -> Stack {
    let name = r.required_text("name");
    let board = r.required_text("board");
    if let Some(board) = &board
        && crate::board::find(&board.value).is_none()
    {
        r.errors.push(ProfileError::UnknownBoard {
            found: board.value.clone(),
            span: board.span.clone(),
            suggestion: keys::nearest(&board.value, crate::board::BOARDS.iter().map(|b| b.name)),
        });
    }
    Stack {
        header: Some(r.header.clone()),
        name: name.unwrap_or_default(),
        board: board.unwrap_or_default(),
        target: r.text("target"),
        app: r.text("app"),
    }
}

fn read_interface(table: &DeTable<'_>, header: Span, errors: &mut Vec<ProfileError>) -> Interface {
    let mut r = TableReader::new(&keys::INTERFACE, table, header.clone(), errors);
    let name = r.required_text("name");
    if let Some(name) = &name
        && !name.value.is_empty()
        && !valid_interface_name(&name.value)
    {
        r.errors.push(ProfileError::BadInterfaceName {
            found: name.value.clone(),
            span: name.span.clone(),
        });
    }
    let kind = r.choice("kind").map(|v| Val {
        value: if v.value == "loopback" {
            InterfaceKind::Loopback
        } else {
            InterfaceKind::Ethernet
        },
        span: v.span,
    });
    let mac = r.string_with("mac", |text, span, errors| match parse_mac(text) {
        Ok(mac) => Some(mac),
        Err(problem) => {
            errors.push(ProfileError::BadMac {
                found: text.to_string(),
                span,
                problem,
            });
            None
        }
    });
    let ipv4 = r.string_with("ipv4", |text, span, errors| {
        match parse_ipv4_setting(text) {
            Ok(setting) => Some(setting),
            Err(None) => {
                errors.push(ProfileError::BadIpv4Setting {
                    found: text.to_string(),
                    span,
                });
                None
            }
            Err(Some(problem)) => {
                errors.push(ProfileError::BadCidr {
                    found: text.to_string(),
                    span,
                    problem,
                });
                None
            }
        }
    });
    let gateway = r.string_with("gateway", |text, span, errors| {
        let address = parse_ipv4_address(text);
        if address.is_none() {
            errors.push(ProfileError::BadAddress {
                key: "interface.gateway".into(),
                found: text.to_string(),
                span,
            });
        }
        address
    });
    let interface = Interface {
        header,
        name: name.unwrap_or_default(),
        kind,
        mac,
        ipv4,
        gateway,
        ipv6: r.boolean("ipv6"),
        mtu: r.count("mtu"),
    };
    r.finish();
    interface
}

fn read_protocols(r: &mut TableReader<'_, '_>) -> Protocols {
    Protocols {
        header: Some(r.header.clone()),
        arp: r.boolean("arp"),
        ipv4: r.boolean("ipv4"),
        ipv6: r.boolean("ipv6"),
        icmpv4: r.boolean("icmpv4"),
        icmpv6: r.boolean("icmpv6"),
        udp: r.boolean("udp"),
        tcp: r.boolean("tcp"),
        dhcpv4: r.boolean("dhcpv4"),
        dns: r.boolean("dns"),
    }
}

fn read_tcp(r: &mut TableReader<'_, '_>) -> Tcp {
    let keepalive = r.raw("keepalive").and_then(|value| match value.get_ref() {
        DeValue::Boolean(false) => Some(Val {
            value: None,
            span: value.span(),
        }),
        DeValue::Boolean(true) => {
            r.errors
                .push(ProfileError::KeepaliveWithoutTime { span: value.span() });
            None
        }
        _ => r.duration_value("keepalive", value).map(|v| Val {
            value: Some(v.value),
            span: v.span,
        }),
    });
    Tcp {
        header: Some(r.header.clone()),
        sockets: r.count("sockets"),
        listeners: r.count("listeners"),
        backlog: r.count("backlog"),
        mss: r.count("mss"),
        rx_window: r.tcp_size("rx_window"),
        send_buffer: r.tcp_size("send_buffer"),
        segments: r.count("segments"),
        out_of_order_segments: r.count("out_of_order_segments"),
        time_wait: r.duration("time_wait"),
        keepalive,
        window_scaling: r.boolean("window_scaling"),
        timestamps: r.boolean("timestamps"),
        sack: r.boolean("sack"),
        buffers: r.choice("buffers").map(|v| Val {
            value: if v.value == "reserved" {
                TcpBuffers::Reserved
            } else {
                TcpBuffers::Shared
            },
            span: v.span,
        }),
    }
}

/// Reads the keys of one table, remembering which were used so the rest can be reported.
struct TableReader<'a, 'i> {
    section: &'static Section,
    table: &'a DeTable<'i>,
    header: Span,
    used: Vec<&'static str>,
    errors: &'a mut Vec<ProfileError>,
}

impl<'a, 'i> TableReader<'a, 'i> {
    fn new(
        section: &'static Section,
        table: &'a DeTable<'i>,
        header: Span,
        errors: &'a mut Vec<ProfileError>,
    ) -> Self {
        Self {
            section,
            table,
            header,
            used: Vec::new(),
            errors,
        }
    }

    fn qualified(&self, name: &str) -> String {
        format!("{}.{name}", self.section.name)
    }

    fn raw(&mut self, name: &'static str) -> Option<&'a Value<'i>> {
        debug_assert!(self.section.key(name).is_some(), "{name} not in catalogue");
        self.used.push(name);
        self.table.get(name)
    }

    fn wrong_type(
        &mut self,
        name: &str,
        value: &Value<'_>,
        expected: &'static str,
        example: String,
    ) {
        self.errors.push(ProfileError::WrongType {
            key: self.qualified(name),
            span: value.span(),
            expected,
            found: article_type(value.get_ref()),
            example,
        });
    }

    fn string(&mut self, name: &'static str) -> Option<(&'a str, Span)> {
        let value = self.raw(name)?;
        match value.get_ref() {
            DeValue::String(text) => Some((text.as_ref(), value.span())),
            _ => {
                self.wrong_type(
                    name,
                    value,
                    "a string",
                    format!("write the value in double quotes, e.g. `{name} = \"…\"`"),
                );
                None
            }
        }
    }

    fn string_with<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str, Span, &mut Vec<ProfileError>) -> Option<T>,
    ) -> Option<Val<T>> {
        let (text, span) = self.string(name)?;
        let value = parse(text, span.clone(), self.errors)?;
        Some(Val { value, span })
    }

    fn text(&mut self, name: &'static str) -> Option<Val<String>> {
        let (text, span) = self.string(name)?;
        if text.trim().is_empty() {
            self.errors.push(ProfileError::EmptyText {
                key: self.qualified(name),
                span,
            });
            return None;
        }
        Some(Val {
            value: text.to_string(),
            span,
        })
    }

    fn required_text(&mut self, name: &'static str) -> Option<Val<String>> {
        if self.table.get(name).is_none() {
            self.errors.push(ProfileError::MissingKey {
                section: self.section.header(),
                key: self.section.expect_key(name).name,
                span: self.header.clone(),
            });
            self.used.push(name);
            return None;
        }
        self.text(name)
    }

    fn choice(&mut self, name: &'static str) -> Option<Val<&'static str>> {
        let Kind::Choice(choices) = self.section.expect_key(name).kind else {
            unreachable!("{name} is not a choice");
        };
        let (text, span) = self.string(name)?;
        match choices.iter().find(|choice| **choice == text) {
            Some(choice) => Some(Val {
                value: choice,
                span,
            }),
            None => {
                self.errors.push(ProfileError::InvalidChoice {
                    key: self.qualified(name),
                    span,
                    found: text.to_string(),
                    choices,
                });
                None
            }
        }
    }

    fn boolean(&mut self, name: &'static str) -> Option<Val<bool>> {
        let value = self.raw(name)?;
        match value.get_ref() {
            DeValue::Boolean(flag) => Some(Val {
                value: *flag,
                span: value.span(),
            }),
            _ => {
                self.wrong_type(
                    name,
                    value,
                    "a boolean",
                    format!("write `{name} = true` or `{name} = false`, without quotes"),
                );
                None
            }
        }
    }

    /// Reads an integer, `None` (with an error) if it is not one or does not fit in 64 bits.
    fn integer(&mut self, value: &Value<'_>) -> Option<Result<u64, String>> {
        match value.get_ref() {
            DeValue::Integer(integer) => {
                let digits = integer.as_str();
                match i128::from_str_radix(digits, integer.radix()) {
                    Ok(number) if number >= 0 && number <= u64::MAX as i128 => {
                        Some(Ok(number as u64))
                    }
                    Ok(number) => Some(Err(number.to_string())),
                    Err(_) => Some(Err(digits.to_string())),
                }
            }
            _ => None,
        }
    }

    fn count(&mut self, name: &'static str) -> Option<Val<u64>> {
        let Kind::Count { min, max } = self.section.expect_key(name).kind else {
            unreachable!("{name} is not a count");
        };
        let value = self.raw(name)?;
        match self.integer(value) {
            Some(Ok(number)) if (min..=max).contains(&number) => Some(Val {
                value: number,
                span: value.span(),
            }),
            Some(Ok(number)) => {
                self.out_of_range(
                    name,
                    value,
                    number.to_string(),
                    min.to_string(),
                    max.to_string(),
                );
                None
            }
            Some(Err(shown)) => {
                self.out_of_range(name, value, shown, min.to_string(), max.to_string());
                None
            }
            None => {
                let example = match value.get_ref() {
                    DeValue::String(text) if text.trim().parse::<u64>().is_ok() => {
                        format!(
                            "write the number without quotes: `{name} = {}`",
                            text.trim()
                        )
                    }
                    _ => format!(
                        "write a whole number from {min} to {max}, e.g. `{name} = {}`",
                        min.max(1).min(max)
                    ),
                };
                self.wrong_type(name, value, "an integer", example);
                None
            }
        }
    }

    fn out_of_range(
        &mut self,
        name: &str,
        value: &Value<'_>,
        shown: String,
        min: String,
        max: String,
    ) {
        self.errors.push(ProfileError::OutOfRange {
            key: self.qualified(name),
            span: value.span(),
            value: shown,
            min,
            max,
        });
    }

    fn size(&mut self, name: &'static str) -> Option<Val<u64>> {
        let Kind::Size { min, max } = self.section.expect_key(name).kind else {
            unreachable!("{name} is not a size");
        };
        let value = self.raw(name)?;
        let bytes = match value.get_ref() {
            DeValue::String(text) => match units::parse_size(text) {
                Ok(bytes) => bytes,
                Err(error) => {
                    self.errors.push(ProfileError::Unit {
                        key: self.qualified(name),
                        span: value.span(),
                        error,
                    });
                    return None;
                }
            },
            _ => match self.integer(value) {
                Some(Ok(bytes)) => bytes,
                Some(Err(shown)) => {
                    self.out_of_range(
                        name,
                        value,
                        format!("{shown} B"),
                        format_size(min),
                        format_size(max),
                    );
                    return None;
                }
                None => {
                    self.wrong_type(
                        name,
                        value,
                        "a size",
                        format!("write a size such as `{name} = \"16 KiB\"` or a number of bytes"),
                    );
                    return None;
                }
            },
        };
        if !(min..=max).contains(&bytes) {
            self.out_of_range(
                name,
                value,
                format_size(bytes),
                format_size(min),
                format_size(max),
            );
            return None;
        }
        Some(Val {
            value: bytes,
            span: value.span(),
        })
    }

    fn tcp_size(&mut self, name: &'static str) -> Option<Val<TcpSize>> {
        let Kind::TcpSize { max_mss, max } = self.section.expect_key(name).kind else {
            unreachable!("{name} is not a TCP size");
        };
        let value = self.raw(name)?;
        let size = match value.get_ref() {
            DeValue::String(text) => match units::parse_tcp_size(text) {
                Ok(size) => size,
                Err(error) => {
                    self.errors.push(ProfileError::Unit {
                        key: self.qualified(name),
                        span: value.span(),
                        error,
                    });
                    return None;
                }
            },
            _ => match self.integer(value) {
                Some(Ok(bytes)) => TcpSize::Bytes(bytes),
                Some(Err(shown)) => {
                    self.out_of_range(
                        name,
                        value,
                        format!("{shown} B"),
                        "1 B".into(),
                        format_size(max),
                    );
                    return None;
                }
                None => {
                    self.wrong_type(name, value, "a size", format!("write a multiple of the MSS such as `{name} = \"4 mss\"`, or a size such as \"8 KiB\""));
                    return None;
                }
            },
        };
        match size {
            TcpSize::Mss(count) if !(1..=max_mss).contains(&count) => {
                self.out_of_range(
                    name,
                    value,
                    format!("{count} mss"),
                    "1 mss".into(),
                    format!("{max_mss} mss"),
                );
                None
            }
            TcpSize::Bytes(bytes) if !(1..=max).contains(&bytes) => {
                self.out_of_range(
                    name,
                    value,
                    format_size(bytes),
                    "1 B".into(),
                    format_size(max),
                );
                None
            }
            _ => Some(Val {
                value: size,
                span: value.span(),
            }),
        }
    }

    fn duration(&mut self, name: &'static str) -> Option<Val<Duration>> {
        let value = self.raw(name)?;
        self.duration_value(name, value)
    }

    fn duration_value(&mut self, name: &'static str, value: &Value<'_>) -> Option<Val<Duration>> {
        let (min_us, max_us) = match self.section.expect_key(name).kind {
            Kind::Duration { min_us, max_us } => (min_us, max_us),
            Kind::Keepalive => (1_000_000, 7_200_000_000),
            _ => unreachable!("{name} is not a duration"),
        };
        let duration = match value.get_ref() {
            DeValue::String(text) => match units::parse_duration(text) {
                Ok(duration) => duration,
                Err(error) => {
                    self.errors.push(ProfileError::Unit {
                        key: self.qualified(name),
                        span: value.span(),
                        error,
                    });
                    return None;
                }
            },
            DeValue::Integer(_) | DeValue::Float(_) => {
                self.errors.push(ProfileError::Unit {
                    key: self.qualified(name),
                    span: value.span(),
                    error: units::UnitError::DurationWithoutUnit,
                });
                return None;
            }
            _ => {
                self.wrong_type(
                    name,
                    value,
                    "a duration",
                    format!("write a duration such as `{name} = \"60 s\"`"),
                );
                return None;
            }
        };
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        if !(min_us..=max_us).contains(&micros) {
            self.out_of_range(
                name,
                value,
                format_duration(duration),
                format_duration(Duration::from_micros(min_us)),
                format_duration(Duration::from_micros(max_us)),
            );
            return None;
        }
        Some(Val {
            value: duration,
            span: value.span(),
        })
    }

    fn rate(&mut self, name: &'static str) -> Option<Val<f64>> {
        let Kind::Rate { max } = self.section.expect_key(name).kind else {
            unreachable!("{name} is not a rate");
        };
        let value = self.raw(name)?;
        let (rate, shown) = match value.get_ref() {
            DeValue::Float(float) => {
                let shown = float.as_str().to_string();
                (
                    shown.replace('_', "").parse::<f64>().unwrap_or(f64::NAN),
                    shown,
                )
            }
            DeValue::Integer(_) => match self.integer(value) {
                Some(Ok(number)) => (number as f64, number.to_string()),
                Some(Err(shown)) => (f64::NAN, shown),
                None => unreachable!(),
            },
            _ => {
                self.wrong_type(
                    name,
                    value,
                    "a number",
                    format!("write a number without quotes, e.g. `{name} = 2` or `{name} = 0.5`"),
                );
                return None;
            }
        };
        if !(rate.is_finite() && rate >= 0.0 && rate <= max as f64) {
            self.out_of_range(name, value, shown, "0".into(), max.to_string());
            return None;
        }
        Some(Val {
            value: rate,
            span: value.span(),
        })
    }

    /// Reports every key of the table that was not read.
    fn finish(self) {
        for (key, value) in self.table.iter() {
            let name = key.get_ref().as_ref();
            if self.used.contains(&name) || self.section.key(name).is_some() {
                continue;
            }
            if self.section.name == "protocols" && keys::NOT_YET_SUPPORTED.contains(&name) {
                if !matches!(value.get_ref(), DeValue::Boolean(false)) {
                    self.errors.push(ProfileError::NotSupportedYet {
                        name: name.to_string(),
                        span: key.span(),
                        as_section: false,
                    });
                }
                continue;
            }
            let nested = value.get_ref().is_table() && keys::section(name).is_some();
            let suggestion = match keys::nearest(name, self.section.keys.iter().map(|k| k.name)) {
                _ if nested => Suggestion::NestedSection(name.to_string()),
                Some(near) => Suggestion::Similar(near),
                None => {
                    let homes: Vec<String> = keys::SECTIONS
                        .iter()
                        .filter(|section| section.key(name).is_some())
                        .map(|section| section.header())
                        .collect();
                    if homes.is_empty() {
                        Suggestion::None
                    } else {
                        Suggestion::OtherSection(homes.join(" or "))
                    }
                }
            };
            self.errors.push(ProfileError::UnknownKey {
                section: self.section.header(),
                key: name.to_string(),
                span: key.span(),
                suggestion,
                valid: self.section.keys.iter().map(|k| k.name).collect(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str =
        "[stack]\nname = \"t\"\nboard = \"stm32f407\"\n[[interface]]\nname = \"eth0\"\n";

    #[test]
    fn reads_values_with_spans() {
        let text = format!(
            "{HEAD}[tcp]\nrx_window = \"4 mss\"\ntime_wait = \"30 s\"\nkeepalive = false\n"
        );
        let profile = parse(&text).unwrap();
        let window = profile.tcp.rx_window.unwrap();
        assert_eq!(window.value, TcpSize::Mss(4));
        assert_eq!(&text[window.span], "\"4 mss\"");
        assert_eq!(
            profile.tcp.time_wait.unwrap().value,
            Duration::from_secs(30)
        );
        assert_eq!(profile.tcp.keepalive.unwrap().value, None);
    }

    #[test]
    fn inline_tables_and_dotted_keys_are_sections_too() {
        let text = format!("tcp.sockets = 3\nudp = {{ sockets = 1 }}\n{HEAD}");
        let profile = parse(&text).unwrap();
        assert_eq!(profile.tcp.sockets.unwrap().value, 3);
        assert_eq!(profile.udp.sockets.unwrap().value, 1);
        // After a header, the same lines belong to that table: say so.
        let text = format!("{HEAD}tcp.sockets = 3\n");
        assert!(matches!(
            &parse(&text).unwrap_err()[..],
            [ProfileError::UnknownKey { suggestion: Suggestion::NestedSection(name), .. }] if name == "tcp"
        ));
    }

    #[test]
    fn reports_every_error_in_file_order() {
        let text = format!("{HEAD}[tcp]\nsockets = \"x\"\nmss = 1\n[udp]\nbogus = 1\n");
        let errors = parse(&text).unwrap_err();
        let kinds: Vec<&str> = errors
            .iter()
            .map(|e| match e {
                ProfileError::WrongType { .. } => "type",
                ProfileError::OutOfRange { .. } => "range",
                ProfileError::UnknownKey { .. } => "unknown",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, vec!["type", "range", "unknown"]);
    }

    #[test]
    fn unsupported_protocols_may_be_written_off() {
        assert!(parse(&format!("{HEAD}[protocols]\nmqtt = false\n")).is_ok());
        assert!(matches!(
            parse(&format!("{HEAD}[protocols]\nmqtt = true\n")).unwrap_err()[..],
            [ProfileError::NotSupportedYet {
                as_section: false,
                ..
            }]
        ));
    }
}
