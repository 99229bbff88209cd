//! Initial sequence numbers per RFC 6528.
//!
//! `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)` (RFC 6528 §3), where
//!
//! * `M` is a timer ticking every 4 µs (RFC 9293 §3.4.1's clock), taken from the [`Instant`]
//!   the board passes in, truncated to 32 bits (it wraps every ~4.77 hours, as intended);
//! * `F` is SipHash-2-4 ([`super::siphash`]) of the 4-tuple under a 128-bit secret key the
//!   board derives from its seed.
//!
//! Connections to different peers get unrelated sequence spaces (an off-path attacker cannot
//! guess ours from its own connections), while successive connections of the same 4-tuple
//! still advance with the clock, so old duplicates from a previous incarnation fall behind the
//! new ISN (RFC 6528 §1).

use super::FourTuple;
use super::siphash::{SipKey, siphash24};
use crate::time::Instant;
use crate::wire::tcp::SeqNumber;

/// Microseconds per tick of the ISN clock `M` (RFC 6528 §3, RFC 9293 §3.4.1).
pub const ISN_TICK_MICROS: u64 = 4;

/// Generates initial sequence numbers from a secret key (RFC 6528).
#[derive(Clone)]
pub struct IsnGenerator {
    key: SipKey,
}

impl core::fmt::Debug for IsnGenerator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The key is a secret: never print it.
        f.write_str("IsnGenerator { .. }")
    }
}

impl IsnGenerator {
    /// A generator keyed with `key` (128 bits from the board's seed; RFC 6528 §3 asks for a
    /// key that is unknown to attackers and, ideally, changed at every boot).
    pub const fn new(key: SipKey) -> IsnGenerator {
        IsnGenerator { key }
    }

    /// The clock component `M`: `now` in 4 µs ticks, modulo 2^32.
    pub fn clock(now: Instant) -> u32 {
        (now.total_micros() / ISN_TICK_MICROS) as u32
    }

    /// The keyed-hash component `F` for a connection (low 32 bits of SipHash-2-4).
    pub fn offset(&self, tuple: &FourTuple) -> u32 {
        siphash24(&self.key, &tuple.to_bytes()) as u32
    }

    /// The initial sequence number for a new connection of `tuple` at `now`: `M + F`.
    pub fn isn(&self, tuple: &FourTuple, now: Instant) -> SeqNumber {
        SeqNumber(Self::clock(now).wrapping_add(self.offset(tuple)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;
    use core::net::Ipv4Addr;

    fn tuple(remote_port: u16) -> FourTuple {
        FourTuple {
            local_addr: Ipv4Addr::new(192, 0, 2, 1),
            local_port: 80,
            remote_addr: Ipv4Addr::new(198, 51, 100, 7),
            remote_port,
        }
    }

    #[test]
    fn rfc6528_isn_advances_with_4us_clock_for_same_tuple() {
        let g = IsnGenerator::new([7; 16]);
        let t0 = Instant::from_secs(10);
        let a = g.isn(&tuple(40000), t0);
        let b = g.isn(&tuple(40000), t0 + Duration::from_micros(400));
        assert_eq!(b.wrapping_distance(a), 100);
        assert!(a < b);
    }

    #[test]
    fn rfc6528_different_tuples_get_unrelated_offsets() {
        let g = IsnGenerator::new([7; 16]);
        let now = Instant::from_secs(1);
        let a = g.isn(&tuple(40000), now);
        let b = g.isn(&tuple(40001), now);
        assert_ne!(a, b);
        // The difference is not the port difference: F is a hash, not a sum.
        assert_ne!(b.wrapping_distance(a), 1);
    }

    #[test]
    fn rfc6528_key_changes_the_isn() {
        let now = Instant::from_secs(1);
        let a = IsnGenerator::new([1; 16]).isn(&tuple(1), now);
        let b = IsnGenerator::new([2; 16]).isn(&tuple(1), now);
        assert_ne!(a, b);
    }

    #[test]
    fn clock_wraps_modulo_2_pow_32_without_panicking() {
        let g = IsnGenerator::new([0; 16]);
        let wrap = Instant::from_micros((1u64 << 32) * ISN_TICK_MICROS);
        assert_eq!(IsnGenerator::clock(wrap), 0);
        let before = g.isn(&tuple(9), wrap - Duration::from_micros(4));
        let after = g.isn(&tuple(9), wrap);
        assert_eq!(after.wrapping_distance(before), 1);
        let _ = g.isn(&tuple(9), Instant::from_micros(u64::MAX));
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let g = IsnGenerator::new([0xab; 16]);
        let s = std::format!("{g:?}");
        assert!(!s.contains("171"), "{s}");
    }
}
