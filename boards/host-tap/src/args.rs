//! Parsers for the command-line values every host program of this board takes: the stack's
//! address (`--ipv4 192.0.2.2/24`) and its MAC (`--mac 02:00:00:00:00:02`).
//!
//! They live with the board so that every example reads these flags the same way and reports
//! the same errors; each returns an [`ArgError`], which clap shows as the flag's error.

use core::fmt;
use std::net::Ipv4Addr;

use stack_runtime::wire::Ipv4Cidr;

/// Why a command-line address value was refused; each variant carries the text as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgError {
    /// No `/` between address and prefix length.
    NotCidr(String),
    /// The part before `/` is not a dotted-quad IPv4 address.
    BadIpv4(String),
    /// The prefix length is not a number from 0 to 32.
    BadPrefix(String),
    /// Not six colon-separated hex bytes.
    NotMac(String),
    /// A group (multicast) MAC address: a station needs a unicast one.
    MulticastMac(String),
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotCidr(text) => write!(f, "{text:?} is not ADDR/PREFIX (e.g. 192.0.2.2/24)"),
            Self::BadIpv4(text) => write!(f, "{text:?} is not an IPv4 address"),
            Self::BadPrefix(text) => write!(f, "{text:?} is not a prefix length from 0 to 32"),
            Self::NotMac(text) => {
                write!(f, "{text:?} is not a MAC address like 02:00:00:00:00:02")
            }
            Self::MulticastMac(text) => {
                write!(
                    f,
                    "{text:?} is a multicast address; a station needs unicast"
                )
            }
        }
    }
}

impl std::error::Error for ArgError {}

/// Parses `ADDR/PREFIX`, e.g. `192.0.2.2/24`.
pub fn parse_cidr(text: &str) -> Result<Ipv4Cidr, ArgError> {
    let (address, prefix) = text
        .split_once('/')
        .ok_or_else(|| ArgError::NotCidr(text.to_owned()))?;
    let address: Ipv4Addr = address
        .parse()
        .map_err(|_| ArgError::BadIpv4(address.to_owned()))?;
    prefix
        .parse()
        .ok()
        .and_then(|prefix_len| Ipv4Cidr::new(address, prefix_len))
        .ok_or_else(|| ArgError::BadPrefix(prefix.to_owned()))
}

/// Parses a unicast MAC address written as six colon-separated hex bytes of one or two digits.
pub fn parse_mac(text: &str) -> Result<[u8; 6], ArgError> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        let part = parts.next().unwrap_or("");
        *byte = u8::from_str_radix(part, 16)
            .ok()
            .filter(|_| !part.is_empty() && part.len() <= 2)
            .ok_or_else(|| ArgError::NotMac(text.to_owned()))?;
    }
    if parts.next().is_some() {
        return Err(ArgError::NotMac(text.to_owned()));
    }
    if mac[0] & 1 != 0 {
        return Err(ArgError::MulticastMac(text.to_owned()));
    }
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_are_parsed_and_checked() {
        assert_eq!(parse_mac("02:00:00:00:00:02"), Ok([2, 0, 0, 0, 0, 2]));
        assert_eq!(
            parse_mac("02:AB:cd:0:1:ff"),
            Ok([2, 0xab, 0xcd, 0, 1, 0xff])
        );
        for bad in [
            "02:00:00:00:00",
            "02:00:00:00:00:02:03",
            "02:00:00:00:00:2g",
            "02:00:00:00::02",
            "002:00:00:00:00:02",
            "",
        ] {
            assert_eq!(parse_mac(bad), Err(ArgError::NotMac(bad.into())), "{bad}");
        }
        assert_eq!(
            parse_mac("01:00:5e:00:00:01"),
            Err(ArgError::MulticastMac("01:00:5e:00:00:01".into()))
        );
    }

    #[test]
    fn cidrs_are_parsed_and_checked() {
        let cidr = parse_cidr("192.0.2.2/24").unwrap();
        assert_eq!(cidr.address, Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(cidr.prefix_len, 24);
        assert_eq!(
            parse_cidr("192.0.2.2"),
            Err(ArgError::NotCidr("192.0.2.2".into()))
        );
        assert_eq!(
            parse_cidr("192.0.2.2/33"),
            Err(ArgError::BadPrefix("33".into()))
        );
        assert_eq!(
            parse_cidr("192.0.2/24"),
            Err(ArgError::BadIpv4("192.0.2".into()))
        );
    }

    #[test]
    fn errors_name_the_value_and_the_expected_form() {
        assert_eq!(
            ArgError::NotMac("x".into()).to_string(),
            "\"x\" is not a MAC address like 02:00:00:00:00:02"
        );
    }
}
