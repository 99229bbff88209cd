//! UDP (RFC 768) datagrams over IPv4.
//!
//! The checksum covers the IPv4 pseudo header, the UDP header and the payload.
//! Over IPv4 a zero checksum field means "no checksum" and is accepted; when
//! emitting, a computed checksum of zero is sent as `0xffff`.
//!
//! For the hot path the payload is checksummed while it is copied
//! ([`checksum::copy_and_checksum`]): on send, [`Repr::emit`] does this; on
//! receive, parse with `verify_checksum = false`, copy the payload out with
//! `copy_and_checksum`, then call [`Packet::verify_checksum_with_payload_sum`].

use core::fmt;
use core::net::Ipv4Addr;

use super::checksum;
use super::{Error, IpProtocol, Result};

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// A zero-copy view of a UDP datagram in a buffer `T` (the IPv4 payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

/// The big-endian field at `at`; 0 past the end of a short buffer (no panicking path).
#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    b.get(at..)
        .and_then(<[u8]>::first_chunk::<2>)
        .map_or(0, |w| u16::from_be_bytes(*w))
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it. Only for buffers the caller sized
    /// itself (emitting); on a buffer shorter than [`HEADER_LEN`] the missing fields read
    /// as 0 and writes to them are dropped.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a received buffer, checking the length field (see
    /// [`check_len`](Self::check_len)).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Validate lengths: buffer shorter than 8 bytes → `Truncated`; length
    /// field below 8 → `Malformed`; length field beyond the buffer →
    /// `Truncated`. Bytes past the length field are ignored.
    pub fn check_len(&self) -> Result<()> {
        let buf_len = self.buffer.as_ref().len();
        if buf_len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = usize::from(self.len());
        if len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len > buf_len {
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

    /// Length field: header plus payload, in bytes.
    pub fn len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// True when the length field says there is no payload (clippy's
    /// companion to [`len`](Self::len)); a checked packet is never shorter.
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// Checksum field as on the wire (0 = none).
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Datagram bounds `0..len`, clamped to the buffer (panic-free even on an
    /// unchecked view).
    fn datagram_end(&self) -> usize {
        usize::from(self.len()).min(self.buffer.as_ref().len())
    }

    /// The payload: bytes `8..len`; anything past the length field is
    /// excluded.
    pub fn payload(&self) -> &[u8] {
        let end = self.datagram_end();
        &self.buffer.as_ref()[HEADER_LEN.min(end)..end]
    }

    /// Folded sum of pseudo header and UDP header (checksum field included),
    /// without the payload.
    fn header_sum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u16 {
        let b = self.buffer.as_ref();
        let hdr = &b[..HEADER_LEN.min(b.len())];
        checksum::combine(&[
            checksum::pseudo_header_v4(src, dst, IpProtocol::Udp, self.len()),
            checksum::data(hdr),
        ])
    }

    /// True when the checksum verifies for the given IPv4 addresses, or is
    /// zero (checksum not used by the sender).
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.verify_checksum_with_payload_sum(src, dst, checksum::data(self.payload()))
    }

    /// Like [`verify_checksum`](Self::verify_checksum), with the payload's
    /// folded sum supplied by the caller (from
    /// [`checksum::copy_and_checksum`] while copying it out).
    pub fn verify_checksum_with_payload_sum(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload_sum: u16,
    ) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        checksum::combine(&[self.header_sum(src, dst), payload_sum]) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload, borrowed for the buffer's lifetime `'a` rather than the
    /// view's.
    pub fn into_payload(self) -> &'a [u8] {
        let end = self.datagram_end();
        &self.buffer.as_ref()[HEADER_LEN.min(end)..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Write the big-endian field at `at`; nothing past the end of a short buffer.
    fn put16(&mut self, at: usize, v: u16) {
        if let Some(w) = self
            .buffer
            .as_mut()
            .get_mut(at..)
            .and_then(<[u8]>::first_chunk_mut::<2>)
        {
            *w = v.to_be_bytes();
        }
    }

    /// Set the source port.
    pub fn set_src_port(&mut self, v: u16) {
        self.put16(field::SRC_PORT.start, v);
    }

    /// Set the destination port.
    pub fn set_dst_port(&mut self, v: u16) {
        self.put16(field::DST_PORT.start, v);
    }

    /// Set the length field (header + payload).
    pub fn set_len(&mut self, v: u16) {
        self.put16(field::LENGTH.start, v);
    }

    /// Set the checksum field verbatim.
    pub fn set_checksum(&mut self, v: u16) {
        self.put16(field::CHECKSUM.start, v);
    }

    /// The payload, mutable (`8..len`, clamped to the buffer).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = self.datagram_end();
        &mut self.buffer.as_mut()[HEADER_LEN.min(end)..end]
    }

    /// Compute and write the checksum over pseudo header, header and payload
    /// (set the length field and the payload first).
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        let payload_sum = checksum::data(self.payload());
        self.fill_checksum_with_payload_sum(src, dst, payload_sum);
    }

    /// Write the checksum given the payload's folded sum (from
    /// [`checksum::copy_and_checksum`]). A result of 0 is sent as `0xffff`,
    /// since 0 means "no checksum".
    pub fn fill_checksum_with_payload_sum(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload_sum: u16,
    ) {
        self.set_checksum(0);
        let sum = checksum::combine(&[self.header_sum(src, dst), payload_sum]);
        let c = !sum;
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The decoded UDP header: the two ports. The payload stays in the packet
/// ([`Packet::payload`]); the length is implied by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

impl Repr {
    /// Decode and validate: lengths as in [`Packet::check_len`]; the checksum
    /// (zero accepted) when `verify_checksum` is true, else `Checksum`.
    /// Destination port 0 is `Malformed` (it cannot be addressed).
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        src_addr: Ipv4Addr,
        dst_addr: Ipv4Addr,
        verify_checksum: bool,
    ) -> Result<Repr> {
        packet.check_len()?;
        if packet.dst_port() == 0 {
            return Err(Error::Malformed);
        }
        if verify_checksum && !packet.verify_checksum(src_addr, dst_addr) {
            return Err(Error::Checksum);
        }
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
        })
    }

    /// Bytes `emit` writes for a payload of `payload_len` bytes.
    pub const fn buffer_len(&self, payload_len: usize) -> usize {
        HEADER_LEN + payload_len
    }

    /// Write ports and length for a `payload_len`-byte payload and zero the
    /// checksum. Then write the payload (ideally with
    /// [`checksum::copy_and_checksum`]) and call
    /// [`Packet::fill_checksum_with_payload_sum`] or
    /// [`Packet::fill_checksum`]. `payload_len` must be at most 65527.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        payload_len: usize,
    ) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(HEADER_LEN.wrapping_add(payload_len) as u16);
        packet.set_checksum(0);
    }

    /// Write a complete datagram: header, `payload` (copied and checksummed
    /// in one pass) and checksum. `packet` must hold at least
    /// `buffer_len(payload.len())` bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src_addr: Ipv4Addr,
        dst_addr: Ipv4Addr,
        payload: &[u8],
    ) {
        self.emit_header(packet, payload.len());
        let sum = checksum::copy_and_checksum(packet.payload_mut(), payload);
        packet.fill_checksum_with_payload_sum(src_addr, dst_addr, sum);
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UDP {} > {}", self.src_port, self.dst_port)
    }
}
