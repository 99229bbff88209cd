//! Numbers as the Markdown and HTML reports print them: `30,724 B`, `46.9%`, and the
//! percentage arithmetic in tenths so every format rounds the same way.

use crate::units::format_size;

/// `30724` as `"30,724"`: digits grouped by three, so sizes read at a glance.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `30724` as `"30,724 B"`.
pub fn bytes(value: u64) -> String {
    format!("{} B", thousands(value))
}

/// A limit as `"64 KiB (65,536 B)"`, or just `"1,000 B"` when it is not a round unit.
pub fn limit(value: u64) -> String {
    let round = format_size(value);
    if round.ends_with(" B") {
        bytes(value)
    } else {
        format!("{round} ({})", bytes(value))
    }
}

/// `part` as a share of `whole` in tenths of a percent, rounded half up; `None` when `whole`
/// is 0 (no meaningful share).
pub fn per_mille(part: u64, whole: u64) -> Option<u64> {
    if whole == 0 {
        return None;
    }
    let scaled = u128::from(part) * 1000 + u128::from(whole) / 2;
    Some(u64::try_from(scaled / u128::from(whole)).unwrap_or(u64::MAX))
}

/// Tenths of a percent as a JSON number (`469` → `46.9`).
pub fn percent_value(per_mille: u64) -> f64 {
    // Exact for every value a report can hold (well under 2^53).
    per_mille as f64 / 10.0
}

/// Tenths of a percent as text (`469` → `"46.9%"`).
pub fn percent_text(per_mille: u64) -> String {
    format!("{}.{}%", thousands(per_mille / 10), per_mille % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(30724), "30,724");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(bytes(17520), "17,520 B");
    }

    #[test]
    fn limits_show_the_unit_and_the_bytes() {
        assert_eq!(limit(65536), "64 KiB (65,536 B)");
        assert_eq!(limit(1000), "1,000 B");
    }

    #[test]
    fn percentages_round_half_up() {
        assert_eq!(per_mille(30724, 65536), Some(469));
        assert_eq!(per_mille(1, 2000), Some(1));
        assert_eq!(per_mille(1, 0), None);
        assert_eq!(percent_text(469), "46.9%");
        assert_eq!(percent_text(12345), "1,234.5%");
        assert_eq!(percent_value(469), 46.9);
    }
}
