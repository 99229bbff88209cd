//! Monotonic time as the board provides it.
//!
//! No protocol reads a clock: the board passes an [`Instant`] to every `poll`, and the stack
//! answers with the [`Instant`] of its next deadline. Both types count microseconds in a `u64`,
//! which does not wrap for half a million years, so comparisons never need wrap-around logic.
//! Arithmetic saturates instead of panicking.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};

/// A point on the board's monotonic clock, in microseconds since an arbitrary origin (usually
/// boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant {
    micros: u64,
}

impl Instant {
    /// The origin of the clock.
    pub const ZERO: Instant = Instant { micros: 0 };

    /// An instant `micros` microseconds after the origin.
    pub const fn from_micros(micros: u64) -> Instant {
        Instant { micros }
    }

    /// An instant `millis` milliseconds after the origin (saturating).
    pub const fn from_millis(millis: u64) -> Instant {
        Instant {
            micros: millis.saturating_mul(1000),
        }
    }

    /// An instant `secs` seconds after the origin (saturating).
    pub const fn from_secs(secs: u64) -> Instant {
        Instant {
            micros: secs.saturating_mul(1_000_000),
        }
    }

    /// Microseconds since the origin.
    pub const fn total_micros(&self) -> u64 {
        self.micros
    }

    /// Milliseconds since the origin (truncated).
    pub const fn total_millis(&self) -> u64 {
        div_u64_by_u16(self.micros, 1000)
    }

    /// Time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        Duration {
            micros: self.micros.saturating_sub(earlier.micros),
        }
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}s",
            self.micros / 1_000_000,
            self.micros % 1_000_000
        )
    }
}

/// `x / d` for a divisor below 2^16. On 32-bit targets, from three 32-bit divisions (which
/// Cortex-M3/M4 does in hardware) instead of compiler-builtins' 64-bit division routine,
/// which a plain `u64 / u64` calls there.
#[cfg_attr(target_pointer_width = "32", inline(never))]
pub(crate) const fn div_u64_by_u16(x: u64, d: u16) -> u64 {
    if cfg!(target_pointer_width = "64") {
        return x / d as u64;
    }
    // A divisor of 0 would be a bug in the caller (every one passes a constant); 1 keeps
    // this free of a panic path.
    let d = if d == 0 { 1 } else { d as u32 };
    let hi = (x >> 32) as u32;
    let lo = x as u32;
    // Each step divides a number below d · 2^16 (the remainder before it is below d), so
    // every quotient digit fits 16 bits.
    let r = hi % d;
    let n1 = (r << 16) | (lo >> 16);
    let n0 = ((n1 % d) << 16) | (lo & 0xffff);
    (((hi / d) as u64) << 32) | (((n1 / d) as u64) << 16) | (n0 / d) as u64
}

/// The earlier of deadline `acc` (if any) and `t`: `iter.fold(None, earliest)` is
/// `iter.min()` in one shared copy instead of one per iterator type.
#[cfg_attr(target_pointer_width = "32", inline(never))]
pub(crate) fn earliest(acc: Option<Instant>, t: Instant) -> Option<Instant> {
    match acc {
        Some(a) if a <= t => Some(a),
        _ => Some(t),
    }
}

/// A span of time in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    micros: u64,
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration { micros: 0 };

    /// A duration of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> Duration {
        Duration { micros }
    }

    /// A duration of `millis` milliseconds (saturating).
    pub const fn from_millis(millis: u64) -> Duration {
        Duration {
            micros: millis.saturating_mul(1000),
        }
    }

    /// A duration of `secs` seconds (saturating).
    pub const fn from_secs(secs: u64) -> Duration {
        Duration {
            micros: secs.saturating_mul(1_000_000),
        }
    }

    /// The duration in microseconds.
    pub const fn total_micros(&self) -> u64 {
        self.micros
    }

    /// The duration in milliseconds (truncated).
    pub const fn total_millis(&self) -> u64 {
        div_u64_by_u16(self.micros, 1000)
    }

    /// The duration in whole seconds (truncated).
    pub const fn total_secs(&self) -> u64 {
        div_u64_by_u16(div_u64_by_u16(self.micros, 1000), 1000)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}s",
            self.micros / 1_000_000,
            self.micros % 1_000_000
        )
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    // 64-bit saturating arithmetic is a dozen instructions on a 32-bit MCU: one copy, called.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn add(self, rhs: Duration) -> Instant {
        Instant {
            micros: self.micros.saturating_add(rhs.micros),
        }
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, rhs: Duration) -> Instant {
        Instant {
            micros: self.micros.saturating_sub(rhs.micros),
        }
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturating: an `earlier` that is actually later gives zero.
    // 64-bit saturating arithmetic is a dozen instructions on a 32-bit MCU: one copy, called.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, rhs: Duration) -> Duration {
        Duration {
            micros: self.micros.saturating_add(rhs.micros),
        }
    }
}

impl Sub for Duration {
    type Output = Duration;
    fn sub(self, rhs: Duration) -> Duration {
        Duration {
            micros: self.micros.saturating_sub(rhs.micros),
        }
    }
}

/// Extends readings of a wrapping 32-bit hardware counter to 64 bits, so a board turns its
/// free-running timer into an [`Instant`] that never wraps. Read it at least once per period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WrapExtender {
    last: u32,
    wraps: u32,
}

impl WrapExtender {
    /// An extender whose first reading is taken to be in the first period.
    pub const fn new() -> WrapExtender {
        WrapExtender { last: 0, wraps: 0 }
    }

    /// The 64-bit count for `raw`, a reading taken after every earlier one and less than one
    /// full period after the previous one.
    pub fn extend(&mut self, raw: u32) -> u64 {
        if raw < self.last {
            self.wraps = self.wraps.wrapping_add(1);
        }
        self.last = raw;
        (u64::from(self.wraps) << 32) | u64::from(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_millis(5);
        assert_eq!(t.total_micros(), 5000);
        assert_eq!((t + Duration::from_secs(1)).total_millis(), 1005);
        assert_eq!(t - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(
            Instant::from_micros(u64::MAX) + Duration::from_micros(1),
            Instant::from_micros(u64::MAX)
        );
        assert!(Instant::from_micros(1) < Instant::from_micros(2));
    }

    #[test]
    fn division_by_small_divisors_matches_u64_division() {
        fn check<const D: u16>() {
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            let d = u64::from(D);
            for v in [
                0,
                1,
                999,
                1000,
                1001,
                u64::from(u32::MAX),
                u64::MAX,
                u64::MAX - 1,
            ] {
                assert_eq!(div_u64_by_u16(v, D), v / d, "{v} / {d}");
            }
            for _ in 0..1000 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                assert_eq!(div_u64_by_u16(x, D), x / d);
                assert_eq!(div_u64_by_u16(x >> 20, D), (x >> 20) / d);
            }
        }
        check::<1>();
        check::<2>();
        check::<3>();
        check::<7>();
        check::<1000>();
        check::<2001>();
        check::<65535>();
        assert_eq!(Duration::from_micros(7_999_999).total_secs(), 7);
        assert_eq!(
            Duration::from_micros(u64::MAX).total_secs(),
            u64::MAX / 1_000_000
        );
    }

    #[test]
    fn readings_are_extended_across_wraps() {
        let mut e = WrapExtender::new();
        assert_eq!(e.extend(5), 5);
        assert_eq!(e.extend(u32::MAX - 1), u64::from(u32::MAX - 1));
        assert_eq!(e.extend(3), (1 << 32) + 3);
        assert_eq!(e.extend(3), (1 << 32) + 3, "an equal reading is not a wrap");
        assert_eq!(e.extend(10), (1 << 32) + 10);
        assert_eq!(e.extend(0), (2 << 32));
    }
}
