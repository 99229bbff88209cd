//! TCP (RFC 9293) segments over IPv4, with the options this stack speaks.
//!
//! * [`SeqNumber`]: 32-bit sequence numbers compared with serial-number
//!   arithmetic (RFC 1982 style), so comparisons stay correct across the
//!   2^32 wrap.
//! * [`Packet`]: the zero-copy view of a segment (the IPv4 payload). TCP has
//!   no length field of its own: the segment is the whole buffer, so wrap
//!   exactly the IPv4 payload (`ipv4::Packet::payload`), which already
//!   excludes link-layer padding.
//! * [`TcpOption`] and [`OptionIter`]: the option list, parsed without ever
//!   panicking. Recognised: End of Option List, No-Operation, Maximum Segment
//!   Size (RFC 9293 §3.7.1, RFC 6691), Window Scale and Timestamps
//!   (RFC 7323), SACK-permitted and SACK (RFC 2018); anything else is kept as
//!   [`TcpOption::Unknown`] and skipped by [`Repr`].
//! * [`Repr`]: the decoded segment the state machine works with.
//!
//! The checksum covers the IPv4 pseudo header, the TCP header and the
//! payload. As for UDP, the payload can be checksummed while it is copied
//! ([`checksum::copy_and_checksum`]); for retransmission straight out of a
//! send buffer, [`Repr::emit_header`] rewrites only the header in front of a
//! payload that is already in place and
//! [`Packet::fill_checksum_with_payload_sum`] reuses the payload sum computed
//! when the data was first sent, so a retransmission touches no payload byte.
//!
//! The wire layer reports what is on the wire; semantic filtering is the
//! state machine's job. In particular a [`Repr`] may carry a window scale,
//! MSS or SACK-permitted option on a non-SYN segment (RFC 7323 §2.2 and
//! RFC 2018 §2 say to ignore them there), SACK blocks are not checked for
//! `left < right` nor against the window (RFC 2018 §4, RFC 6675), and
//! timestamps are not checked for PAWS (RFC 7323 §5).
//!
//! ```
//! use core::net::Ipv4Addr;
//! use stack_runtime::wire::tcp::{Control, Timestamp};
//! use stack_runtime::wire::{TcpPacket, TcpRepr, TcpSeqNumber};
//!
//! let (src, dst) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
//! let syn = TcpRepr {
//!     src_port: 40000,
//!     dst_port: 7,
//!     control: Control::Syn,
//!     seq_number: TcpSeqNumber(u32::MAX),
//!     window_len: 64240,
//!     max_seg_size: Some(1460),
//!     window_scale: Some(7),
//!     sack_permitted: true,
//!     timestamp: Some(Timestamp { tsval: 1, tsecr: 0 }),
//!     ..TcpRepr::default()
//! };
//! let mut buf = [0u8; 60];
//! let len = syn.buffer_len(); // 20 + 20 option bytes
//! syn.emit(&mut TcpPacket::new_unchecked(&mut buf[..len]), src, dst);
//!
//! let packet = TcpPacket::new_checked(&buf[..len])?;
//! let parsed = TcpRepr::parse(&packet, src, dst, true)?;
//! assert_eq!(parsed, syn);
//! // The SYN occupies one sequence number; the next one wraps to 0.
//! assert_eq!(parsed.seq_number + parsed.segment_len(), TcpSeqNumber(0));
//! assert!(parsed.seq_number < TcpSeqNumber(0));
//! # Ok::<(), stack_runtime::wire::Error>(())
//! ```

use core::cmp::Ordering;
use core::fmt;
use core::net::Ipv4Addr;
use core::ops;

use super::checksum;
use super::{Error, IpProtocol, Result};

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ_NUM: Range<usize> = 4..8;
    pub const ACK_NUM: Range<usize> = 8..12;
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
}

/// Option kinds (IANA "TCP Option Kind Numbers").
mod kind {
    pub const END_OF_LIST: u8 = 0;
    pub const NO_OPERATION: u8 = 1;
    pub const MAX_SEG_SIZE: u8 = 2;
    pub const WINDOW_SCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMPS: u8 = 8;
}

/// Length of a TCP header without options (data offset 5).
pub const HEADER_LEN: usize = field::URGENT.end;

/// Largest header the 4-bit data offset can express (15 × 4 bytes).
pub const MAX_HEADER_LEN: usize = 60;

/// Room for options: [`MAX_HEADER_LEN`] minus [`HEADER_LEN`].
pub const MAX_OPTIONS_LEN: usize = MAX_HEADER_LEN - HEADER_LEN;

/// Largest window shift RFC 7323 §2.3 allows: a received Window Scale option
/// with a larger shift is used as 14, and this stack never sends more.
pub const MAX_WINDOW_SHIFT: u8 = 14;

/// Most SACK blocks one option can carry: 2 + 4 × 8 = 34 bytes is the
/// largest SACK option that fits the 40 option bytes.
pub const MAX_SACK_BLOCKS: usize = 4;

/// The IPv4 protocol number of TCP, for building the enclosing header.
pub const PROTOCOL: IpProtocol = IpProtocol::Tcp;

// ---------------------------------------------------------------- SeqNumber

/// A TCP sequence (or acknowledgement) number.
///
/// Sequence numbers live on a circle of 2^32 values, so they are compared
/// with serial-number arithmetic (RFC 1982, RFC 9293 §3.4): `a < b` iff
/// `b - a`, computed modulo 2^32 and read as an `i32`, is positive. Two
/// numbers exactly 2^31 apart are neither smaller nor greater than each
/// other: `partial_cmp` returns `None`, which is why this type implements
/// `PartialOrd` but not `Ord` (the relation is not transitive over the whole
/// circle either). Within any window shorter than 2^31, which every TCP
/// window is, the order is the ordinary one.
///
/// Arithmetic with lengths wraps modulo 2^32 and never panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// The forward distance from `earlier` to `self`, modulo 2^32: how many
    /// octets `earlier` must advance to reach `self`. Always defined; it is
    /// a meaningful length only when `earlier <= self`.
    pub const fn wrapping_distance(self, earlier: SeqNumber) -> u32 {
        self.0.wrapping_sub(earlier.0)
    }

    /// `self - rhs` as a length when `rhs <= self` (the distance is below
    /// 2^31), `None` otherwise. This is the variant to use on numbers taken
    /// from the wire.
    pub const fn checked_sub(self, rhs: SeqNumber) -> Option<usize> {
        let d = self.wrapping_distance(rhs);
        if d <= i32::MAX as u32 {
            Some(d as usize)
        } else {
            None
        }
    }

    /// The later of the two numbers (`self` when they are equal or
    /// incomparable, i.e. exactly 2^31 apart).
    #[must_use]
    pub fn max(self, other: SeqNumber) -> SeqNumber {
        if self < other { other } else { self }
    }

    /// The earlier of the two numbers (`self` when they are equal or
    /// incomparable, i.e. exactly 2^31 apart).
    #[must_use]
    pub fn min(self, other: SeqNumber) -> SeqNumber {
        if other < self { other } else { self }
    }

    /// True when `start <= self < start + len` on the sequence circle (the
    /// RFC 9293 §3.10.7.4 acceptability test for one octet). `len` 0 is an
    /// empty window; a `len` of 2^32 or more covers every number.
    pub fn in_window(self, start: SeqNumber, len: usize) -> bool {
        // Widening u32 → u64 and usize → u64 is lossless on every target.
        u64::from(self.wrapping_distance(start)) < len as u64
    }
}

impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &SeqNumber) -> Option<Ordering> {
        // `as i32` reinterprets the modular difference as a signed distance.
        match other.wrapping_distance(*self) as i32 {
            0 => Some(Ordering::Equal),
            i32::MIN => None,
            d if d > 0 => Some(Ordering::Less),
            _ => Some(Ordering::Greater),
        }
    }

    // The comparisons without building an `Ordering` (hot in the state machine); each agrees
    // with `partial_cmp` (two numbers 2^31 apart compare false every way).
    #[inline]
    fn lt(&self, other: &SeqNumber) -> bool {
        (other.0.wrapping_sub(self.0) as i32) > 0
    }

    #[inline]
    fn le(&self, other: &SeqNumber) -> bool {
        (other.0.wrapping_sub(self.0) as i32) >= 0
    }

    #[inline]
    fn gt(&self, other: &SeqNumber) -> bool {
        (self.0.wrapping_sub(other.0) as i32) > 0
    }

    #[inline]
    fn ge(&self, other: &SeqNumber) -> bool {
        (self.0.wrapping_sub(other.0) as i32) >= 0
    }
}

impl ops::Add<usize> for SeqNumber {
    type Output = SeqNumber;

    /// Advance by `rhs` octets, modulo 2^32 (`rhs` is itself taken modulo
    /// 2^32; TCP never advances by 2^31 or more at once).
    fn add(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs as u32))
    }
}

impl ops::AddAssign<usize> for SeqNumber {
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl ops::Sub<usize> for SeqNumber {
    type Output = SeqNumber;

    /// Step back by `rhs` octets, modulo 2^32.
    fn sub(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs as u32))
    }
}

impl ops::SubAssign<usize> for SeqNumber {
    fn sub_assign(&mut self, rhs: usize) {
        *self = *self - rhs;
    }
}

impl ops::Sub<SeqNumber> for SeqNumber {
    type Output = usize;

    /// The number of octets from `rhs` to `self`. Only meaningful when
    /// `rhs <= self`; otherwise (and when the two are incomparable) the
    /// result saturates to 0 rather than panicking or returning a huge
    /// length. Use [`SeqNumber::checked_sub`] to tell the cases apart.
    fn sub(self, rhs: SeqNumber) -> usize {
        self.checked_sub(rhs).unwrap_or_default()
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

// ---------------------------------------------------------------- Flags

/// The eight control bits of the TCP header (byte 13), as a bitset.
///
/// The four bits between the data offset and these flags are reserved
/// (RFC 9293 §3.1); the view ignores them on receive and clears them on
/// emit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// FIN: no more data from the sender.
    pub const FIN: Flags = Flags(0x01);
    /// SYN: synchronise sequence numbers.
    pub const SYN: Flags = Flags(0x02);
    /// RST: reset the connection.
    pub const RST: Flags = Flags(0x04);
    /// PSH: push function.
    pub const PSH: Flags = Flags(0x08);
    /// ACK: the acknowledgement field is significant.
    pub const ACK: Flags = Flags(0x10);
    /// URG: the urgent pointer field is significant.
    pub const URG: Flags = Flags(0x20);
    /// ECE: ECN-Echo (RFC 3168).
    pub const ECE: Flags = Flags(0x40);
    /// CWR: Congestion Window Reduced (RFC 3168).
    pub const CWR: Flags = Flags(0x80);

    const NAMES: [(Flags, &'static str); 8] = [
        (Flags::FIN, "FIN"),
        (Flags::SYN, "SYN"),
        (Flags::RST, "RST"),
        (Flags::PSH, "PSH"),
        (Flags::ACK, "ACK"),
        (Flags::URG, "URG"),
        (Flags::ECE, "ECE"),
        (Flags::CWR, "CWR"),
    ];

    /// No flag set.
    pub const fn empty() -> Flags {
        Flags(0)
    }

    /// The flags from the wire byte (every value is valid).
    pub const fn from_bits(bits: u8) -> Flags {
        Flags(bits)
    }

    /// The wire byte.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// True when no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when every flag of `other` is set in `self`.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when at least one flag of `other` is set in `self`.
    pub const fn intersects(self, other: Flags) -> bool {
        self.0 & other.0 != 0
    }

    /// `self` with the flags of `other` added.
    #[must_use]
    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// Set (`on`) or clear the flags of `other`.
    pub fn set(&mut self, other: Flags, on: bool) {
        if on {
            self.0 |= other.0;
        } else {
            self.0 &= !other.0;
        }
    }
}

impl ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        self.union(rhs)
    }
}

impl ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl ops::BitAnd for Flags {
    type Output = Flags;
    fn bitand(self, rhs: Flags) -> Flags {
        Flags(self.0 & rhs.0)
    }
}

impl fmt::Display for Flags {
    /// `SYN|ACK` style; `-` for no flag.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        let mut first = true;
        for (flag, name) in Self::NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({self})")
    }
}

// ---------------------------------------------------------------- Packet

/// A zero-copy view of a TCP segment in a buffer `T` (exactly the IPv4
/// payload: the segment has no length field, so every byte of the buffer
/// past the header is payload and is covered by the checksum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it. Only for buffers the caller sized
    /// itself (emitting); the field accessors panic if it is shorter than
    /// [`HEADER_LEN`] (the slice accessors never do).
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a received buffer, checking the data offset against the buffer
    /// (see [`check_len`](Self::check_len)).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Validate lengths: buffer shorter than 20 bytes → `Truncated`; data
    /// offset below 5 → `Malformed`; header (data offset × 4) longer than the
    /// buffer → `Truncated`.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = usize::from(self.header_len());
        if header_len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if header_len > len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Give back the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// Sequence number of the first octet (of the SYN, for a SYN segment).
    pub fn seq_number(&self) -> SeqNumber {
        SeqNumber(be32(self.buffer.as_ref(), field::SEQ_NUM.start))
    }

    /// Acknowledgement field; significant only when [`ack`](Self::ack) is
    /// set.
    pub fn ack_number(&self) -> SeqNumber {
        SeqNumber(be32(self.buffer.as_ref(), field::ACK_NUM.start))
    }

    /// Header length in bytes (data offset × 4), options included: 0..=60.
    /// Reads as 0 on a buffer too short to hold the field.
    pub fn header_len(&self) -> u8 {
        self.buffer
            .as_ref()
            .get(field::DATA_OFF)
            .map_or(0, |b| (b >> 4) * 4)
    }

    /// The control bits.
    pub fn flags(&self) -> Flags {
        Flags(self.buffer.as_ref()[field::FLAGS])
    }

    /// FIN flag.
    pub fn fin(&self) -> bool {
        self.flags().contains(Flags::FIN)
    }

    /// SYN flag.
    pub fn syn(&self) -> bool {
        self.flags().contains(Flags::SYN)
    }

    /// RST flag.
    pub fn rst(&self) -> bool {
        self.flags().contains(Flags::RST)
    }

    /// PSH flag.
    pub fn psh(&self) -> bool {
        self.flags().contains(Flags::PSH)
    }

    /// ACK flag.
    pub fn ack(&self) -> bool {
        self.flags().contains(Flags::ACK)
    }

    /// URG flag.
    pub fn urg(&self) -> bool {
        self.flags().contains(Flags::URG)
    }

    /// ECE flag.
    pub fn ece(&self) -> bool {
        self.flags().contains(Flags::ECE)
    }

    /// CWR flag.
    pub fn cwr(&self) -> bool {
        self.flags().contains(Flags::CWR)
    }

    /// Window field as on the wire (not scaled).
    pub fn window_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::WINDOW.start)
    }

    /// Checksum field as on the wire.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Urgent pointer field; significant only when [`urg`](Self::urg) is
    /// set.
    pub fn urgent_at(&self) -> u16 {
        be16(self.buffer.as_ref(), field::URGENT.start)
    }

    /// `(options start, header end)`, both clamped to the buffer, so the
    /// slice accessors cannot panic even on an unchecked view.
    fn bounds(&self) -> (usize, usize) {
        let len = self.buffer.as_ref().len();
        let start = HEADER_LEN.min(len);
        let end = usize::from(self.header_len()).clamp(start, len);
        (start, end)
    }

    /// The raw option bytes, padding included (empty for a 20-byte header).
    /// Decode them with [`OptionIter`] ([`iter_options`](Self::iter_options)).
    pub fn options(&self) -> &[u8] {
        let (start, end) = self.bounds();
        &self.buffer.as_ref()[start..end]
    }

    /// Iterate over the decoded options.
    pub fn iter_options(&self) -> OptionIter<'_> {
        OptionIter::new(self.options())
    }

    /// The payload: every byte after the header.
    pub fn payload(&self) -> &[u8] {
        let (_, end) = self.bounds();
        &self.buffer.as_ref()[end..]
    }

    /// Sequence space the segment occupies: payload length, plus one for SYN
    /// and one for FIN (RFC 9293 §3.4, `SEG.LEN`).
    pub fn segment_len(&self) -> usize {
        let flags = self.flags();
        self.payload().len()
            + usize::from(flags.contains(Flags::SYN))
            + usize::from(flags.contains(Flags::FIN))
    }

    /// Folded sum of the pseudo header (for a `seg_len`-byte segment) and of
    /// the header bytes, checksum field included.
    fn header_sum(&self, src: Ipv4Addr, dst: Ipv4Addr, seg_len: u16) -> u16 {
        let (_, end) = self.bounds();
        checksum::combine(&[
            checksum::pseudo_header_v4(src, dst, PROTOCOL, seg_len),
            checksum::data(&self.buffer.as_ref()[..end]),
        ])
    }

    /// True when the checksum verifies for the given IPv4 addresses (zero is
    /// not special in TCP: the checksum is mandatory).
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        // Header and payload in one pass: the whole buffer is the segment.
        let bytes = self.buffer.as_ref();
        let Ok(seg_len) = u16::try_from(bytes.len()) else {
            return false;
        };
        checksum::combine(&[
            checksum::pseudo_header_v4(src, dst, PROTOCOL, seg_len),
            checksum::data(bytes),
        ]) == 0xffff
    }

    /// Like [`verify_checksum`](Self::verify_checksum), with the payload's
    /// folded sum supplied by the caller (from
    /// [`checksum::copy_and_checksum`] while copying it into a receive
    /// buffer). A buffer longer than 65535 bytes cannot be a segment and
    /// never verifies.
    pub fn verify_checksum_with_payload_sum(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload_sum: u16,
    ) -> bool {
        let Ok(seg_len) = u16::try_from(self.buffer.as_ref().len()) else {
            return false;
        };
        checksum::combine(&[self.header_sum(src, dst, seg_len), payload_sum]) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload, borrowed for the buffer's lifetime `'a` rather than the
    /// view's.
    pub fn into_payload(self) -> &'a [u8] {
        let (_, end) = self.bounds();
        &self.buffer.as_ref()[end..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn put16(&mut self, at: usize, v: u16) {
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }

    fn put32(&mut self, at: usize, v: u32) {
        self.buffer.as_mut()[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }

    /// Set the source port.
    pub fn set_src_port(&mut self, v: u16) {
        self.put16(field::SRC_PORT.start, v);
    }

    /// Set the destination port.
    pub fn set_dst_port(&mut self, v: u16) {
        self.put16(field::DST_PORT.start, v);
    }

    /// Set the sequence number.
    pub fn set_seq_number(&mut self, v: SeqNumber) {
        self.put32(field::SEQ_NUM.start, v.0);
    }

    /// Set the acknowledgement field (set the ACK flag too for it to count).
    pub fn set_ack_number(&mut self, v: SeqNumber) {
        self.put32(field::ACK_NUM.start, v.0);
    }

    /// Set the header length in bytes (a multiple of 4, 20..=60), writing
    /// the data offset and clearing the four reserved bits.
    pub fn set_header_len(&mut self, len: u8) {
        self.buffer.as_mut()[field::DATA_OFF] = ((len / 4) & 0x0f) << 4;
    }

    /// Set the control bits.
    pub fn set_flags(&mut self, flags: Flags) {
        self.buffer.as_mut()[field::FLAGS] = flags.bits();
    }

    /// Set the window field (already scaled down by the sender's shift).
    pub fn set_window_len(&mut self, v: u16) {
        self.put16(field::WINDOW.start, v);
    }

    /// Set the checksum field verbatim.
    pub fn set_checksum(&mut self, v: u16) {
        self.put16(field::CHECKSUM.start, v);
    }

    /// Set the urgent pointer field.
    pub fn set_urgent_at(&mut self, v: u16) {
        self.put16(field::URGENT.start, v);
    }

    /// The option bytes, mutable (`20..header_len`, clamped to the buffer):
    /// set the header length first.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let (start, end) = self.bounds();
        &mut self.buffer.as_mut()[start..end]
    }

    /// The payload, mutable (every byte after the header): set the header
    /// length first.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (_, end) = self.bounds();
        &mut self.buffer.as_mut()[end..]
    }

    /// Compute and write the checksum over pseudo header, header and payload
    /// (the whole buffer is the segment).
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        let payload_sum = checksum::data(self.payload());
        self.fill_checksum_with_payload_sum(src, dst, payload_sum);
    }

    /// Write the checksum given the payload's folded sum (from
    /// [`checksum::copy_and_checksum`] when the data was copied, or kept
    /// from the first transmission of the same bytes, so a retransmission
    /// does not read its payload at all). The buffer must be the whole
    /// segment and at most 65535 bytes.
    pub fn fill_checksum_with_payload_sum(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload_sum: u16,
    ) {
        // Truncation only for an impossible >64 KiB buffer: never panics.
        let seg_len = self.buffer.as_ref().len() as u16;
        self.fill_checksum_for(src, dst, seg_len, payload_sum);
    }

    fn fill_checksum_for(&mut self, src: Ipv4Addr, dst: Ipv4Addr, seg_len: u16, payload_sum: u16) {
        self.set_checksum(0);
        let sum = checksum::combine(&[self.header_sum(src, dst, seg_len), payload_sum]);
        self.set_checksum(!sum);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

// ---------------------------------------------------------------- Options

/// Up to [`MAX_SACK_BLOCKS`] SACK blocks, each `(left edge, right edge)`: the
/// first sequence number of a received out-of-order block and the one just
/// past it (RFC 2018 §3). A fixed array and a count, so it needs no
/// allocation; equality and hashing look only at the blocks in use.
#[derive(Clone, Copy, Default)]
pub struct SackRanges {
    blocks: [(SeqNumber, SeqNumber); MAX_SACK_BLOCKS],
    len: u8,
}

impl SackRanges {
    /// No block.
    pub const fn new() -> SackRanges {
        SackRanges {
            blocks: [(SeqNumber(0), SeqNumber(0)); MAX_SACK_BLOCKS],
            len: 0,
        }
    }

    /// The first [`MAX_SACK_BLOCKS`] blocks of `blocks` (RFC 2018 puts the
    /// most recent block first, so dropping the tail is the right cut).
    pub fn from_slice(blocks: &[(SeqNumber, SeqNumber)]) -> SackRanges {
        let mut r = SackRanges::new();
        for &b in blocks.iter().take(MAX_SACK_BLOCKS) {
            r.push(b);
        }
        r
    }

    /// Append a block; returns false (and changes nothing) when full.
    pub fn push(&mut self, block: (SeqNumber, SeqNumber)) -> bool {
        match self.blocks.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = block;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// The blocks in use, in order.
    pub fn as_slice(&self) -> &[(SeqNumber, SeqNumber)] {
        let n = usize::from(self.len).min(MAX_SACK_BLOCKS);
        &self.blocks[..n]
    }

    /// Number of blocks in use.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// True when there is no block.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keep only the first `n` blocks.
    pub fn truncate(&mut self, n: usize) {
        if n < usize::from(self.len) {
            // n < len <= 4, so the cast is exact.
            self.len = n as u8;
        }
    }

    /// Remove every block.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl PartialEq for SackRanges {
    fn eq(&self, other: &SackRanges) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SackRanges {}

impl core::hash::Hash for SackRanges {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl fmt::Debug for SackRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// The Timestamps option (RFC 7323 §3): the sender's clock and the echo of
/// the peer's most recent one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Timestamp {
    /// TSval: the sender's timestamp clock when the segment was sent.
    pub tsval: u32,
    /// TSecr: the TSval being echoed (0 on a SYN, where nothing is echoed).
    pub tsecr: u32,
}

/// One decoded TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpOption<'a> {
    /// Kind 0: end of the option list; what follows is padding.
    EndOfList,
    /// Kind 1: one byte of padding between options.
    NoOperation,
    /// Kind 2: the largest segment the sender can receive (RFC 9293
    /// §3.7.1; only meaningful on a SYN).
    MaxSegmentSize(u16),
    /// Kind 3: the sender's receive window shift (RFC 7323 §2; only
    /// meaningful on a SYN). A received shift above [`MAX_WINDOW_SHIFT`] is
    /// clamped to 14 when parsed, as RFC 7323 §2.3 requires ("MUST use 14
    /// instead"), and a larger value is never emitted either.
    WindowScale(u8),
    /// Kind 4: the sender accepts SACK options (RFC 2018 §2; SYN only).
    SackPermitted,
    /// Kind 5: 1 to 4 SACK blocks (RFC 2018 §3).
    SackRange(SackRanges),
    /// Kind 8: Timestamps (RFC 7323 §3).
    Timestamps(Timestamp),
    /// Any other kind, with its data (the bytes after kind and length).
    /// Skipped by [`Repr::parse`].
    Unknown {
        /// Option kind.
        kind: u8,
        /// Option data, without the kind and length bytes.
        data: &'a [u8],
    },
}

impl<'a> TcpOption<'a> {
    /// Decode the option at the start of `bytes`; returns it with the bytes
    /// that follow it.
    ///
    /// Errors, all `Malformed`: empty input, a length byte missing or below
    /// 2, a length running past the end, and a recognised kind with a length
    /// its definition does not allow (MSS 4, Window Scale 3, SACK-permitted
    /// 2, Timestamps 10, SACK `2 + 8n` with `n` in 1..=4).
    pub fn parse(bytes: &'a [u8]) -> Result<(TcpOption<'a>, &'a [u8])> {
        let (&k, rest) = bytes.split_first().ok_or(Error::Malformed)?;
        match k {
            kind::END_OF_LIST => return Ok((TcpOption::EndOfList, rest)),
            kind::NO_OPERATION => return Ok((TcpOption::NoOperation, rest)),
            _ => {}
        }
        let len = usize::from(*rest.first().ok_or(Error::Malformed)?);
        if len < 2 || len > bytes.len() {
            return Err(Error::Malformed);
        }
        let (opt, rest) = bytes.split_at(len);
        let data = &opt[2..];
        let option = match (k, data.len()) {
            (kind::MAX_SEG_SIZE, 2) => TcpOption::MaxSegmentSize(be16(data, 0)),
            (kind::WINDOW_SCALE, 1) => TcpOption::WindowScale(data[0].min(MAX_WINDOW_SHIFT)),
            (kind::SACK_PERMITTED, 0) => TcpOption::SackPermitted,
            (kind::TIMESTAMPS, 8) => TcpOption::Timestamps(Timestamp {
                tsval: be32(data, 0),
                tsecr: be32(data, 4),
            }),
            (kind::SACK, n) if n % 8 == 0 && (1..=MAX_SACK_BLOCKS).contains(&(n / 8)) => {
                let mut ranges = SackRanges::new();
                for b in data.chunks_exact(8) {
                    ranges.push((SeqNumber(be32(b, 0)), SeqNumber(be32(b, 4))));
                }
                TcpOption::SackRange(ranges)
            }
            (
                kind::MAX_SEG_SIZE
                | kind::WINDOW_SCALE
                | kind::SACK_PERMITTED
                | kind::TIMESTAMPS
                | kind::SACK,
                _,
            ) => return Err(Error::Malformed),
            (kind, _) => TcpOption::Unknown { kind, data },
        };
        Ok((option, rest))
    }

    /// Bytes [`emit`](Self::emit) writes. `Unknown` data is limited to the
    /// 253 bytes a length byte can describe.
    pub fn buffer_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::MaxSegmentSize(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::SackRange(r) => 2 + 8 * r.len(),
            TcpOption::Timestamps(_) => 10,
            TcpOption::Unknown { data, .. } => 2 + data.len().min(253),
        }
    }

    /// Write the option at the start of `buf` (at least
    /// [`buffer_len`](Self::buffer_len) bytes, else this panics: `buf` is
    /// sized by the caller) and return the number of bytes written. A window
    /// shift above 14 is written as 14; an empty `SackRange` writes a
    /// 2-byte option that [`parse`](Self::parse) rejects, so don't emit one.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let out = &mut buf[..len];
        match *self {
            TcpOption::EndOfList => out[0] = kind::END_OF_LIST,
            TcpOption::NoOperation => out[0] = kind::NO_OPERATION,
            TcpOption::MaxSegmentSize(mss) => {
                out[0] = kind::MAX_SEG_SIZE;
                out[2..4].copy_from_slice(&mss.to_be_bytes());
            }
            TcpOption::WindowScale(shift) => {
                out[0] = kind::WINDOW_SCALE;
                out[2] = shift.min(MAX_WINDOW_SHIFT);
            }
            TcpOption::SackPermitted => out[0] = kind::SACK_PERMITTED,
            TcpOption::SackRange(ranges) => {
                out[0] = kind::SACK;
                for (chunk, &(l, r)) in out[2..].chunks_exact_mut(8).zip(ranges.as_slice()) {
                    chunk[..4].copy_from_slice(&l.0.to_be_bytes());
                    chunk[4..].copy_from_slice(&r.0.to_be_bytes());
                }
            }
            TcpOption::Timestamps(ts) => {
                out[0] = kind::TIMESTAMPS;
                out[2..6].copy_from_slice(&ts.tsval.to_be_bytes());
                out[6..10].copy_from_slice(&ts.tsecr.to_be_bytes());
            }
            TcpOption::Unknown { kind, data } => {
                out[0] = kind;
                out[2..].copy_from_slice(&data[..len - 2]);
            }
        }
        if len >= 2 {
            // len <= 255 for every variant (Unknown is capped above).
            out[1] = len as u8;
        }
        len
    }
}

/// Iterator over the options of a header ([`Packet::options`]), yielding
/// `Ok(option)` for each, `Ok(TcpOption::EndOfList)` once at an End of
/// Option List (the bytes after it are padding and are not looked at), and
/// at most one `Err(Error::Malformed)`, after which it stops. Never panics,
/// whatever the bytes.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> OptionIter<'a> {
    /// Iterate over raw option bytes.
    pub const fn new(options: &'a [u8]) -> OptionIter<'a> {
        OptionIter { rest: options }
    }
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = Result<TcpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match TcpOption::parse(self.rest) {
            Ok((TcpOption::EndOfList, _)) => {
                self.rest = &[];
                Some(Ok(TcpOption::EndOfList))
            }
            Ok((option, rest)) => {
                self.rest = rest;
                Some(Ok(option))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for OptionIter<'_> {}

// ---------------------------------------------------------------- Repr

/// The mutually exclusive control bits that change connection state. No
/// valid segment carries two of them, so [`Repr::parse`] rejects such
/// combinations (SYN+FIN, SYN+RST, FIN+RST: scanner and attack traffic) and
/// the state machine can `match` on one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Control {
    /// None of SYN, FIN, RST.
    #[default]
    None,
    /// SYN: opens a connection; occupies one sequence number.
    Syn,
    /// FIN: closes the sender's direction; occupies one sequence number.
    Fin,
    /// RST: aborts the connection.
    Rst,
}

impl Control {
    /// Sequence space the flag occupies: 1 for SYN and FIN, else 0.
    pub const fn len(self) -> usize {
        match self {
            Control::Syn | Control::Fin => 1,
            Control::None | Control::Rst => 0,
        }
    }

    /// True when the flag occupies no sequence space (clippy's companion to
    /// [`len`](Self::len)).
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }

    fn flags(self) -> Flags {
        match self {
            Control::None => Flags::empty(),
            Control::Syn => Flags::SYN,
            Control::Fin => Flags::FIN,
            Control::Rst => Flags::RST,
        }
    }
}

/// Which optional TCP options [`Repr::parse_with`] keeps (the others are validated only).
#[derive(Clone, Copy)]
struct Kept {
    window_scale: bool,
    sack: bool,
    timestamps: bool,
}

impl Kept {
    /// Every option (the public [`Repr::parse`]).
    const ALL: Kept = Kept {
        window_scale: true,
        sack: true,
        timestamps: true,
    };
    /// The options of the TCP features compiled in (the stack's own input).
    #[cfg(feature = "tcp")]
    const COMPILED_IN: Kept = Kept {
        window_scale: cfg!(feature = "tcp-window-scaling"),
        sack: cfg!(feature = "tcp-sack"),
        timestamps: cfg!(feature = "tcp-timestamps"),
    };
}

/// A decoded TCP segment: header fields, the options this stack handles and
/// the payload (borrowed from the packet).
///
/// Flags map onto fields: SYN/FIN/RST onto [`control`](Self::control), ACK
/// onto `ack_number` being `Some`, URG onto `urgent_at` being `Some`; PSH,
/// ECE and CWR are plain booleans. A field whose flag is clear (the
/// acknowledgement, the urgent pointer) is ignored on parse and written as 0
/// on emit. Unknown options are skipped on parse; when an option appears
/// twice, the last occurrence wins.
///
/// `parse(emit(r)) == r` for every `r` whose window shift is at most 14 and
/// whose SACK blocks all fit ([`emitted_sack_blocks`](Self::emitted_sack_blocks)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Repr<'a> {
    /// Source port (never 0).
    pub src_port: u16,
    /// Destination port (never 0).
    pub dst_port: u16,
    /// SYN, FIN, RST or none.
    pub control: Control,
    /// PSH flag.
    pub push: bool,
    /// ECE flag (ECN-Echo, RFC 3168).
    pub ece: bool,
    /// CWR flag (Congestion Window Reduced, RFC 3168).
    pub cwr: bool,
    /// Sequence number of the first octet (the SYN, for a SYN).
    pub seq_number: SeqNumber,
    /// The acknowledgement, present iff the ACK flag is set.
    pub ack_number: Option<SeqNumber>,
    /// The window field as on the wire: not scaled (the receiver scales it
    /// by the shift agreed on the SYNs; a SYN's window is never scaled).
    pub window_len: u16,
    /// Window Scale option: the sender's shift (0..=14).
    pub window_scale: Option<u8>,
    /// Maximum Segment Size option: the largest payload the sender can
    /// receive, computed per RFC 6691 as the MTU minus the fixed 20-byte IPv4
    /// and 20-byte TCP headers (options are not counted: a sender subtracts
    /// its options from each segment).
    pub max_seg_size: Option<u16>,
    /// SACK-permitted option.
    pub sack_permitted: bool,
    /// The SACK option's blocks (empty: no SACK option).
    pub sack_ranges: SackRanges,
    /// Timestamps option.
    pub timestamp: Option<Timestamp>,
    /// The urgent pointer, present iff the URG flag is set (RFC 9293
    /// §3.8.5; new applications should not use urgent data, but a receiver
    /// must skip it correctly).
    pub urgent_at: Option<u16>,
    /// The payload.
    pub payload: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Decode and validate a segment:
    /// * lengths as in [`Packet::check_len`] (`Truncated` / `Malformed`);
    /// * the checksum when `verify_checksum` is true, else `Checksum`;
    /// * source or destination port 0 → `Malformed` (port 0 is reserved and
    ///   cannot be answered);
    /// * more than one of SYN, FIN, RST → `Malformed` (see [`Control`]);
    /// * any malformed option ([`TcpOption::parse`]) → `Malformed`.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
        src_addr: Ipv4Addr,
        dst_addr: Ipv4Addr,
        verify_checksum: bool,
    ) -> Result<Repr<'a>> {
        Self::parse_with(packet, src_addr, dst_addr, verify_checksum, Kept::ALL)
    }

    /// [`parse`](Self::parse) for the stack's own input: the same acceptance and errors, but
    /// the options of TCP features compiled out (`tcp-sack`, `tcp-timestamps`,
    /// `tcp-window-scaling`) are validated and not kept (the state machine ignores them then),
    /// so their decoding is left out of the firmware.
    #[cfg(feature = "tcp")]
    #[inline(always)]
    pub(crate) fn parse_for_stack<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
        src_addr: Ipv4Addr,
        dst_addr: Ipv4Addr,
    ) -> Result<Repr<'a>> {
        Self::parse_with(packet, src_addr, dst_addr, true, Kept::COMPILED_IN)
    }

    /// [`parse`](Self::parse) keeping only the options `kept` selects.
    #[inline(always)]
    fn parse_with<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
        src_addr: Ipv4Addr,
        dst_addr: Ipv4Addr,
        verify_checksum: bool,
        kept: Kept,
    ) -> Result<Repr<'a>> {
        packet.check_len()?;
        if verify_checksum && !packet.verify_checksum(src_addr, dst_addr) {
            return Err(Error::Checksum);
        }
        // The fixed header as an array (at least 20 bytes after `check_len`): constant
        // offsets, no bounds check.
        let Some(h) = packet.buffer.as_ref().first_chunk::<HEADER_LEN>() else {
            return Err(Error::Truncated);
        };
        let src_port = u16::from_be_bytes([h[0], h[1]]);
        let dst_port = u16::from_be_bytes([h[2], h[3]]);
        if src_port == 0 || dst_port == 0 {
            return Err(Error::Malformed);
        }
        let flags = Flags(h[field::FLAGS]);
        let control = match (
            flags.contains(Flags::SYN),
            flags.contains(Flags::FIN),
            flags.contains(Flags::RST),
        ) {
            (false, false, false) => Control::None,
            (true, false, false) => Control::Syn,
            (false, true, false) => Control::Fin,
            (false, false, true) => Control::Rst,
            _ => return Err(Error::Malformed),
        };
        let mut repr = Repr {
            src_port,
            dst_port,
            control,
            push: flags.contains(Flags::PSH),
            ece: flags.contains(Flags::ECE),
            cwr: flags.contains(Flags::CWR),
            seq_number: SeqNumber(u32::from_be_bytes([h[4], h[5], h[6], h[7]])),
            ack_number: flags
                .contains(Flags::ACK)
                .then(|| SeqNumber(u32::from_be_bytes([h[8], h[9], h[10], h[11]]))),
            window_len: u16::from_be_bytes([h[14], h[15]]),
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: SackRanges::new(),
            timestamp: None,
            urgent_at: flags
                .contains(Flags::URG)
                .then(|| u16::from_be_bytes([h[18], h[19]])),
            payload: packet.clone().into_payload(),
        };
        // The options, decoded in place with the rules of [`TcpOption::parse`] (same
        // acceptance, same errors) without building a `TcpOption` per option.
        let mut rest = packet.options();
        while let Some((&k, tail)) = rest.split_first() {
            match k {
                kind::END_OF_LIST => break,
                kind::NO_OPERATION => {
                    rest = tail;
                    continue;
                }
                _ => {}
            }
            let len = usize::from(*tail.first().ok_or(Error::Malformed)?);
            let (Some(opt), Some(next)) = (rest.get(..len), rest.get(len..)) else {
                return Err(Error::Malformed);
            };
            let Some(data) = opt.get(2..) else {
                return Err(Error::Malformed);
            };
            match (k, data) {
                (kind::MAX_SEG_SIZE, &[a, b]) => {
                    repr.max_seg_size = Some(u16::from_be_bytes([a, b]));
                }
                (kind::WINDOW_SCALE, &[shift]) if kept.window_scale => {
                    repr.window_scale = Some(shift.min(MAX_WINDOW_SHIFT));
                }
                (kind::SACK_PERMITTED, []) => repr.sack_permitted = kept.sack,
                (kind::TIMESTAMPS, &[a, b, c, d, e, f, g, h]) if kept.timestamps => {
                    repr.timestamp = Some(Timestamp {
                        tsval: u32::from_be_bytes([a, b, c, d]),
                        tsecr: u32::from_be_bytes([e, f, g, h]),
                    });
                }
                (kind::SACK, blocks)
                    if kept.sack
                        && blocks.len() % 8 == 0
                        && (1..=MAX_SACK_BLOCKS).contains(&(blocks.len() / 8)) =>
                {
                    let mut ranges = SackRanges::new();
                    for b in blocks.chunks_exact(8) {
                        if let &[a0, a1, a2, a3, b0, b1, b2, b3] = b {
                            let l = u32::from_be_bytes([a0, a1, a2, a3]);
                            let r = u32::from_be_bytes([b0, b1, b2, b3]);
                            ranges.push((SeqNumber(l), SeqNumber(r)));
                        }
                    }
                    repr.sack_ranges = ranges;
                }
                // Well-formed options that are not kept (their TCP feature compiled out).
                (kind::WINDOW_SCALE, [_]) | (kind::TIMESTAMPS, [_, _, _, _, _, _, _, _]) => {}
                (kind::SACK, blocks)
                    if blocks.len() % 8 == 0
                        && (1..=MAX_SACK_BLOCKS).contains(&(blocks.len() / 8)) => {}
                (
                    kind::MAX_SEG_SIZE
                    | kind::WINDOW_SCALE
                    | kind::SACK_PERMITTED
                    | kind::TIMESTAMPS
                    | kind::SACK,
                    _,
                ) => return Err(Error::Malformed),
                _ => {}
            }
            rest = next;
        }
        Ok(repr)
    }

    /// Option bytes before the SACK option (always a multiple of 4).
    fn fixed_options_len(&self) -> usize {
        self.fixed_options_len_with(true, true, true)
    }

    /// [`fixed_options_len`](Self::fixed_options_len) counting the timestamps (`ts`),
    /// SACK-permitted (`sack`) and window scale (`ws`) options only when on.
    #[inline(always)]
    fn fixed_options_len_with(&self, ts: bool, sack: bool, ws: bool) -> usize {
        let mss = if self.max_seg_size.is_some() { 4 } else { 0 };
        let sack_ts = match (sack && self.sack_permitted, ts && self.timestamp.is_some()) {
            // SACK-permitted + Timestamps, or NOP NOP + Timestamps.
            (_, true) => 12,
            // NOP NOP SACK-permitted.
            (true, false) => 4,
            (false, false) => 0,
        };
        let ws = if ws && self.window_scale.is_some() {
            4
        } else {
            0
        };
        mss + sack_ts + ws
    }

    /// How many of [`sack_ranges`](Self::sack_ranges) [`emit`](Self::emit)
    /// writes: the first ones that fit in the 40 option bytes next to the
    /// other options (RFC 2018 §3: at most 4 blocks alone, 3 with
    /// timestamps, fewer next to SYN options).
    pub fn emitted_sack_blocks(&self) -> usize {
        self.sack_blocks_next_to(self.fixed_options_len())
    }

    /// SACK blocks that fit next to `fixed` bytes of other options.
    fn sack_blocks_next_to(&self, fixed: usize) -> usize {
        let room = MAX_OPTIONS_LEN - fixed;
        // 2 NOPs, kind, length, then 8 bytes per block.
        let fit = room.saturating_sub(4) / 8;
        self.sack_ranges.len().min(fit)
    }

    /// Header length `emit` writes: 20 bytes plus the options, which the
    /// canonical layout keeps a multiple of 4 (at most 60).
    pub fn header_len(&self) -> usize {
        self.header_len_with(true, true, true)
    }

    /// The header length [`write_header`](Self::write_header) writes: the options of TCP
    /// features compiled out (timestamps, SACK) are not counted (the stack never sets them
    /// then), so their length arithmetic is left out of the firmware.
    #[inline(always)]
    pub(crate) fn stack_header_len(&self) -> usize {
        self.header_len_with(
            cfg!(feature = "tcp-timestamps"),
            cfg!(feature = "tcp-sack"),
            cfg!(feature = "tcp-window-scaling"),
        )
    }

    /// [`header_len`](Self::header_len) with the timestamps (`ts`), SACK (`sack`) and window
    /// scale (`ws`) options counted or not.
    #[inline(always)]
    fn header_len_with(&self, ts: bool, sack: bool, ws: bool) -> usize {
        let fixed = self.fixed_options_len_with(ts, sack, ws);
        let blocks = if sack {
            self.sack_blocks_next_to(fixed)
        } else {
            0
        };
        let sack = match blocks {
            0 => 0,
            n => 4 + 8 * n,
        };
        HEADER_LEN + fixed + sack
    }

    /// Bytes `emit` writes: header plus payload. The IPv4 payload length.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// Sequence space the segment occupies (`SEG.LEN`): payload plus one for
    /// SYN or FIN.
    pub fn segment_len(&self) -> usize {
        self.payload.len() + self.control.len()
    }

    /// The flags this Repr stands for.
    pub fn flags(&self) -> Flags {
        let mut f = self.control.flags();
        f.set(Flags::PSH, self.push);
        f.set(Flags::ECE, self.ece);
        f.set(Flags::CWR, self.cwr);
        f.set(Flags::ACK, self.ack_number.is_some());
        f.set(Flags::URG, self.urgent_at.is_some());
        f
    }

    /// Write the header (options included) with a zero checksum; the
    /// payload area is not touched. `packet` must hold at least
    /// [`header_len`](Self::header_len) bytes, else this panics.
    ///
    /// Options are written in Linux's layout, so segments match the kernel's
    /// byte for byte and every 32-bit field is 4-aligned (RFC 7323
    /// Appendix A): MSS; then SACK-permitted + Timestamps, or NOP NOP +
    /// Timestamps, or NOP NOP + SACK-permitted; then NOP + Window Scale;
    /// then NOP NOP + SACK with as many blocks as fit
    /// ([`emitted_sack_blocks`](Self::emitted_sack_blocks)).
    ///
    /// For a payload already in place (retransmission from the send
    /// buffer), follow with [`Packet::fill_checksum`] or
    /// [`Packet::fill_checksum_with_payload_sum`] on a view of exactly the
    /// segment.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let mut h = [0u8; MAX_HEADER_LEN];
        let header_len = self.write_header_with(&mut h, true, true, true);
        let header = packet.buffer.as_mut();
        header[..header_len].copy_from_slice(&h[..header_len]);
    }

    /// Write the header (options included, checksum zero) at the start of `h`, every write at
    /// a constant offset (no bounds check, nothing that could panic), and return its length
    /// ([`header_len`](Self::header_len), at most 60).
    ///
    /// The stack's own segments carry timestamps, SACK and window scale options only when
    /// features `tcp-timestamps`, `tcp-sack` and `tcp-window-scaling` are compiled in (its state
    /// machine never sets them otherwise), so without them their writers are left out of the
    /// firmware.
    #[cfg(feature = "tcp")]
    #[inline(never)]
    pub(crate) fn write_header(&self, h: &mut [u8; MAX_HEADER_LEN]) -> usize {
        self.write_header_with(
            h,
            cfg!(feature = "tcp-timestamps"),
            cfg!(feature = "tcp-sack"),
            cfg!(feature = "tcp-window-scaling"),
        )
    }

    /// [`write_header`](Self::write_header) with the timestamps (`ts`), SACK (`sack`) and
    /// window scale (`ws`) option writers in or out; `h` must be zero.
    #[inline(always)]
    fn write_header_with(
        &self,
        h: &mut [u8; MAX_HEADER_LEN],
        ts: bool,
        sack: bool,
        ws: bool,
    ) -> usize {
        debug_assert!(
            (ts || self.timestamp.is_none())
                && (sack || (!self.sack_permitted && self.sack_ranges.is_empty()))
                && (ws || self.window_scale.is_none())
        );
        let header_len = self.header_len_with(ts, sack, ws);
        h[0..2].copy_from_slice(&self.src_port.to_be_bytes());
        h[2..4].copy_from_slice(&self.dst_port.to_be_bytes());
        h[4..8].copy_from_slice(&self.seq_number.0.to_be_bytes());
        h[8..12].copy_from_slice(&self.ack_number.unwrap_or_default().0.to_be_bytes());
        // header_len <= 60 (fixed options <= 20, SACK fitted to the rest).
        h[12] = ((header_len / 4) as u8 & 0x0f) << 4;
        h[13] = self.flags().bits();
        h[14..16].copy_from_slice(&self.window_len.to_be_bytes());
        h[16..18].copy_from_slice(&[0, 0]);
        h[18..20].copy_from_slice(&self.urgent_at.unwrap_or(0).to_be_bytes());
        if header_len == HEADER_LEN {
            return header_len;
        }

        // The options in their canonical layout.
        let (_, o) = h.split_at_mut(HEADER_LEN);
        let mut at = 0usize;
        let mut put = |bytes: &[u8]| {
            if let Some(dst) = o.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
            at += bytes.len();
        };
        const NOP: u8 = kind::NO_OPERATION;
        if let Some(mss) = self.max_seg_size {
            let [hi, lo] = mss.to_be_bytes();
            put(&[kind::MAX_SEG_SIZE, 4, hi, lo]);
        }
        let timestamp = if ts { self.timestamp } else { None };
        match (sack && self.sack_permitted, timestamp) {
            (sack, Some(ts)) => {
                put(&if sack {
                    [kind::SACK_PERMITTED, 2]
                } else {
                    [NOP, NOP]
                });
                let [a, b, c, d] = ts.tsval.to_be_bytes();
                let [e, f, g, h] = ts.tsecr.to_be_bytes();
                put(&[kind::TIMESTAMPS, 10, a, b, c, d, e, f, g, h]);
            }
            (true, None) => put(&[NOP, NOP, kind::SACK_PERMITTED, 2]),
            (false, None) => {}
        }
        if let Some(shift) = self.window_scale
            && ws
        {
            put(&[NOP, kind::WINDOW_SCALE, 3, shift.min(MAX_WINDOW_SHIFT)]);
        }
        let blocks = if sack {
            self.sack_blocks_next_to(self.fixed_options_len_with(ts, sack, ws))
        } else {
            0
        };
        if blocks > 0 {
            put(&[NOP, NOP, kind::SACK, (2 + 8 * blocks) as u8]);
            for &(l, r) in self.sack_ranges.as_slice().iter().take(blocks) {
                let [a, b, c, d] = l.0.to_be_bytes();
                let [e, f, g, h] = r.0.to_be_bytes();
                put(&[a, b, c, d, e, f, g, h]);
            }
        }
        header_len
    }

    /// Write the complete segment: header, the payload (copied and
    /// checksummed in one pass) and the checksum. `packet` should be exactly
    /// [`buffer_len`](Self::buffer_len) bytes (the IPv4 payload); only those
    /// bytes are written and checksummed, and a shorter buffer panics.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src_addr: Ipv4Addr,
        dst_addr: Ipv4Addr,
    ) {
        self.emit_header(packet);
        let header_len = self.header_len();
        let seg_len = self.buffer_len();
        let sum = checksum::copy_and_checksum(
            &mut packet.buffer.as_mut()[header_len..seg_len],
            self.payload,
        );
        // A segment that fits an IPv4 packet is below 64 KiB; the
        // truncation only affects impossible sizes and never panics.
        packet.fill_checksum_for(src_addr, dst_addr, seg_len as u16, sum);
    }
}

impl fmt::Display for Repr<'_> {
    /// One line, tcpdump-like: `TCP 40000 > 7000 SYN|ACK seq=… ack=… win=…
    /// len=…` and the options present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TCP {} > {} {} seq={}",
            self.src_port,
            self.dst_port,
            self.flags(),
            self.seq_number
        )?;
        if let Some(ack) = self.ack_number {
            write!(f, " ack={ack}")?;
        }
        write!(f, " win={} len={}", self.window_len, self.payload.len())?;
        if let Some(mss) = self.max_seg_size {
            write!(f, " mss={mss}")?;
        }
        if let Some(ws) = self.window_scale {
            write!(f, " ws={ws}")?;
        }
        if self.sack_permitted {
            f.write_str(" sackOK")?;
        }
        if let Some(ts) = self.timestamp {
            write!(f, " ts={}/{}", ts.tsval, ts.tsecr)?;
        }
        for (l, r) in self.sack_ranges.as_slice() {
            write!(f, " sack={l}:{r}")?;
        }
        if let Some(urg) = self.urgent_at {
            write!(f, " urg={urg}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    const fn s(v: u32) -> SeqNumber {
        SeqNumber(v)
    }

    #[test]
    fn seq_order_simple() {
        assert!(s(1) < s(2));
        assert!(s(2) > s(1));
        assert!(s(5) <= s(5) && s(5) >= s(5));
        assert_eq!(s(7).partial_cmp(&s(7)), Some(Ordering::Equal));
    }

    #[test]
    fn seq_order_across_2_pow_32() {
        let top = s(u32::MAX);
        assert!(top < s(0));
        assert!(s(0) > top);
        assert!(s(u32::MAX - 10) < s(10));
        assert!(s(10) > s(u32::MAX - 10));
        assert_eq!(top + 1, s(0));
        assert_eq!(top + 11, s(10));
        assert_eq!(s(10) - s(u32::MAX - 10), 21);
        assert_eq!(s(10).checked_sub(s(u32::MAX - 10)), Some(21));
        assert_eq!(s(u32::MAX - 10).checked_sub(s(10)), None);
        assert_eq!(s(u32::MAX - 10) - s(10), 0, "unordered Sub saturates");
        assert_eq!(s(3) - 5, s(u32::MAX - 1));
        let mut x = s(u32::MAX - 1);
        x += 3;
        assert_eq!(x, s(1));
        x -= 3;
        assert_eq!(x, s(u32::MAX - 1));
    }

    #[test]
    fn seq_order_around_2_pow_31() {
        let half = 1u32 << 31;
        // Just under half the circle apart: ordered.
        assert!(s(0) < s(half - 1));
        assert!(s(half - 1) > s(0));
        assert_eq!(s(half - 1).checked_sub(s(0)), Some((half - 1) as usize));
        // Just over half: the order flips (the later one "wrapped").
        assert!(s(0) > s(half + 1));
        assert!(s(half + 1) < s(0));
        assert_eq!(s(half + 1).checked_sub(s(0)), None);
        // Exactly half: incomparable, neither < nor >.
        for base in [0, 1, half, u32::MAX, 0x1234_5678] {
            let a = s(base);
            let b = s(base.wrapping_add(half));
            assert_eq!(a.partial_cmp(&b), None);
            assert_eq!(b.partial_cmp(&a), None);
            assert_eq!((a < b, a > b, a <= b, a >= b), (false, false, false, false));
            assert_ne!(a, b);
            assert_eq!(a.max(b), a);
            assert_eq!(a.min(b), a);
            assert_eq!(a.checked_sub(b), None);
            assert_eq!(b - a, 0);
        }
        // Crossing the signed boundary of the raw value is not special.
        assert!(s(half - 1) < s(half));
        assert!(s(i32::MAX as u32) < s(i32::MAX as u32 + 1));
    }

    #[test]
    fn seq_comparisons_agree_with_partial_cmp() {
        let half = 1u32 << 31;
        let points = [
            0,
            1,
            2,
            half - 1,
            half,
            half + 1,
            u32::MAX - 1,
            u32::MAX,
            0x1234_5678,
        ];
        for &a in &points {
            for &b in &points {
                for delta in [0u32, 1, 7, half - 1, half, half + 1] {
                    let (x, y) = (s(a), s(b.wrapping_add(delta)));
                    let c = x.partial_cmp(&y);
                    assert_eq!(x < y, c == Some(Ordering::Less), "{x} < {y}");
                    assert_eq!(x > y, c == Some(Ordering::Greater), "{x} > {y}");
                    assert_eq!(x <= y, matches!(c, Some(Ordering::Less | Ordering::Equal)));
                    assert_eq!(
                        x >= y,
                        matches!(c, Some(Ordering::Greater | Ordering::Equal))
                    );
                }
            }
        }
    }

    #[test]
    fn seq_max_min_wrap() {
        let a = s(u32::MAX - 1);
        let b = s(2);
        assert_eq!(a.max(b), b);
        assert_eq!(b.max(a), b);
        assert_eq!(a.min(b), a);
        assert_eq!(b.min(a), a);
    }

    #[test]
    fn seq_add_large_usize_wraps() {
        // usize offsets are taken modulo 2^32 (no panic on 64-bit hosts).
        let big = usize::MAX;
        assert_eq!(s(5) + big, s(5u32.wrapping_add(big as u32)));
        assert_eq!(s(0) + (1usize << 31), s(1 << 31));
    }

    #[test]
    fn seq_in_window() {
        assert!(s(10).in_window(s(10), 1));
        assert!(!s(10).in_window(s(10), 0));
        assert!(!s(11).in_window(s(10), 1));
        assert!(s(3).in_window(s(u32::MAX - 5), 10));
        assert!(!s(4).in_window(s(u32::MAX - 5), 10));
        assert!(!s(u32::MAX - 6).in_window(s(u32::MAX - 5), 10));
        assert!(s(123).in_window(s(7), usize::MAX));
    }

    #[test]
    fn flags_display() {
        assert_eq!((Flags::SYN | Flags::ACK).to_string(), "SYN|ACK");
        assert_eq!(Flags::empty().to_string(), "-");
        let mut f = Flags::FIN;
        f.set(Flags::ACK, true);
        f.set(Flags::FIN, false);
        assert_eq!(f, Flags::ACK);
        assert!(f.intersects(Flags::ACK | Flags::RST));
        assert!(!f.contains(Flags::ACK | Flags::RST));
    }

    #[test]
    fn sack_ranges_capacity() {
        let mut r = SackRanges::new();
        for i in 0..4 {
            assert!(r.push((s(i), s(i + 1))));
        }
        assert!(!r.push((s(9), s(10))));
        assert_eq!(r.len(), 4);
        let mut t = r;
        t.truncate(2);
        assert_eq!(t.as_slice(), &r.as_slice()[..2]);
        t.truncate(3);
        assert_eq!(t.len(), 2);
        // Stale entries past len do not affect equality.
        let mut u = SackRanges::from_slice(&[(s(0), s(1)), (s(1), s(2)), (s(7), s(8))]);
        u.truncate(2);
        assert_eq!(t, u);
        t.clear();
        assert!(t.is_empty());
    }

    #[test]
    fn parse_without_kept_options_validates_them_and_drops_them() {
        let (src, dst) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
        let none = Kept {
            window_scale: false,
            sack: false,
            timestamps: false,
        };
        // Every option (the SYN options, then an ACK's SACK blocks): all but MSS dropped.
        let mut ranges = SackRanges::new();
        ranges.push((s(100), s(200)));
        for repr in [
            Repr {
                src_port: 40000,
                dst_port: 7,
                control: Control::Syn,
                seq_number: s(1),
                window_len: 64240,
                max_seg_size: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamp: Some(Timestamp { tsval: 5, tsecr: 0 }),
                ..Repr::default()
            },
            Repr {
                src_port: 40000,
                dst_port: 7,
                seq_number: s(2),
                ack_number: Some(s(50)),
                window_len: 1000,
                sack_ranges: ranges,
                timestamp: Some(Timestamp { tsval: 6, tsecr: 9 }),
                ..Repr::default()
            },
        ] {
            let mut buf = [0u8; 60];
            let len = repr.buffer_len();
            repr.emit(&mut Packet::new_unchecked(&mut buf[..len]), src, dst);
            let packet = Packet::new_checked(&buf[..len]).expect("valid length");
            let all = Repr::parse(&packet, src, dst, true).expect("valid segment");
            assert_eq!(all, repr);
            let kept = Repr::parse_with(&packet, src, dst, true, none).expect("valid segment");
            let expected = Repr {
                window_scale: None,
                sack_permitted: false,
                timestamp: None,
                sack_ranges: SackRanges::new(),
                ..repr
            };
            assert_eq!(kept, expected);
        }
        // Malformed options of the dropped kinds are still rejected: a 3-byte window scale
        // option's data of 2 bytes, a timestamps option of 6 bytes, a SACK block of 4 bytes.
        for opt in [
            &[kind::WINDOW_SCALE, 4, 7, 0][..],
            &[
                kind::TIMESTAMPS,
                8,
                0,
                0,
                0,
                1,
                0,
                0,
                kind::NO_OPERATION,
                kind::NO_OPERATION,
            ][..],
            &[
                kind::SACK,
                6,
                0,
                0,
                0,
                1,
                kind::NO_OPERATION,
                kind::NO_OPERATION,
            ][..],
        ] {
            let mut buf = [0u8; 32];
            let len = HEADER_LEN + opt.len().next_multiple_of(4);
            buf[0..2].copy_from_slice(&40000u16.to_be_bytes());
            buf[2..4].copy_from_slice(&7u16.to_be_bytes());
            buf[12] = ((len / 4) as u8) << 4;
            buf[13] = Flags::ACK.bits();
            buf[HEADER_LEN..HEADER_LEN + opt.len()].copy_from_slice(opt);
            let packet = Packet::new_unchecked(&buf[..len]);
            assert_eq!(
                Repr::parse_with(&packet, src, dst, false, none),
                Err(Error::Malformed),
                "{opt:?}"
            );
            assert_eq!(
                Repr::parse(&packet, src, dst, false),
                Err(Error::Malformed),
                "{opt:?}"
            );
        }
    }
}
