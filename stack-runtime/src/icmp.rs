//! ICMP error rate limiting.
//!
//! A stack that answers every closed-port datagram with an ICMP error can be turned into a
//! reflector, and floods its own uplink; RFC 1812 asks for a limit. This is a token bucket: it
//! holds up to `burst` tokens, refills at `per_second` tokens per second, and every ICMP error
//! takes one. Echo replies are not limited (they are answers, not errors).

use crate::time::Instant;

const SCALE: u64 = 1_000_000;

/// A token bucket in micro-tokens, refilled from the time passed to [`take`](Self::take).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBucket {
    per_second: u32,
    burst: u32,
    /// Micro-tokens available.
    level: u64,
    last: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `per_second`. A burst of zero disables the
    /// messages it limits.
    pub const fn new(per_second: u32, burst: u32) -> Self {
        TokenBucket {
            per_second,
            burst,
            level: burst as u64 * SCALE,
            last: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last).total_micros();
            let add = mul_saturating(elapsed, self.per_second);
            self.level = self
                .level
                .saturating_add(add)
                .min(u64::from(self.burst) * SCALE);
        }
        if self.last.is_none_or(|l| now > l) {
            self.last = Some(now);
        }
    }

    /// Take one token at `now`; false when the bucket is empty.
    pub fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.level >= SCALE {
            self.level -= SCALE;
            true
        } else {
            false
        }
    }
}

/// `a × b`, saturated at `u64::MAX`: two 32 × 32-bit multiplications (a 64 × 64-bit one with
/// its overflow check is several times the code on a 32-bit MCU).
fn mul_saturating(a: u64, b: u32) -> u64 {
    let b = u64::from(b);
    // Each product of two 32-bit halves fits in 64 bits.
    let (hi, lo) = ((a >> 32) * b, (a & 0xffff_ffff) * b);
    if hi >> 32 != 0 {
        return u64::MAX;
    }
    (hi << 32).saturating_add(lo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    #[test]
    fn mul_saturating_matches_u64() {
        let values = [
            0,
            1,
            7,
            999_999,
            1 << 31,
            u64::from(u32::MAX),
            1 << 32,
            1 << 40,
        ];
        let values = values
            .into_iter()
            .chain([u64::MAX / 3, u64::MAX - 1, u64::MAX]);
        for a in values {
            for b in [0, 1, 10, 1 << 16, u32::MAX] {
                assert_eq!(
                    mul_saturating(a, b),
                    a.saturating_mul(u64::from(b)),
                    "{a} x {b}"
                );
            }
        }
    }

    #[test]
    fn burst_then_rate() {
        let mut b = TokenBucket::new(10, 3);
        let t = Instant::from_secs(100);
        assert!(b.take(t));
        assert!(b.take(t));
        assert!(b.take(t));
        assert!(!b.take(t));
        // 10 per second: one token every 100 ms.
        assert!(!b.take(t + Duration::from_millis(99)));
        assert!(b.take(t + Duration::from_millis(100)));
        assert!(!b.take(t + Duration::from_millis(100)));
        // Never more than the burst.
        let later = t + Duration::from_secs(60);
        assert!(b.take(later) && b.take(later) && b.take(later));
        assert!(!b.take(later));
        let mut off = TokenBucket::new(10, 0);
        assert!(!off.take(later));
    }
}
