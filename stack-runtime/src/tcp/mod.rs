//! TCP building blocks: the pure-logic components the TCP state machine is assembled from.
//!
//! Each module is independent of the others (apart from the shared [`FourTuple`] and the
//! keyed hash in [`siphash`]), works on sequence numbers from [`crate::wire::tcp::SeqNumber`]
//! and [`crate::time`], never allocates and never panics, whatever the values taken from the
//! wire:
//!
//! * [`rtt`]: RFC 6298 round-trip-time estimation and retransmission timeout with Karn's rule
//!   and exponential backoff;
//! * [`congestion`]: RFC 5681 slow start and congestion avoidance with RFC 3465 byte counting,
//!   fast retransmit and RFC 6582 NewReno fast recovery (or RFC 6675 SACK recovery), RFC 6928
//!   initial window and restart after idle;
//! * [`sack`]: RFC 2018 SACK blocks for the receiver, and the RFC 6675 scoreboard, `IsLost`,
//!   `pipe` and `NextSeg()` for the sender;
//! * [`assembler`]: the bounded out-of-order receive bookkeeping;
//! * [`isn`]: RFC 6528 initial sequence numbers;
//! * [`syn_cookie`]: SYN cookies for when every SYN-RECEIVED slot is taken;
//! * [`segment_pool`]: TCP data in the interface's packet buffers: every socket's send and
//!   receive queues, with a cap, a frame reserve, per-socket limits and optional reservations;
//! * [`timers`]: the per-connection timer set with its next deadline;
//! * [`siphash`]: SipHash-2-4, the keyed hash behind ISNs and SYN cookies.

/// Whether SACK (RFC 2018, RFC 6675 recovery) is compiled in (feature `tcp-sack`); without it
/// `TcpConfig::sack` is ignored. Generated stacks assert it when their profile asks for SACK.
pub const SACK_COMPILED_IN: bool = cfg!(feature = "tcp-sack");
/// Whether timestamps (RFC 7323 §3) are compiled in (feature `tcp-timestamps`); without it
/// `TcpConfig::timestamps` is ignored.
pub const TIMESTAMPS_COMPILED_IN: bool = cfg!(feature = "tcp-timestamps");
/// Whether window scaling (RFC 7323 §2) is compiled in (feature `tcp-window-scaling`); without
/// it `TcpConfig::window_scaling` is ignored.
pub const WINDOW_SCALING_COMPILED_IN: bool = cfg!(feature = "tcp-window-scaling");

pub mod assembler;
pub mod congestion;
pub mod isn;
pub mod rtt;
pub mod sack;
pub mod segment_pool;
pub mod siphash;
pub mod socket;
pub mod syn_cookie;
pub mod timers;

use core::net::Ipv4Addr;

use crate::wire::tcp::SeqNumber;

/// The addresses and ports that identify one TCP connection, seen from this host.
///
/// Used as the input of the keyed hashes of [`isn`] and [`syn_cookie`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FourTuple {
    /// Our address.
    pub local_addr: Ipv4Addr,
    /// Our port.
    pub local_port: u16,
    /// The peer's address.
    pub remote_addr: Ipv4Addr,
    /// The peer's port.
    pub remote_port: u16,
}

impl FourTuple {
    /// The 12 bytes hashed for this connection: local address, local port, remote address,
    /// remote port, in network byte order.
    #[inline(never)]
    pub fn to_bytes(&self) -> [u8; 12] {
        let [a0, a1, a2, a3] = self.local_addr.octets();
        let [p0, p1] = self.local_port.to_be_bytes();
        let [r0, r1, r2, r3] = self.remote_addr.octets();
        let [q0, q1] = self.remote_port.to_be_bytes();
        [a0, a1, a2, a3, p0, p1, r0, r1, r2, r3, q0, q1]
    }
}

/// A range of sequence numbers, `[start, end)`: received data in the [`assembler`], a SACK
/// block in [`sack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqRange {
    /// First sequence number of the range.
    pub start: SeqNumber,
    /// Sequence number just past the range.
    pub end: SeqNumber,
}

impl SeqRange {
    /// Number of bytes in the range.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True when the range holds no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `seq` lies in `[start, end)`.
    pub fn contains(&self, seq: SeqNumber) -> bool {
        seq.in_window(self.start, self.len())
    }

    /// The range `[start, end)`.
    pub const fn new(start: SeqNumber, end: SeqNumber) -> SeqRange {
        SeqRange { start, end }
    }

    /// The range as a wire SACK block `(left edge, right edge)`.
    pub const fn to_block(self) -> (SeqNumber, SeqNumber) {
        (self.start, self.end)
    }
}

/// `a >= b` on the sequence circle, where two numbers exactly 2^31 apart (incomparable) also
/// count as "not before": the safe reading for values taken from the wire.
/// (`a` is before `b` exactly when `b - a`, read as a signed distance, is positive: the test of
/// `SeqNumber`'s `<`, without building an `Ordering`.)
#[inline]
pub(crate) fn seq_ge(a: SeqNumber, b: SeqNumber) -> bool {
    (b.0.wrapping_sub(a.0) as i32) <= 0
}

/// `v · 2^shift`, saturating at `u64::MAX` (what `v.saturating_mul(1 << shift)` gives, and
/// `u64::MAX` for a non-zero `v` when `shift` is 64 or more), without a 64-bit multiply.
#[inline(never)]
pub(crate) fn saturating_shl(v: u64, shift: u32) -> u64 {
    if shift < 64 && v.leading_zeros() >= shift {
        v << shift
    } else if v == 0 {
        0
    } else {
        u64::MAX
    }
}

#[cfg(test)]
mod tests {
    use crate::wire::tcp::SeqNumber;
    use core::cmp::Ordering;

    #[test]
    fn seq_ge_is_not_before_on_the_circle() {
        let values = [
            0u32,
            1,
            2,
            0x7fff_ffff,
            0x8000_0000,
            0x8000_0001,
            u32::MAX - 1,
            u32::MAX,
        ];
        for a in values {
            for b in values {
                let (a, b) = (SeqNumber(a), SeqNumber(b));
                let expected = a.partial_cmp(&b) != Some(Ordering::Less);
                assert_eq!(super::seq_ge(a, b), expected, "{a:?} >= {b:?}");
            }
        }
        // Exactly 2^31 apart: incomparable, so "not before" both ways.
        assert!(super::seq_ge(SeqNumber(0), SeqNumber(0x8000_0000)));
        assert!(super::seq_ge(SeqNumber(0x8000_0000), SeqNumber(0)));
        assert!(!super::seq_ge(SeqNumber(1), SeqNumber(2)));
    }

    #[test]
    fn saturating_shl_matches_the_saturating_multiply() {
        let values = [
            0,
            1,
            2,
            3,
            200_000,
            1 << 40,
            u64::MAX >> 1,
            u64::MAX - 1,
            u64::MAX,
        ];
        for v in values {
            for shift in 0..70 {
                let expected = v.saturating_mul(1u64.checked_shl(shift).unwrap_or(u64::MAX));
                assert_eq!(super::saturating_shl(v, shift), expected, "{v} << {shift}");
            }
        }
    }
}
