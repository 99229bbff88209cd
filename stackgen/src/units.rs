//! Values with units: sizes (`"16 KiB"`, `"1536 B"`, plain integers are bytes), TCP sizes that
//! may be counted in segments (`"4 mss"`), and durations (`"60 s"`, `"50 ms"`, `"2 min"`).
//!
//! Units are binary and explicit: `KB`/`kB`/`K` are refused because people disagree on whether
//! they mean 1000 or 1024, and a duration without a unit is refused because `60` could be
//! seconds or milliseconds.

use std::fmt;
use std::time::Duration;

/// Bytes in a KiB.
pub const KIB: u64 = 1024;
/// Bytes in a MiB.
pub const MIB: u64 = 1024 * 1024;

/// Why a value with a unit could not be read. Each variant says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// The text is not a number followed by an optional unit.
    #[error("expected a size such as \"16 KiB\", found {found:?}")]
    NotASize {
        /// The text as written.
        found: String,
    },
    /// Like [`UnitError::NotASize`], where a multiple of the MSS is also accepted.
    #[error("expected a size such as \"4 mss\" or \"8 KiB\", found {found:?}")]
    NotATcpSize {
        /// The text as written.
        found: String,
    },
    /// A size unit this language does not know.
    #[error("unknown size unit `{unit}`")]
    UnknownSizeUnit {
        /// The unit as written.
        unit: String,
        /// Whether `mss` is accepted here.
        mss_allowed: bool,
    },
    /// `KB`, `kB`, `K`, `MB`…: could mean 1000 or 1024.
    #[error("ambiguous size unit `{unit}`")]
    AmbiguousSizeUnit {
        /// The unit as written.
        unit: String,
    },
    /// `mss` where a plain byte size is meant.
    #[error("`mss` is only a unit for TCP windows and buffers")]
    MssNotAllowed,
    /// The text is not a number followed by a duration unit.
    #[error("expected a duration such as \"60 s\", found {found:?}")]
    NotADuration {
        /// The text as written.
        found: String,
    },
    /// A duration unit this language does not know.
    #[error("unknown duration unit `{unit}`")]
    UnknownDurationUnit {
        /// The unit as written.
        unit: String,
    },
    /// A bare number where a duration is meant.
    #[error("a duration needs a unit")]
    DurationWithoutUnit,
    /// A fraction such as `1.5 KiB`.
    #[error("expected a whole number, found {found:?}")]
    Fraction {
        /// The number as written.
        found: String,
    },
    /// A negative number.
    #[error("expected a positive number, found {found:?}")]
    Negative {
        /// The number as written.
        found: String,
    },
    /// More than fits in 64 bits once the unit is applied.
    #[error("number too large: {found:?}")]
    TooLarge {
        /// The text as written.
        found: String,
    },
}

impl UnitError {
    /// How to write the value correctly.
    pub fn help(&self) -> String {
        match self {
            UnitError::NotASize { .. } | UnitError::UnknownSizeUnit { mss_allowed: false, .. } => {
                "write a whole number of bytes followed by `B`, `KiB` or `MiB`, e.g. \"1536 B\" or \"16 KiB\" (a plain integer means bytes)".into()
            }
            UnitError::NotATcpSize { .. } | UnitError::UnknownSizeUnit { mss_allowed: true, .. } => {
                "write a multiple of the MSS such as \"4 mss\", or a size with `B`, `KiB` or `MiB` such as \"8 KiB\"".into()
            }
            UnitError::AmbiguousSizeUnit { unit } => {
                let binary = if unit.to_ascii_lowercase().starts_with('m') { "MiB" } else { "KiB" };
                format!("write `{binary}` (binary, 1024-based) or the exact number of bytes with `B`")
            }
            UnitError::MssNotAllowed => {
                "only tcp.rx_window and tcp.send_buffer take `mss`; write bytes with `B`, `KiB` or `MiB` here".into()
            }
            UnitError::NotADuration { .. } | UnitError::UnknownDurationUnit { .. } => {
                "write a whole number followed by `us`, `ms`, `s`, `min` or `h`, e.g. \"60 s\" or \"50 ms\"".into()
            }
            UnitError::DurationWithoutUnit => {
                "write the value as a string with a unit, e.g. \"60 s\" or \"50 ms\"".into()
            }
            UnitError::Fraction { .. } => {
                "use a smaller unit to make it whole, e.g. \"1536 B\" instead of \"1.5 KiB\", \"1500 ms\" instead of \"1.5 s\"".into()
            }
            UnitError::Negative { .. } => "sizes and durations cannot be negative".into(),
            UnitError::TooLarge { .. } => "use a smaller value".into(),
        }
    }
}

/// A TCP window or buffer size as written: bytes, or a multiple of the MSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpSize {
    /// An absolute size in bytes.
    Bytes(u64),
    /// `n` maximum segment sizes; the byte value depends on `tcp.mss`.
    Mss(u64),
}

impl TcpSize {
    /// The size in bytes for a given MSS.
    pub fn bytes(self, mss: u64) -> u64 {
        match self {
            TcpSize::Bytes(bytes) => bytes,
            TcpSize::Mss(count) => count.saturating_mul(mss),
        }
    }
}

/// Splits `"16 KiB"` into (`"16"`, `"KiB"`); whitespace between is optional.
fn split_number(text: &str) -> (&str, &str) {
    let text = text.trim();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == '_'))
        .unwrap_or(text.len());
    (&text[..end], text[end..].trim())
}

/// Parses the number part: whole, non-negative, `_` separators allowed.
fn whole_number(number: &str, whole: &str) -> Result<u64, UnitError> {
    if number.starts_with('-') {
        return Err(UnitError::Negative {
            found: whole.trim().to_string(),
        });
    }
    if number.contains('.') {
        return Err(UnitError::Fraction {
            found: whole.trim().to_string(),
        });
    }
    let digits: String = number
        .trim_start_matches('+')
        .chars()
        .filter(|c| *c != '_')
        .collect();
    digits.parse::<u64>().map_err(|_| UnitError::TooLarge {
        found: whole.trim().to_string(),
    })
}

fn size_multiplier(unit: &str, mss_allowed: bool) -> Result<Option<u64>, UnitError> {
    match unit {
        "" | "B" | "b" | "byte" | "bytes" => Ok(Some(1)),
        "KiB" | "kiB" | "kib" | "KIB" => Ok(Some(KIB)),
        "MiB" | "mib" | "MIB" => Ok(Some(MIB)),
        "K" | "k" | "KB" | "kB" | "kb" | "Kb" | "M" | "m" | "MB" | "mB" | "Mb" | "mb" => {
            Err(UnitError::AmbiguousSizeUnit { unit: unit.into() })
        }
        u if u.eq_ignore_ascii_case("mss") => {
            if mss_allowed {
                Ok(None)
            } else {
                Err(UnitError::MssNotAllowed)
            }
        }
        _ => Err(UnitError::UnknownSizeUnit {
            unit: unit.into(),
            mss_allowed,
        }),
    }
}

fn parse_size_inner(text: &str, mss_allowed: bool) -> Result<TcpSize, UnitError> {
    let (number, unit) = split_number(text);
    if number.is_empty() || number == "-" || number == "+" {
        return Err(if mss_allowed {
            UnitError::NotATcpSize { found: text.into() }
        } else {
            UnitError::NotASize { found: text.into() }
        });
    }
    let value = whole_number(number, text)?;
    match size_multiplier(unit, mss_allowed)? {
        Some(multiplier) => value
            .checked_mul(multiplier)
            .map(TcpSize::Bytes)
            .ok_or_else(|| UnitError::TooLarge { found: text.into() }),
        None => Ok(TcpSize::Mss(value)),
    }
}

/// Parses a size in bytes: `"1536 B"`, `"16 KiB"`, `"1 MiB"` or `"1536"`.
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    match parse_size_inner(text, false)? {
        TcpSize::Bytes(bytes) => Ok(bytes),
        TcpSize::Mss(_) => Err(UnitError::MssNotAllowed),
    }
}

/// Parses a TCP window or buffer size: a size as in [`parse_size`], or `"4 mss"`.
pub fn parse_tcp_size(text: &str) -> Result<TcpSize, UnitError> {
    parse_size_inner(text, true)
}

/// Parses a duration: `"500 us"`, `"50 ms"`, `"60 s"`, `"2 min"`, `"1 h"`.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let (number, unit) = split_number(text);
    if number.is_empty() || number == "-" || number == "+" {
        return Err(UnitError::NotADuration { found: text.into() });
    }
    let value = whole_number(number, text)?;
    let micros_per_unit: u64 = match unit {
        "" => return Err(UnitError::DurationWithoutUnit),
        "us" | "µs" => 1,
        "ms" => 1_000,
        "s" | "sec" => 1_000_000,
        "min" => 60_000_000,
        "h" => 3_600_000_000,
        _ => return Err(UnitError::UnknownDurationUnit { unit: unit.into() }),
    };
    value
        .checked_mul(micros_per_unit)
        .map(Duration::from_micros)
        .ok_or_else(|| UnitError::TooLarge { found: text.into() })
}

/// A byte count as people read it: `"16 KiB"` when exact, else `"1536 B"`.
pub fn format_size(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} B")
    }
}

/// A duration in the largest unit that shows it exactly: `"2 min"`, `"60 s"`, `"50 ms"`.
pub fn format_duration(duration: Duration) -> String {
    let micros = duration.as_micros();
    if micros == 0 {
        "0 s".into()
    } else if micros.is_multiple_of(3_600_000_000) {
        format!("{} h", micros / 3_600_000_000)
    } else if micros.is_multiple_of(60_000_000) && micros >= 120_000_000 {
        format!("{} min", micros / 60_000_000)
    } else if micros.is_multiple_of(1_000_000) {
        format!("{} s", micros / 1_000_000)
    } else if micros.is_multiple_of(1_000) {
        format!("{} ms", micros / 1_000)
    } else {
        format!("{micros} us")
    }
}

/// A throughput in bits per second, as people read it: `"934 kbit/s"`, `"11.7 Mbit/s"`.
pub fn format_rate(bits_per_second: f64) -> String {
    if bits_per_second >= 1e9 {
        format!("{:.1} Gbit/s", bits_per_second / 1e9)
    } else if bits_per_second >= 1e6 {
        format!("{:.1} Mbit/s", bits_per_second / 1e6)
    } else if bits_per_second >= 1e3 {
        format!("{:.0} kbit/s", bits_per_second / 1e3)
    } else {
        format!("{bits_per_second:.0} bit/s")
    }
}

/// Shown for a [`TcpSize`] as written: `4 mss` or `8 KiB`.
impl fmt::Display for TcpSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpSize::Bytes(bytes) => f.write_str(&format_size(*bytes)),
            TcpSize::Mss(count) => write!(f, "{count} mss"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16 KiB"), Ok(16384));
        assert_eq!(parse_size("16KiB"), Ok(16384));
        assert_eq!(parse_size("1536 B"), Ok(1536));
        assert_eq!(parse_size("1536"), Ok(1536));
        assert_eq!(parse_size(" 2 MiB "), Ok(2 * MIB));
        assert_eq!(parse_size("16_384 B"), Ok(16384));
    }

    #[test]
    fn size_errors_are_precise() {
        assert_eq!(
            parse_size("16 KB"),
            Err(UnitError::AmbiguousSizeUnit { unit: "KB".into() })
        );
        assert_eq!(
            parse_size("16 GiB"),
            Err(UnitError::UnknownSizeUnit {
                unit: "GiB".into(),
                mss_allowed: false
            })
        );
        assert_eq!(
            parse_size("lots"),
            Err(UnitError::NotASize {
                found: "lots".into()
            })
        );
        assert_eq!(
            parse_size("1.5 KiB"),
            Err(UnitError::Fraction {
                found: "1.5 KiB".into()
            })
        );
        assert_eq!(
            parse_size("-4 B"),
            Err(UnitError::Negative {
                found: "-4 B".into()
            })
        );
        assert_eq!(parse_size("4 mss"), Err(UnitError::MssNotAllowed));
        assert!(matches!(
            parse_size("99999999999999999999 B"),
            Err(UnitError::TooLarge { .. })
        ));
        assert!(matches!(
            parse_size("18446744073709551615 MiB"),
            Err(UnitError::TooLarge { .. })
        ));
        assert_eq!(
            UnitError::NotASize {
                found: "lots".into()
            }
            .to_string(),
            "expected a size such as \"16 KiB\", found \"lots\""
        );
    }

    #[test]
    fn tcp_sizes() {
        assert_eq!(parse_tcp_size("4 mss"), Ok(TcpSize::Mss(4)));
        assert_eq!(parse_tcp_size("4 MSS"), Ok(TcpSize::Mss(4)));
        assert_eq!(parse_tcp_size("8 KiB"), Ok(TcpSize::Bytes(8192)));
        assert_eq!(TcpSize::Mss(4).bytes(1460), 5840);
        assert_eq!(TcpSize::Mss(4).to_string(), "4 mss");
        assert!(matches!(
            parse_tcp_size("4 segments"),
            Err(UnitError::UnknownSizeUnit {
                mss_allowed: true,
                ..
            })
        ));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60 s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1 ms"), Ok(Duration::from_millis(1)));
        assert_eq!(parse_duration("2 min"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("1 h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("60"), Err(UnitError::DurationWithoutUnit));
        assert_eq!(
            parse_duration("60 sec"),
            Ok(Duration::from_secs(60)),
            "`sec` is accepted"
        );
        assert_eq!(
            parse_duration("60 days"),
            Err(UnitError::UnknownDurationUnit {
                unit: "days".into()
            })
        );
        assert_eq!(
            parse_duration("soon"),
            Err(UnitError::NotADuration {
                found: "soon".into()
            })
        );
    }

    #[test]
    fn formatting() {
        assert_eq!(format_size(16384), "16 KiB");
        assert_eq!(format_size(1536), "1536 B");
        assert_eq!(format_size(2 * MIB), "2 MiB");
        assert_eq!(format_duration(Duration::from_secs(120)), "2 min");
        assert_eq!(format_duration(Duration::from_secs(60)), "60 s");
        assert_eq!(format_duration(Duration::from_millis(50)), "50 ms");
        assert_eq!(format_rate(934_400.0), "934 kbit/s");
        assert_eq!(format_rate(11_680_000.0), "11.7 Mbit/s");
    }
}
