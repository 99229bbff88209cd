//! IPv4 (RFC 791) headers.
//!
//! Options are skipped and tolerated: the view exposes them as raw bytes and
//! [`Repr`] ignores them; this stack never emits options. The payload is
//! bounded by the header's total length, not by the buffer, so Ethernet
//! padding of short frames never leaks into the transport layer.

use core::fmt;
use core::net::Ipv4Addr;

use super::checksum;
use super::{Error, IpProtocol, Result};

mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
}

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

/// Largest header length IHL can express (15 × 4 bytes).
pub const MAX_HEADER_LEN: usize = 60;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A zero-copy view of an IPv4 packet in a buffer `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn addr(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it. Only for buffers the caller sized
    /// itself (emitting); accessors panic if it is shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a received buffer, checking the header length and total length
    /// fields against each other and against the buffer (see
    /// [`check_len`](Self::check_len)).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Validate lengths:
    /// * buffer shorter than 20 bytes → `Truncated`;
    /// * IHL < 5 or total length < header length → `Malformed`;
    /// * buffer shorter than the header length or the total length →
    ///   `Truncated`.
    ///
    /// A buffer longer than the total length is fine (link-layer padding).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = usize::from(self.header_len());
        let total_len = usize::from(self.total_len());
        if header_len < HEADER_LEN || total_len < header_len {
            return Err(Error::Malformed);
        }
        if len < header_len || len < total_len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Give back the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// IP version (4 for a valid packet).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL × 4), options included.
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// Differentiated services code point.
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// Explicit congestion notification bits.
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// Total length in bytes: header plus payload.
    pub fn total_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// Identification, shared by all fragments of one datagram.
    pub fn ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::IDENT.start)
    }

    /// Don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        be16(self.buffer.as_ref(), field::FLG_OFF.start) & FLAG_DF != 0
    }

    /// More-fragments flag: set on every fragment but the last.
    pub fn more_frags(&self) -> bool {
        be16(self.buffer.as_ref(), field::FLG_OFF.start) & FLAG_MF != 0
    }

    /// Fragment offset **in bytes** (the wire field × 8), at most 65528.
    pub fn frag_offset(&self) -> u16 {
        (be16(self.buffer.as_ref(), field::FLG_OFF.start) & OFFSET_MASK) * 8
    }

    /// True when this packet is a fragment (MF set or non-zero offset) and
    /// needs reassembly.
    pub fn is_fragment(&self) -> bool {
        be16(self.buffer.as_ref(), field::FLG_OFF.start) & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// Time to live.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol of the payload.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// Header checksum field as on the wire.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        addr(self.buffer.as_ref(), field::SRC_ADDR.start)
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        addr(self.buffer.as_ref(), field::DST_ADDR.start)
    }

    /// Header bounds clamped to the buffer, so the slice accessors below
    /// cannot panic even on an unchecked view.
    fn header_end(&self) -> usize {
        usize::from(self.header_len()).min(self.buffer.as_ref().len())
    }

    /// Payload bounds: `header_len..total_len`, clamped to the buffer.
    fn payload_range(&self) -> core::ops::Range<usize> {
        let len = self.buffer.as_ref().len();
        let end = usize::from(self.total_len()).min(len);
        let start = self.header_end().min(end);
        start..end
    }

    /// True when the header checksum verifies (covers options too).
    pub fn verify_checksum(&self) -> bool {
        let end = self.header_end();
        header_sum(&self.buffer.as_ref()[..end]) == 0xffff
    }

    /// The raw option bytes (empty for a 20-byte header).
    pub fn options(&self) -> &[u8] {
        let end = self.header_end();
        &self.buffer.as_ref()[HEADER_LEN.min(end)..end]
    }

    /// The payload: `header_len..total_len`; bytes past the total length
    /// (Ethernet padding) are excluded.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.payload_range()]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload, borrowed for the buffer's lifetime `'a` rather than the
    /// view's.
    pub fn into_payload(self) -> &'a [u8] {
        let r = self.payload_range();
        &self.buffer.as_ref()[r]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn put16(&mut self, at: usize, v: u16) {
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }

    /// Set version (4 bits) keeping IHL.
    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (v << 4);
    }

    /// Set the header length in bytes (a multiple of 4, 20..=60).
    pub fn set_header_len(&mut self, len: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ((len / 4) & 0x0f);
    }

    /// Set DSCP (6 bits) keeping ECN.
    pub fn set_dscp(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0x03) | (v << 2);
    }

    /// Set ECN (2 bits) keeping DSCP.
    pub fn set_ecn(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0xfc) | (v & 0x03);
    }

    /// Set the total length (header + payload).
    pub fn set_total_len(&mut self, v: u16) {
        self.put16(field::LENGTH.start, v);
    }

    /// Set the identification.
    pub fn set_ident(&mut self, v: u16) {
        self.put16(field::IDENT.start, v);
    }

    fn flg_off(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FLG_OFF.start)
    }

    fn set_flag(&mut self, flag: u16, on: bool) {
        let v = self.flg_off();
        self.put16(field::FLG_OFF.start, if on { v | flag } else { v & !flag });
    }

    /// Clear both flags and the fragment offset (an unfragmented datagram).
    pub fn clear_flags(&mut self) {
        self.put16(field::FLG_OFF.start, 0);
    }

    /// Set or clear don't-fragment.
    pub fn set_dont_frag(&mut self, on: bool) {
        self.set_flag(FLAG_DF, on);
    }

    /// Set or clear more-fragments.
    pub fn set_more_frags(&mut self, on: bool) {
        self.set_flag(FLAG_MF, on);
    }

    /// Set the fragment offset **in bytes**; it must be a multiple of 8 (the
    /// low three bits are dropped).
    pub fn set_frag_offset(&mut self, bytes: u16) {
        let v = (self.flg_off() & !OFFSET_MASK) | ((bytes / 8) & OFFSET_MASK);
        self.put16(field::FLG_OFF.start, v);
    }

    /// Set the time to live.
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[field::TTL] = v;
    }

    /// Set the payload protocol.
    pub fn set_next_header(&mut self, p: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = u8::from(p);
    }

    /// Set the checksum field verbatim.
    pub fn set_checksum(&mut self, v: u16) {
        self.put16(field::CHECKSUM.start, v);
    }

    /// Set the source address.
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }

    /// Set the destination address.
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }

    /// Compute and write the header checksum (call after every other header
    /// field, including the header length, is final).
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let end = self.header_end();
        let sum = checksum::data(&self.buffer.as_ref()[..end]);
        self.set_checksum(!sum);
    }

    /// The payload, mutable (`header_len..total_len`, clamped to the buffer).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let r = self.payload_range();
        &mut self.buffer.as_mut()[r]
    }
}

/// Folded sum of a received header: the common 20-byte one as five words summed inline,
/// any other length (options) through [`checksum::data`].
/// True when the checksum of `header` (options included) verifies.
pub(crate) fn header_checksum_ok(header: &[u8]) -> bool {
    header_sum(header) == 0xffff
}

#[inline]
fn header_sum(header: &[u8]) -> u16 {
    match <&[u8; HEADER_LEN]>::try_from(header) {
        Ok(h) => checksum::finish(checksum::sum_native(h)),
        Err(_) => checksum::data(header),
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The decoded meaning of an IPv4 header (options and fragmentation fields
/// are not part of it; read those from the [`Packet`] when needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Payload protocol.
    pub next_header: IpProtocol,
    /// Payload length in bytes (total length − header length).
    pub payload_len: usize,
    /// Time to live.
    pub hop_limit: u8,
}

impl Repr {
    /// Decode and validate a header: lengths as in [`Packet::check_len`],
    /// version 4 (else `Malformed`), and the header checksum when
    /// `verify_checksum` is true (pass false when the device already verified
    /// it in hardware).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>, verify_checksum: bool) -> Result<Repr> {
        packet.check_len()?;
        if packet.version() != 4 {
            return Err(Error::Malformed);
        }
        if verify_checksum && !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.total_len()) - usize::from(packet.header_len()),
            hop_limit: packet.hop_limit(),
        })
    }

    /// Bytes of header `emit` writes: [`HEADER_LEN`] (no options).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write a 20-byte header for an unfragmented datagram: DF clear, MF
    /// clear, offset 0, the given identification, checksum filled in.
    /// `packet` must hold at least [`HEADER_LEN`] bytes; `payload_len` must be
    /// at most 65515 (larger values are truncated modulo 2^16).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>, ident: u16) {
        self.emit_fragment(packet, ident, 0, false);
    }

    /// Write a 20-byte header for one fragment: `payload_len` is the length
    /// of this fragment's data, `frag_offset` its position in the original
    /// payload in bytes (a multiple of 8), `more_frags` set on every fragment
    /// but the last. DF is clear.
    pub fn emit_fragment<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        ident: u16,
        frag_offset: u16,
        more_frags: bool,
    ) {
        if let Some(h) = packet.buffer.as_mut().first_chunk_mut::<HEADER_LEN>() {
            self.emit_header(h, ident, frag_offset, more_frags);
        }
    }

    /// [`emit_fragment`](Self::emit_fragment) into a header array: constant offsets, no
    /// read-modify-write of the fields, one copy for every caller.
    #[inline(never)]
    pub(crate) fn emit_header(
        &self,
        h: &mut [u8; HEADER_LEN],
        ident: u16,
        frag_offset: u16,
        more_frags: bool,
    ) {
        let flags = ((frag_offset / 8) & OFFSET_MASK) | if more_frags { FLAG_MF } else { 0 };
        let total = (HEADER_LEN.wrapping_add(self.payload_len) as u16).to_be_bytes();
        let (ident, flags) = (ident.to_be_bytes(), flags.to_be_bytes());
        let (src, dst) = (self.src_addr.octets(), self.dst_addr.octets());
        *h = [
            0x45,
            0,
            total[0],
            total[1],
            ident[0],
            ident[1],
            flags[0],
            flags[1],
            self.hop_limit,
            u8::from(self.next_header),
            0,
            0,
            src[0],
            src[1],
            src[2],
            src[3],
            dst[0],
            dst[1],
            dst[2],
            dst[3],
        ];
        let sum = (!checksum::data(h)).to_be_bytes();
        h[10] = sum[0];
        h[11] = sum[1];
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IPv4 {} > {} {} len={} ttl={}",
            self.src_addr, self.dst_addr, self.next_header, self.payload_len, self.hop_limit
        )
    }
}
