//! Parsers for the string values with structure: MAC addresses and IPv4 settings.

use std::net::Ipv4Addr;

use super::error::{CidrProblem, MacProblem};
use super::{Ipv4Setting, MacSetting};

/// Parses `"from-board"` or a MAC address such as `"02:00:00:00:00:01"` (`-` separators too).
pub fn parse_mac(text: &str) -> Result<MacSetting, MacProblem> {
    if text == "from-board" {
        return Ok(MacSetting::FromBoard);
    }
    let parts: Vec<&str> = text.split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(MacProblem::Syntax);
    }
    let mut bytes = [0u8; 6];
    for (byte, part) in bytes.iter_mut().zip(&parts) {
        if part.len() != 2 {
            return Err(MacProblem::Syntax);
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| MacProblem::Syntax)?;
    }
    if bytes == [0; 6] {
        return Err(MacProblem::AllZero);
    }
    if bytes[0] & 1 == 1 {
        return Err(MacProblem::Multicast);
    }
    Ok(MacSetting::Address(bytes))
}

/// Parses a dotted IPv4 address, strictly (four decimal parts, no leading zeros).
pub fn parse_ipv4_address(text: &str) -> Option<Ipv4Addr> {
    text.parse().ok()
}

/// Parses `"dhcp"`, `"off"` or `"static 192.0.2.2/24"`.
///
/// `Err(None)` means the text is none of the three forms; `Err(Some(problem))` means it is a
/// `static` setting whose address/prefix is malformed.
pub fn parse_ipv4_setting(text: &str) -> Result<Ipv4Setting, Option<CidrProblem>> {
    let text = text.trim();
    match text {
        "dhcp" => return Ok(Ipv4Setting::Dhcp),
        "off" => return Ok(Ipv4Setting::Off),
        _ => {}
    }
    let Some(cidr) = text.strip_prefix("static") else {
        return Err(None);
    };
    let cidr = cidr.trim();
    if cidr.is_empty() {
        return Err(Some(CidrProblem::MissingAddress));
    }
    let Some((address, prefix)) = cidr.split_once('/') else {
        return Err(Some(CidrProblem::MissingPrefix));
    };
    let address = parse_ipv4_address(address.trim()).ok_or(CidrProblem::BadAddress)?;
    let prefix: u8 = prefix.trim().parse().map_err(|_| CidrProblem::BadPrefix)?;
    if prefix > 32 {
        return Err(Some(CidrProblem::PrefixTooLong { prefix }));
    }
    if prefix == 0 || prefix > 30 {
        return Err(Some(CidrProblem::NoHostRoom { prefix }));
    }
    Ok(Ipv4Setting::Static { address, prefix })
}

/// Whether `name` is a valid interface name: 1 to 15 letters, digits, `-` or `_`.
pub fn valid_interface_name(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(parse_mac("from-board"), Ok(MacSetting::FromBoard));
        assert_eq!(
            parse_mac("02:00:00:00:00:01"),
            Ok(MacSetting::Address([2, 0, 0, 0, 0, 1]))
        );
        assert_eq!(
            parse_mac("02-00-00-00-00-0A"),
            Ok(MacSetting::Address([2, 0, 0, 0, 0, 10]))
        );
        assert_eq!(parse_mac("02:00:00:00:01"), Err(MacProblem::Syntax));
        assert_eq!(parse_mac("02:00:00:00:00:0g"), Err(MacProblem::Syntax));
        assert_eq!(parse_mac("03:00:00:00:00:01"), Err(MacProblem::Multicast));
        assert_eq!(parse_mac("00:00:00:00:00:00"), Err(MacProblem::AllZero));
    }

    #[test]
    fn ipv4_settings() {
        assert_eq!(parse_ipv4_setting("dhcp"), Ok(Ipv4Setting::Dhcp));
        assert_eq!(parse_ipv4_setting("off"), Ok(Ipv4Setting::Off));
        assert_eq!(
            parse_ipv4_setting("static 192.0.2.2/24"),
            Ok(Ipv4Setting::Static {
                address: Ipv4Addr::new(192, 0, 2, 2),
                prefix: 24
            })
        );
        assert_eq!(
            parse_ipv4_setting("static 192.0.2.2"),
            Err(Some(CidrProblem::MissingPrefix))
        );
        assert_eq!(
            parse_ipv4_setting("static 192.0.2.256/24"),
            Err(Some(CidrProblem::BadAddress))
        );
        assert_eq!(
            parse_ipv4_setting("static 192.0.2.2/33"),
            Err(Some(CidrProblem::PrefixTooLong { prefix: 33 }))
        );
        assert_eq!(
            parse_ipv4_setting("static 192.0.2.2/x"),
            Err(Some(CidrProblem::BadPrefix))
        );
        assert_eq!(parse_ipv4_setting("192.0.2.2/24"), Err(None));
    }

    #[test]
    fn interface_names() {
        assert!(valid_interface_name("eth0"));
        assert!(!valid_interface_name(""));
        assert!(!valid_interface_name("eth 0"));
        assert!(!valid_interface_name("a-very-long-interface-name"));
    }
}
